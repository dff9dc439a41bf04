package verification

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
)

// SelfieType is the built-in document type for face images (side "face")
// that identity-verification sessions reference; it needs no ladder entry.
const SelfieType = "selfie"

// SelfieSide is the only side of SelfieType.
const SelfieSide = "face"

// UploadParams are the inputs of Upload.
type UploadParams struct {
	SubjectID int64
	// DocumentType and Side say what the file shows: a type of the ladder
	// and one of its sides (or SelfieType / SelfieSide).
	DocumentType string
	Side         string
	// Body is streamed to the BlobStore; it is never held in memory whole.
	Body io.Reader
}

// owner is the BlobStore owner key of a subject.
func owner(subjectID int64) string { return "s" + strconv.FormatInt(subjectID, 10) }

// Upload stores a document image for a subject and returns its File (status
// missing: uploaded, not yet submitted in an answer). The content is checked
// by magic bytes (Options.AllowedContent) and the size by
// Options.MaxFileSize; a second upload for a side that already has a pending
// document answers ER708; an upload that would take the subject's
// unsubmitted files over Options.MaxUnsubmittedFiles or
// MaxUnsubmittedBytes answers ErrUploadQuota; an erased or deleted subject
// answers ER709. A refused or failed upload leaves nothing behind.
func (s *Service) Upload(ctx context.Context, p UploadParams) (File, error) {
	if s.blobs == nil {
		return File{}, s.fail("Upload", newErr(ErrForbidden, "uploads are not configured (Options.Blobs)"))
	}
	if err := s.checkUploadParams(p); err != nil {
		return File{}, s.fail("Upload", err)
	}
	sub, err := s.subject(ctx, SystemActor(), p.SubjectID, "Upload")
	if err != nil {
		return File{}, err
	}
	if !sub.RedactedAt.IsZero() {
		return File{}, s.fail("Upload", coded(CodeUserDeleted))
	}
	if err := s.checkNoPendingSide(ctx, s.store, p); err != nil {
		return File{}, s.fail("Upload", err)
	}
	if err := s.checkUploadQuota(ctx, s.store, p.SubjectID, 0); err != nil {
		return File{}, s.fail("Upload", err)
	}
	ct, body, err := documents.Sniff(p.Body, s.allowed)
	if err != nil {
		return File{}, s.fail("Upload", blobErr(err))
	}
	blob, err := s.blobs.Put(ctx, owner(p.SubjectID), body, s.maxFileSize)
	if err != nil {
		return File{}, s.fail("Upload", blobErr(err))
	}
	f := File{
		ID: s.newID(), SubjectID: p.SubjectID, BlobKey: blob.Key, ContentType: string(ct), Size: blob.Size, SHA256: blob.SHA256,
		DocumentType: p.DocumentType, Side: p.Side, Status: levels.Missing, CreatedAt: s.Now(),
	}
	err = s.inTx(ctx, "Upload", func(ctx context.Context, tx Store) error {
		if _, err := lockLive(ctx, tx, p.SubjectID); err != nil {
			return err
		}
		if err := s.checkNoPendingSide(ctx, tx, p); err != nil {
			return err
		}
		if err := s.checkUploadQuota(ctx, tx, p.SubjectID, blob.Size); err != nil {
			return err
		}
		return tx.CreateFile(ctx, f)
	})
	if err != nil {
		if derr := s.blobs.Delete(context.WithoutCancel(ctx), blob.Key); derr != nil {
			s.log.Error().Err(derr).Msg("verification: removing the blob of a failed upload")
		}
		return File{}, err
	}
	return f, nil
}

// unsubmitted returns the subject's unsubmitted files: uploaded (status
// missing, bytes kept) and used by no identity session.
func unsubmitted(ctx context.Context, st Store, subjectID int64) ([]File, error) {
	files, err := st.ListFiles(ctx, FileFilter{SubjectID: subjectID, Status: levels.Missing})
	if err != nil || len(files) == 0 {
		return nil, err
	}
	sessions, err := st.ListIDSessions(ctx, subjectID)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, x := range sessions {
		used[x.FrontFileID], used[x.BackFileID], used[x.FaceFileID] = true, true, true
	}
	out := files[:0]
	for _, f := range files {
		if f.BlobKey != "" && !used[f.ID] {
			out = append(out, f)
		}
	}
	return out, nil
}

