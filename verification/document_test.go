package verification_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// docBundle is the fixture of the document tests: appBundle plus the
// directory the blobs are written to, so tests can look at the disk.
type docBundle struct {
	*appBundle
	dir string
}

// docSetup builds a Service on the seed ladder whose blobs go to a fresh
// directory through a documents.FileStore (unless opts sets Blobs).
func docSetup(t *testing.T, opts ...verification.Options) *docBundle {
	t.Helper()
	var o verification.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	dir := t.TempDir()
	if o.Blobs == nil {
		fsStore, err := documents.NewFileStore(dir)
		require.NoError(t, err)
		o.Blobs = fsStore
	}
	return &docBundle{appBundle: appSetup(t, o), dir: dir}
}

func jpegReader(n int) io.Reader { return bytes.NewReader(verificationtest.JPEG(n)) }

// blobFiles lists every file under dir (blobs and temporary files alike).
func blobFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, path)
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

func (b *docBundle) upload(t *testing.T, id int64, typ, side string, body []byte) (verification.File, error) {
	t.Helper()
	return b.svc.Upload(b.ctx, verification.UploadParams{SubjectID: id, DocumentType: typ, Side: side, Body: bytes.NewReader(body)})
}

func (b *docBundle) answerPassport(t *testing.T, id int64, front, back verification.File) {
	t.Helper()
	_, err := b.svc.Answer(b.ctx, id, "idDocument", raw(fmt.Sprintf(`{"type":"passport","files":{"front":%q,"back":%q}}`, front.ID, back.ID)))
	require.NoError(t, err)
}

func (b *docBundle) reviewFile(t *testing.T, id string, d verification.Decision, reason string) verification.File {
	t.Helper()
	f, err := b.svc.ReviewFile(b.ctx, verification.AdminActor(8, nil), verification.ReviewFileParams{FileID: id, Decision: d, Reason: reason})
	require.NoError(t, err)
	return f
}

func readAll(t *testing.T, svc *verification.Service, id string) []byte {
	t.Helper()
	_, rc, err := svc.OpenFile(context.Background(), verification.SystemActor(), id)
	require.NoError(t, err)
	defer func() { require.NoError(t, rc.Close()) }()
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	return got
}

func TestUploadStoresFile(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	body := verificationtest.JPEG(3000)
	b.clock.Advance(time.Second)
	f, err := b.upload(t, sub.ID, "passport", "front", body)
	require.NoError(t, err)
	sum := sha256.Sum256(body)
	assert.NotEmpty(t, f.ID)
	assert.Equal(t, sub.ID, f.SubjectID)
	assert.Equal(t, string(documents.JPEG), f.ContentType)
	assert.Equal(t, int64(len(body)), f.Size)
	assert.Equal(t, hex.EncodeToString(sum[:]), f.SHA256)
	assert.Equal(t, "passport", f.DocumentType)
	assert.Equal(t, "front", f.Side)
	assert.Equal(t, levels.Missing, f.Status, "uploaded, not yet submitted")
	assert.Equal(t, verificationtest.Start.Add(time.Second), f.CreatedAt)
	assert.NotContains(t, f.BlobKey, "front", "blob names are generated")
	assert.Len(t, blobFiles(t, b.dir), 1)

	got, err := b.svc.File(b.ctx, verification.UserActor(sub.ID), f.ID)
	require.NoError(t, err)
	assert.Equal(t, f, got)
	assert.Equal(t, body, readAll(t, b.svc, f.ID), "OpenFile returns the exact bytes")

	for _, ct := range []struct {
		name string
		body []byte
		want documents.ContentType
	}{
		{"png", append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...), documents.PNG},
		{"pdf", []byte("%PDF-1.7\n%...\n"), documents.PDF},
	} {
		f, err := b.upload(t, sub.ID, "passport", "back", ct.body)
		require.NoError(t, err, ct.name)
		assert.Equal(t, string(ct.want), f.ContentType, ct.name)
		assert.Equal(t, ct.body, readAll(t, b.svc, f.ID), ct.name)
	}
}

func TestUploadSelfie(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	f, err := b.upload(t, sub.ID, verification.SelfieType, verification.SelfieSide, verificationtest.JPEG(512))
	require.NoError(t, err)
	assert.Equal(t, "selfie", f.DocumentType)
	assert.Equal(t, "face", f.Side)
	_, err = b.upload(t, sub.ID, verification.SelfieType, "front", verificationtest.JPEG(512))
	require.ErrorIs(t, err, verification.ErrInvalid)
}

func TestUploadPendingSideIsER708(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	front, back := b.passport(t, sub.ID)
	// Several uploads of a side are fine while none is submitted.
	spare := verificationtest.Upload(t, b.svc, sub.ID, "passport", "front")
	b.answerPassport(t, sub.ID, front, back)
	assert.Equal(t, levels.Missing, b.file(t, spare.ID).Status)

	refused := func(side string) {
		t.Helper()
		files := len(blobFiles(t, b.dir))
		before := snapshot(t, b.svc, sub.ID)
		_, err := b.upload(t, sub.ID, "passport", side, verificationtest.JPEG(256))
		require.ErrorIs(t, err, verification.ErrPendingDocument, side)
		var e *verification.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, verification.CodePendingDocument, e.Code)
		assert.Equal(t, "ER708", string(e.Code))
		assert.Equal(t, "There is a pending document for this side.", e.Message)
		assert.Equal(t, "side", e.Field)
		assert.Equal(t, before, snapshot(t, b.svc, sub.ID))
		assert.Len(t, blobFiles(t, b.dir), files, "no blob left behind")
	}
	refused("front")
	refused("back")
	// Other types, sides and subjects are not blocked.
	verificationtest.Upload(t, b.svc, sub.ID, verification.SelfieType, verification.SelfieSide)
	other := verificationtest.CreateSubject(t, b.svc)
	verificationtest.Upload(t, b.svc, other.ID, "passport", "front")

	// A decision on a side frees it.
	b.reviewFile(t, front.ID, verification.Approve, "")
	verificationtest.Upload(t, b.svc, sub.ID, "passport", "front")
	refused("back")
	b.reviewFile(t, back.ID, verification.Reject, "glare")
	verificationtest.Upload(t, b.svc, sub.ID, "passport", "back")
}

func TestUploadConcurrentWithSubmission(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	front, back := b.passport(t, sub.ID)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = b.upload(t, sub.ID, "passport", "front", verificationtest.JPEG(300))
		})
	}
	b.answerPassport(t, sub.ID, front, back)
	wg.Wait()
	files, err := verificationtest.StoreOf(b.svc).ListFiles(b.ctx, verification.FileFilter{SubjectID: sub.ID})
	require.NoError(t, err)
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, verification.ErrPendingDocument)
		}
	}
	assert.Len(t, files, 2+ok)
	assert.Len(t, blobFiles(t, b.dir), 2+ok, "every refused upload removed its blob")
}

