package verification

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/openkyc/kyc/levels"
)

// MaxAnswerBytes bounds an answer's JSON form.
const MaxAnswerBytes = 16 << 10

// MaxReasonLen bounds review and grant reasons.
const MaxReasonLen = 500

// requirement returns the named requirement or an ErrInvalid naming field.
func (s *Service) requirement(field, name string) (*levels.Requirement, error) {
	r, ok := s.ladder.Requirement(name)
	if !ok {
		return nil, invalid(field, "unknown requirement %q", name)
	}
	return r, nil
}

// Status returns what the subject still needs for target (a level ID; 0 means
// the top of the ladder) and the level its approved requirements earn. An
// empty Outstanding means fully verified up to target.
func (s *Service) Status(ctx context.Context, subjectID int64, target int) (levels.Result, error) {
	if target != 0 {
		if _, ok := s.ladder.Level(target); !ok {
			return levels.Result{}, s.fail("Status", invalid("target", "unknown level %d", target))
		}
	}
	if _, err := s.subject(ctx, SystemActor(), subjectID, "Status"); err != nil {
		return levels.Result{}, err
	}
	st, _, err := states(ctx, s.store, subjectID)
	if err != nil {
		return levels.Result{}, s.fail("Status", err)
	}
	return s.ladder.Evaluate(st, target), nil
}

// RequirementStates returns the subject's stored states, ordered by name,
// as actor sees the subject (ER709 when it may not).
func (s *Service) RequirementStates(ctx context.Context, actor Actor, subjectID int64) ([]RequirementState, error) {
	if _, err := s.Subject(ctx, actor, subjectID); err != nil {
		return nil, err
	}
	list, err := s.store.ListRequirementStates(ctx, subjectID)
	return list, s.fail("RequirementStates", err)
}

// Answer records the subject's answer to a requirement. The answer is the
// JSON form levels.Requirement.Validate describes; for a document
// requirement every file must be one the subject uploaded. A requirement
// without review is approved at once (and may earn a level); one with review
// becomes pending. Refused: host-set requirements (ErrForbidden), answers
// while a review is pending or after approval (ErrConflict), after a final
// rejection (ErrRejectedFinal) or past the attempt cap
// (ErrAttemptsExhausted). Nothing is written on a refusal.
func (s *Service) Answer(ctx context.Context, subjectID int64, name string, answer json.RawMessage) (RequirementState, error) {
	req, err := s.requirement("requirement", name)
	if err != nil {
		return RequirementState{}, s.fail("Answer", err)
	}
	if !req.AnsweredByUser() {
		return RequirementState{}, s.fail("Answer", newErr(ErrForbidden, "requirement %s is set by the host, not answered", name))
	}
	if len(answer) > MaxAnswerBytes {
		return RequirementState{}, s.fail("Answer", invalid("answer", "must be at most %d bytes", MaxAnswerBytes))
	}
	if err := req.Validate(answer); err != nil {
		return RequirementState{}, s.fail("Answer", fromLevels(err))
	}
	var st RequirementState
	err = s.inTx(ctx, "Answer", func(ctx context.Context, tx Store) error {
		sub, err := lockLive(ctx, tx, subjectID)
		if err != nil {
			return err
		}
		st, err = s.answerTx(ctx, tx, &sub, req, answer)
		return err
	})
	return st, err
}

