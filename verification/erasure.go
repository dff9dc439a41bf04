package verification

import (
	"context"
	"errors"
	"time"

	"github.com/openkyc/kyc/documents"
)

// Erase deletes a subject's personal data: every document image (and, with
// a sealing BlobStore, the subject's data key, so copies in backups become
// unreadable), every answer, and the file references of its identity
// sessions. The audit facts stay: grants, review decisions, timestamps and
// the subject row, marked with RedactedAt. A subject under legal hold is
// refused with ErrLegalHold. Erase may be repeated; deleted subjects can be
// erased. The actor is an admin, the host or the system; a subject it may
// not see is ErrNotFound.
func (s *Service) Erase(ctx context.Context, actor Actor, subjectID int64) error {
	if err := actor.may("Erase", managers...); err != nil {
		return s.fail("Erase", err)
	}
	// Bytes first, records second: if removing the records fails, a retry
	// finds them again, and no personal data outlives a successful call. A
	// file uploaded while the bytes are being deleted is found by the
	// second transaction, which then changes nothing and lets the loop
	// delete its bytes too.
	const maxRounds = 4
	for range maxRounds {
		deleted, err := s.eraseBlobs(ctx, actor, subjectID)
		if err != nil {
			return err
		}
		done := false
		err = s.inTx(ctx, "Erase", func(ctx context.Context, tx Store) error {
			sub, err := tx.LockSubject(ctx, subjectID)
			if err != nil {
				return err
			}
			if sub.LegalHold {
				return newErr(ErrLegalHold, "subject %d is under legal hold", sub.ID)
			}
			files, err := tx.ListFiles(ctx, FileFilter{SubjectID: sub.ID})
			if err != nil {
				return err
			}
			for _, f := range files {
				if f.BlobKey != "" && !deleted[f.BlobKey] {
					return nil // uploaded meanwhile: delete its bytes first
				}
			}
			done = true
			return s.eraseRecords(ctx, tx, actor, sub, files)
		})
		if err != nil {
			return err
		}
		if done {
			return s.checkpoint(ctx)
		}
	}
	return s.fail("Erase", newErr(ErrConflict, "files kept being uploaded during the erasure of subject %d; retry", subjectID))
}

