package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/documents/blobtest"
)

// blobCount counts the blobs of a store's schema, in any state: complete
// blobs and chunks without a blob row.
func blobCount(t testing.TB, s *Store) int {
	t.Helper()
	var n int
	err := s.db.pool.QueryRow(context.Background(), s.sql(`
		SELECT (SELECT count(*) FROM {{schema}}.blobs)
		     + (SELECT count(DISTINCT blob_key) FROM {{schema}}.blob_chunks c
		         WHERE NOT EXISTS (SELECT 1 FROM {{schema}}.blobs b WHERE b.key = c.blob_key))`)).Scan(&n)
	require.NoError(t, err)
	return n
}

func TestBlobStoreConformance(t *testing.T) {
	t.Parallel()
	testDSN(t)
	stores := map[documents.BlobStore]*Store{}
	var mu = make(chan struct{}, 1)
	remember := func(b documents.BlobStore, s *Store) {
		mu <- struct{}{}
		stores[b] = s
		<-mu
	}
	lookup := func(b documents.BlobStore) *Store {
		mu <- struct{}{}
		defer func() { <-mu }()
		return stores[b]
	}
	blobtest.RunWith(t, func(t *testing.T) documents.BlobStore {
		s := openStore(t)
		b := s.Blobs()
		remember(b, s)
		return b
	}, blobtest.Features{Count: func(t *testing.T, b documents.BlobStore) int { return blobCount(t, lookup(b)) }})
}

func TestSealedBlobStoreConformance(t *testing.T) {
	t.Parallel()
	testDSN(t)
	blobtest.RunWith(t, func(t *testing.T) documents.BlobStore {
		s := openStore(t)
		return sealedStore(t, s)
	}, blobtest.Features{Count: func(t *testing.T, b documents.BlobStore) int {
		return blobCount(t, b.(*documents.SealedStore).Inner().(*BlobStore).s)
	}})
}

func TestDataKeyStoreConformance(t *testing.T) {
	t.Parallel()
	testDSN(t)
	blobtest.RunKeyStore(t, func(t *testing.T) documents.KeyStore { return openStore(t).DataKeys() })
}

// sealedStore returns a SealedStore over s's blobs and data keys.
func sealedStore(tb testing.TB, s *Store) *documents.SealedStore {
	tb.Helper()
	master, err := documents.GenerateMasterKey("test")
	require.NoError(tb, err)
	keyring, err := documents.NewKeyring(master)
	require.NoError(tb, err)
	sealed, err := documents.NewSealedStore(s.Blobs(), keyring, s.DataKeys())
	require.NoError(tb, err)
	return sealed
}

// BenchmarkBlobs streams 20 MiB through the PostgreSQL BlobStore, plain and
// sealed (see blobtest.Benchmark for the figures).
func BenchmarkBlobs(b *testing.B) {
	b.Run("plain", func(b *testing.B) {
		blobtest.Benchmark(b, func(b *testing.B) documents.BlobStore { return openStore(b).Blobs() })
	})
	b.Run("sealed", func(b *testing.B) {
		blobtest.Benchmark(b, func(b *testing.B) documents.BlobStore { return sealedStore(b, openStore(b)) })
	})
}

// TestListBlobs: every stored blob is listed once with a recent write time,
// so that an orphan sweep (documents.BlobLister) can judge its age.
func TestListBlobs(t *testing.T) {
	t.Parallel()
	testDSN(t)
	st := openStore(t).Blobs()
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