// answerTx records a validated answer inside tx (the subject is locked).
func (s *Service) answerTx(ctx context.Context, tx Store, sub *Subject, req *levels.Requirement, answer json.RawMessage) (RequirementState, error) {
	name := req.Name
	st, err := s.loadState(ctx, tx, sub.ID, name)
	if err != nil {
		return st, err
	}
	switch {
	case st.Status == levels.Approved:
		return st, newErr(ErrConflict, "requirement %s is already approved", name)
	case st.Status == levels.Pending:
		return st, newErr(ErrConflict, "requirement %s awaits review", name)
	case st.Status == levels.Rejected && st.Final:
		return st, newErr(ErrRejectedFinal, "requirement %s was rejected with a final decision", name)
	case st.Attempts >= req.Attempts():
		return st, newErr(ErrAttemptsExhausted, "requirement %s allows %d attempts; an admin must reset it", name, req.Attempts())
	}
	now := s.Now()
	st.Status = levels.Pending
	if !req.Review {
		st.Status = levels.Approved
	}
	if req.Kind == levels.Document {
		files, err := newAnswerFiles(req, answer)
		if err != nil {
			return st, err
		}
		if err := files.attach(ctx, tx, sub.ID, st.Status, now); err != nil {
			return st, err
		}
	}
	st.Answer = append(json.RawMessage(nil), answer...)
	st.Attempts++
	st.Reason, st.Final = "", false
	st.UpdatedAt = now
	if err := tx.PutRequirementState(ctx, st); err != nil {
		return st, err
	}
	if err := s.emit(ctx, tx, sub, now, &RequirementSubmittedPayload{Requirement: name, Status: st.Status}); err != nil {
		return st, err
	}
	if st.Status != levels.Approved {
		return st, nil
	}
	if err := s.emit(ctx, tx, sub, now, &RequirementApprovedPayload{Requirement: name}); err != nil {
		return st, err
	}
	return st, s.promote(ctx, tx, sub, now, grantArgs{reason: ReasonRequirements})
}

// ReasonRequirements is the reason of a grant earned by answers that needed
// no review.
const ReasonRequirements = "requirements approved"

// loadState returns the stored state or a fresh missing one.
func (s *Service) loadState(ctx context.Context, tx Store, subjectID int64, name string) (RequirementState, error) {
	st, err := tx.GetRequirementState(ctx, subjectID, name)
	if errors.Is(err, ErrNotFound) {
		return RequirementState{SubjectID: subjectID, Name: name, Status: levels.Missing}, nil
	}
	return st, err
}

// fromLevels turns a levels validation error into an ErrInvalid naming the field.
func fromLevels(err error) error {
	var fe *levels.FieldError
	if errors.As(err, &fe) {
		return &Error{Kind: ErrInvalid, Field: fe.Field, Message: fe.Reason}
	}
	return &Error{Kind: ErrInvalid, Message: err.Error()}
}

// ReviewParams are the inputs of Review.
type ReviewParams struct {
	SubjectID   int64
	Requirement string
	Decision    Decision
	// Reason explains a rejection (required then); optional on approval,
	// where it becomes the reason of any level grant it causes.
	Reason string
	// Final makes a rejection final: the subject may not answer again until
	// an admin resets the requirement. Without it the subject may retry.
	Final bool
}

func (p ReviewParams) validate() error {
	switch {
	case p.SubjectID <= 0:
		return invalid("subjectId", "must be a positive integer")
	case p.Decision == Approve && p.Final:
		return invalid("final", "applies to rejections only")
	}
	return checkDecision(p.Decision, p.Reason)
}

// verdict is a decision on one requirement as the Service applies it: by a
// reviewer (adminID), by an application's decision, or set by the host
// (adminID 0).
type verdict struct {
	requirement string
	decision    Decision
	reason      string
	final       bool
	adminID     int64
}

// checkDecision validates the parts every review decision shares: approve
// or reject, and a reason for a rejection.
func checkDecision(d Decision, reason string) error {
	switch {
	case d != Approve && d != Reject:
		return invalid("decision", "must be %q or %q", Approve, Reject)
	case d == Reject && reason == "":
		return invalid("reason", "is required when rejecting")
	case len(reason) > MaxReasonLen:
		return invalid("reason", "must be at most %d characters", MaxReasonLen)
	}
	return nil
}

// Review decides a pending requirement: approval counts it (and may grant a
// level, recorded with the reviewer as userId), rejection sends it back to
// the subject with the reason. The decision is kept as a Review record.
// Deciding a requirement that is not pending is ErrConflict. The actor must
// be an admin; a subject it may not see answers ER709.
func (s *Service) Review(ctx context.Context, actor Actor, p ReviewParams) (RequirementState, error) {
	if err := actor.may("Review", reviewers...); err != nil {
		return RequirementState{}, s.fail("Review", err)
	}
	if err := p.validate(); err != nil {
		return RequirementState{}, s.fail("Review", err)
	}
	if _, err := s.requirement("requirement", p.Requirement); err != nil {
		return RequirementState{}, s.fail("Review", err)
	}
	var st RequirementState
	err := s.inTx(ctx, "Review", func(ctx context.Context, tx Store) error {
		sub, err := lockVisible(ctx, tx, actor, p.SubjectID)
		if err != nil {
			return err
		}
		if st, err = s.loadState(ctx, tx, sub.ID, p.Requirement); err != nil {
			return err
		}
		if st.Status != levels.Pending {
			return newErr(ErrConflict, "requirement %s is %s, not pending review", p.Requirement, st.Status)
		}
		return s.decide(ctx, tx, &sub, &st, verdict{requirement: p.Requirement, decision: p.Decision, reason: p.Reason, final: p.Final, adminID: actor.AdminID()})
	})
	return st, err
}

