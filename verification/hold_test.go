package verification_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// requireBytesBehindRecords fails unless every file record of the subject
// that still has a blob key can be read: no record points to deleted bytes.
func requireBytesBehindRecords(t *testing.T, b *docBundle, subjectID int64) (kept int) {
	t.Helper()
	files, err := verificationtest.StoreOf(b.svc).ListFiles(b.ctx, verification.FileFilter{SubjectID: subjectID})
	require.NoError(t, err)
	for _, f := range files {
		if f.BlobKey == "" {
			continue
		}
		_, rc, err := b.svc.OpenFile(b.ctx, verification.SystemActor(), f.ID)
		require.NoError(t, err, "file %s (%s) still has its record: its bytes must be there", f.ID, f.Side)
		require.NoError(t, rc.Close())
		kept++
	}
	return kept
}

// TestRetentionHoldPlacedDuringRun places a legal hold while ApplyRetention
// deletes the subject's first image: the images it had not purged yet keep
// their bytes, and the report counts what happened.
func TestRetentionHoldPlacedDuringRun(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	dir := t.TempDir()
	fsStore, err := documents.NewFileStore(dir)
	require.NoError(t, err)
	blobs := &raceBlobs{BlobStore: fsStore}
	b := docSetup(t, verification.Options{Blobs: blobs, ImageRetention: 30 * day})
	b.dir = dir
	sub := verificationtest.CreateSubject(t, b.svc)
	front, back := b.passport(t, sub.ID)
	b.answerPassport(t, sub.ID, front, back)
	_, err = b.svc.Review(b.ctx, verification.AdminActor(1, nil), verification.ReviewParams{SubjectID: sub.ID, Requirement: "idDocument", Decision: verification.Approve})
	require.NoError(t, err)
	b.clock.Advance(31 * day)
	blobs.hook = func() {
		_, err := b.svc.SetLegalHold(context.Background(), verification.SystemActor(), sub.ID, true)
		require.NoError(t, err)
	}

	rep, err := b.svc.ApplyRetention(b.ctx)
	require.NoError(t, err)
	kept := requireBytesBehindRecords(t, b, sub.ID)
	assert.Equal(t, 2, rep.Purged+rep.Held, "each image purged or held: %+v", rep)
	assert.Equal(t, rep.Held, kept, "every image counted as held still has its bytes: %+v", rep)
	assert.Equal(t, 1, rep.Held, "the hold came after the first image's purge committed: %+v", rep)
	assert.Len(t, blobFiles(t, dir), kept)
}

// TestEraseHoldPlacedDuringErasure places a legal hold while Erase deletes
// the first image: either Erase answers ErrLegalHold and nothing was
// destroyed, or it erased the subject (the hold came after the decision
// committed). Answering ErrLegalHold with the images gone is the bug.
func TestEraseHoldPlacedDuringErasure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fsStore, err := documents.NewFileStore(dir)
	require.NoError(t, err)
	blobs := &raceBlobs{BlobStore: fsStore}
	b := docSetup(t, verification.Options{Blobs: blobs})
	b.dir = dir
	sub := verificationtest.CreateSubject(t, b.svc)
	verificationtest.Upload(t, b.svc, sub.ID, "passport", "front")
	verificationtest.Upload(t, b.svc, sub.ID, "passport", "back")
	blobs.hook = func() {
		_, err := b.svc.SetLegalHold(context.Background(), verification.SystemActor(), sub.ID, true)
		require.NoError(t, err)
	}

	err = b.svc.Erase(b.ctx, verification.SystemActor(), sub.ID)
	if errors.Is(err, verification.ErrLegalHold) {
		assert.Equal(t, 2, requireBytesBehindRecords(t, b, sub.ID), "ErrLegalHold, so nothing may be destroyed")
		return
	}
	require.NoError(t, err)
	got, err := verificationtest.StoreOf(b.svc).GetSubject(b.ctx, sub.ID)
	require.NoError(t, err)
	assert.False(t, got.RedactedAt.IsZero(), "erased")
	assert.Empty(t, blobFiles(t, dir))
}

