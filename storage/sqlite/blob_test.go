package sqlite

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/documents/blobtest"
)

// openBlobStore opens a fresh Store in tb's temporary directory.
func openBlobStore(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(tb.Context(), filepath.Join(tb.TempDir(), "kyc.db"), Options{})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// blobCount counts the blobs of a store in any state: complete blobs,
// chunks without a blob row and spool files left in the database's
// directory.
func blobCount(t testing.TB, b *BlobStore) int {
	t.Helper()
	var n int
	require.NoError(t, b.s.c.reader.QueryRowContext(t.Context(), withPrefix(`
		SELECT (SELECT count(*) FROM {{prefix}}blobs)
		     + (SELECT count(DISTINCT blob_key) FROM {{prefix}}blob_chunks c
		         WHERE NOT EXISTS (SELECT 1 FROM {{prefix}}blobs b WHERE b.key = c.blob_key))`, b.s.c.prefix)).Scan(&n))
	dir, err := b.spoolDir(t.Context())
	require.NoError(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), spoolPrefix) {
			n++
		}
	}
	return n
}

// sealedOver returns a SealedStore over s's blobs and data keys.
func sealedOver(tb testing.TB, s *Store) *documents.SealedStore {
	tb.Helper()
	master, err := documents.GenerateMasterKey("test")
	require.NoError(tb, err)
	keyring, err := documents.NewKeyring(master)
	require.NoError(tb, err)
	sealed, err := documents.NewSealedStore(s.Blobs(), keyring, s.DataKeys())
	require.NoError(tb, err)
	return sealed
}

func TestBlobStoreConformance(t *testing.T) {
	t.Parallel()
	blobtest.RunWith(t, func(t *testing.T) documents.BlobStore { return openBlobStore(t).Blobs() },
		blobtest.Features{Count: func(t *testing.T, b documents.BlobStore) int { return blobCount(t, b.(*BlobStore)) }})
}

func TestSealedBlobStoreConformance(t *testing.T) {
	t.Parallel()
	blobtest.RunWith(t, func(t *testing.T) documents.BlobStore { return sealedOver(t, openBlobStore(t)) },
		blobtest.Features{Count: func(t *testing.T, b documents.BlobStore) int {
			return blobCount(t, b.(*documents.SealedStore).Inner().(*BlobStore))
		}})
}

func TestDataKeyStoreConformance(t *testing.T) {
	t.Parallel()
	blobtest.RunKeyStore(t, func(t *testing.T) documents.KeyStore { return openBlobStore(t).DataKeys() })
}

// BenchmarkBlobs streams 20 MiB through the SQLite BlobStore, plain and
// sealed (see blobtest.Benchmark for the figures).
func BenchmarkBlobs(b *testing.B) {
	b.Run("plain", func(b *testing.B) {
		blobtest.Benchmark(b, func(b *testing.B) documents.BlobStore { return openBlobStore(b).Blobs() })
	})
	b.Run("sealed", func(b *testing.B) {
		blobtest.Benchmark(b, func(b *testing.B) documents.BlobStore { return sealedOver(b, openBlobStore(b)) })
	})
}

// TestListBlobs: every stored blob is listed once with a recent write time,
// so that an orphan sweep (documents.BlobLister) can judge its age.
func TestListBlobs(t *testing.T) {
	t.Parallel()
	st := openBlobStore(t).Blobs()
	want := map[string]bool{}
	for i := range 3 {
		blob, err := st.Put(t.Context(), "s1", strings.NewReader(strings.Repeat("x", i+1)), 0)
		require.NoError(t, err)
		want[blob.Key] = true
	}
	got := map[string]bool{}
	err := st.ListBlobs(t.Context(), func(key string, written time.Time) error {
		require.False(t, got[key], "listed twice: %s", key)
		got[key] = true
		require.WithinDuration(t, time.Now(), written, time.Minute, "the write time of %s", key)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, want, got)
	stop := errors.New("stop")
	require.ErrorIs(t, st.ListBlobs(t.Context(), func(string, time.Time) error { return stop }), stop)
}
