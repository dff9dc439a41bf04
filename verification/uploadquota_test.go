package verification_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestUploadQuota: a subject may hold MaxUnsubmittedFiles unsubmitted
// uploads of MaxUnsubmittedBytes together; past either the upload answers
// ErrUploadQuota and stores nothing. Submitted files do not count, other
// subjects have their own quota.
func TestUploadQuota(t *testing.T) {
	t.Parallel()
	t.Run("count", func(t *testing.T) {
		t.Parallel()
		b := docSetup(t, verification.Options{MaxUnsubmittedFiles: 3})
		sub, other := verificationtest.CreateSubject(t, b.svc), verificationtest.CreateSubject(t, b.svc)
		front, back := b.passport(t, sub.ID)
		b.answerPassport(t, sub.ID, front, back) // submitted: they do not count
		for range 3 {
			verificationtest.Upload(t, b.svc, sub.ID, verification.SelfieType, verification.SelfieSide)
		}
		before := len(blobFiles(t, b.dir))
		_, err := b.upload(t, sub.ID, verification.SelfieType, verification.SelfieSide, verificationtest.JPEG(100))
		require.ErrorIs(t, err, verification.ErrUploadQuota)
		var ve *verification.Error
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, "file", ve.Field)
		assert.Len(t, blobFiles(t, b.dir), before, "a refused upload stores nothing")
		verificationtest.Upload(t, b.svc, other.ID, verification.SelfieType, verification.SelfieSide)
	})
	t.Run("bytes", func(t *testing.T) {
		t.Parallel()
		b := docSetup(t, verification.Options{MaxUnsubmittedBytes: 3000})
		sub := verificationtest.CreateSubject(t, b.svc)
		_, err := b.upload(t, sub.ID, "passport", "front", verificationtest.JPEG(2000))
		require.NoError(t, err)
		_, err = b.upload(t, sub.ID, "passport", "back", verificationtest.JPEG(1001))
		require.ErrorIs(t, err, verification.ErrUploadQuota, "3001 bytes would be over")
		assert.Len(t, blobFiles(t, b.dir), 1, "the refused upload's bytes were removed")
		_, err = b.upload(t, sub.ID, "passport", "back", verificationtest.JPEG(1000))
		require.NoError(t, err, "exactly at the limit")
		_, err = b.upload(t, sub.ID, verification.SelfieType, verification.SelfieSide, verificationtest.JPEG(4))
		require.ErrorIs(t, err, verification.ErrUploadQuota, "full: refused before the bytes are read")
	})
	t.Run("defaults and bad options", func(t *testing.T) {
		t.Parallel()
		b := docSetup(t)
		sub := verificationtest.CreateSubject(t, b.svc)
		for range verification.DefaultMaxUnsubmittedFiles {
			verificationtest.Upload(t, b.svc, sub.ID, verification.SelfieType, verification.SelfieSide)
		}
		_, err := b.upload(t, sub.ID, verification.SelfieType, verification.SelfieSide, verificationtest.JPEG(100))
		require.ErrorIs(t, err, verification.ErrUploadQuota, "20 files by default")
		for _, o := range []verification.Options{{MaxUnsubmittedFiles: -1}, {MaxUnsubmittedBytes: -1}, {UploadTTL: -time.Second}} {
			_, err := verification.New(verificationtest.SeedLadder(t), memory.New(), o)
			require.ErrorIs(t, err, verification.ErrInvalid, "%+v", o)
		}
	})
}

// TestExpireUploads: unsubmitted uploads older than UploadTTL lose record
// and bytes; submitted files, files an identity session uses, recent
// uploads and the files of a subject under legal hold stay.
func TestExpireUploads(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	b := docSetup(t, verification.Options{UploadTTL: 2 * day})
	st := verificationtest.StoreOf(b.svc)
	sub, held := verificationtest.CreateSubject(t, b.svc), verificationtest.CreateSubject(t, b.svc)
	front, back := b.passport(t, sub.ID)
	b.answerPassport(t, sub.ID, front, back)
	stale := verificationtest.Upload(t, b.svc, sub.ID, verification.SelfieType, verification.SelfieSide)
	face := verificationtest.Upload(t, b.svc, sub.ID, verification.SelfieType, verification.SelfieSide)
	_, err := b.svc.RecordIDSession(b.ctx, verification.SystemActor(), verification.RecordIDSessionParams{SubjectID: sub.ID, Provider: "veriff", FrontFileID: front.ID, FaceFileID: face.ID})
	require.NoError(t, err)
	heldFile := verificationtest.Upload(t, b.svc, held.ID, verification.SelfieType, verification.SelfieSide)
	_, err = b.svc.SetLegalHold(b.ctx, verification.SystemActor(), held.ID, true)
	require.NoError(t, err)
	b.clock.Advance(2*day + time.Second)
	recent := verificationtest.Upload(t, b.svc, sub.ID, verification.SelfieType, verification.SelfieSide)
	require.Len(t, blobFiles(t, b.dir), 6)

	n, err := b.svc.ExpireUploads(b.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = st.GetFile(b.ctx, stale.ID)
	require.ErrorIs(t, err, verification.ErrNotFound, "the stale upload's record is gone")
	assert.Len(t, blobFiles(t, b.dir), 5, "and its bytes")
	for _, f := range []verification.File{front, back, face, heldFile, recent} {
		got, err := st.GetFile(b.ctx, f.ID)
		require.NoError(t, err, f.ID)
		assert.NotEmpty(t, got.BlobKey, f.ID)
	}
	got, err := st.GetFile(b.ctx, front.ID)
	require.NoError(t, err)
	assert.Equal(t, levels.Pending, got.Status)
	n, err = b.svc.ExpireUploads(b.ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing more to expire")

	// A file uploaded afterwards counts against the quota until it expires.
	b2 := docSetup(t, verification.Options{MaxUnsubmittedFiles: 1, UploadTTL: day})
	s2 := verificationtest.CreateSubject(t, b2.svc)
	verificationtest.Upload(t, b2.svc, s2.ID, verification.SelfieType, verification.SelfieSide)
	_, err = b2.svc.Upload(b2.ctx, verification.UploadParams{SubjectID: s2.ID, DocumentType: verification.SelfieType, Side: verification.SelfieSide, Body: bytes.NewReader(verificationtest.JPEG(64))})
	require.ErrorIs(t, err, verification.ErrUploadQuota)
	b2.clock.Advance(day + time.Second)
	n, err = b2.svc.ExpireUploads(b2.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	verificationtest.Upload(t, b2.svc, s2.ID, verification.SelfieType, verification.SelfieSide)
}
