package verification

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/openkyc/kyc/levels"
)

// Validity is what an approval knows about how long it counts. The Service
// turns it into RequirementState.ValidUntil with ValidUntil: an explicit
// Until wins; else, for a requirement with UseDocumentExpiry, the
// document's expiry (or ValidFor after the approval when that is earlier);
// else ValidFor after the approval; else never.
type Validity struct {
	// Until is an explicit end: the document's expiry date as a reviewer
	// read it (ReviewParams.ValidUntil, SetRequirementParams.ValidUntil).
	// It must be after the approval.
	Until time.Time
	// DocumentExpiry is the document's expiry date as an identity
	// provider reported it (providers.DocumentFacts.ValidUntil); used only
	// by requirements with UseDocumentExpiry. An expiry not after the
	// approval is refused: the document has already expired.
	DocumentExpiry time.Time
}

// ValidUntil returns when an approval of the named requirement made at
// approvedAt stops counting, zero for never (see Validity for the order of
// the sources). It is ErrInvalid for an unknown requirement, for an Until
// or a DocumentExpiry not after approvedAt, and for a screening
// requirement given any date (screenings are run again instead).
//
// Every approval path calls it: Review and SetRequirement with the
// reviewer's date, answers and application decisions with none (ValidFor
// applies), and a provider decision with its document facts:
//
//	until, err := s.ValidUntil(name, s.Now(), Validity{DocumentExpiry: d.Document.ValidUntil})
//
// An approval inside the Service carries the same Validity on its verdict,
// so the date is computed once, in the approving transaction.
func (s *Service) ValidUntil(requirement string, approvedAt time.Time, v Validity) (time.Time, error) {
	req, err := s.requirement("requirement", requirement)
	if err != nil {
		return time.Time{}, err
	}
	return validUntil(req, approvedAt, v)
}

// validUntil is ValidUntil for a known requirement.
func validUntil(req *levels.Requirement, approvedAt time.Time, v Validity) (time.Time, error) {
	if req.Type == levels.Screening {
		if !v.Until.IsZero() || !v.DocumentExpiry.IsZero() {
			return time.Time{}, invalid("validUntil", "does not apply to screening requirement %s", req.Name)
		}
		return time.Time{}, nil
	}
	byDuration := time.Time{}
	if req.ValidFor > 0 {
		byDuration = approvedAt.Add(req.ValidFor.D())
	}
	switch {
	case !v.Until.IsZero():
		if !v.Until.After(approvedAt) {
			return time.Time{}, invalid("validUntil", "must be after the approval (%s)", approvedAt.Format(time.RFC3339))
		}
		return v.Until.UTC().Truncate(time.Microsecond), nil
	case req.UseDocumentExpiry && !v.DocumentExpiry.IsZero():
		if !v.DocumentExpiry.After(approvedAt) {
			return time.Time{}, invalid("validUntil", "the document expired on %s", v.DocumentExpiry.Format(time.DateOnly))
		}
		d := v.DocumentExpiry.UTC().Truncate(time.Microsecond)
		if !byDuration.IsZero() && byDuration.Before(d) {
			return byDuration, nil
		}
		return d, nil
	}
	return byDuration, nil
}

// approve marks st approved with the validity v gives it (WarnedAt
// cleared: a renewed approval is announced again).
func approveState(st *RequirementState, req *levels.Requirement, now time.Time, v Validity) error {
	until, err := validUntil(req, now, v)
	if err != nil {
		return err
	}
	st.Status, st.Reason, st.Final = levels.Approved, "", false
	st.ValidUntil, st.WarnedAt = until, time.Time{}
	return nil
}

// clearValidity drops st's validity: any status but approved has none
// (screenings keep their due time, which their own code sets).
func clearValidity(st *RequirementState) { st.ValidUntil, st.WarnedAt = time.Time{}, time.Time{} }

// ReasonExpired is the Reason of a requirement state whose approval expired.
const ReasonExpired = "expired"

// ExpiredGrantReason returns the reason of the grant that downgrades a
// subject when the named requirement expires: "Requirement expired: <name>".
func ExpiredGrantReason(requirement string) string { return "Requirement expired: " + requirement }

// sweepBatch is how many due states one listing of a sweep reads: the
// sweep holds one batch at a time, whatever the number of states.
const sweepBatch = 256

