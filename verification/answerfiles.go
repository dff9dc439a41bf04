package verification

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/openkyc/kyc/levels"
)

// answerFiles is a document requirement's answer and the files it names:
// the one home of the rule that keeps the answer's status and its files'
// statuses in step. Every change of either goes through these methods:
//
//	the answer is submitted   files: missing -> pending (approved without review)  attach
//	the answer is decided     files: -> approved, or rejected with the reason    settle
//	the answer is dropped     pending files -> rejected ("expired", "reset",      release
//	  without a review          "replaced"), so their sides can be uploaded again
//	one file is approved      the answer is approved once every file is          allApproved
//	one file is rejected      the answer is rejected, so every file is            (settle)
//
// A file is in at most one answer: attach refuses a file that was already
// submitted.
type answerFiles struct {
	// requirement is the document requirement answered.
	requirement string
	// doc is the answer: a document type and a file id per side.
	doc levels.DocumentAnswer
}

// newAnswerFiles parses a document answer being submitted.
func newAnswerFiles(req *levels.Requirement, answer json.RawMessage) (answerFiles, error) {
	doc, err := req.ParseDocument(answer)
	if err != nil {
		return answerFiles{}, fromLevels(err)
	}
	return answerFiles{requirement: req.Name, doc: doc}, nil
}

// storedAnswerFiles returns the files of a stored answer to st's
// requirement; false when the requirement takes no document, has no answer,
// or the answer no longer parses (stored before a ladder change: there is
// nothing to keep in step).
func (s *Service) storedAnswerFiles(st RequirementState) (answerFiles, bool) {
	req, ok := s.ladder.Requirement(st.Name)
	if !ok || req.Type != levels.Document || len(st.Answer) == 0 {
		return answerFiles{}, false
	}
	doc, err := req.ParseDocument(st.Answer)
	if err != nil {
		return answerFiles{}, false
	}
	return answerFiles{requirement: req.Name, doc: doc}, true
}

// sides returns the answer's sides in name order (a stable write order).
func (a answerFiles) sides() []string { return slices.Sorted(maps.Keys(a.doc.Files)) }

// has reports whether the answer names the file.
func (a answerFiles) has(fileID string) bool {
	return slices.Contains(slices.Collect(maps.Values(a.doc.Files)), fileID)
}

// attach checks every file of a submitted answer (it exists, belongs to the
// subject, shows the answer's document type and side, and was not submitted
// before) and gives it status: pending, or approved for a requirement
// without review. A foreign file is reported as not found.
func (a answerFiles) attach(ctx context.Context, tx Store, subjectID int64, status levels.Status, now time.Time) error {
	for _, side := range a.sides() {
		id := a.doc.Files[side]
		field := "answer.files." + side
		f, err := tx.GetFile(ctx, id)
		if errors.Is(err, ErrNotFound) || err == nil && f.SubjectID != subjectID {
			e := newErr(ErrNotFound, "file %q not found", id)
			e.Field = field
			return e
		}
		if err != nil {
			return err
		}
		switch {
		case f.DocumentType != a.doc.Type || f.Side != side:
			return invalid(field, "file %q was uploaded as %s %s, not %s %s", id, f.DocumentType, f.Side, a.doc.Type, side)
		case f.Status != levels.Missing:
			return &Error{Sentinel: ErrConflict, Field: field, Message: fmt.Sprintf("file %q was already submitted; upload a new one", id)}
		}
		f.Status = status
		if status == levels.Approved {
			f.DecidedAt = now
		}
		if err := tx.UpdateFile(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// settle applies the answer's decision to its files: approved (files
// already approved stay as they are) or rejected with the reason. Files
// erased since are skipped.
func (a answerFiles) settle(ctx context.Context, tx Store, d Decision, reason string, now time.Time) error {
	return a.each(ctx, tx, func(f *File) bool {
		if d == Approve {
			if f.Status == levels.Approved {
				return false
			}
			f.Status, f.Reason = levels.Approved, ""
		} else {
			f.Status, f.Reason = levels.Rejected, reason
		}
		f.DecidedAt = now
		return true
	})
}

// release rejects, with reason, the files of an answer dropped without a
// review that still await one, so that their sides can be uploaded again.
func (a answerFiles) release(ctx context.Context, tx Store, reason string, now time.Time) error {
	return a.each(ctx, tx, func(f *File) bool {
		if f.Status != levels.Pending {
			return false
		}
		f.Status, f.Reason, f.DecidedAt = levels.Rejected, reason, now
		return true
	})
}

// allApproved reports whether every file of the answer is approved: one
// reviewed side approves the answer only with the others.
func (a answerFiles) allApproved(ctx context.Context, tx Store) (bool, error) {
	for _, side := range a.sides() {
		f, err := tx.GetFile(ctx, a.doc.Files[side])
		if err != nil {
			return false, err
		}
		if f.Status != levels.Approved {
			return false, nil
		}
	}
	return true, nil
}

// each runs change on every stored file of the answer, in side order, and
// writes the files it changed (change returns true).
func (a answerFiles) each(ctx context.Context, tx Store, change func(f *File) bool) error {
	for _, side := range a.sides() {
		f, err := tx.GetFile(ctx, a.doc.Files[side])
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !change(&f) {
			continue
		}
		if err := tx.UpdateFile(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// pendingAnswerOf finds the pending document answer that submitted f, and
// its requirement's state; ErrConflict when no pending answer names it.
func (s *Service) pendingAnswerOf(ctx context.Context, tx Store, f File) (answerFiles, RequirementState, error) {
	list, err := tx.ListRequirementStates(ctx, f.SubjectID)
	if err != nil {
		return answerFiles{}, RequirementState{}, err
	}
	for _, st := range list {
		if st.Status != levels.Pending {
			continue
		}
		if a, ok := s.storedAnswerFiles(st); ok && a.has(f.ID) {
			return a, st, nil
		}
	}
	return answerFiles{}, RequirementState{}, newErr(ErrConflict, "file is not part of a pending answer")
}

// recordManualIDSession records the "manual" identity-verification session
// (the identity verification API) that a reviewer's approval of an identity document stands
// for, naming the answer's front, back and face images.
func (s *Service) recordManualIDSession(ctx context.Context, tx Store, subjectID int64, a answerFiles, now time.Time) error {
	sess := IDSession{ID: s.newID(), SubjectID: subjectID, Provider: ProviderManual, Status: IDSessionApproved, CreatedAt: now,
		FrontFileID: a.doc.Files["front"], BackFileID: a.doc.Files["back"], FaceFileID: a.doc.Files["face"]}
	return tx.AddIDSession(ctx, sess)
}

// identityDocument reports whether approving requirement name records an
// identity-verification session (Options.IdentityRequirements).
func (s *Service) identityDocument(name string) bool {
	return s.identityReqs == nil || s.identityReqs[name]
}

// releaseAnswer releases the files of st's stored document answer, if it
// has one (see answerFiles.release).
func (s *Service) releaseAnswer(ctx context.Context, tx Store, st RequirementState, reason string, now time.Time) error {
	if a, ok := s.storedAnswerFiles(st); ok {
		return a.release(ctx, tx, reason, now)
	}
	return nil
}
