package verification

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/openkyc/kyc/levels"
)

// Erase deletes a subject's personal data: every document image (and, with
// a sealing BlobStore, the subject's data key, so copies in backups become
// unreadable), every answer, the file references of its identity sessions,
// every free-text reason (of reviews, grants, applications, requirement
// states and event payloads) and the external identifier, replaced by its
// keyed digest (ErasedIdentifier). The audit facts stay: grants, review
// decisions, timestamps and the subject row, marked with RedactedAt and
// still linkable through the digest. Afterwards every write for the subject
// answers ER709, and the identifier may onboard again as a new subject.
//
// The decision is taken under the subject's lock and committed first: a
// subject under legal hold is refused with ErrLegalHold before anything is
// destroyed. The bytes are deleted after the commit, from tombstones
// written in the same transaction (BlobDeletion); if that fails Erase
// returns the error and a repeated Erase or SweepDeletions finishes the
// job. Erase may be repeated; deleted subjects can be erased. The actor is
// an admin, the host or the system; a subject it may not see is
// ErrNotFound.
func (s *Service) Erase(ctx context.Context, actor Actor, subjectID int64) error {
	if err := actor.may("Erase", managers...); err != nil {
		return s.fail("Erase", err)
	}
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
			if f.BlobKey == "" {
				continue
			}
			if _, err := s.tombstone(ctx, tx, sub.ID, f.BlobKey); err != nil {
				return err
			}
		}
		// Last: the owner's data key (and any blob no record knew).
		if _, err := s.tombstone(ctx, tx, sub.ID, ""); err != nil {
			return err
		}
		return s.eraseRecords(ctx, tx, actor, sub, files)
	})
	if err != nil {
		return err
	}
	// This erasure's tombstones, and any an earlier attempt left behind.
	if _, err := s.sweepDeletions(ctx, subjectID); err != nil {
		return s.fail("Erase", err)
	}
	return s.checkpoint(ctx)
}

// ErasedIdentifier returns the keyed digest that replaces an erased
// subject's external identifier: "erased" followed by the hex HMAC-SHA256
// of the identifier under Options.IdentifierKey. An auditor who knows an
// identifier finds the erased subject's audit facts with
// SubjectByIdentifier(ErasedIdentifier(id)); without the key the digest
// reveals nothing.
func (s *Service) ErasedIdentifier(identifier string) string {
	m := hmac.New(sha256.New, s.identifierKey)
	m.Write([]byte(identifier))
	return erasedPrefix + hex.EncodeToString(m.Sum(nil))
}

// erasedPrefix starts every ErasedIdentifier.
const erasedPrefix = "erased"

