package verification

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
)

// File is an uploaded document image: its metadata and where its bytes are.
type File struct {
	// ID is generated; a subject refers to its files by it.
	ID string
	// SubjectID is the subject who uploaded it.
	SubjectID int64
	// BlobKey locates the bytes in the documents.BlobStore ("" once erased).
	BlobKey string
	// ContentType is the content detected by magic bytes ("image/jpeg").
	ContentType string
	// Size is the byte count.
	Size int64
	// SHA256 is the hex SHA-256 of the bytes.
	SHA256 string
	// DocumentType and Side say what the file shows (e.g. "passport", "front").
	DocumentType string
	// Side is the side of the document type it shows.
	Side string
	// Status is pending until the side is reviewed.
	Status levels.Status
	// Reason is the rejection's reason (or why it was released: "expired",
	// "reset", "replaced").
	Reason string
	// CreatedAt is when it was uploaded.
	CreatedAt time.Time
	// DecidedAt is when it was approved or rejected; zero before.
	DecidedAt time.Time
}

// SelfieType is the built-in document type for face images (side "face")
// that identity-verification sessions reference; it needs no ladder entry.
const SelfieType = "selfie"

// SelfieSide is the only side of SelfieType.
const SelfieSide = "face"

// UploadParams are the inputs of Upload.
type UploadParams struct {
	// SubjectID is the subject uploading.
	SubjectID int64
	// DocumentType and Side say what the file shows: a type of the ladder
	// and one of its sides (or SelfieType / SelfieSide).
	DocumentType string
	// Side is one of the document type's sides.
	Side string
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
func (s *Service) Upload(ctx context.Context, p UploadParams) (_ File, err error) {
	defer endCall(s.call(&ctx, "Upload"), &err)
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
		return &Error{Sentinel: ErrUploadQuota, Field: "file", Message: fmt.Sprintf(
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
	cutoff, subjects, err := s.uploadSubjects(ctx)
	if err != nil {
		return 0, err
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
			old, err := expiredUploads(ctx, tx, id, cutoff)
			if err != nil {
				return err
			}
			for _, f := range old {
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

// uploadSubjects returns the upload TTL's cutoff and, in the order found,
// the subjects with an unsubmitted upload older than it (ExpireUploads and
// its dry-run count).
func (s *Service) uploadSubjects(ctx context.Context) (time.Time, []int64, error) {
	cutoff := s.Now().Add(-s.uploadTTL)
	files, err := s.store.ListFiles(ctx, FileFilter{Status: levels.Missing, CreatedBefore: cutoff})
	if err != nil {
		return cutoff, nil, s.fail("ExpireUploads", err)
	}
	seen := map[int64]bool{}
	var subjects []int64
	for _, f := range files {
		if !seen[f.SubjectID] {
			seen[f.SubjectID] = true
			subjects = append(subjects, f.SubjectID)
		}
	}
	return cutoff, subjects, nil
}

// expiredUploads are the subject's unsubmitted uploads created before cutoff.
func expiredUploads(ctx context.Context, st Store, subjectID int64, cutoff time.Time) ([]File, error) {
	old, err := unsubmitted(ctx, st, subjectID)
	if err != nil {
		return nil, err
	}
	expired := old[:0]
	for _, f := range old {
		if f.CreatedAt.Before(cutoff) {
			expired = append(expired, f)
		}
	}
	return expired, nil
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
	if !ok {
		return invalid("documentType", "unknown document type %q", p.DocumentType)
	}
	if !t.Enabled {
		return invalid("documentType", "document type %q is disabled: it can no longer be uploaded", p.DocumentType)
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
		return &Error{Sentinel: ErrTooLarge, Field: "file", Message: "file is larger than the upload limit", cause: err}
	case errors.Is(err, documents.ErrUnsupportedContent), errors.Is(err, documents.ErrEmpty):
		return &Error{Sentinel: ErrUnsupportedMedia, Field: "file", Message: "file content must be JPEG, PNG or PDF", cause: err}
	case errors.Is(err, documents.ErrBlobNotFound), errors.Is(err, documents.ErrErased):
		return &Error{Sentinel: ErrNotFound, Message: "file not found", cause: err}
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
// A read by an admin or the host writes an AuditDocumentViewed entry before
// the reader is returned: when the entry cannot be written, no byte is
// served.
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
	if actor.Kind == ActorAdmin || actor.Kind == ActorHost {
		err := s.store.InTx(ctx, func(ctx context.Context, tx Store) error {
			return s.audit(ctx, tx, actor, auditArgs{action: AuditDocumentViewed, subjectID: f.SubjectID, entity: AuditEntityFile, entityID: f.ID,
				summary: map[string]string{"documentType": f.DocumentType, "side": f.Side}})
		})
		if err != nil {
			_ = rc.Close()
			return File{}, nil, s.fail("OpenFile", err)
		}
	}
	return f, rc, nil
}
