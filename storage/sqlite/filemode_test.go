package sqlite_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/storage/sqlite"
)

// TestFileModes: the store creates its data directory 0700 and the
// database, its WAL and its shared-memory file 0600, whatever the umask
// allows (they hold personal data); an existing directory keeps its mode.
func TestFileModes(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix file modes")
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "data", "kyc")
	path := filepath.Join(dir, "kyc.db")
	s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	require.NoError(t, err, "Open creates the missing data directory")
	t.Cleanup(func() { _ = s.Close() })
	newSubject(t, s, "modes") // a write: the WAL and SHM files exist

	for _, d := range []string{dir, filepath.Dir(dir)} {
		fi, err := os.Stat(d)
		require.NoError(t, err)
		require.Equal(t, os.ModeDir|0o700, fi.Mode(), "directory %s", d)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "file %s", filepath.Base(f))
	}
	fi, err := os.Stat(parent)
	require.NoError(t, err)
	before := fi.Mode()

	// A database in an existing directory: the files are 0600, the
	// directory (the host's) is left as it is.
	other := filepath.Join(parent, "other.db")
	s2, err := sqlite.Open(t.Context(), other, sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s2.Close() })
	newSubject(t, s2, "modes")
	for _, f := range []string{other, other + "-wal", other + "-shm"} {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "file %s", filepath.Base(f))
	}
	fi, err = os.Stat(parent)
	require.NoError(t, err)
	require.Equal(t, before, fi.Mode(), "an existing directory keeps its mode")
}