// eraseRecords removes the subject's personal data from the store inside
// tx (the subject locked, tombstones for its bytes written) and marks it
// redacted.
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
		// A screening's answer is its record (the screened query and the
		// hits): it goes too, and with it the screening's next screen.
		screen := false
		if r, ok := s.ladder.Requirement(st.Name); ok && r.Type == levels.Screening && !st.ValidUntil.IsZero() {
			screen = true
		}
		if st.Answer != nil || screen {
			st.Answer = nil
			if screen {
				clearValidity(&st)
			}
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
	ident := sub.Identifier
	if sub.RedactedAt.IsZero() {
		ident = s.ErasedIdentifier(sub.Identifier)
	}
	keep, err := s.systemReasons(ctx, tx, sub.ID, states)
	if err != nil {
		return err
	}
	if err := tx.RedactSubject(ctx, sub.ID, ident, keep); err != nil {
		return err
	}
	if err := s.blankEventReasons(ctx, tx, sub.ID, keep); err != nil {
		return err
	}
	psList, err := tx.ListProviderSessions(ctx, ProviderSessionFilter{SubjectID: sub.ID})
	if err != nil {
		return err
	}
	for _, ps := range psList {
		if ps.Document.Number != "" || ps.Reason != "" {
			ps.Document.Number, ps.Reason = "", ""
			if err := tx.PutProviderSession(ctx, ps); err != nil {
				return err
			}
		}
	}
	now := s.Now()
	sub.Identifier, sub.RedactedAt, sub.UpdatedAt = ident, now, now
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

// systemReasons lists the reasons the Service itself may have written for
// the subject (ReasonCreated, "Application: 7", "Review: fullName", ...):
// erasure keeps them, they hold no personal data, and blanks the others
// (reviewers' and admins' free text).
func (s *Service) systemReasons(ctx context.Context, tx Store, subjectID int64, states []RequirementState) ([]string, error) {
	keep := []string{ReasonCreated, ReasonRequirements, ExpiredTTL, ExpiredSuperseded, ReasonExpired}
	for _, st := range states {
		keep = append(keep, "Review: "+st.Name, ExpiredGrantReason(st.Name), ReasonScreeningHit(st.Name), ReasonScreeningConfirmed(st.Name))
	}
	for offset := 0; ; offset += MaxPageSize {
		page, err := tx.ListApplications(ctx, ApplicationFilter{SubjectID: subjectID, Limit: MaxPageSize, Offset: offset})
		if err != nil {
			return nil, err
		}
		for _, a := range page.Items {
			keep = append(keep, ReasonApplication(a.ID))
		}
		if offset+len(page.Items) >= page.Total || len(page.Items) == 0 {
			return keep, nil
		}
	}
}

// blankEventReasons empties the "reason" of the subject's event payloads
// unless it is one of keep: reviewers' and admins' free text (a
// rejection's reason, a grant's).
func (s *Service) blankEventReasons(ctx context.Context, tx Store, subjectID int64, keep []string) error {
	events, err := tx.ListEvents(ctx, EventFilter{SubjectID: subjectID})
	if err != nil {
		return err
	}
	for _, e := range events {
		var fields map[string]json.RawMessage
		if len(e.Data) == 0 || json.Unmarshal(e.Data, &fields) != nil {
			continue
		}
		var reason string
		if r, ok := fields["reason"]; !ok || json.Unmarshal(r, &reason) != nil || reason == "" || slices.Contains(keep, reason) {
			continue
		}
		fields["reason"] = json.RawMessage(`""`)
		data, err := json.Marshal(fields)
		if err != nil {
			return err
		}
		if err := tx.UpdateEventData(ctx, e.ID, data); err != nil {
			return err
		}
	}
	return nil
}

// RetentionReport says what ApplyRetention did.
type RetentionReport struct {
	// Purged counts document images deleted.
	Purged int
	// Held counts images kept because their subject is under legal hold.
	Held int
	// Deferred counts purged images whose bytes could not be deleted after
	// the commit: their tombstones stay for SweepDeletions.
	Deferred int
}

// ApplyRetention purges document images whose review decision is older
// than Options.ImageRetention (their metadata and every decision stay for
// the AML retention period, which the library never shortens). Subjects
// under legal hold keep everything. Each run writes one AuditRetentionRun
// entry (actor system) with its counts, also when it stops at an error
// (with the counts up to there). Each image is decided on its own,
// under its subject's lock, with the hold read there and then: the record
// drops its blob key and a tombstone is written in that transaction, and
// the bytes are deleted only after it commits. A hold placed during a run
// therefore keeps every image not yet purged. The maintenance runner
// calls it.
func (s *Service) ApplyRetention(ctx context.Context) (RetentionReport, error) {
	var rep RetentionReport
	if s.imageRetention == 0 || s.blobs == nil {
		return rep, nil
	}
	cutoff := s.Now().Add(-s.imageRetention)
	err := s.applyRetention(ctx, cutoff, &rep)
	aerr := s.store.InTx(context.WithoutCancel(ctx), func(ctx context.Context, tx Store) error {
		return s.audit(ctx, tx, SystemActor(), auditArgs{action: AuditRetentionRun, entity: AuditEntityRetention,
			summary: map[string]string{"purged": itoa(rep.Purged), "held": itoa(rep.Held), "deferred": itoa(rep.Deferred), "cutoff": cutoff.Format(time.RFC3339Nano)}})
	})
	if err != nil {
		return rep, err
	}
	return rep, s.fail("ApplyRetention", aerr)
}

// applyRetention is ApplyRetention's run, counting into rep.
func (s *Service) applyRetention(ctx context.Context, cutoff time.Time, rep *RetentionReport) error {
	files, err := s.store.ListFiles(ctx, FileFilter{DecidedBefore: cutoff})
	if err != nil {
		return s.fail("ApplyRetention", err)
	}
	for _, f := range files {
		if f.BlobKey == "" {
			continue
		}
		var d *BlobDeletion
		err := s.inTx(ctx, "ApplyRetention", func(ctx context.Context, tx Store) error {
			d = nil
			sub, err := tx.LockSubject(ctx, f.SubjectID)
			if err != nil {
				return err
			}
			if sub.LegalHold {
				return newErr(ErrLegalHold, "subject %d is under legal hold", sub.ID)
			}
			cur, err := tx.GetFile(ctx, f.ID)
			if errors.Is(err, ErrNotFound) {
				return nil // erased meanwhile
			}
			if err != nil {
				return err
			}
			if cur.BlobKey == "" || cur.DecidedAt.IsZero() || !cur.DecidedAt.Before(cutoff) {
				return nil // purged or decided again meanwhile
			}
			t, err := s.tombstone(ctx, tx, cur.SubjectID, cur.BlobKey)
			if err != nil {
				return err
			}
			cur.BlobKey = ""
			d = &t
			return tx.UpdateFile(ctx, cur)
		})
		if errors.Is(err, ErrLegalHold) {
			rep.Held++
			continue
		}
		if err != nil {
			return err
		}
		if d == nil {
			continue
		}
		rep.Purged++
		if _, err := s.finishDeletions(ctx, []BlobDeletion{*d}); err != nil {
			if isContextErr(err) {
				return s.fail("ApplyRetention", err)
			}
			s.log.Error().Err(err).Msg("verification: deleting a purged image failed; SweepDeletions retries")
			rep.Deferred++
		}
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