func TestUploadOversize(t *testing.T) {
	t.Parallel()
	b := docSetup(t, verification.Options{MaxFileSize: 2048})
	sub := verificationtest.CreateSubject(t, b.svc)
	for _, n := range []int{2049, 4096, 1 << 20} {
		_, err := b.upload(t, sub.ID, "passport", "front", verificationtest.JPEG(n))
		require.ErrorIs(t, err, verification.ErrTooLarge, n)
		var e *verification.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, "file", e.Field)
		assert.Empty(t, blobFiles(t, b.dir), "no blob (nor temporary file) left behind")
		files, err := verificationtest.StoreOf(b.svc).ListFiles(b.ctx, verification.FileFilter{SubjectID: sub.ID})
		require.NoError(t, err)
		assert.Empty(t, files, "no File record")
	}
	f, err := b.upload(t, sub.ID, "passport", "front", verificationtest.JPEG(2048))
	require.NoError(t, err, "the limit itself is allowed")
	assert.Equal(t, int64(2048), f.Size)
	_, err = verification.New(verificationtest.SeedLadder(t), memory.New(), verification.Options{MaxFileSize: -1})
	require.ErrorIs(t, err, verification.ErrInvalid)
}

func TestUploadRefusesContent(t *testing.T) {
	t.Parallel()
	b := docSetup(t, verification.Options{AllowedContent: []documents.ContentType{documents.JPEG, documents.PDF}})
	sub := verificationtest.CreateSubject(t, b.svc)
	tests := []struct {
		name string
		body []byte
	}{
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff")},
		{"plain text", []byte("hello, this is not an image at all")},
		{"html", []byte("<!DOCTYPE html><html><body>x</body></html>")},
		{"empty", nil},
		{"one byte", []byte{0xFF}},
		{"truncated jpeg magic", []byte{0xFF, 0xD8}},
		{"png not allowed here", append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)},
		{"jpeg magic later", append([]byte("xx"), verificationtest.JPEG(64)...)},
	}
	for _, tc := range tests {
		_, err := b.upload(t, sub.ID, "passport", "front", tc.body)
		require.ErrorIs(t, err, verification.ErrUnsupportedMedia, tc.name)
		var e *verification.Error
		require.ErrorAs(t, err, &e, tc.name)
		assert.Equal(t, "file", e.Field, tc.name)
	}
	assert.Empty(t, blobFiles(t, b.dir))
	files, err := verificationtest.StoreOf(b.svc).ListFiles(b.ctx, verification.FileFilter{SubjectID: sub.ID})
	require.NoError(t, err)
	assert.Empty(t, files)
}

func TestUploadRefusesParams(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	gone := verificationtest.CreateSubject(t, b.svc)
	require.NoError(t, b.svc.DeleteSubject(b.ctx, verification.SystemActor(), gone.ID))
	body := func() io.Reader { return jpegReader(128) }
	tests := []struct {
		name  string
		p     verification.UploadParams
		kind  error
		field string
	}{
		{"unknown type", verification.UploadParams{SubjectID: sub.ID, DocumentType: "driverLicense", Side: "front", Body: body()}, verification.ErrInvalid, "documentType"},
		{"empty type", verification.UploadParams{SubjectID: sub.ID, Side: "front", Body: body()}, verification.ErrInvalid, "documentType"},
		{"unknown side", verification.UploadParams{SubjectID: sub.ID, DocumentType: "passport", Side: "inside", Body: body()}, verification.ErrInvalid, "side"},
		{"traversal side", verification.UploadParams{SubjectID: sub.ID, DocumentType: "passport", Side: "../../etc/passwd", Body: body()}, verification.ErrInvalid, "side"},
		{"face of a passport", verification.UploadParams{SubjectID: sub.ID, DocumentType: "passport", Side: "face", Body: body()}, verification.ErrInvalid, "side"},
		{"selfie front", verification.UploadParams{SubjectID: sub.ID, DocumentType: verification.SelfieType, Side: "front", Body: body()}, verification.ErrInvalid, "side"},
		{"no body", verification.UploadParams{SubjectID: sub.ID, DocumentType: "passport", Side: "front"}, verification.ErrInvalid, "file"},
		{"no subject", verification.UploadParams{DocumentType: "passport", Side: "front", Body: body()}, verification.ErrInvalid, "subjectId"},
		{"unknown subject", verification.UploadParams{SubjectID: 9999, DocumentType: "passport", Side: "front", Body: body()}, verification.ErrDeleted, ""},
		{"deleted subject", verification.UploadParams{SubjectID: gone.ID, DocumentType: "passport", Side: "front", Body: body()}, verification.ErrDeleted, ""},
	}
	for _, tc := range tests {
		_, err := b.svc.Upload(b.ctx, tc.p)
		require.ErrorIs(t, err, tc.kind, tc.name)
		if tc.field != "" {
			var e *verification.Error
			require.ErrorAs(t, err, &e, tc.name)
			assert.Equal(t, tc.field, e.Field, tc.name)
		}
	}
	assert.Empty(t, blobFiles(t, b.dir))
}