// decide applies a review decision to st (locked by the caller's tx) and
// grants any level the approval earns.
func (s *Service) decide(ctx context.Context, tx Store, sub *Subject, st *RequirementState, v verdict) error {
	now := s.Now()
	if err := s.settle(ctx, tx, sub, st, v, now); err != nil || v.decision != Approve {
		return err
	}
	reason := v.reason
	if reason == "" {
		reason = "Review: " + v.requirement
	}
	return s.promote(ctx, tx, sub, now, grantArgs{reason: reason, userID: v.adminID})
}

// settle records a review decision: the requirement's new state, its
// document files, the Review audit record and the event. It grants nothing.
func (s *Service) settle(ctx context.Context, tx Store, sub *Subject, st *RequirementState, v verdict, now time.Time) error {
	st.UpdatedAt = now
	if v.decision == Approve {
		st.Status, st.Reason, st.Final = levels.Approved, "", false
	} else {
		st.Status, st.Reason, st.Final = levels.Rejected, v.reason, v.final
	}
	if err := tx.PutRequirementState(ctx, *st); err != nil {
		return err
	}
	if files, ok := s.storedAnswerFiles(*st); ok {
		if err := files.settle(ctx, tx, v.decision, v.reason, now); err != nil {
			return err
		}
		if v.decision == Approve && s.identityDocument(st.Name) {
			// Approving an identity document is a manual identity check:
			// it records the identity-verification session seed 003's
			// route serves, naming the answer's images.
			if err := s.recordManualIDSession(ctx, tx, sub.ID, files, now); err != nil {
				return err
			}
		}
	}
	rv := &Review{SubjectID: sub.ID, Requirement: v.requirement, Decision: v.decision, Reason: v.reason, Final: v.final, AdminID: v.adminID, CreatedAt: now}
	if err := tx.AddReview(ctx, rv); err != nil {
		return err
	}
	if v.decision == Reject {
		return s.emit(ctx, tx, sub, now, &RequirementRejectedPayload{Requirement: v.requirement, ReviewID: rv.ID, Reason: v.reason, Final: v.final})
	}
	return s.emit(ctx, tx, sub, now, &RequirementApprovedPayload{Requirement: v.requirement, ReviewID: rv.ID})
}

// jsonAnswer encodes an answer value in its JSON form.
func jsonAnswer(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	return json.RawMessage(b), err
}

// SetRequirementParams are the inputs of SetRequirement.
type SetRequirementParams struct {
	SubjectID   int64
	Requirement string
	// Value, when set, becomes the requirement's answer (validated like a
	// subject's answer), e.g. true for verificationFlag.
	Value json.RawMessage
	// Status is what the requirement becomes: approved (default), pending,
	// or rejected (with Reason).
	Status levels.Status
	Reason string
	Final  bool
}

