package verification

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/openkyc/kyc/levels"
)

// RequirementState is one subject's state for one requirement.
type RequirementState struct {
	// SubjectID and Name key the state.
	SubjectID int64
	// Name is the requirement's name in the ladder.
	Name string
	// Status is missing, pending, rejected or approved.
	Status levels.Status
	// Answer is the latest answer in its JSON form (nil when missing or
	// erased).
	Answer json.RawMessage
	// Reason is the latest rejection's reason.
	Reason string
	// Final marks a rejection the subject cannot retry.
	Final bool
	// Attempts counts the subject's answers since the last reset.
	Attempts int
	// UpdatedAt is when the state last changed.
	UpdatedAt time.Time
	// ValidUntil is when an approval stops counting (zero: never). For a
	// screening requirement it is when the next screen is due instead: the
	// queued first screen (pending) or the next re-screen (approved).
	// Stores index it (ListDueRequirementStates).
	ValidUntil time.Time
	// WarnedAt is when requirement.expiring was emitted for this
	// ValidUntil; zero until then. A new approval clears it.
	WarnedAt time.Time
}

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
	if subjectID <= 0 {
		return levels.Result{}, s.fail("Status", invalid("clientId", "must be a positive integer"))
	}
	// One round trip: the subject's liveness with its states' statuses
	// (what subject and states would read in two).
	sub, err := s.store.GetSubjectStatuses(ctx, subjectID)
	if errors.Is(err, ErrNotFound) || err == nil && sub.Deleted {
		return levels.Result{}, s.fail("Status", coded(CodeUserDeleted))
	}
	if err != nil {
		return levels.Result{}, s.fail("Status", err)
	}
	return s.ladder.Evaluate(sub.States, target), nil
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
func (s *Service) Answer(ctx context.Context, subjectID int64, name string, answer json.RawMessage) (_ RequirementState, err error) {
	defer endCall(s.call(&ctx, "Answer"), &err)
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
		// The subject locked and its states read, in one store call
		// where the store can.
		sub, all, full, err := lockLiveStates(ctx, tx, subjectID)
		if err != nil {
			return err
		}
		st, err = s.answerStates(ctx, tx, &sub, req, answer, all, full)
		return err
	})
	return st, err
}

// answerTx records a validated answer inside tx (the subject is locked).
func (s *Service) answerTx(ctx context.Context, tx Store, sub *Subject, req *levels.Requirement, answer json.RawMessage) (RequirementState, error) {
	// One read of the subject's states: this requirement's, and the
	// others' for the promotion.
	all, full, err := states(ctx, tx, sub.ID)
	if err != nil {
		return RequirementState{}, err
	}
	return s.answerStates(ctx, tx, sub, req, answer, all, full)
}