// ExpiryReport says what ExpireRequirements did.
type ExpiryReport struct {
	// Expired counts approvals that expired (back to missing).
	Expired int
	// Warned counts approvals announced as expiring (requirement.expiring).
	Warned int
	// Downgraded counts subjects moved down a level (Options.DowngradeOnExpiry).
	Downgraded int
}

// ExpireRequirements is the validity sweep; run it from a periodic job
// (the maintenance runner). For every requirement that expires (ValidFor or
// UseDocumentExpiry), in batches of a bounded size read through the stores'
// due index:
//
//   - an approval whose ValidUntil has passed goes back to missing with
//     Reason "expired": its answer is dropped (its document files released),
//     its attempt count starts over (the expiry is not a failed attempt), and
//     requirement.expired is emitted. With Options.DowngradeOnExpiry, a
//     subject whose approvals no longer earn its level is moved down to the
//     highest level they still earn, by a grant with reason
//     "Requirement expired: <name>" and no admin; the status route lists the
//     requirement as missing either way, and the pending-request route stops
//     reporting a downgraded subject as verified.
//   - an approval entering its ExpiryWarning window emits
//     requirement.expiring once (WarnedAt remembers it; a renewal, which is
//     a new approval, clears it).
//
// The states of a batch change in short transactions of up to sweepChunk
// states each, their subjects locked in ID order (so two sweeps on two
// replicas never deadlock) and every state re-read under the lock, so a
// renewal that commits first wins. States of deleted or erased subjects are
// dropped from the index without events. It returns what it did so far,
// also with an error.
func (s *Service) ExpireRequirements(ctx context.Context) (ExpiryReport, error) {
	var rep ExpiryReport
	now := s.Now()
	for _, req := range s.ladder.Requirements() {
		if !req.Expires() {
			continue
		}
		err := s.walkDue(ctx, DueFilter{Name: req.Name, Before: now}, func(page []RequirementState) error {
			return s.sweepChunks(ctx, page, func(ctx context.Context, tx Store, listed RequirementState, r *ExpiryReport) error {
				return s.expireIn(ctx, tx, req, listed, now, r)
			}, &rep)
		})
		if err != nil {
			return rep, s.fail("ExpireRequirements", err)
		}
		if req.ExpiryWarning <= 0 {
			continue
		}
		f := DueFilter{Name: req.Name, Before: now.Add(req.ExpiryWarning.D()), AfterValidUntil: now, AfterSubjectID: math.MaxInt64, Unwarned: true}
		err = s.walkDue(ctx, f, func(page []RequirementState) error {
			return s.sweepChunks(ctx, page, func(ctx context.Context, tx Store, listed RequirementState, r *ExpiryReport) error {
				return s.warnIn(ctx, tx, req, listed, now, r)
			}, &rep)
		})
		if err != nil {
			return rep, s.fail("ExpireRequirements", err)
		}
	}
	return rep, nil
}

// sweepChunk is how many states one sweep transaction changes: enough to
// spread a commit over many states, few enough to hold the subjects' locks
// briefly.
const sweepChunk = 32

