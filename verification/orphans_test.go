package verification_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestSweepOrphans: blobs no file record points to and temporary upload
// files are removed once older than the grace period; referenced blobs and
// anything younger are kept. More orphans than one batch are all found.
func TestSweepOrphans(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	blobs, err := documents.NewFileStore(dir)
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Second)
	svc, clock := verificationtest.NewService(t, verificationtest.SeedLadder(t), verification.Options{Blobs: blobs})
	clock.Set(now)
	sub := verificationtest.CreateSubject(t, svc)
	kept := verificationtest.Upload(t, svc, sub.ID, "passport", "front")
	old, young := now.Add(-2*time.Hour), now.Add(-10*time.Minute)
	age := func(name string, at time.Time) {
		t.Helper()
		require.NoError(t, os.Chtimes(filepath.Join(dir, name), at, at))
	}
	age(kept.BlobKey, old)

	// Orphans: more than one batch of blobs stored but never recorded.
	var orphans []string
	for range 510 {
		var b [16]byte
		_, _ = rand.Read(b[:])
		key := hex.EncodeToString(b[:])
		require.NoError(t, os.WriteFile(filepath.Join(dir, key), []byte("x"), 0o600))
		age(key, old)
		orphans = append(orphans, key)
	}
	fresh, err := blobs.Put(ctx, "s1", bytes.NewReader([]byte("an upload about to be recorded")), 0)
	require.NoError(t, err)
	age(fresh.Key, young)
	for name, at := range map[string]time.Time{".upload-old": old, ".upload-young": young} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("partial"), 0o600))
		age(name, at)
	}

	_, err = svc.SweepOrphans(ctx, verification.SweepOrphansParams{Grace: -time.Second})
	require.ErrorIs(t, err, verification.ErrInvalid)

	got, err := svc.SweepOrphans(ctx, verification.SweepOrphansParams{})
	require.NoError(t, err)
	require.Equal(t, verification.OrphanSweep{Blobs: len(orphans), TempFiles: 1}, got)
	for _, k := range orphans {
		require.NoFileExists(t, filepath.Join(dir, k))
	}
	require.FileExists(t, filepath.Join(dir, kept.BlobKey), "a referenced blob is kept")
	require.FileExists(t, filepath.Join(dir, fresh.Key), "an unreferenced blob within the grace period is kept")
	require.FileExists(t, filepath.Join(dir, ".upload-young"), "a recent temporary file is kept")
	require.NoFileExists(t, filepath.Join(dir, ".upload-old"))
	_, rc, err := svc.OpenFile(ctx, verification.HostActor(), kept.ID)
	require.NoError(t, err, "the referenced file still opens")
	require.NoError(t, rc.Close())

	// Past its grace the young orphan goes too; nothing else is left.
	clock.Advance(time.Hour)
	got, err = svc.SweepOrphans(ctx, verification.SweepOrphansParams{})
	require.NoError(t, err)
	require.Equal(t, verification.OrphanSweep{Blobs: 1, TempFiles: 1}, got)
	got, err = svc.SweepOrphans(ctx, verification.SweepOrphansParams{Grace: time.Minute})
	require.NoError(t, err)
	require.Zero(t, got)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the referenced blob remains")
}
