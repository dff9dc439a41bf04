package documents

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFileModes: the file stores create their directories 0700 and every
// file (blobs, key files, temporary files) 0600, whatever the umask allows.
func TestFileModes(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix file modes")
	}
	ctx := t.Context()
	root := filepath.Join(t.TempDir(), "data")
	blobs, err := NewFileStore(filepath.Join(root, "blobs"))
	require.NoError(t, err)
	keys, err := NewFileKeyStore(filepath.Join(root, "keys"))
	require.NoError(t, err)
	b, err := blobs.Put(ctx, "owner-1", strings.NewReader("content"), 0)
	require.NoError(t, err)
	require.NoError(t, keys.PutDataKey(ctx, "owner-1", WrappedKey{MasterKeyID: "k1", Ciphertext: []byte("c")}))

	for _, d := range []string{root, blobs.Dir(), filepath.Join(root, "keys")} {
		fi, err := os.Stat(d)
		require.NoError(t, err)
		require.Equal(t, os.ModeDir|0o700, fi.Mode(), "directory %s", d)
	}
	entries, err := os.ReadDir(filepath.Join(root, "keys"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	for _, f := range []string{filepath.Join(blobs.Dir(), b.Key), filepath.Join(root, "keys", entries[0].Name())} {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "file %s", f)
	}
}