// sweepChunks applies fn to the states of page in transactions of up to
// sweepChunk states, each locking its subjects in ID order; the counts of
// a transaction reach rep only once it commits.
func (s *Service) sweepChunks(ctx context.Context, page []RequirementState, fn func(context.Context, Store, RequirementState, *ExpiryReport) error, rep *ExpiryReport) error {
	for len(page) > 0 {
		n := min(sweepChunk, len(page))
		chunk := slices.Clone(page[:n])
		page = page[n:]
		slices.SortFunc(chunk, func(a, b RequirementState) int { return cmp.Compare(a.SubjectID, b.SubjectID) })
		var r ExpiryReport
		err := s.inTx(ctx, "ExpireRequirements", func(ctx context.Context, tx Store) error {
			r = ExpiryReport{}
			for _, st := range chunk {
				if err := fn(ctx, tx, st, &r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		rep.Expired, rep.Warned, rep.Downgraded = rep.Expired+r.Expired, rep.Warned+r.Warned, rep.Downgraded+r.Downgraded
	}
	return nil
}

// walkDue pages through the states f selects, sweepBatch at a time,
// calling fn with each page, outside any transaction.
func (s *Service) walkDue(ctx context.Context, f DueFilter, fn func([]RequirementState) error) error {
	f.Limit = sweepBatch
	for {
		page, err := s.store.ListDueRequirementStates(ctx, f)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(page) > 0 {
			last := page[len(page)-1]
			if err := fn(page); err != nil {
				return err
			}
			f.AfterValidUntil, f.AfterSubjectID = last.ValidUntil, last.SubjectID
		}
		if len(page) < f.Limit {
			return nil
		}
	}
}

// lockDue locks the subject of a listed state and re-reads the state: ok
// is false when the state changed meanwhile (listed is then stale) or the
// subject is deleted or erased (its state is then quietly taken out of the
// index).
func (s *Service) lockDue(ctx context.Context, tx Store, listed RequirementState, now time.Time) (Subject, RequirementState, bool, error) {
	sub, err := tx.LockSubject(ctx, listed.SubjectID)
	if errors.Is(err, ErrNotFound) {
		return sub, listed, false, nil
	}
	if err != nil {
		return sub, listed, false, err
	}
	st, err := tx.GetRequirementState(ctx, listed.SubjectID, listed.Name)
	if errors.Is(err, ErrNotFound) {
		return sub, st, false, nil
	}
	if err != nil {
		return sub, st, false, err
	}
	if !st.ValidUntil.Equal(listed.ValidUntil) {
		return sub, st, false, nil
	}
	if sub.Deleted() || !sub.RedactedAt.IsZero() {
		st.ValidUntil, st.WarnedAt, st.UpdatedAt = time.Time{}, time.Time{}, now
		return sub, st, false, tx.PutRequirementState(ctx, st)
	}
	return sub, st, true, nil
}

// expireIn expires one listed state inside tx (see ExpireRequirements).
func (s *Service) expireIn(ctx context.Context, tx Store, req *levels.Requirement, listed RequirementState, now time.Time, rep *ExpiryReport) error {
	sub, st, ok, err := s.lockDue(ctx, tx, listed, now)
	if err != nil || !ok {
		return err
	}
	if st.Status != levels.Approved || st.ValidUntil.After(now) {
		return nil
	}
	until := st.ValidUntil
	if err := s.releaseAnswer(ctx, tx, st, ReasonExpired, now); err != nil {
		return err
	}
	st.Status, st.Answer, st.Reason, st.Final, st.Attempts, st.UpdatedAt = levels.Missing, nil, ReasonExpired, false, 0, now
	clearValidity(&st)
	if err := tx.PutRequirementState(ctx, st); err != nil {
		return err
	}
	if err := s.emit(ctx, tx, &sub, now, &RequirementExpiredPayload{Requirement: req.Name, ValidUntil: until}); err != nil {
		return err
	}
	rep.Expired++
	if !s.downgrade {
		return nil
	}
	downgraded, err := s.demote(ctx, tx, &sub, now, ExpiredGrantReason(req.Name))
	if downgraded {
		rep.Downgraded++
	}
	return err
}

// warnIn announces one listed state as expiring inside tx (see
// ExpireRequirements).
func (s *Service) warnIn(ctx context.Context, tx Store, req *levels.Requirement, listed RequirementState, now time.Time, rep *ExpiryReport) error {
	sub, st, ok, err := s.lockDue(ctx, tx, listed, now)
	if err != nil || !ok {
		return err
	}
	if st.Status != levels.Approved || !st.WarnedAt.IsZero() || !st.ValidUntil.After(now) || st.ValidUntil.After(now.Add(req.ExpiryWarning.D())) {
		return nil
	}
	st.WarnedAt = now
	if err := tx.PutRequirementState(ctx, st); err != nil {
		return err
	}
	rep.Warned++
	return s.emit(ctx, tx, &sub, now, &RequirementExpiringPayload{Requirement: req.Name, ValidUntil: st.ValidUntil})
}

// demote moves the subject (locked by tx) down to the highest level its
// approved requirements still earn, if that is below its current level,
// with a grant giving reason and no admin. It reports whether it moved it.
func (s *Service) demote(ctx context.Context, tx Store, sub *Subject, now time.Time, reason string) (bool, error) {
	st, _, err := states(ctx, tx, sub.ID)
	if err != nil {
		return false, err
	}
	earned := s.ladder.Evaluate(st, 0).Level
	if s.ladder.Position(earned.ID) >= s.ladder.Position(sub.Level) {
		return false, nil
	}
	_, err = s.addGrant(ctx, tx, sub, earned, now, grantArgs{reason: reason})
	return err == nil, err
}
