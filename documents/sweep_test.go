package documents

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// unlistable is a BlobStore without the listing capability.
type unlistable struct{ BlobStore }

// TestListBlobs: FileStore lists every blob (in batches, temporary files
// left out) with its write time; SealedStore lists its inner store's and
// says errors.ErrUnsupported when the inner store cannot list.
func TestListBlobs(t *testing.T) {
	t.Parallel()
	b := setupSealed(t)
	var want []string
	for range listBatch + 3 {
		blob, err := b.sealed.Put(b.ctx, "s1", strings.NewReader("secret"), 0)
		require.NoError(t, err)
		want = append(want, blob.Key)
	}
	require.NoError(t, os.WriteFile(filepath.Join(b.dir, tempPrefix+"partial"), []byte("x"), 0o600))
	stamp := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	stamped := want[0]
	require.NoError(t, os.Chtimes(filepath.Join(b.dir, stamped), stamp, stamp))
	slices.Sort(want)

	for name, l := range map[string]BlobLister{"FileStore": b.files, "SealedStore": b.sealed} {
		var got []string
		require.NoError(t, l.ListBlobs(b.ctx, func(key string, written time.Time) error {
			got = append(got, key)
			if key == stamped {
				require.True(t, written.Equal(stamp), "%s: the write time of %s", name, key)
			}
			return nil
		}), name)
		slices.Sort(got)
		require.Equal(t, want, got, "%s lists every blob and no temporary file", name)
	}
	stop := errors.New("stop")
	calls := 0
	require.ErrorIs(t, b.files.ListBlobs(b.ctx, func(string, time.Time) error { calls++; return stop }), stop)
	require.Equal(t, 1, calls, "an error from fn stops the walk")
	ctx, cancel := context.WithCancel(b.ctx)
	cancel()
	require.ErrorIs(t, b.files.ListBlobs(ctx, func(string, time.Time) error { return nil }), context.Canceled)

	sealed, err := NewSealedStore(unlistable{b.files}, b.keyring, b.dataKeys)
	require.NoError(t, err)
	require.ErrorIs(t, sealed.ListBlobs(b.ctx, func(string, time.Time) error { return nil }), errors.ErrUnsupported)
	n, err := sealed.RemoveTempFiles(b.ctx, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Zero(t, n, "an inner store without temporary files has none to remove")
	n, err = b.sealed.RemoveTempFiles(b.ctx, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, n, "SealedStore removes its inner store's temporary files")
}