func TestUploadDisabledWithoutBlobs(t *testing.T) {
	t.Parallel()
	svc, err := verification.New(verificationtest.SeedLadder(t), memory.New(), verification.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	sub := verificationtest.CreateSubject(t, svc)
	_, err = svc.Upload(ctx, verification.UploadParams{SubjectID: sub.ID, DocumentType: "passport", Side: "front", Body: jpegReader(64)})
	require.ErrorIs(t, err, verification.ErrForbidden)
	_, _, err = svc.OpenFile(ctx, verification.SystemActor(), "anything")
	require.ErrorIs(t, err, verification.ErrNotFound)
	rep, err := svc.ApplyRetention(ctx)
	require.NoError(t, err)
	assert.Zero(t, rep)
	require.NoError(t, svc.Erase(ctx, verification.SystemActor(), sub.ID), "erasure works without a blob store")
}

func TestFileAccessIsOwnersOnly(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	alice := verificationtest.CreateSubject(t, b.svc)
	bob := verificationtest.CreateSubject(t, b.svc)
	f := verificationtest.Upload(t, b.svc, alice.ID, "passport", "front")

	_, err := b.svc.File(b.ctx, verification.UserActor(bob.ID), f.ID)
	require.ErrorIs(t, err, verification.ErrNotFound, "another subject's file looks absent")
	var foreign *verification.Error
	require.ErrorAs(t, err, &foreign)
	_, err = b.svc.File(b.ctx, verification.UserActor(bob.ID), "id-424242")
	var absent *verification.Error
	require.ErrorAs(t, err, &absent)
	assert.Equal(t, absent.Message, foreign.Message)

	got, err := b.svc.File(b.ctx, verification.UserActor(alice.ID), f.ID)
	require.NoError(t, err)
	assert.Equal(t, f, got)
	got, err = b.svc.File(b.ctx, verification.SystemActor(), f.ID)
	require.NoError(t, err, "subject 0: a reviewer's lookup")
	assert.Equal(t, f, got)
	_, err = b.svc.File(b.ctx, verification.UserActor(alice.ID), "")
	require.ErrorIs(t, err, verification.ErrInvalid)
	_, _, err = b.svc.OpenFile(b.ctx, verification.SystemActor(), "id-424242")
	require.ErrorIs(t, err, verification.ErrNotFound)
	assert.Equal(t, verificationtest.JPEG(1024), readAll(t, b.svc, f.ID))

	// Bob cannot submit, or record a session with, Alice's file.
	bobBack := verificationtest.Upload(t, b.svc, bob.ID, "passport", "back")
	_, err = b.svc.Answer(b.ctx, bob.ID, "idDocument", raw(fmt.Sprintf(`{"type":"passport","files":{"front":%q,"back":%q}}`, f.ID, bobBack.ID)))
	require.ErrorIs(t, err, verification.ErrNotFound)
	_, err = b.svc.RecordIDSession(b.ctx, verification.SystemActor(), verification.RecordIDSessionParams{SubjectID: bob.ID, Provider: "veriff", FrontFileID: f.ID})
	require.ErrorIs(t, err, verification.ErrNotFound)
	assert.Equal(t, levels.Missing, b.file(t, f.ID).Status)
}

func TestReviewFilePerSide(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	step := b.documentsStep(t, sub.ID)
	b.answerAMLD5(t, sub.ID)
	_, err := b.svc.SetRequirement(b.ctx, verification.AdminActor(2, nil), verification.SetRequirementParams{SubjectID: sub.ID, Requirement: "verificationFlag", Value: raw(`true`)})
	require.NoError(t, err)
	front, back := b.passport(t, sub.ID)
	done, err := b.svc.RunWizard(b.ctx, verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{front.ID, back.ID}})
	require.NoError(t, err)
	require.Equal(t, verification.StageDone, done.Stage)

	b.clock.Advance(time.Hour)
	got := b.reviewFile(t, front.ID, verification.Approve, "")
	assert.Equal(t, levels.Approved, got.Status)
	assert.Equal(t, b.svc.Now(), got.DecidedAt)
	assert.Equal(t, levels.Pending, b.file(t, back.ID).Status)
	assert.Equal(t, levels.Pending, b.state(t, sub.ID, "idDocument").Status, "one side is not enough")
	verificationtest.RequireLevel(t, b.svc, sub.ID, 2)
	_, err = b.svc.LatestIDSession(b.ctx, sub.ID)
	require.ErrorIs(t, err, verification.ErrNotFound)

	b.clock.Advance(time.Minute)
	got = b.reviewFile(t, back.ID, verification.Approve, "")
	assert.Equal(t, levels.Approved, got.Status)
	assert.Equal(t, levels.Approved, b.state(t, sub.ID, "idDocument").Status)
	verificationtest.RequireLevel(t, b.svc, sub.ID, 3)
	verificationtest.RequireStatus(t, b.svc, sub.ID, nil)
	page, err := b.svc.Grants(b.ctx, verification.SystemActor(), verification.GrantFilter{SubjectID: sub.ID, Limit: 1, Desc: true})
	require.NoError(t, err)
	assert.Equal(t, "Review: idDocument", page.Items[0].Reason)
	assert.Equal(t, int64(8), page.Items[0].AdminID)

	sess, err := b.svc.LatestIDSession(b.ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.ProviderManual, sess.Provider)
	assert.Equal(t, verification.IDSessionApproved, sess.Status)
	assert.Equal(t, front.ID, sess.FrontFileID)
	assert.Equal(t, back.ID, sess.BackFileID)
	assert.Empty(t, sess.FaceFileID)
	assert.Equal(t, b.svc.Now(), sess.CreatedAt)
	assert.Equal(t, sub.ID, sess.SubjectID)

	// Deciding a decided side is a conflict.
	before := snapshot(t, b.svc, sub.ID)
	for _, d := range []verification.Decision{verification.Approve, verification.Reject} {
		_, err = b.svc.ReviewFile(b.ctx, verification.AdminActor(8, nil), verification.ReviewFileParams{FileID: back.ID, Decision: d, Reason: "x"})
		require.ErrorIs(t, err, verification.ErrConflict)
	}
	assert.Equal(t, before, snapshot(t, b.svc, sub.ID))

	// The application is still submitted; approving it grants nothing new.
	_, err = b.svc.DecideApplication(b.ctx, verification.AdminActor(8, nil), verification.DecideApplicationParams{ApplicationID: done.Application.ID, Decision: verification.Approve})
	require.NoError(t, err)
	page, err = b.svc.Grants(b.ctx, verification.SystemActor(), verification.GrantFilter{SubjectID: sub.ID})
	require.NoError(t, err)
	assert.Equal(t, 3, page.Total)
	sessions, err := verificationtest.StoreOf(b.svc).ListIDSessions(b.ctx, sub.ID)
	require.NoError(t, err)
	assert.Len(t, sessions, 1, "one manual session per approval")
}

