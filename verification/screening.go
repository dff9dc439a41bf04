package verification

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/screening"
)

// ScreeningRecord is what the Service keeps of a subject's screening, as the
// Answer of its screening requirement's state: the query it screened (the
// name, birth date and nationality the subject gave), the hits awaiting a
// reviewer and the keys of the hits reviewers dismissed. It is personal
// data: Erase deletes it with every other answer. Read it with
// DecodeScreening.
type ScreeningRecord struct {
	// Query is what was screened.
	Query ScreeningQuery `json:"query"`
	// ListVersion is the list version of the last screen (may be empty
	// when the screener does not tell).
	ListVersion string `json:"listVersion,omitempty"`
	// ScreenedAt is when the last screen ran.
	ScreenedAt time.Time `json:"screenedAt"`
	// Hits are the last screen's hits at or above the threshold that no
	// reviewer has dismissed, best first: while there are any, the
	// requirement is pending review (or, once confirmed, rejected).
	Hits []ScreeningHit `json:"hits,omitempty"`
	// Dismissed are the keys (screening.Hit.Key) of the hits reviewers
	// dismissed as false positives: a later screen finding them again does
	// not reopen the requirement.
	Dismissed []string `json:"dismissed,omitempty"`
}

// ScreeningQuery is the stored form of a screening.Query.
type ScreeningQuery struct {
	// FullName is the screened name.
	FullName string `json:"fullName"`
	// BirthDate is YYYY-MM-DD, empty when unknown.
	BirthDate string `json:"birthDate,omitempty"`
	// Country is the ISO 3166-1 alpha-2 nationality, empty when unknown.
	Country string `json:"country,omitempty"`
}

// ScreeningHit is the stored form of a screening.Hit.
type ScreeningHit struct {
	// Key is List/EntityID, what a dismissal is remembered under.
	Key string `json:"key"`
	// List names the list the entry comes from.
	List string `json:"list"`
	// EntityID identifies the entry within List.
	EntityID string `json:"entityId"`
	// Name is the list's name for the entry.
	Name string `json:"name"`
	// Score is the match's score, 0 to 1.
	Score float64 `json:"score"`
	// Programmes are the programmes the entry is listed under.
	Programmes []string `json:"programmes,omitempty"`
}

// DecodeScreening returns the ScreeningRecord a screening requirement's
// state holds; false when it holds none (not screened yet, or erased).
func DecodeScreening(st RequirementState) (ScreeningRecord, bool) {
	var rec ScreeningRecord
	if len(st.Answer) == 0 || json.Unmarshal(st.Answer, &rec) != nil || rec.ScreenedAt.IsZero() {
		return ScreeningRecord{}, false
	}
	return rec, true
}

// ScreeningReport says what RunScreening did.
type ScreeningReport struct {
	// Screened counts the screens run.
	Screened int
	// Cleared counts screenings approved by a clear screen (first screens
	// and re-screens of pending ones; a re-screen that stays clear is
	// counted in Screened only).
	Cleared int
	// Hits counts screens that left a screening pending review.
	Hits int
	// Failed counts subjects not screened: their answers do not make a
	// screenable query, or the screener's answer was unusable. They are
	// tried again on the next run.
	Failed int
	// ListVersion is the screener's list version (ListVersioner), if known.
	ListVersion string
}

// ReasonScreeningHit returns the reason of the grant that downgrades a
// subject (Options.DowngradeOnExpiry) when a re-screen of the named
// screening requirement finds a hit: "Screening hit: <name>".
func ReasonScreeningHit(requirement string) string { return "Screening hit: " + requirement }

// ReasonScreeningConfirmed returns the reason of the grant that downgrades
// a subject (Options.DowngradeOnExpiry) when a reviewer confirms a hit of
// the named screening requirement: "Screening confirmed: <name>".
func ReasonScreeningConfirmed(requirement string) string {
	return "Screening confirmed: " + requirement
}

// screenedVersion remembers the list version every approved screening was
// last checked against, so that only a change of version walks them all.
type screenedVersion struct {
	mu sync.Mutex
	v  string
	ok bool
}

func (sv *screenedVersion) get() (string, bool) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return sv.v, sv.ok
}

func (sv *screenedVersion) set(v string) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.v, sv.ok = v, true
}

