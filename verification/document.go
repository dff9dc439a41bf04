package verification

import (
	"context"
	"errors"
	"io"
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
// document answers ER708. A refused or failed upload leaves nothing behind.
func (s *Service) Upload(ctx context.Context, p UploadParams) (File, error) {
	if s.blobs == nil {
		return File{}, s.fail("Upload", newErr(ErrForbidden, "uploads are not configured (Options.Blobs)"))
	}
	if err := s.checkUploadParams(p); err != nil {
		return File{}, s.fail("Upload", err)
	}
	if _, err := s.subject(ctx, SystemActor(), p.SubjectID, "Upload"); err != nil {
		return File{}, err
	}
	if err := s.checkNoPendingSide(ctx, s.store, p); err != nil {
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
			return s.eraseRecords(ctx, tx, sub, files)
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
	now := s.Now()
	sub.RedactedAt, sub.UpdatedAt = now, now
	if err := tx.UpdateSubject(ctx, sub); err != nil {
		return err
	}
	return s.emit(ctx, tx, &sub, now, &SubjectErasedPayload{})
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
// under legal hold keep everything. Run it from a periodic job.
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
	held := map[int64]bool{}
	for _, f := range files {
		if f.BlobKey == "" {
			continue
		}
		h, seen := held[f.SubjectID]
		if !seen {
			sub, err := s.store.GetSubject(ctx, f.SubjectID)
			if err != nil {
				return rep, s.fail("ApplyRetention", err)
			}
			h = sub.LegalHold
			held[f.SubjectID] = h
		}
		if h {
			rep.Held++
			continue
		}
		if err := s.blobs.Delete(ctx, f.BlobKey); err != nil {
			return rep, s.fail("ApplyRetention", err)
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
			return rep, err
		}
		rep.Purged++
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