// checkUploadQuota refuses an upload of size bytes (0 before the bytes are
// stored: then only a quota already full refuses) that would take the
// subject's unsubmitted files over the limits.
func (s *Service) checkUploadQuota(ctx context.Context, st Store, subjectID, size int64) error {
	files, err := unsubmitted(ctx, st, subjectID)
	if err != nil {
		return err
	}
	total := size
	for _, f := range files {
		total += f.Size
	}
	full := len(files) >= s.maxUnsubmitted || total > s.maxUnsubmittedBytes || size == 0 && total >= s.maxUnsubmittedBytes
	if full {
		return &Error{Kind: ErrUploadQuota, Field: "file", Message: fmt.Sprintf(
			"at most %d unsubmitted files (%d MiB) per subject: submit the files uploaded or wait for them to expire",
			s.maxUnsubmitted, s.maxUnsubmittedBytes>>20)}
	}
	return nil
}

// ExpireUploads deletes the unsubmitted uploads (see
// Options.MaxUnsubmittedFiles) older than Options.UploadTTL: the record
// goes in a transaction under the subject's lock, with a tombstone, and the
// bytes after the commit. Files of subjects under legal hold are kept. It
// returns how many files it removed. The maintenance runner calls it.
func (s *Service) ExpireUploads(ctx context.Context) (int, error) {
	if s.blobs == nil {
		return 0, nil
	}
	cutoff := s.Now().Add(-s.uploadTTL)
	files, err := s.store.ListFiles(ctx, FileFilter{Status: levels.Missing, CreatedBefore: cutoff})
	if err != nil {
		return 0, s.fail("ExpireUploads", err)
	}
	bySubject := map[int64]bool{}
	var subjects []int64
	for _, f := range files {
		if !bySubject[f.SubjectID] {
			bySubject[f.SubjectID] = true
			subjects = append(subjects, f.SubjectID)
		}
	}
	n := 0
	for _, id := range subjects {
		var ds []BlobDeletion
		err := s.inTx(ctx, "ExpireUploads", func(ctx context.Context, tx Store) error {
			ds = ds[:0]
			sub, err := tx.LockSubject(ctx, id)
			if err != nil || sub.LegalHold {
				return err
			}
			old, err := unsubmitted(ctx, tx, id)
			if err != nil {
				return err
			}
			for _, f := range old {
				if !f.CreatedAt.Before(cutoff) {
					continue
				}
				if err := tx.DeleteFile(ctx, f.ID); err != nil {
					return err
				}
				d, err := s.tombstone(ctx, tx, id, f.BlobKey)
				if err != nil {
					return err
				}
				ds = append(ds, d)
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += len(ds)
		if _, err := s.finishDeletions(ctx, ds); err != nil {
			if isContextErr(err) {
				return n, s.fail("ExpireUploads", err)
			}
			s.log.Error().Err(err).Msg("verification: deleting expired uploads failed; SweepDeletions retries")
		}
	}
	return n, nil
}

func (s *Service) checkUploadParams(p UploadParams) error {
	switch {
	case p.SubjectID <= 0:
		return invalid("subjectId", "must be a positive integer")
	case p.Body == nil:
		return invalid("file", "is required")
	case p.DocumentType == SelfieType:
		if p.Side != SelfieSide {
			return invalid("side", "must be %q for %s", SelfieSide, SelfieType)
		}
		return nil
	}
	t, ok := s.ladder.DocumentTypeByName(p.DocumentType)
	if !ok || !t.Enabled {
		return invalid("documentType", "unknown document type %q", p.DocumentType)
	}
	if !t.HasSide(p.Side) {
		return invalid("side", "%q is not a side of %s", p.Side, t.Name)
	}
	return nil
}

func (s *Service) checkNoPendingSide(ctx context.Context, st FileStore, p UploadParams) error {
	pending, err := st.ListFiles(ctx, FileFilter{SubjectID: p.SubjectID, DocumentType: p.DocumentType, Side: p.Side, Status: levels.Pending})
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		e := coded(CodePendingDocument)
		e.Field = "side"
		return e
	}
	return nil
}

// blobErr maps documents errors to the Service's kinds.
func blobErr(err error) error {
	switch {
	case errors.Is(err, documents.ErrTooLarge):
		return &Error{Kind: ErrTooLarge, Field: "file", Message: "file is larger than the upload limit", cause: err}
	case errors.Is(err, documents.ErrUnsupportedContent), errors.Is(err, documents.ErrEmpty):
		return &Error{Kind: ErrUnsupportedMedia, Field: "file", Message: "file content must be JPEG, PNG or PDF", cause: err}
	case errors.Is(err, documents.ErrBlobNotFound), errors.Is(err, documents.ErrErased):
		return &Error{Kind: ErrNotFound, Message: "file not found", cause: err}
	}
	return err
}

// File returns a file's metadata as actor sees it. An absent, purged or
// erased file, a file of another subject for a user, and for an admin a
// file of a deleted subject or of one it may not see, are all ErrNotFound,
// so a caller cannot tell another subject's file ids from unknown ones.
func (s *Service) File(ctx context.Context, actor Actor, fileID string) (File, error) {
	if err := actor.may("File", readers...); err != nil {
		return File{}, s.fail("File", err)
	}
	if fileID == "" {
		return File{}, s.fail("File", invalid("fileId", "is required"))
	}
	f, err := s.store.GetFile(ctx, fileID)
	if err == nil && actor.Kind == ActorAdmin {
		var sub Subject
		sub, err = s.store.GetSubject(ctx, f.SubjectID)
		if err == nil && (sub.Deleted() || !actor.sees(sub)) {
			err = ErrNotFound
		}
	}
	if errors.Is(err, ErrNotFound) || err == nil && (actor.Kind == ActorUser && f.SubjectID != actor.SubjectID() || f.BlobKey == "") {
		return File{}, s.fail("File", newErr(ErrNotFound, "file not found"))
	}
	return f, s.fail("File", err)
}

// OpenFile returns a file's metadata and a reader of its bytes (the caller
// closes it), as File decides what actor may see. The HTTP adapter serves
// signed URLs as the system actor: the signature is the authorisation.
func (s *Service) OpenFile(ctx context.Context, actor Actor, fileID string) (File, io.ReadCloser, error) {
	f, err := s.File(ctx, actor, fileID)
	if err != nil {
		return File{}, nil, err
	}
	if s.blobs == nil {
		return File{}, nil, s.fail("OpenFile", newErr(ErrNotFound, "file not found"))
	}
	rc, err := s.blobs.Open(ctx, f.BlobKey)
	if err != nil {
		return File{}, nil, s.fail("OpenFile", blobErr(err))
	}
	return f, rc, nil
}

// ReviewFileParams are the inputs of ReviewFile.
type ReviewFileParams struct {
	// FileID is the file (one side of a submitted document) to decide.
	FileID string
	// Decision approves or rejects the side.
	Decision Decision
	// Reason explains a rejection (required then); it reaches the subject.
	Reason string
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
		v := verdict{requirement: answer.requirement, decision: p.Decision, reason: p.Reason, adminID: actor.AdminID()}
		if p.Decision == Reject {
			// One rejected side rejects the answer, and so all its files.
			return s.decide(ctx, tx, &sub, &st, v)
		}
		f.Status, f.Reason, f.DecidedAt = levels.Approved, "", s.Now()
		if err := tx.UpdateFile(ctx, f); err != nil {
			return err
		}
		if done, err := answer.allApproved(ctx, tx); err != nil || !done {
			return err // other sides still await review
		}
		// The last side approved approves the answer (and, for an identity
		// document, records its identity-verification session: see settle).
		return s.decide(ctx, tx, &sub, &st, v)
	})
	if err != nil {
		return File{}, err
	}
	f, err = s.store.GetFile(ctx, p.FileID)
	return f, s.fail("ReviewFile", err)
}