func TestReviewFileRejectOneSide(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	front, back := b.passport(t, sub.ID)
	b.answerPassport(t, sub.ID, front, back)
	b.reviewFile(t, front.ID, verification.Approve, "")
	got := b.reviewFile(t, back.ID, verification.Reject, "back is blurry")
	assert.Equal(t, levels.Rejected, got.Status)
	assert.Equal(t, "back is blurry", got.Reason)

	st := b.state(t, sub.ID, "idDocument")
	assert.Equal(t, levels.Rejected, st.Status)
	assert.Equal(t, "back is blurry", st.Reason)
	assert.False(t, st.Final)
	assert.Equal(t, levels.Rejected, b.file(t, front.ID).Status, "the whole document is sent back")
	_, err := b.svc.LatestIDSession(b.ctx, sub.ID)
	require.ErrorIs(t, err, verification.ErrNotFound, "no session for a rejected document")
	reviews, err := b.svc.Reviews(b.ctx, verification.SystemActor(), sub.ID)
	require.NoError(t, err)
	require.Len(t, reviews, 1)
	assert.Equal(t, verification.Reject, reviews[0].Decision)
	assert.Equal(t, int64(8), reviews[0].AdminID)
	assert.Equal(t, 1, countEvents(t, b.svc, sub.ID, verification.EventRequirementRejected))

	// The subject uploads again and resubmits.
	_, err = b.svc.Answer(b.ctx, sub.ID, "idDocument", raw(fmt.Sprintf(`{"type":"passport","files":{"front":%q,"back":%q}}`, front.ID, back.ID)))
	require.ErrorIs(t, err, verification.ErrConflict, "decided files cannot be submitted again")
	f2, b2 := b.passport(t, sub.ID)
	b.answerPassport(t, sub.ID, f2, b2)
	st = b.state(t, sub.ID, "idDocument")
	assert.Equal(t, levels.Pending, st.Status)
	assert.Equal(t, 2, st.Attempts)
}

func TestReviewFileRefusals(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	unsubmitted := verificationtest.Upload(t, b.svc, sub.ID, "passport", "front")
	front, back := b.passport(t, sub.ID)
	b.answerPassport(t, sub.ID, front, back)
	selfie := verificationtest.Upload(t, b.svc, sub.ID, verification.SelfieType, verification.SelfieSide)

	approve := func(id string) verification.ReviewFileParams {
		return verification.ReviewFileParams{FileID: id, Decision: verification.Approve}
	}
	tests := []struct {
		name  string
		p     verification.ReviewFileParams
		kind  error
		field string
	}{
		{"not submitted", approve(unsubmitted.ID), verification.ErrConflict, ""},
		{"selfie", approve(selfie.ID), verification.ErrConflict, ""},
		{"unknown", approve("id-31337"), verification.ErrNotFound, ""},
		{"no file id", approve(""), verification.ErrInvalid, "fileId"},
		{"bad decision", verification.ReviewFileParams{FileID: front.ID, Decision: "perhaps"}, verification.ErrInvalid, "decision"},
		{"reject without reason", verification.ReviewFileParams{FileID: front.ID, Decision: verification.Reject}, verification.ErrInvalid, "reason"},
		{"long reason", verification.ReviewFileParams{FileID: front.ID, Decision: verification.Reject, Reason: strings.Repeat("x", verification.MaxReasonLen+1)}, verification.ErrInvalid, "reason"},
	}
	before := snapshot(t, b.svc, sub.ID)
	_, err := b.svc.ReviewFile(b.ctx, verification.HostActor(), approve(front.ID))
	require.ErrorIs(t, err, verification.ErrForbidden, "ReviewFile needs an admin actor")
	for _, tc := range tests {
		_, err := b.svc.ReviewFile(b.ctx, verification.AdminActor(1, nil), tc.p)
		require.ErrorIs(t, err, tc.kind, tc.name)
		if tc.field != "" {
			var e *verification.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.field, e.Field, tc.name)
		}
		require.Equal(t, before, snapshot(t, b.svc, sub.ID), tc.name)
	}

	// A file whose requirement was decided as a whole is not pending any more.
	_, err = b.svc.Review(b.ctx, verification.AdminActor(1, nil), verification.ReviewParams{SubjectID: sub.ID, Requirement: "idDocument", Decision: verification.Approve})
	require.NoError(t, err)
	_, err = b.svc.ReviewFile(b.ctx, verification.AdminActor(1, nil), approve(front.ID))
	require.ErrorIs(t, err, verification.ErrConflict)

	// Files of a deleted subject cannot be reviewed.
	gone := verificationtest.CreateSubject(t, b.svc)
	gf, gb := b.passport(t, gone.ID)
	b.answerPassport(t, gone.ID, gf, gb)
	require.NoError(t, b.svc.DeleteSubject(b.ctx, verification.SystemActor(), gone.ID))
	_, err = b.svc.ReviewFile(b.ctx, verification.AdminActor(1, nil), approve(gf.ID))
	require.ErrorIs(t, err, verification.ErrDeleted)
}

// twoDocumentLadder has an identity document and a proof of address, both
// reviewed, and a disabled document type.
func twoDocumentLadder(t *testing.T) *levels.Ladder {
	t.Helper()
	l, err := levels.New([]levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{
			{Name: "idDocument", Type: levels.Document, DocumentTypes: []string{"passport"}, Review: true},
			{Name: "proofOfAddress", Type: levels.Document, DocumentTypes: []string{"utilityBill"}, Review: true},
		}},
	},
		documents.Type{ID: 2, Name: "passport", Description: "Passport", Enabled: true, Sides: []string{"front", "back"}},
		documents.Type{ID: 5, Name: "utilityBill", Description: "Utility bill", Enabled: true, Sides: []string{"front"}},
		documents.Type{ID: 6, Name: "oldCard", Description: "Retired ID card", Enabled: false, Sides: []string{"front"}},
	)
	require.NoError(t, err)
	return l
}