// answerStates is answerTx with the subject's states as they stand in tx
// (all their statuses, full the states by name), read by the caller.
func (s *Service) answerStates(ctx context.Context, tx Store, sub *Subject, req *levels.Requirement, answer json.RawMessage,
	all levels.States, full map[string]RequirementState) (RequirementState, error) {
	name := req.Name
	st, ok := full[name]
	if !ok {
		st = RequirementState{SubjectID: sub.ID, Name: name, Status: levels.Missing}
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
	clearValidity(&st)
	if !req.Review {
		if err := approveState(&st, req, now, Validity{}); err != nil {
			return st, err
		}
	}
	if req.Type == levels.Document {
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
	if err := s.queueScreenings(ctx, tx, sub, name, now); err != nil {
		return st, err
	}
	if st.Status != levels.Approved {
		return st, nil
	}
	if err := s.emit(ctx, tx, sub, now, &RequirementApprovedPayload{Requirement: name}); err != nil {
		return st, err
	}
	why := grantArgs{reason: ReasonRequirements}
	if s.screensOn(name) {
		// queueScreenings may have changed a screening's state: read again.
		return st, s.promote(ctx, tx, sub, now, why)
	}
	all[name] = st.Status
	return st, s.promoteTo(ctx, tx, sub, now, why, all)
}

// screensOn reports whether a screening requirement of the ladder reads
// the answer of requirement name.
func (s *Service) screensOn(name string) bool {
	for _, r := range s.ladder.Requirements() {
		if r.Type == levels.Screening && r.Uses(name) {
			return true
		}
	}
	return false
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
		return &Error{Sentinel: ErrInvalid, Field: fe.Field, Message: fe.Reason}
	}
	return &Error{Sentinel: ErrInvalid, Message: err.Error()}
}

// jsonAnswer encodes an answer value in its JSON form.
func jsonAnswer(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	return json.RawMessage(b), err
}

// SetRequirementParams are the inputs of SetRequirement.
type SetRequirementParams struct {
	// SubjectID is the subject whose requirement is set.
	SubjectID int64
	// Requirement names the requirement.
	Requirement string
	// Value, when set, becomes the requirement's answer (validated like a
	// subject's answer), e.g. true for verificationFlag.
	Value json.RawMessage
	// Status is what the requirement becomes: approved (default), pending,
	// or rejected (with Reason).
	Status levels.Status
	// Reason explains a rejection (required then).
	Reason string
	// Final makes a rejection final (see ReviewParams.Final).
	Final bool
	// ValidUntil, optional when approving, is when the approval stops
	// counting (see ReviewParams.ValidUntil). Setting an approved
	// requirement approved again with a later date renews it.
	ValidUntil time.Time
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
	case req.SetBySystem():
		err = newErr(ErrForbidden, "requirement %s is set by the system; review its screening instead", p.Requirement)
	case p.Status != levels.Approved && !p.ValidUntil.IsZero():
		err = invalid("validUntil", "applies to approvals only")
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
			if req.Type == levels.Document {
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
			clearValidity(&st)
			st.Status, st.Reason, st.Final, st.UpdatedAt = levels.Pending, "", false, s.Now()
			if err := tx.PutRequirementState(ctx, st); err != nil {
				return err
			}
			if err := s.emit(ctx, tx, &sub, st.UpdatedAt, &RequirementSubmittedPayload{Requirement: p.Requirement, Status: st.Status}); err != nil {
				return err
			}
		} else {
			d := Approve
			if p.Status == levels.Rejected {
				d = Reject
			}
			err := s.decide(ctx, tx, &sub, &st, verdict{requirement: p.Requirement, decision: d, reason: p.Reason, final: p.Final, adminID: actor.AdminID(),
				validity: Validity{Until: p.ValidUntil}})
			if err != nil {
				return err
			}
		}
		if p.Value != nil {
			if err := s.queueScreenings(ctx, tx, &sub, p.Requirement, s.Now()); err != nil {
				return err
			}
		}
		action := AuditRequirementSet
		if actor.Kind == ActorProvider {
			action = AuditProviderDecision
		}
		return s.audit(ctx, tx, actor, auditArgs{action: action, subjectID: sub.ID, entity: AuditEntityRequirement, entityID: p.Requirement,
			summary: map[string]string{"status": string(p.Status), "value": strconv.FormatBool(p.Value != nil), "final": strconv.FormatBool(p.Final)}})
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
			clearValidity(&st)
		}
		st.UpdatedAt = now
		if err := tx.PutRequirementState(ctx, st); err != nil {
			return err
		}
		if err := s.emit(ctx, tx, &sub, now, &RequirementResetPayload{Requirement: name, AdminID: adminID}); err != nil {
			return err
		}
		// A reopened screening is queued again when its answers are there.
		if err := s.queueScreening(ctx, tx, &sub, name, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, auditArgs{action: AuditRequirementReset, subjectID: sub.ID, entity: AuditEntityRequirement, entityID: name,
			summary: map[string]string{"reopen": strconv.FormatBool(reopen), "status": string(st.Status)}})
	})
	return st, err
}