// Identity-verification session providers and statuses.
const (
	// ProviderManual marks a session recorded by a reviewer's approval.
	ProviderManual = "manual"
	// IDSessionApproved is the status of an approved session.
	IDSessionApproved = "approved"
)

// RecordIDSessionParams are the inputs of RecordIDSession.
type RecordIDSessionParams struct {
	SubjectID int64
	// Provider names who ran the check, e.g. "veriff".
	Provider string
	// Status is the provider's verdict; "" means approved.
	Status string
	// FrontFileID (required), BackFileID and FaceFileID name files the
	// subject owns (uploaded with Upload; the face as SelfieType).
	FrontFileID, BackFileID, FaceFileID string
	// At is when the check happened; zero means now.
	At time.Time
}

// RecordIDSession records an identity check an external provider reported
// to the host (seed 003). The actor is the host, the system, the provider
// or an admin; users may not record their own checks.
func (s *Service) RecordIDSession(ctx context.Context, actor Actor, p RecordIDSessionParams) (IDSession, error) {
	if err := actor.may("RecordIDSession", setters...); err != nil {
		return IDSession{}, s.fail("RecordIDSession", err)
	}
	if p.Status == "" {
		p.Status = IDSessionApproved
	}
	var err error
	switch {
	case p.SubjectID <= 0:
		err = invalid("subjectId", "must be a positive integer")
	case p.Provider == "" || len(p.Provider) > 64:
		err = invalid("provider", "must be 1-64 characters")
	case len(p.Status) > 64:
		err = invalid("status", "must be at most 64 characters")
	case p.FrontFileID == "":
		err = invalid("frontFileId", "is required")
	}
	if err != nil {
		return IDSession{}, s.fail("RecordIDSession", err)
	}
	at := p.At.UTC().Truncate(time.Microsecond)
	if p.At.IsZero() {
		at = s.Now()
	}
	sess := IDSession{ID: s.newID(), SubjectID: p.SubjectID, Provider: p.Provider, Status: p.Status, CreatedAt: at,
		FrontFileID: p.FrontFileID, BackFileID: p.BackFileID, FaceFileID: p.FaceFileID}
	err = s.inTx(ctx, "RecordIDSession", func(ctx context.Context, tx Store) error {
		if _, err := lockVisible(ctx, tx, actor, p.SubjectID); err != nil {
			return err
		}
		for field, id := range map[string]string{"frontFileId": p.FrontFileID, "backFileId": p.BackFileID, "faceFileId": p.FaceFileID} {
			if id == "" {
				continue
			}
			f, err := tx.GetFile(ctx, id)
			if errors.Is(err, ErrNotFound) || err == nil && f.SubjectID != p.SubjectID {
				e := newErr(ErrNotFound, "file %q not found", id)
				e.Field = field
				return e
			}
			if err != nil {
				return err
			}
		}
		return tx.AddIDSession(ctx, sess)
	})
	return sess, err
}