func TestIdentityRequirementsOption(t *testing.T) {
	t.Parallel()
	ladder := twoDocumentLadder(t)
	tests := []struct {
		name     string
		reqs     []string
		sessions map[string]int // requirement approved -> sessions after it
	}{
		{"nil: every document requirement", nil, map[string]int{"proofOfAddress": 1, "idDocument": 2}},
		{"idDocument only", []string{"idDocument"}, map[string]int{"proofOfAddress": 0, "idDocument": 1}},
		{"none", []string{}, map[string]int{"proofOfAddress": 0, "idDocument": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc, clock := verificationtest.NewService(t, ladder, verification.Options{IdentityRequirements: tc.reqs})
			ctx := context.Background()
			sub := verificationtest.CreateSubject(t, svc)
			front := verificationtest.Upload(t, svc, sub.ID, "passport", "front")
			back := verificationtest.Upload(t, svc, sub.ID, "passport", "back")
			bill := verificationtest.Upload(t, svc, sub.ID, "utilityBill", "front")
			_, err := svc.Answer(ctx, sub.ID, "idDocument", raw(fmt.Sprintf(`{"type":"passport","files":{"front":%q,"back":%q}}`, front.ID, back.ID)))
			require.NoError(t, err)
			_, err = svc.Answer(ctx, sub.ID, "proofOfAddress", raw(fmt.Sprintf(`{"type":"utilityBill","files":{"front":%q}}`, bill.ID)))
			require.NoError(t, err)

			_, err = svc.ReviewFile(ctx, verification.AdminActor(1, nil), verification.ReviewFileParams{FileID: bill.ID, Decision: verification.Approve})
			require.NoError(t, err)
			sessions, err := verificationtest.StoreOf(svc).ListIDSessions(ctx, sub.ID)
			require.NoError(t, err)
			assert.Len(t, sessions, tc.sessions["proofOfAddress"])

			clock.Advance(time.Minute)
			_, err = svc.Review(ctx, verification.AdminActor(1, nil), verification.ReviewParams{SubjectID: sub.ID, Requirement: "idDocument", Decision: verification.Approve})
			require.NoError(t, err)
			sessions, err = verificationtest.StoreOf(svc).ListIDSessions(ctx, sub.ID)
			require.NoError(t, err)
			assert.Len(t, sessions, tc.sessions["idDocument"])
			if tc.sessions["idDocument"] > tc.sessions["proofOfAddress"] {
				latest, err := svc.LatestIDSession(ctx, sub.ID)
				require.NoError(t, err)
				assert.Equal(t, front.ID, latest.FrontFileID)
				assert.Equal(t, back.ID, latest.BackFileID)
			}
			verificationtest.RequireLevel(t, svc, sub.ID, 2)
		})
	}
	for _, bad := range [][]string{{"nope"}, {"idDocument", "nope"}} {
		_, err := verification.New(ladder, memory.New(), verification.Options{IdentityRequirements: bad})
		require.ErrorIs(t, err, verification.ErrInvalid, bad)
	}
	_, err := verification.New(verificationtest.SeedLadder(t), memory.New(), verification.Options{IdentityRequirements: []string{"isBusiness"}})
	require.ErrorIs(t, err, verification.ErrInvalid, "not a document requirement")
}

func TestUploadDisabledDocumentType(t *testing.T) {
	t.Parallel()
	svc, _ := verificationtest.NewService(t, twoDocumentLadder(t))
	sub := verificationtest.CreateSubject(t, svc)
	_, err := svc.Upload(context.Background(), verification.UploadParams{SubjectID: sub.ID, DocumentType: "oldCard", Side: "front", Body: jpegReader(64)})
	require.ErrorIs(t, err, verification.ErrInvalid)
}

func TestRecordIDSession(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	ctx := b.ctx
	sub := verificationtest.CreateSubject(t, b.svc)
	_, err := b.svc.LatestIDSession(ctx, sub.ID)
	require.ErrorIs(t, err, verification.ErrNotFound, "none yet")

	front, back := b.passport(t, sub.ID)
	face := verificationtest.Upload(t, b.svc, sub.ID, verification.SelfieType, verification.SelfieSide)
	b.clock.Advance(time.Hour)
	at := b.svc.Now().Add(-30 * time.Minute)
	first, err := b.svc.RecordIDSession(ctx, verification.SystemActor(), verification.RecordIDSessionParams{SubjectID: sub.ID, Provider: "veriff", FrontFileID: front.ID, BackFileID: back.ID, FaceFileID: face.ID, At: at})
	require.NoError(t, err)
	assert.NotEmpty(t, first.ID)
	assert.Equal(t, "veriff", first.Provider)
	assert.Equal(t, verification.IDSessionApproved, first.Status, "empty status means approved")
	assert.Equal(t, at, first.CreatedAt)
	latest, err := b.svc.LatestIDSession(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, first, latest)

	// A newer declined session is not returned.
	b.clock.Advance(time.Minute)
	declined, err := b.svc.RecordIDSession(ctx, verification.SystemActor(), verification.RecordIDSessionParams{SubjectID: sub.ID, Provider: "veriff", Status: "declined", FrontFileID: front.ID})
	require.NoError(t, err)
	assert.Equal(t, b.svc.Now(), declined.CreatedAt, "zero At means now")
	latest, err = b.svc.LatestIDSession(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, first.ID, latest.ID)

	// A newer approved one wins; an older one reported late does not.
	second, err := b.svc.RecordIDSession(ctx, verification.SystemActor(), verification.RecordIDSessionParams{SubjectID: sub.ID, Provider: "veriff", FrontFileID: front.ID, FaceFileID: face.ID})
	require.NoError(t, err)
	_, err = b.svc.RecordIDSession(ctx, verification.SystemActor(), verification.RecordIDSessionParams{SubjectID: sub.ID, Provider: "onfido", FrontFileID: front.ID, At: at.Add(-time.Hour)})
	require.NoError(t, err)
	latest, err = b.svc.LatestIDSession(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, second, latest)
	assert.Empty(t, latest.BackFileID, "some ID types have no back")

	// Only approved sessions count: a subject with declined ones only has none.
	other := verificationtest.CreateSubject(t, b.svc)
	otherFront := verificationtest.Upload(t, b.svc, other.ID, "passport", "front")
	_, err = b.svc.RecordIDSession(ctx, verification.SystemActor(), verification.RecordIDSessionParams{SubjectID: other.ID, Provider: "veriff", Status: "declined", FrontFileID: otherFront.ID})
	require.NoError(t, err)
	_, err = b.svc.LatestIDSession(ctx, other.ID)
	require.ErrorIs(t, err, verification.ErrNotFound)

	gone := verificationtest.CreateSubject(t, b.svc)
	goneFront := verificationtest.Upload(t, b.svc, gone.ID, "passport", "front")
	require.NoError(t, b.svc.DeleteSubject(ctx, verification.SystemActor(), gone.ID))

	long := strings.Repeat("p", 65)
	tests := []struct {
		name  string
		p     verification.RecordIDSessionParams
		kind  error
		field string
	}{
		{"foreign front", verification.RecordIDSessionParams{SubjectID: sub.ID, Provider: "veriff", FrontFileID: otherFront.ID}, verification.ErrNotFound, "frontFileId"},
		{"foreign back", verification.RecordIDSessionParams{SubjectID: sub.ID, Provider: "veriff", FrontFileID: front.ID, BackFileID: otherFront.ID}, verification.ErrNotFound, "backFileId"},
		{"foreign face", verification.RecordIDSessionParams{SubjectID: other.ID, Provider: "veriff", FrontFileID: otherFront.ID, FaceFileID: face.ID}, verification.ErrNotFound, "faceFileId"},
		{"unknown file", verification.RecordIDSessionParams{SubjectID: sub.ID, Provider: "veriff", FrontFileID: "id-777777"}, verification.ErrNotFound, "frontFileId"},
		{"no front", verification.RecordIDSessionParams{SubjectID: sub.ID, Provider: "veriff"}, verification.ErrInvalid, "frontFileId"},
		{"no provider", verification.RecordIDSessionParams{SubjectID: sub.ID, FrontFileID: front.ID}, verification.ErrInvalid, "provider"},
		{"long provider", verification.RecordIDSessionParams{SubjectID: sub.ID, Provider: long, FrontFileID: front.ID}, verification.ErrInvalid, "provider"},
		{"long status", verification.RecordIDSessionParams{SubjectID: sub.ID, Provider: "veriff", Status: long, FrontFileID: front.ID}, verification.ErrInvalid, "status"},
		{"no subject", verification.RecordIDSessionParams{Provider: "veriff", FrontFileID: front.ID}, verification.ErrInvalid, "subjectId"},
		{"deleted subject", verification.RecordIDSessionParams{SubjectID: gone.ID, Provider: "veriff", FrontFileID: goneFront.ID}, verification.ErrDeleted, ""},
	}
	count := func() int {
		n := 0
		for _, id := range []int64{sub.ID, other.ID, gone.ID} {
			list, err := verificationtest.StoreOf(b.svc).ListIDSessions(ctx, id)
			require.NoError(t, err)
			n += len(list)
		}
		return n
	}
	n := count()
	for _, tc := range tests {
		_, err := b.svc.RecordIDSession(ctx, verification.SystemActor(), tc.p)
		require.ErrorIs(t, err, tc.kind, tc.name)
		if tc.field != "" {
			var e *verification.Error
			require.ErrorAs(t, err, &e, tc.name)
			assert.Equal(t, tc.field, e.Field, tc.name)
		}
	}
	assert.Equal(t, n, count(), "refusals record nothing")
	_, err = b.svc.LatestIDSession(ctx, gone.ID)
	require.ErrorIs(t, err, verification.ErrDeleted)
}