// SetRequirement lets the host or a reviewer set a requirement directly:
// a host-set one such as verificationFlag, or a code the host checked itself
// such as emailCode. Approval may grant a level. It ignores the attempt cap.
// The actor is an admin (recorded as the reviewer), the host, the system or
// a provider; a subject it may not see answers ER709.
func (s *Service) SetRequirement(ctx context.Context, actor Actor, p SetRequirementParams) (RequirementState, error) {
	if err := actor.may("SetRequirement", setters...); err != nil {
		return RequirementState{}, s.fail("SetRequirement", err)
	}
	req, err := s.requirement("requirement", p.Requirement)
	if err != nil {
		return RequirementState{}, s.fail("SetRequirement", err)
	}
	if p.Status == "" {
		p.Status = levels.Approved
	}
	switch {
	case p.SubjectID <= 0:
		err = invalid("subjectId", "must be a positive integer")
	case p.Status != levels.Approved && p.Status != levels.Pending && p.Status != levels.Rejected:
		err = invalid("status", "must be approved, pending or rejected")
	case p.Status == levels.Rejected && p.Reason == "":
		err = invalid("reason", "is required when rejecting")
	case len(p.Reason) > MaxReasonLen:
		err = invalid("reason", "must be at most %d characters", MaxReasonLen)
	case len(p.Value) > MaxAnswerBytes:
		err = invalid("value", "must be at most %d bytes", MaxAnswerBytes)
	case p.Value != nil:
		if verr := req.Validate(p.Value); verr != nil {
			err = fromLevels(verr)
		}
	}
	if err != nil {
		return RequirementState{}, s.fail("SetRequirement", err)
	}
	var st RequirementState
	err = s.inTx(ctx, "SetRequirement", func(ctx context.Context, tx Store) error {
		sub, err := lockVisible(ctx, tx, actor, p.SubjectID)
		if err != nil {
			return err
		}
		if st, err = s.loadState(ctx, tx, sub.ID, p.Requirement); err != nil {
			return err
		}
		if p.Value != nil {
			if req.Kind == levels.Document {
				// The answer it replaces no longer holds its sides.
				if err := s.releaseAnswer(ctx, tx, st, "replaced", s.Now()); err != nil {
					return err
				}
				files, err := newAnswerFiles(req, p.Value)
				if err != nil {
					return err
				}
				if err := files.attach(ctx, tx, sub.ID, levels.Pending, s.Now()); err != nil {
					return err
				}
			}
			st.Answer = append(json.RawMessage(nil), p.Value...)
		}
		if p.Status == levels.Pending {
			st.Status, st.Reason, st.Final, st.UpdatedAt = levels.Pending, "", false, s.Now()
			if err := tx.PutRequirementState(ctx, st); err != nil {
				return err
			}
			return s.emit(ctx, tx, &sub, st.UpdatedAt, &RequirementSubmittedPayload{Requirement: p.Requirement, Status: st.Status})
		}
		d := Approve
		if p.Status == levels.Rejected {
			d = Reject
		}
		return s.decide(ctx, tx, &sub, &st, verdict{requirement: p.Requirement, decision: d, reason: p.Reason, final: p.Final, adminID: actor.AdminID()})
	})
	return st, err
}

// ResetRequirement lets an admin reopen a requirement: its attempts go back
// to zero, a final rejection is lifted and the requirement becomes missing
// (its answer is dropped). An approved requirement stays approved unless
// reopen is true. The subject's level is not lowered (see GrantLevel). The
// actor must be an admin.
func (s *Service) ResetRequirement(ctx context.Context, actor Actor, subjectID int64, name string, reopen bool) (RequirementState, error) {
	if err := actor.may("ResetRequirement", reviewers...); err != nil {
		return RequirementState{}, s.fail("ResetRequirement", err)
	}
	if _, err := s.requirement("requirement", name); err != nil {
		return RequirementState{}, s.fail("ResetRequirement", err)
	}
	adminID := actor.AdminID()
	var st RequirementState
	err := s.inTx(ctx, "ResetRequirement", func(ctx context.Context, tx Store) error {
		sub, err := lockVisible(ctx, tx, actor, subjectID)
		if err != nil {
			return err
		}
		if st, err = s.loadState(ctx, tx, sub.ID, name); err != nil {
			return err
		}
		now := s.Now()
		st.Attempts = 0
		if st.Status != levels.Approved || reopen {
			if err := s.releaseAnswer(ctx, tx, st, "reset", now); err != nil {
				return err
			}
			st.Status, st.Answer, st.Reason, st.Final = levels.Missing, nil, "", false
		}
		st.UpdatedAt = now
		if err := tx.PutRequirementState(ctx, st); err != nil {
			return err
		}
		return s.emit(ctx, tx, &sub, now, &RequirementResetPayload{Requirement: name, AdminID: adminID})
	})
	return st, err
}

// Reviews returns the subject's review decisions, oldest first, as actor
// sees the subject.
func (s *Service) Reviews(ctx context.Context, actor Actor, subjectID int64) ([]Review, error) {
	if _, err := s.Subject(ctx, actor, subjectID); err != nil {
		return nil, err
	}
	list, err := s.store.ListReviews(ctx, subjectID)
	return list, s.fail("Reviews", err)
}