// TestEraseUnderHoldDestroysNothing: a hold in place answers ErrLegalHold
// before any byte or record goes.
func TestEraseUnderHoldDestroysNothing(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	verificationtest.Upload(t, b.svc, sub.ID, "passport", "front")
	_, err := b.svc.SetLegalHold(b.ctx, verification.SystemActor(), sub.ID, true)
	require.NoError(t, err)
	require.ErrorIs(t, b.svc.Erase(b.ctx, verification.SystemActor(), sub.ID), verification.ErrLegalHold)
	assert.Equal(t, 1, requireBytesBehindRecords(t, b, sub.ID))
	got, err := b.svc.Subject(b.ctx, verification.SystemActor(), sub.ID)
	require.NoError(t, err)
	assert.Zero(t, got.RedactedAt)
}

// failingBlobs fails every Delete while failing is set: a BlobStore that
// is down (or a process killed) between the commit and the deletion.
type failingBlobs struct {
	documents.BlobStore
	failing atomic.Bool
}

var errBlobsDown = errors.New("blob store down")

func (f *failingBlobs) Delete(ctx context.Context, key string) error {
	if f.failing.Load() {
		return errBlobsDown
	}
	return f.BlobStore.Delete(ctx, key)
}

// TestTombstonesSurviveFailedDeletes: when the bytes cannot be deleted
// after the commit, the tombstones stay and SweepDeletions finishes the
// job once the BlobStore is back, for erasure, retention and upload expiry
// alike; nothing is left unreachable.
func TestTombstonesSurviveFailedDeletes(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	dir := t.TempDir()
	fsStore, err := documents.NewFileStore(dir)
	require.NoError(t, err)
	blobs := &failingBlobs{BlobStore: fsStore}
	b := docSetup(t, verification.Options{Blobs: blobs, ImageRetention: 30 * day, UploadTTL: day})
	b.dir = dir
	st := verificationtest.StoreOf(b.svc)

	erased := verificationtest.CreateSubject(t, b.svc)
	verificationtest.Upload(t, b.svc, erased.ID, "passport", "front")
	retained := verificationtest.CreateSubject(t, b.svc)
	front, back := b.passport(t, retained.ID)
	b.answerPassport(t, retained.ID, front, back)
	_, err = b.svc.Review(b.ctx, verification.AdminActor(1, nil), verification.ReviewParams{SubjectID: retained.ID, Requirement: "idDocument", Decision: verification.Approve})
	require.NoError(t, err)
	idle := verificationtest.CreateSubject(t, b.svc)
	verificationtest.Upload(t, b.svc, idle.ID, verification.SelfieType, verification.SelfieSide)
	b.clock.Advance(31 * day)
	require.Len(t, blobFiles(t, dir), 4)

	blobs.failing.Store(true)
	require.ErrorIs(t, b.svc.Erase(b.ctx, verification.SystemActor(), erased.ID), errBlobsDown, "Erase says the bytes are not gone yet")
	sub, err := st.GetSubject(b.ctx, erased.ID)
	require.NoError(t, err)
	assert.False(t, sub.RedactedAt.IsZero(), "the records were erased first")
	rep, err := b.svc.ApplyRetention(b.ctx)
	require.NoError(t, err)
	assert.Equal(t, verification.RetentionReport{Purged: 2, Deferred: 2}, rep)
	n, err := b.svc.ExpireUploads(b.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Len(t, blobFiles(t, dir), 4, "nothing deleted while the store is down")
	pending, err := st.ListBlobDeletions(b.ctx, verification.BlobDeletionFilter{})
	require.NoError(t, err)
	assert.Len(t, pending, 4, "a tombstone per blob (the erased owner's own one succeeded: a FileStore keeps no data key)")

	_, err = b.svc.SweepDeletions(b.ctx)
	require.ErrorIs(t, err, errBlobsDown)
	blobs.failing.Store(false)
	done, err := b.svc.SweepDeletions(b.ctx)
	require.NoError(t, err)
	assert.Equal(t, 4, done)
	assert.Empty(t, blobFiles(t, dir), "every byte is gone")
	pending, err = st.ListBlobDeletions(b.ctx, verification.BlobDeletionFilter{})
	require.NoError(t, err)
	assert.Empty(t, pending)
}