// eraseFixture gives a subject every kind of personal data: answers,
// reviewed documents in an application, a selfie, a provider's ID session.
func (b *docBundle) eraseFixture(t *testing.T) verification.Subject {
	t.Helper()
	sub := verificationtest.CreateSubject(t, b.svc)
	step := b.documentsStep(t, sub.ID)
	b.answerAMLD5(t, sub.ID)
	front, back := b.passport(t, sub.ID)
	_, err := b.svc.RunWizard(b.ctx, verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{front.ID, back.ID}})
	require.NoError(t, err)
	b.reviewFile(t, front.ID, verification.Approve, "")
	b.reviewFile(t, back.ID, verification.Approve, "")
	face := verificationtest.Upload(t, b.svc, sub.ID, verification.SelfieType, verification.SelfieSide)
	_, err = b.svc.RecordIDSession(b.ctx, verification.SystemActor(), verification.RecordIDSessionParams{SubjectID: sub.ID, Provider: "veriff", FrontFileID: front.ID, BackFileID: back.ID, FaceFileID: face.ID})
	require.NoError(t, err)
	verificationtest.Upload(t, b.svc, sub.ID, "passport", "front") // a spare, never submitted
	return sub
}

// requireErased checks that nothing personal of the subject remains in the
// store, and that its audit facts do.
func requireErased(t *testing.T, svc *verification.Service, id int64, audit subjectSnapshot, reviews []verification.Review) {
	t.Helper()
	ctx := context.Background()
	st := verificationtest.StoreOf(svc)
	files, err := st.ListFiles(ctx, verification.FileFilter{SubjectID: id})
	require.NoError(t, err)
	assert.Empty(t, files, "no File records")
	states, err := st.ListRequirementStates(ctx, id)
	require.NoError(t, err)
	require.NotEmpty(t, states, "the states (statuses, attempts) stay")
	for _, s := range states {
		assert.Nil(t, s.Answer, s.Name)
	}
	sessions, err := st.ListIDSessions(ctx, id)
	require.NoError(t, err)
	for _, s := range sessions {
		assert.Empty(t, s.FrontFileID+s.BackFileID+s.FaceFileID, "session %s keeps no file ids", s.ID)
		assert.NotZero(t, s.CreatedAt)
	}
	evs, err := st.ListEvents(ctx, verification.EventFilter{SubjectID: id})
	require.NoError(t, err)
	for _, e := range evs {
		for _, secret := range []string{"123456", `"NL"`, "answer1", "answer2"} {
			assert.NotContains(t, string(e.Data), secret, "event %s holds an answer", e.Type)
		}
	}
	sub, err := st.GetSubject(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, svc.Now(), sub.RedactedAt)
	assert.Equal(t, audit.Subject.Level, sub.Level)

	grants, err := st.ListGrants(ctx, verification.GrantFilter{SubjectID: id})
	require.NoError(t, err)
	assert.Equal(t, audit.Grants, grants.Total, "grants stay")
	got, err := st.ListReviews(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, reviews, got, "review decisions stay")
	page, err := st.ListApplications(ctx, verification.ApplicationFilter{SubjectID: id, Limit: 100})
	apps := page.Items
	require.NoError(t, err)
	assert.Len(t, apps, len(audit.Apps), "applications stay")
	assert.Equal(t, 1, countEvents(t, svc, id, verification.EventSubjectErased))
}

func TestErase(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := b.eraseFixture(t)
	files := blobFiles(t, b.dir)
	require.Len(t, files, 4)
	audit := snapshot(t, b.svc, sub.ID)
	reviews, err := b.svc.Reviews(b.ctx, verification.SystemActor(), sub.ID)
	require.NoError(t, err)
	require.NotEmpty(t, reviews)
	fileIDs := make([]string, len(audit.Files))
	for i, f := range audit.Files {
		fileIDs[i] = f.ID
	}

	b.clock.Advance(time.Hour)
	require.NoError(t, b.svc.Erase(b.ctx, verification.SystemActor(), sub.ID))
	requireErased(t, b.svc, sub.ID, audit, reviews)
	assert.Empty(t, blobFiles(t, b.dir), "the blob directory holds nothing of the subject")
	for _, id := range fileIDs {
		_, _, err := b.svc.OpenFile(b.ctx, verification.SystemActor(), id)
		require.ErrorIs(t, err, verification.ErrNotFound)
	}
	got, err := b.svc.Subject(b.ctx, verification.SystemActor(), sub.ID)
	require.NoError(t, err, "an erased subject still exists")
	assert.Equal(t, b.svc.Now(), got.RedactedAt)
	verificationtest.RequireLevel(t, b.svc, sub.ID, 2)
	sess, err := b.svc.LatestIDSession(b.ctx, sub.ID)
	require.NoError(t, err, "the fact of the check stays")
	assert.Equal(t, "veriff", sess.Provider)
	assert.Empty(t, sess.FrontFileID)

	// Erase may be repeated.
	require.NoError(t, b.svc.Erase(b.ctx, verification.SystemActor(), sub.ID))
	_, err = b.svc.RequirementStates(b.ctx, verification.SystemActor(), sub.ID)
	require.NoError(t, err)
}