// queueScreenings queues the screenings that read their query from the
// requirement named source (just answered) inside tx.
func (s *Service) queueScreenings(ctx context.Context, tx Store, sub *Subject, source string, now time.Time) error {
	for _, r := range s.ladder.Requirements() {
		if r.Uses(source) {
			if err := s.queueScreening(ctx, tx, sub, r.Name, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// queueScreening turns a missing screening requirement into a pending one
// due now, once every requirement its query reads from has an answer: the
// next RunScreening screens it. Nothing is screened here: the subject's
// request never waits for a screener.
func (s *Service) queueScreening(ctx context.Context, tx Store, sub *Subject, name string, now time.Time) error {
	req, ok := s.ladder.Requirement(name)
	if !ok || req.Type != levels.Screening {
		return nil
	}
	st, err := s.loadState(ctx, tx, sub.ID, name)
	if err != nil || st.Status != levels.Missing {
		return err
	}
	for _, src := range screeningSources(req) {
		got, err := s.loadState(ctx, tx, sub.ID, src)
		if err != nil {
			return err
		}
		if len(got.Answer) == 0 || got.Status != levels.Pending && got.Status != levels.Approved {
			return nil
		}
	}
	st.Status, st.Answer, st.Reason, st.Final, st.UpdatedAt = levels.Pending, nil, "", false, now
	st.ValidUntil, st.WarnedAt = now, time.Time{}
	if err := tx.PutRequirementState(ctx, st); err != nil {
		return err
	}
	return s.emit(ctx, tx, sub, now, &RequirementSubmittedPayload{Requirement: name, Status: levels.Pending})
}

// screeningSources lists the requirements a screening reads, name first.
func screeningSources(req *levels.Requirement) []string {
	src := req.Screening
	out := []string{src.Name}
	for _, n := range []string{src.BirthDate, src.Nationality} {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// screeningQuery builds the query of req from the subject's answers;
// false when an answer it needs is missing or not a string.
func screeningQuery(req *levels.Requirement, full map[string]RequirementState) (screening.Query, ScreeningQuery, bool) {
	str := func(name string) (string, bool) {
		if name == "" {
			return "", true
		}
		var v string
		st := full[name]
		if len(st.Answer) == 0 || json.Unmarshal(st.Answer, &v) != nil {
			return "", false
		}
		return strings.TrimSpace(v), true
	}
	name, ok1 := str(req.Screening.Name)
	birth, ok2 := str(req.Screening.BirthDate)
	country, ok3 := str(req.Screening.Nationality)
	if !ok1 || !ok2 || !ok3 || name == "" {
		return screening.Query{}, ScreeningQuery{}, false
	}
	q := screening.Query{FullName: name, Country: country}
	stored := ScreeningQuery{FullName: name, Country: strings.ToUpper(country)}
	if birth != "" {
		d, err := time.Parse(time.DateOnly, birth)
		if err != nil {
			return screening.Query{}, ScreeningQuery{}, false
		}
		q.BirthDate, stored.BirthDate = d, d.Format(time.DateOnly)
	}
	return q, stored, true
}

// RunScreening is the screening job; run it from a periodic job (the
// maintenance runner). For every screening requirement it screens, with
// Options.Screener, in batches of a bounded size read through the stores'
// due index:
//
//   - queued screenings: a subject whose answers the requirement reads
//     are all given (queued by the answer, which never calls the screener);
//   - approved screenings whose RescreenInterval has passed;
//   - every approved screening when the screener's list version
//     (screening.ListVersioner) differs from the one it was screened
//     against: the first run of a Service checks them all, later runs only
//     after the version moves.
//
// A screen with no hit at or above Options.ScreeningThreshold, other than
// hits a reviewer dismissed before, approves the requirement (event
// screening.cleared when it was not approved; a level may be granted) and
// schedules the next screen. Otherwise the requirement is pending review
// with the hits (event screening.hit); a re-screen that finds a new hit
// also downgrades the subject with Options.DowngradeOnExpiry. A reviewer
// then decides with Review: approving dismisses the hits as false
// positives (remembered by key), rejecting confirms them (a final
// rejection).
//
// The screener is called outside any store transaction; the results are
// applied in short transactions of up to 32 screens, their subjects locked
// in ID order, each skipped when its state changed meanwhile. A screener outage (ErrUnavailable) or
// a cancelled ctx stops the run with the error; what was done stays done.
func (s *Service) RunScreening(ctx context.Context) (ScreeningReport, error) {
	var rep ScreeningReport
	if s.screener == nil {
		return rep, nil
	}
	now := s.Now()
	version, known := "", false
	if v, ok := s.screener.(screening.ListVersioner); ok {
		cur, err := v.ListVersion(ctx)
		if err != nil {
			return rep, s.fail("RunScreening", err)
		}
		version, known = cur, true
		rep.ListVersion = cur
	}
	last, checked := s.screenedVersion.get()
	all := known && (!checked || last != version)
	for _, req := range s.ladder.Requirements() {
		if req.Type != levels.Screening {
			continue
		}
		f := DueFilter{Name: req.Name, Before: now}
		if all {
			// Every approved screening is due again no later than one
			// interval from now: the walk reaches them all.
			f.Before = now.Add(req.RescreenInterval.D())
		}
		err := s.walkDue(ctx, f, func(page []RequirementState) error {
			chunk := make([]screened, 0, sweepChunk)
			for _, st := range page {
				if st.ValidUntil.After(now) {
					rec, ok := DecodeScreening(st)
					if st.Status != levels.Approved || ok && rec.ListVersion == version {
						continue // not due, and screened against this version
					}
				}
				sc, ok, err := s.screenOne(ctx, req, st, now, &rep)
				if err != nil {
					// An outage: keep what was screened before it.
					if len(chunk) > 0 {
						if aerr := s.applyScreens(ctx, req, chunk, now, &rep); aerr != nil {
							return errors.Join(err, aerr)
						}
					}
					return err
				}
				if ok {
					chunk = append(chunk, sc)
				}
				if len(chunk) == sweepChunk {
					if err := s.applyScreens(ctx, req, chunk, now, &rep); err != nil {
						return err
					}
					chunk = chunk[:0]
				}
			}
			if len(chunk) == 0 {
				return nil
			}
			return s.applyScreens(ctx, req, chunk, now, &rep)
		})
		if err != nil {
			return rep, s.fail("RunScreening", err)
		}
	}
	if all {
		s.screenedVersion.set(version)
	}
	return rep, nil
}

// screened is one subject's screen, run outside any transaction, waiting
// to be applied.
type screened struct {
	listed RequirementState
	stored ScreeningQuery
	res    screening.Result
}

// screenOne screens the subject of one listed screening state outside any
// transaction; ok is false when there is nothing to apply (not screenable:
// counted as Failed).
func (s *Service) screenOne(ctx context.Context, req *levels.Requirement, listed RequirementState, now time.Time, rep *ScreeningReport) (screened, bool, error) {
	if listed.Status != levels.Pending && listed.Status != levels.Approved {
		return screened{}, false, nil
	}
	_, full, err := states(ctx, s.store, listed.SubjectID)
	if err != nil {
		return screened{}, false, err
	}
	q, stored, ok := screeningQuery(req, full)
	if !ok {
		rep.Failed++
		return screened{}, false, nil
	}
	res, err := screening.Run(ctx, s.screener, q, now)
	switch {
	case errors.Is(err, screening.ErrInvalidQuery), errors.Is(err, screening.ErrBadAnswer):
		rep.Failed++
		s.log.Warn().Str("op", "RunScreening").Str("kind", kindOf(err)).Msg("verification: subject not screened")
		return screened{}, false, nil
	case err != nil:
		return screened{}, false, err
	}
	rep.Screened++
	return screened{listed: listed, stored: stored, res: res}, true, nil
}

// applyScreens applies a chunk of screens in one transaction, their
// subjects locked in ID order; the counts reach rep once it commits.
func (s *Service) applyScreens(ctx context.Context, req *levels.Requirement, chunk []screened, now time.Time, rep *ScreeningReport) error {
	slices.SortFunc(chunk, func(a, b screened) int { return cmp.Compare(a.listed.SubjectID, b.listed.SubjectID) })
	var r ScreeningReport
	err := s.inTx(ctx, "RunScreening", func(ctx context.Context, tx Store) error {
		r = ScreeningReport{}
		for _, sc := range chunk {
			if err := s.applyScreen(ctx, tx, req, sc, now, &r); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		rep.Cleared += r.Cleared
		rep.Hits += r.Hits
	}
	return err
}

// applyScreen applies one screen inside tx (see RunScreening); a state
// that changed since it was listed is left alone.
func (s *Service) applyScreen(ctx context.Context, tx Store, req *levels.Requirement, sc screened, now time.Time, rep *ScreeningReport) error {
	listed, stored, res := sc.listed, sc.stored, sc.res
	sub, st, ok, err := s.lockDue(ctx, tx, listed, now)
	if err != nil || !ok || st.Status != listed.Status {
		return err
	}
	old, _ := DecodeScreening(st)
	rec := ScreeningRecord{Query: stored, ListVersion: res.ListVersion, ScreenedAt: now, Dismissed: old.Dismissed}
	for _, h := range res.Above(s.threshold) {
		if !slices.Contains(rec.Dismissed, h.Key()) {
			rec.Hits = append(rec.Hits, ScreeningHit{Key: h.Key(), List: h.List, EntityID: h.EntityID, Name: h.Name, Score: h.Score, Programmes: slices.Clone(h.Programmes)})
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	was := st.Status
	st.Answer, st.UpdatedAt, st.WarnedAt = b, now, time.Time{}
	if len(rec.Hits) == 0 {
		st.Status, st.ValidUntil = levels.Approved, now.Add(req.RescreenInterval.D())
		if err := tx.PutRequirementState(ctx, st); err != nil || was == levels.Approved {
			return err
		}
		rep.Cleared++
		if err := s.emit(ctx, tx, &sub, now, &ScreeningClearedPayload{Requirement: req.Name, ListVersion: rec.ListVersion}); err != nil {
			return err
		}
		if err := s.emit(ctx, tx, &sub, now, &RequirementApprovedPayload{Requirement: req.Name}); err != nil {
			return err
		}
		return s.promote(ctx, tx, &sub, now, grantArgs{reason: ReasonRequirements})
	}
	rep.Hits++
	st.Status, st.ValidUntil = levels.Pending, time.Time{}
	if err := tx.PutRequirementState(ctx, st); err != nil {
		return err
	}
	keys := make([]string, len(rec.Hits))
	for i, h := range rec.Hits {
		keys[i] = h.Key
	}
	if err := s.emit(ctx, tx, &sub, now, &ScreeningHitPayload{Requirement: req.Name, Hits: keys, ListVersion: rec.ListVersion}); err != nil {
		return err
	}
	if was == levels.Approved && s.downgrade {
		_, err = s.demote(ctx, tx, &sub, now, ReasonScreeningHit(req.Name))
	}
	return err
}

// kindOf names the screening sentinel err matches, for logs (never the
// query).
func kindOf(err error) string {
	for _, k := range []error{screening.ErrInvalidQuery, screening.ErrBadAnswer, screening.ErrUnavailable} {
		if errors.Is(err, k) {
			return k.Error()
		}
	}
	return "error"
}

// reviewScreening applies a reviewer's decision on a screening's hits
// (inside Review's transaction, the subject locked, st pending): approve
// dismisses every hit as a false positive and approves the screening until
// its next screen; reject confirms them, a final rejection.
func (s *Service) reviewScreening(ctx context.Context, tx Store, sub *Subject, st *RequirementState, req *levels.Requirement, p ReviewParams, adminID int64) error {
	rec, ok := DecodeScreening(*st)
	switch {
	case !ok || len(rec.Hits) == 0:
		return newErr(ErrConflict, "screening %s has not run yet: nothing to review", req.Name)
	case !p.ValidUntil.IsZero():
		return invalid("validUntil", "does not apply to screening requirement %s", req.Name)
	}
	now := s.Now()
	if p.Decision == Reject {
		if err := s.settle(ctx, tx, sub, st, verdict{requirement: req.Name, decision: Reject, reason: p.Reason, final: true, adminID: adminID}, now); err != nil {
			return err
		}
		if !s.downgrade {
			return nil
		}
		_, err := s.demote(ctx, tx, sub, now, ReasonScreeningConfirmed(req.Name))
		return err
	}
	dismissed := len(rec.Hits)
	for _, h := range rec.Hits {
		if !slices.Contains(rec.Dismissed, h.Key) {
			rec.Dismissed = append(rec.Dismissed, h.Key)
		}
	}
	rec.Hits = nil
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	next := rec.ScreenedAt.Add(req.RescreenInterval.D())
	if !next.After(now) {
		next = now
	}
	st.Status, st.Answer, st.Reason, st.Final, st.UpdatedAt = levels.Approved, b, "", false, now
	st.ValidUntil, st.WarnedAt = next, time.Time{}
	if err := tx.PutRequirementState(ctx, *st); err != nil {
		return err
	}
	rv := &Review{SubjectID: sub.ID, Requirement: req.Name, Decision: Approve, Reason: p.Reason, AdminID: adminID, CreatedAt: now}
	if err := tx.AddReview(ctx, rv); err != nil {
		return err
	}
	if err := s.emit(ctx, tx, sub, now, &RequirementApprovedPayload{Requirement: req.Name, ReviewID: rv.ID}); err != nil {
		return err
	}
	if err := s.emit(ctx, tx, sub, now, &ScreeningClearedPayload{Requirement: req.Name, Dismissed: dismissed, ListVersion: rec.ListVersion}); err != nil {
		return err
	}
	reason := p.Reason
	if reason == "" {
		reason = "Review: " + req.Name
	}
	return s.promote(ctx, tx, sub, now, grantArgs{reason: reason, userID: adminID})
}