// LatestIDSession returns the subject's most recent approved
// identity-verification session, or ErrNotFound when it has none.
func (s *Service) LatestIDSession(ctx context.Context, subjectID int64) (IDSession, error) {
	if _, err := s.subject(ctx, SystemActor(), subjectID, "LatestIDSession"); err != nil {
		return IDSession{}, err
	}
	list, err := s.store.ListIDSessions(ctx, subjectID)
	if err != nil {
		return IDSession{}, s.fail("LatestIDSession", err)
	}
	for _, sess := range list {
		if sess.Status == IDSessionApproved {
			return sess, nil
		}
	}
	return IDSession{}, s.fail("LatestIDSession", newErr(ErrNotFound, "no approved identity verification"))
}

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
		return s.eraseRecords(ctx, tx, sub, files)
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
func (s *Service) eraseRecords(ctx context.Context, tx Store, sub Subject, files []File) error {
	if d, ok := tx.(DocumentEraser); ok {
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
	now := s.Now()
	sub.Identifier, sub.RedactedAt, sub.UpdatedAt = ident, now, now
	if err := tx.UpdateSubject(ctx, sub); err != nil {
		return err
	}
	return s.emit(ctx, tx, &sub, now, &SubjectErasedPayload{})
}

// systemReasons lists the reasons the Service itself may have written for
// the subject (ReasonCreated, "Application: 7", "Review: fullName", ...):
// erasure keeps them, they hold no personal data, and blanks the others
// (reviewers' and admins' free text).
func (s *Service) systemReasons(ctx context.Context, tx Store, subjectID int64, states []RequirementState) ([]string, error) {
	keep := []string{ReasonCreated, ReasonRequirements, ExpiredTTL, ExpiredSuperseded}
	for _, st := range states {
		keep = append(keep, "Review: "+st.Name)
	}
	for offset := 0; ; offset += MaxListLimit {
		page, err := tx.ListApplications(ctx, ApplicationFilter{SubjectID: subjectID, Limit: MaxListLimit, Offset: offset})
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
// under legal hold keep everything. Each image is decided on its own,
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
	files, err := s.store.ListFiles(ctx, FileFilter{DecidedBefore: cutoff})
	if err != nil {
		return rep, s.fail("ApplyRetention", err)
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
			return rep, err
		}
		if d == nil {
			continue
		}
		rep.Purged++
		if _, err := s.finishDeletions(ctx, []BlobDeletion{*d}); err != nil {
			if isContextErr(err) {
				return rep, s.fail("ApplyRetention", err)
			}
			s.log.Error().Err(err).Msg("verification: deleting a purged image failed; SweepDeletions retries")
			rep.Deferred++
		}
	}
	return rep, nil
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