func TestEraseLegalHold(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := b.eraseFixture(t)
	_, err := b.svc.SetLegalHold(b.ctx, verification.SystemActor(), sub.ID, true)
	require.NoError(t, err)
	files := blobFiles(t, b.dir)
	before := snapshot(t, b.svc, sub.ID)
	err = b.svc.Erase(b.ctx, verification.SystemActor(), sub.ID)
	require.ErrorIs(t, err, verification.ErrLegalHold)
	assert.Equal(t, before, snapshot(t, b.svc, sub.ID), "nothing deleted")
	assert.Equal(t, files, blobFiles(t, b.dir))
	for _, f := range before.Files {
		_, rc, err := b.svc.OpenFile(b.ctx, verification.SystemActor(), f.ID)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
	}

	_, err = b.svc.SetLegalHold(b.ctx, verification.SystemActor(), sub.ID, false)
	require.NoError(t, err)
	require.NoError(t, b.svc.Erase(b.ctx, verification.SystemActor(), sub.ID))
	assert.Empty(t, blobFiles(t, b.dir))
}

func TestEraseDeletedAndUnknownSubjects(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := b.eraseFixture(t)
	audit := snapshot(t, b.svc, sub.ID)
	reviews, err := verificationtest.StoreOf(b.svc).ListReviews(b.ctx, sub.ID)
	require.NoError(t, err)
	require.NoError(t, b.svc.DeleteSubject(b.ctx, verification.SystemActor(), sub.ID))
	audit.Subject.Level = snapshot(t, b.svc, sub.ID).Subject.Level
	require.NoError(t, b.svc.Erase(b.ctx, verification.SystemActor(), sub.ID), "deleted subjects can be erased")
	requireErased(t, b.svc, sub.ID, audit, reviews)
	assert.Empty(t, blobFiles(t, b.dir))

	require.ErrorIs(t, b.svc.Erase(b.ctx, verification.SystemActor(), 987654), verification.ErrNotFound)
}

// raceBlobs runs hook once, on the first Delete, before deleting: it lets a
// test act in the middle of an erasure.
type raceBlobs struct {
	documents.BlobStore
	once sync.Once
	hook func()
}

func (r *raceBlobs) Delete(ctx context.Context, key string) error {
	r.once.Do(r.hook)
	return r.BlobStore.Delete(ctx, key)
}

func TestEraseCatchesUploadDuringErasure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fsStore, err := documents.NewFileStore(dir)
	require.NoError(t, err)
	blobs := &raceBlobs{BlobStore: fsStore}
	b := docSetup(t, verification.Options{Blobs: blobs})
	b.dir = dir
	sub := verificationtest.CreateSubject(t, b.svc)
	verificationtest.Upload(t, b.svc, sub.ID, "passport", "front")
	var late verification.File
	blobs.hook = func() { late = verificationtest.Upload(t, b.svc, sub.ID, "passport", "back") }

	require.NoError(t, b.svc.Erase(b.ctx, verification.SystemActor(), sub.ID))
	require.NotEmpty(t, late.ID, "the hook ran")
	assert.Empty(t, blobFiles(t, b.dir), "a file uploaded during the erasure is erased too")
	files, err := verificationtest.StoreOf(b.svc).ListFiles(b.ctx, verification.FileFilter{SubjectID: sub.ID})
	require.NoError(t, err)
	assert.Empty(t, files)
}

func sealedBlobs(t *testing.T, dir string) (*documents.SealedStore, *documents.MemoryKeyStore) {
	t.Helper()
	inner, err := documents.NewFileStore(dir)
	require.NoError(t, err)
	mk, err := documents.GenerateMasterKey("k1")
	require.NoError(t, err)
	ring, err := documents.NewKeyring(mk)
	require.NoError(t, err)
	keys := documents.NewMemoryKeyStore()
	sealed, err := documents.NewSealedStore(inner, ring, keys)
	require.NoError(t, err)
	return sealed, keys
}

// ownerKey is the BlobStore owner the Service uses for a subject (see
// verification's owner function): "s" and the subject id.
func ownerKey(id int64) string { return fmt.Sprintf("s%d", id) }

func TestEraseSealedStoreDestroysDataKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sealed, keys := sealedBlobs(t, dir)
	b := docSetup(t, verification.Options{Blobs: sealed})
	b.dir = dir
	alice := b.eraseFixture(t)
	bob := verificationtest.CreateSubject(t, b.svc)
	bobBody := verificationtest.JPEG(5000)
	bobFile, err := b.upload(t, bob.ID, "passport", "front", bobBody)
	require.NoError(t, err)
	assert.Equal(t, bobBody, readAll(t, b.svc, bobFile.ID))

	// Bytes at rest are sealed.
	onDisk, err := os.ReadFile(filepath.Join(dir, bobFile.BlobKey))
	require.NoError(t, err)
	assert.False(t, bytes.Contains(onDisk, bobBody[:64]), "the blob on disk is not the plaintext")

	// A backup copy of one of Alice's blobs, taken before the erasure.
	audit := snapshot(t, b.svc, alice.ID)
	reviews, err := verificationtest.StoreOf(b.svc).ListReviews(b.ctx, alice.ID)
	require.NoError(t, err)
	aliceKey := audit.Files[0].BlobKey
	backup, err := os.ReadFile(filepath.Join(dir, aliceKey))
	require.NoError(t, err)
	_, err = keys.GetDataKey(b.ctx, ownerKey(alice.ID))
	require.NoError(t, err, "Alice has a data key before the erasure")

	require.NoError(t, b.svc.Erase(b.ctx, verification.SystemActor(), alice.ID))
	requireErased(t, b.svc, alice.ID, audit, reviews)
	_, err = keys.GetDataKey(b.ctx, ownerKey(alice.ID))
	require.ErrorIs(t, err, documents.ErrKeyNotFound, "crypto-erasure: the data key is gone")
	assert.Equal(t, []string{filepath.Join(dir, bobFile.BlobKey)}, blobFiles(t, dir), "only Bob's blob is left")

	// Restoring the backup does not bring the bytes back.
	require.NoError(t, os.WriteFile(filepath.Join(dir, aliceKey), backup, 0o600))
	_, err = sealed.Open(b.ctx, aliceKey)
	require.ErrorIs(t, err, documents.ErrErased)

	// Bob is untouched.
	_, err = keys.GetDataKey(b.ctx, ownerKey(bob.ID))
	require.NoError(t, err)
	assert.Equal(t, bobBody, readAll(t, b.svc, bobFile.ID))
}

