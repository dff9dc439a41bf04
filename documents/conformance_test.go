package documents_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/documents/blobtest"
)

// countFiles counts every file in dir, temporary ones included.
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	return len(entries)
}

func TestFileStoreConformance(t *testing.T) {
	t.Parallel()
	blobtest.RunWith(t, func(t *testing.T) documents.BlobStore {
		s, err := documents.NewFileStore(t.TempDir())
		require.NoError(t, err)
		return s
	}, blobtest.Features{Count: func(t *testing.T, s documents.BlobStore) int {
		return countFiles(t, s.(*documents.FileStore).Dir())
	}})
}

func TestSealedStoreConformance(t *testing.T) {
	t.Parallel()
	blobtest.RunWith(t, func(t *testing.T) documents.BlobStore {
		files, err := documents.NewFileStore(t.TempDir())
		require.NoError(t, err)
		master, err := documents.GenerateMasterKey("test")
		require.NoError(t, err)
		keyring, err := documents.NewKeyring(master)
		require.NoError(t, err)
		keys, err := documents.NewFileKeyStore(t.TempDir())
		require.NoError(t, err)
		s, err := documents.NewSealedStore(files, keyring, keys)
		require.NoError(t, err)
		return s
	}, blobtest.Features{
		Count: func(t *testing.T, s documents.BlobStore) int {
			return countFiles(t, s.(*documents.SealedStore).Inner().(*documents.FileStore).Dir())
		},
		// Over a FileStore, which cannot list an owner's files, EraseOwner
		// destroys the data key only.
		EraseKeepsBytes: true,
	})
}

func TestMemoryKeyStoreConformance(t *testing.T) {
	t.Parallel()
	blobtest.RunKeyStore(t, func(t *testing.T) documents.KeyStore { return documents.NewMemoryKeyStore() })
}

func TestFileKeyStoreConformance(t *testing.T) {
	t.Parallel()
	blobtest.RunKeyStore(t, func(t *testing.T) documents.KeyStore {
		ks, err := documents.NewFileKeyStore(t.TempDir())
		require.NoError(t, err)
		return ks
	})
}

// BenchmarkBlobStores streams 20 MiB through the file and sealed stores
// (see blobtest.Benchmark for the figures it reports).
func BenchmarkBlobStores(b *testing.B) {
	b.Run("file", func(b *testing.B) {
		blobtest.Benchmark(b, func(b *testing.B) documents.BlobStore {
			s, err := documents.NewFileStore(b.TempDir())
			require.NoError(b, err)
			return s
		})
	})
	b.Run("sealed", func(b *testing.B) {
		blobtest.Benchmark(b, func(b *testing.B) documents.BlobStore {
			files, err := documents.NewFileStore(b.TempDir())
			require.NoError(b, err)
			master, err := documents.GenerateMasterKey("bench")
			require.NoError(b, err)
			keyring, err := documents.NewKeyring(master)
			require.NoError(b, err)
			s, err := documents.NewSealedStore(files, keyring, documents.NewMemoryKeyStore())
			require.NoError(b, err)
			return s
		})
	})
}
