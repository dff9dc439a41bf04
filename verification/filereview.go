package verification

import (
	"context"

	"github.com/openkyc/kyc/levels"
)

// ReviewFileParams are the inputs of ReviewFile.
type ReviewFileParams struct {
	// FileID is the file (one side of a submitted document) to decide.
	FileID string
	// Decision approves or rejects the side.
	Decision Decision
	// Reason explains a rejection (required then); it reaches the subject.
	Reason string
	// Final marks a rejection the subject cannot retry (as
	// ReviewParams.Final); ignored on approval.
	Final bool
}

// ReviewFile decides one side of a submitted document. A rejected side
// rejects its requirement (the subject may upload again, with the reason);
// once every side of the answer is approved the requirement is approved (and
// may grant a level). Deciding a file that is not pending is ErrConflict.
// The actor must be an admin; a file of a subject it may not see answers
// ER709.
func (s *Service) ReviewFile(ctx context.Context, actor Actor, p ReviewFileParams) (File, error) {
	if err := actor.may("ReviewFile", reviewers...); err != nil {
		return File{}, s.fail("ReviewFile", err)
	}
	err := checkDecision(p.Decision, p.Reason)
	if p.FileID == "" {
		err = invalid("fileId", "is required")
	}
	if err != nil {
		return File{}, s.fail("ReviewFile", err)
	}
	var f File
	err = s.inTx(ctx, "ReviewFile", func(ctx context.Context, tx Store) error {
		var err error
		if f, err = tx.GetFile(ctx, p.FileID); err != nil {
			return err
		}
		sub, err := lockVisible(ctx, tx, actor, f.SubjectID)
		if err != nil {
			return err
		}
		if f, err = tx.GetFile(ctx, p.FileID); err != nil {
			return err
		}
		if f.Status != levels.Pending {
			return newErr(ErrConflict, "file is %s, not pending review", f.Status)
		}
		answer, st, err := s.pendingAnswerOf(ctx, tx, f)
		if err != nil {
			return err
		}
		v := verdict{requirement: answer.requirement, decision: p.Decision, reason: p.Reason, final: p.Final && p.Decision == Reject, adminID: actor.AdminID()}
		if err := s.reviewFileTx(ctx, tx, &sub, &f, answer, &st, v); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, auditArgs{action: AuditReviewDecided, subjectID: sub.ID, entity: AuditEntityFile, entityID: f.ID,
			summary: map[string]string{"decision": string(p.Decision), "requirement": answer.requirement, "documentType": f.DocumentType, "side": f.Side}})
	})
	if err != nil {
		return File{}, err
	}
	f, err = s.store.GetFile(ctx, p.FileID)
	return f, s.fail("ReviewFile", err)
}

// reviewFileTx applies a decision on the pending file f, one side of the
// answer st, inside tx.
func (s *Service) reviewFileTx(ctx context.Context, tx Store, sub *Subject, f *File, answer answerFiles, st *RequirementState, v verdict) error {
	if v.decision == Reject {
		// One rejected side rejects the answer, and so all its files.
		return s.decide(ctx, tx, sub, st, v)
	}
	f.Status, f.Reason, f.DecidedAt = levels.Approved, "", s.Now()
	if err := tx.UpdateFile(ctx, *f); err != nil {
		return err
	}
	if done, err := answer.allApproved(ctx, tx); err != nil || !done {
		return err // other sides still await review
	}
	// The last side approved approves the answer (and, for an identity
	// document, records its identity-verification session: see settle).
	return s.decide(ctx, tx, sub, st, v)
}