func TestApplyRetention(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	b := docSetup(t, verification.Options{ImageRetention: 30 * day})
	ctx := b.ctx

	decided := func() (verification.Subject, verification.File, verification.File) {
		t.Helper()
		sub := verificationtest.CreateSubject(t, b.svc)
		front, back := b.passport(t, sub.ID)
		b.answerPassport(t, sub.ID, front, back)
		_, err := b.svc.Review(ctx, verification.AdminActor(1, nil), verification.ReviewParams{SubjectID: sub.ID, Requirement: "idDocument", Decision: verification.Approve})
		require.NoError(t, err)
		return sub, front, back
	}
	oldSub, oldFront, oldBack := decided() // decided at day 0
	heldSub, heldFront, heldBack := decided()
	_, err := b.svc.SetLegalHold(ctx, verification.SystemActor(), heldSub.ID, true)
	require.NoError(t, err)
	undecidedSub := verificationtest.CreateSubject(t, b.svc)
	pendingFront, pendingBack := b.passport(t, undecidedSub.ID)
	b.answerPassport(t, undecidedSub.ID, pendingFront, pendingBack)
	spare := verificationtest.Upload(t, b.svc, undecidedSub.ID, verification.SelfieType, verification.SelfieSide)

	b.clock.Advance(2 * day)
	_, recentFront, recentBack := decided() // decided at day 2
	b.clock.Advance(29 * day)               // now: day 31

	oldMeta := b.file(t, oldFront.ID)
	reviews, err := verificationtest.StoreOf(b.svc).ListReviews(ctx, oldSub.ID)
	require.NoError(t, err)
	require.Len(t, blobFiles(t, b.dir), 9)

	rep, err := b.svc.ApplyRetention(ctx)
	require.NoError(t, err)
	assert.Equal(t, verification.RetentionReport{Purged: 2, Held: 2}, rep)
	assert.Len(t, blobFiles(t, b.dir), 7)

	for _, f := range []verification.File{oldFront, oldBack} {
		_, _, err := b.svc.OpenFile(ctx, verification.SystemActor(), f.ID)
		require.ErrorIs(t, err, verification.ErrNotFound, "image purged")
		meta := b.file(t, f.ID)
		assert.Empty(t, meta.BlobKey)
		assert.Equal(t, levels.Approved, meta.Status, "metadata kept")
		assert.Equal(t, f.SHA256, meta.SHA256)
		assert.Equal(t, f.Size, meta.Size)
	}
	assert.Equal(t, oldMeta.DecidedAt, b.file(t, oldFront.ID).DecidedAt)
	got, err := verificationtest.StoreOf(b.svc).ListReviews(ctx, oldSub.ID)
	require.NoError(t, err)
	assert.Equal(t, reviews, got, "decisions kept")
	assert.Equal(t, levels.Approved, b.state(t, oldSub.ID, "idDocument").Status)

	for _, f := range []verification.File{heldFront, heldBack, recentFront, recentBack, pendingFront, pendingBack, spare} {
		assert.Equal(t, verificationtest.JPEG(1024), readAll(t, b.svc, f.ID), "kept: %s %s", f.DocumentType, f.Side)
	}

	// Again: nothing more to purge; the held subject is still counted.
	rep, err = b.svc.ApplyRetention(ctx)
	require.NoError(t, err)
	assert.Equal(t, verification.RetentionReport{Held: 2}, rep)

	// Lifting the hold lets the next run purge; two days later the
	// recent ones go too.
	_, err = b.svc.SetLegalHold(ctx, verification.SystemActor(), heldSub.ID, false)
	require.NoError(t, err)
	b.clock.Advance(2 * day)
	rep, err = b.svc.ApplyRetention(ctx)
	require.NoError(t, err)
	assert.Equal(t, verification.RetentionReport{Purged: 4}, rep)
	assert.Len(t, blobFiles(t, b.dir), 3, "only undecided images are left")

	// A purged subject can still be erased.
	require.NoError(t, b.svc.Erase(ctx, verification.SystemActor(), oldSub.ID))
}

func TestApplyRetentionDisabled(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	front, back := b.passport(t, sub.ID)
	b.answerPassport(t, sub.ID, front, back)
	_, err := b.svc.Review(b.ctx, verification.AdminActor(1, nil), verification.ReviewParams{SubjectID: sub.ID, Requirement: "idDocument", Decision: verification.Reject, Reason: "x"})
	require.NoError(t, err)
	b.clock.Advance(10 * 365 * 24 * time.Hour)
	rep, err := b.svc.ApplyRetention(b.ctx)
	require.NoError(t, err)
	assert.Zero(t, rep, "0 retention keeps images")
	assert.Len(t, blobFiles(t, b.dir), 2)
	_, err = verification.New(verificationtest.SeedLadder(t), memory.New(), verification.Options{ImageRetention: -time.Hour})
	require.ErrorIs(t, err, verification.ErrInvalid)
}

func TestResetRequirementFreesPendingFiles(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	front, back := b.passport(t, sub.ID)
	b.answerPassport(t, sub.ID, front, back)
	_, err := b.svc.ResetRequirement(b.ctx, verification.AdminActor(1, nil), sub.ID, "idDocument", false)
	require.NoError(t, err)
	_, err = b.svc.Upload(b.ctx, verification.UploadParams{SubjectID: sub.ID, DocumentType: "passport", Side: "front", Body: jpegReader(64)})
	require.NoError(t, err, "after a reset the subject can upload again")
}

func TestSetRequirementReplacingADocumentFreesTheOldSides(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	front, back := b.passport(t, sub.ID)
	front2, back2 := b.passport(t, sub.ID) // before the answer below makes the sides pending
	b.answerPassport(t, sub.ID, front, back)
	value := json.RawMessage(fmt.Sprintf(`{"type":"passport","files":{"front":%q,"back":%q}}`, front2.ID, back2.ID))
	_, err := b.svc.SetRequirement(b.ctx, verification.AdminActor(1, nil), verification.SetRequirementParams{SubjectID: sub.ID, Requirement: "idDocument", Value: value, Status: levels.Pending})
	require.NoError(t, err)
	old, err := verificationtest.StoreOf(b.svc).GetFile(b.ctx, front.ID)
	require.NoError(t, err)
	require.Equal(t, levels.Rejected, old.Status, "the replaced answer's files are no longer pending")
	cur, err := verificationtest.StoreOf(b.svc).GetFile(b.ctx, front2.ID)
	require.NoError(t, err)
	require.Equal(t, levels.Pending, cur.Status)
}