// eraseBlobs deletes the bytes of every file of the subject (and its data
// key, with an OwnerEraser) and returns the blob keys it deleted.
func (s *Service) eraseBlobs(ctx context.Context, actor Actor, subjectID int64) (map[string]bool, error) {
	deleted := map[string]bool{}
	var keys []string
	err := s.inTx(ctx, "Erase", func(ctx context.Context, tx Store) error {
		sub, err := tx.LockSubject(ctx, subjectID)
		if err != nil {
			return err
		}
		if !actor.sees(sub) {
			return newErr(ErrNotFound, "subject %d not found", subjectID)
		}
		if sub.LegalHold {
			return newErr(ErrLegalHold, "subject %d is under legal hold", sub.ID)
		}
		files, err := tx.ListFiles(ctx, FileFilter{SubjectID: sub.ID})
		if err != nil {
			return err
		}
		for _, f := range files {
			if f.BlobKey != "" {
				keys = append(keys, f.BlobKey)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.blobs == nil {
		return deleted, nil
	}
	for _, k := range keys {
		if err := s.blobs.Delete(ctx, k); err != nil {
			return nil, s.fail("Erase", err)
		}
		deleted[k] = true
	}
	if e, ok := s.blobs.(documents.OwnerEraser); ok {
		if err := e.EraseOwner(ctx, owner(subjectID)); err != nil {
			return nil, s.fail("Erase", err)
		}
	}
	return deleted, nil
}

// eraseRecords removes the subject's personal data from the store inside
// tx (the subject locked, its blobs already deleted) and marks it redacted.
func (s *Service) eraseRecords(ctx context.Context, tx Store, actor Actor, sub Subject, files []File) error {
	if d, ok := capability[DocumentEraser](tx); ok {
		if err := d.EraseDocuments(ctx, owner(sub.ID)); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := tx.DeleteFile(ctx, f.ID); err != nil {
			return err
		}
	}
	states, err := tx.ListRequirementStates(ctx, sub.ID)
	if err != nil {
		return err
	}
	for _, st := range states {
		if st.Answer != nil {
			st.Answer = nil
			if err := tx.PutRequirementState(ctx, st); err != nil {
				return err
			}
		}
	}
	sessions, err := tx.ListIDSessions(ctx, sub.ID)
	if err != nil {
		return err
	}
	for _, sess := range sessions {
		sess.FrontFileID, sess.BackFileID, sess.FaceFileID = "", "", ""
		if err := tx.UpdateIDSession(ctx, sess); err != nil {
			return err
		}
	}
	now := s.Now()
	sub.RedactedAt, sub.UpdatedAt = now, now
	if err := tx.UpdateSubject(ctx, sub); err != nil {
		return err
	}
	if err := s.emit(ctx, tx, &sub, now, &SubjectErasedPayload{}); err != nil {
		return err
	}
	// The trail keeps the erasure (and every earlier entry): entries hold
	// ids and counts, no personal data.
	return s.audit(ctx, tx, actor, auditArgs{action: AuditSubjectErased, subjectID: sub.ID, entity: AuditEntitySubject, entityID: itoa(sub.ID),
		summary: map[string]string{"files": itoa(len(files))}})
}

// RetentionReport says what ApplyRetention did.
type RetentionReport struct {
	// Purged counts document images deleted.
	Purged int
	// Held counts images kept because their subject is under legal hold.
	Held int
}

// ApplyRetention purges document images whose review decision is older
// than Options.ImageRetention (their metadata and every decision stay for
// the AML retention period, which the library never shortens). Subjects
// under legal hold keep everything. Run it from a periodic job. Each run
// writes one AuditRetentionRun entry (actor system) with its counts, also
// when it stops at an error (with the counts up to there).
func (s *Service) ApplyRetention(ctx context.Context) (RetentionReport, error) {
	var rep RetentionReport
	if s.imageRetention == 0 || s.blobs == nil {
		return rep, nil
	}
	cutoff := s.Now().Add(-s.imageRetention)
	err := s.applyRetention(ctx, cutoff, &rep)
	aerr := s.store.InTx(context.WithoutCancel(ctx), func(ctx context.Context, tx Store) error {
		return s.audit(ctx, tx, SystemActor(), auditArgs{action: AuditRetentionRun, entity: AuditEntityRetention,
			summary: map[string]string{"purged": itoa(rep.Purged), "held": itoa(rep.Held), "cutoff": cutoff.Format(time.RFC3339Nano)}})
	})
	if err != nil {
		return rep, err
	}
	return rep, s.fail("ApplyRetention", aerr)
}

// applyRetention purges the images decided before cutoff, counting in rep.
func (s *Service) applyRetention(ctx context.Context, cutoff time.Time, rep *RetentionReport) error {
	files, err := s.store.ListFiles(ctx, FileFilter{DecidedBefore: cutoff})
	if err != nil {
		return s.fail("ApplyRetention", err)
	}
	held := map[int64]bool{}
	for _, f := range files {
		if f.BlobKey == "" {
			continue
		}
		h, seen := held[f.SubjectID]
		if !seen {
			sub, err := s.store.GetSubject(ctx, f.SubjectID)
			if err != nil {
				return s.fail("ApplyRetention", err)
			}
			h = sub.LegalHold
			held[f.SubjectID] = h
		}
		if h {
			rep.Held++
			continue
		}
		if err := s.blobs.Delete(ctx, f.BlobKey); err != nil {
			return s.fail("ApplyRetention", err)
		}
		err := s.inTx(ctx, "ApplyRetention", func(ctx context.Context, tx Store) error {
			sub, err := tx.LockSubject(ctx, f.SubjectID)
			if err != nil {
				return err
			}
			if sub.LegalHold {
				return newErr(ErrLegalHold, "subject %d is under legal hold", sub.ID)
			}
			cur, err := tx.GetFile(ctx, f.ID)
			if err != nil {
				return err
			}
			cur.BlobKey = ""
			return tx.UpdateFile(ctx, cur)
		})
		if errors.Is(err, ErrLegalHold) {
			rep.Held++
			continue
		}
		if err != nil {
			return err
		}
		rep.Purged++
	}
	return nil
}

// Checkpointer is an optional store capability: Checkpoint moves committed
// data out of a write-ahead log so that deleted rows leave no copy there
// (storage/sqlite implements it, with secure_delete on). Erase calls it.
type Checkpointer interface {
	Checkpoint(ctx context.Context) error
}

// checkpoint runs the store's Checkpoint, if it has one.
func (s *Service) checkpoint(ctx context.Context) error {
	if c, ok := s.store.(Checkpointer); ok {
		return s.fail("Erase", c.Checkpoint(ctx))
	}
	return nil
}
