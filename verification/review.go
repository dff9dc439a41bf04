package verification

import (
	"context"
	"strconv"
	"time"

	"github.com/openkyc/kyc/levels"
)

// Decision is a review outcome.
type Decision string

// Review decisions.
const (
	Approve Decision = "approved"
	Reject  Decision = "rejected"
)

// Review is the audit record of one review decision. Reviews are never
// updated; erasure keeps them (they hold no personal data).
type Review struct {
	// ID is assigned by the store (positive, increasing).
	ID int64
	// SubjectID is the subject reviewed.
	SubjectID int64
	// Requirement names the requirement decided.
	Requirement string
	// Decision is approved or rejected.
	Decision Decision
	// Reason is the decision's reason (required for a rejection).
	Reason string
	// Final marks a rejection the subject may not retry.
	Final bool
	// AdminID is the reviewer (0 when the host decided without an admin).
	AdminID int64
	// CreatedAt is when the decision was made.
	CreatedAt time.Time
}

// ReviewParams are the inputs of Review.
type ReviewParams struct {
	// SubjectID is the subject whose requirement is decided.
	SubjectID int64
	// Requirement names the pending requirement.
	Requirement string
	// Decision approves or rejects it.
	Decision Decision
	// Reason explains a rejection (required then); optional on approval,
	// where it becomes the reason of any level grant it causes.
	Reason string
	// Final makes a rejection final: the subject may not answer again until
	// an admin resets the requirement. Without it the subject may retry.
	Final bool
	// ValidUntil, optional on approval, is when the approval stops
	// counting: the document's expiry date as the reviewer reads it. It
	// wins over the requirement's ValidFor (see Validity) and must be in
	// the future; it is refused on rejections and screening requirements.
	ValidUntil time.Time
}

func (p ReviewParams) validate() error {
	switch {
	case p.SubjectID <= 0:
		return invalid("subjectId", "must be a positive integer")
	case p.Decision == Approve && p.Final:
		return invalid("final", "applies to rejections only")
	case p.Decision == Reject && !p.ValidUntil.IsZero():
		return invalid("validUntil", "applies to approvals only")
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
	// validity is what the approval knows about its end (see Validity).
	validity Validity
	// provider names the identity provider whose decision this is; empty
	// for reviewers and the host.
	provider string
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
func (s *Service) Review(ctx context.Context, actor Actor, p ReviewParams) (_ RequirementState, err error) {
	defer endCall(s.call(&ctx, "Review"), &err)
	if err := actor.may("Review", reviewers...); err != nil {
		return RequirementState{}, s.fail("Review", err)
	}
	if err := p.validate(); err != nil {
		return RequirementState{}, s.fail("Review", err)
	}
	req, err := s.requirement("requirement", p.Requirement)
	if err != nil {
		return RequirementState{}, s.fail("Review", err)
	}
	var st RequirementState
	err = s.inTx(ctx, "Review", func(ctx context.Context, tx Store) error {
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
		if req.Type == levels.Screening {
			if err := s.reviewScreening(ctx, tx, &sub, &st, req, p, actor.AdminID()); err != nil {
				return err
			}
		} else if err := s.decide(ctx, tx, &sub, &st, verdict{requirement: p.Requirement, decision: p.Decision, reason: p.Reason, final: p.Final, adminID: actor.AdminID(),
			validity: Validity{Until: p.ValidUntil}}); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, auditArgs{action: AuditReviewDecided, subjectID: sub.ID, entity: AuditEntityRequirement, entityID: p.Requirement,
			summary: map[string]string{"decision": string(p.Decision), "final": strconv.FormatBool(p.Final), "attempt": itoa(st.Attempts)}})
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
	switch {
	case reason == "" && v.provider != "":
		reason = "Provider " + v.provider + ": " + v.requirement
	case reason == "":
		reason = "Review: " + v.requirement
	}
	return s.promote(ctx, tx, sub, now, grantArgs{reason: reason, userID: v.adminID})
}

// settle records a review decision: the requirement's new state, its
// document files, the Review audit record and the event. It grants nothing.
func (s *Service) settle(ctx context.Context, tx Store, sub *Subject, st *RequirementState, v verdict, now time.Time) error {
	st.UpdatedAt = now
	if v.decision == Approve {
		req, err := s.requirement("requirement", v.requirement)
		if err != nil {
			return err
		}
		if err := approveState(st, req, now, v.validity); err != nil {
			return err
		}
	} else {
		st.Status, st.Reason, st.Final = levels.Rejected, v.reason, v.final
		clearValidity(st)
	}
	if err := tx.PutRequirementState(ctx, *st); err != nil {
		return err
	}
	if files, ok := s.storedAnswerFiles(*st); ok {
		if err := files.settle(ctx, tx, v.decision, v.reason, now); err != nil {
			return err
		}
		if v.decision == Approve && v.provider == "" && s.identityDocument(st.Name) {
			// Approving an identity document is a manual identity check:
			// it records the identity-verification session the identity verification API's
			// route serves, naming the answer's images. A provider's
			// approval has its own session (ApplyProviderDecision).
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

// Reviews returns the subject's review decisions, oldest first, as actor
// sees the subject.
func (s *Service) Reviews(ctx context.Context, actor Actor, subjectID int64) ([]Review, error) {
	if _, err := s.Subject(ctx, actor, subjectID); err != nil {
		return nil, err
	}
	list, err := s.store.ListReviews(ctx, subjectID)
	return list, s.fail("Reviews", err)
}
