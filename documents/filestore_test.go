package documents

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fileStoreBundle is what the FileStore tests work with.
type fileStoreBundle struct {
	ctx   context.Context
	dir   string
	store *FileStore
}

func setupFileStore(t *testing.T) *fileStoreBundle {
	t.Helper()
	dir := t.TempDir()
	store, err := NewFileStore(dir)
	require.NoError(t, err)
	return &fileStoreBundle{ctx: t.Context(), dir: dir, store: store}
}

func TestNewFileStore(t *testing.T) {
	t.Parallel()

	_, err := NewFileStore("")
	require.Error(t, err)

	dir := filepath.Join(t.TempDir(), "nested", "blobs")
	store, err := NewFileStore(dir)
	require.NoError(t, err)
	require.Equal(t, dir, store.Dir())
	info, err := os.Stat(dir)
	require.NoError(t, err)
	require.True(t, info.IsDir())
}

func TestFileStoreRoundTrip(t *testing.T) {
	t.Parallel()
	b := setupFileStore(t)

	data := randomBytes(t, 100_000)
	blob, err := b.store.Put(b.ctx, "42", bytes.NewReader(data), 0)
	require.NoError(t, err)

	sum := sha256.Sum256(data)
	assert.Equal(t, "42", blob.Owner)
	assert.Equal(t, int64(len(data)), blob.Size)
	assert.Equal(t, hex.EncodeToString(sum[:]), blob.SHA256)
	assert.Regexp(t, `^[0-9a-f]{32}$`, blob.Key)
	require.Equal(t, []string{blob.Key}, dirNames(t, b.dir))
	if runtime.GOOS != "windows" {
		info, err := os.Stat(filepath.Join(b.dir, blob.Key))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	}

	rc, err := b.store.Open(b.ctx, blob.Key)
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, data, got)

	require.NoError(t, b.store.Delete(b.ctx, blob.Key))
	requireEmptyDir(t, b.dir)
	_, err = b.store.Open(b.ctx, blob.Key)
	require.ErrorIs(t, err, ErrBlobNotFound)
	require.NoError(t, b.store.Delete(b.ctx, blob.Key), "deleting an absent blob is not an error")
}

func TestFileStoreEmptyUpload(t *testing.T) {
	t.Parallel()
	b := setupFileStore(t)

	blob, err := b.store.Put(b.ctx, "42", strings.NewReader(""), 10)
	require.NoError(t, err)
	assert.Zero(t, blob.Size)
	assert.Equal(t, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", blob.SHA256)
}

func TestFileStoreLimit(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		size    int64
		limit   int64
		wantErr bool
	}{
		{name: "one byte under", size: 999, limit: 1000},
		{name: "exactly the limit", size: 1000, limit: 1000},
		{name: "one byte over", size: 1001, limit: 1000, wantErr: true},
		{name: "far over", size: 5 << 20, limit: 1000, wantErr: true},
		{name: "limit exactly one copy buffer", size: copyBufferSize, limit: copyBufferSize},
		{name: "one over a copy buffer", size: copyBufferSize + 1, limit: copyBufferSize, wantErr: true},
		{name: "default limit exactly", size: DefaultMaxFileSize, limit: 0},
		{name: "default limit plus one", size: DefaultMaxFileSize + 1, limit: 0, wantErr: true},
		{name: "negative limit means default", size: DefaultMaxFileSize + 1, limit: -1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupFileStore(t)
			src := newJPEGStream(tt.size)

			blob, err := b.store.Put(b.ctx, "42", src, tt.limit)
			if !tt.wantErr {
				require.NoError(t, err)
				require.Equal(t, tt.size, blob.Size)
				require.Equal(t, []string{blob.Key}, dirNames(t, b.dir))
				return
			}
			require.ErrorIs(t, err, ErrTooLarge)
			require.Zero(t, blob)
			requireEmptyDir(t, b.dir)
			assert.LessOrEqual(t, src.reads, effectiveLimit(tt.limit)+1, "Put reads at most limit+1 bytes")
		})
	}
}

func TestFileStoreFailingReader(t *testing.T) {
	t.Parallel()

	for _, n := range []int64{0, 1, copyBufferSize, 3*copyBufferSize + 7} {
		b := setupFileStore(t)
		_, err := b.store.Put(b.ctx, "42", newFailingReader(n), 0)
		require.ErrorIs(t, err, errBoom, "the reader's error is wrapped")
		requireEmptyDir(t, b.dir)
	}
}

// cancelAfter cancels a context once the stream has handed out n bytes.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func TestFileStoreCancelledContext(t *testing.T) {
	t.Parallel()

	t.Run("before Put", func(t *testing.T) {
		t.Parallel()
		b := setupFileStore(t)
		ctx, cancel := context.WithCancel(b.ctx)
		cancel()
		_, err := b.store.Put(ctx, "42", newJPEGStream(10), 0)
		require.ErrorIs(t, err, context.Canceled)
		requireEmptyDir(t, b.dir)
	})
	t.Run("during Put", func(t *testing.T) {
		t.Parallel()
		b := setupFileStore(t)
		ctx, cancel := context.WithCancel(b.ctx)
		defer cancel()
		src := &cancelAfter{r: newJPEGStream(1 << 20), n: 100_000, cancel: cancel}
		_, err := b.store.Put(ctx, "42", src, 0)
		require.ErrorIs(t, err, context.Canceled)
		requireEmptyDir(t, b.dir)
	})
	t.Run("Open and Delete", func(t *testing.T) {
		t.Parallel()
		b := setupFileStore(t)
		blob, err := b.store.Put(b.ctx, "42", newJPEGStream(10), 0)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(b.ctx)
		cancel()
		_, err = b.store.Open(ctx, blob.Key)
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, b.store.Delete(ctx, blob.Key), context.Canceled)
	})
}

// invalidKeys are refused by FileStore.Open and Delete.
var invalidKeys = []struct {
	name string
	key  string
}{
	{"empty", ""},
	{"traversal", "../etc/passwd"},
	{"traversal to a valid name", "../0123456789abcdef0123456789abcd"},
	{"dot dot", ".."},
	{"dot", "."},
	{"separator", "a/b"},
	{"backslash", `a\b`},
	{"absolute", "/etc/passwd"},
	{"absolute 32 bytes", "/0123456789abcdef0123456789abcde"},
	{"NUL", "0123456789abcdef\x000123456789abcde"},
	{"upper case hex", "0123456789ABCDEF0123456789ABCDEF"},
	{"too short", "0123456789abcdef0123456789abcde"},
	{"too long", "0123456789abcdef0123456789abcdef0"},
	{"temporary file", ".upload-123456789"},
	{"non hex", "0123456789abcdef0123456789abcdeg"},
	{"space", "0123456789abcdef 123456789abcdef"},
	{"unicode", "0123456789abcdef0123456789abcdé"},
}

func TestFileStoreInvalidKeys(t *testing.T) {
	t.Parallel()

	// A file outside the store that traversal would reach.
	root := t.TempDir()
	dir := filepath.Join(root, "blobs")
	store, err := NewFileStore(dir)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "0123456789abcdef0123456789abcd"), []byte("secret"), 0o600))

	for _, tt := range invalidKeys {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc, err := store.Open(t.Context(), tt.key)
			require.ErrorIs(t, err, ErrInvalidKey)
			require.Nil(t, rc)
			require.ErrorIs(t, store.Delete(t.Context(), tt.key), ErrInvalidKey)
		})
	}
}

func TestFileStoreInvalidOwner(t *testing.T) {
	t.Parallel()

	for _, owner := range []string{"", ".", "..", "../x", "a/b", "a\x00b", "é", strings.Repeat("a", MaxOwnerLen+1)} {
		b := setupFileStore(t)
		_, err := b.store.Put(b.ctx, owner, newJPEGStream(10), 0)
		require.ErrorIs(t, err, ErrInvalidOwner, "owner %q", owner)
		requireEmptyDir(t, b.dir)
	}
	b := setupFileStore(t)
	for _, owner := range []string{"42", "0b6f5c2e-6d1a-4d3e-9d65-2b8c1f0e7a11", "user.name_1-x", strings.Repeat("a", MaxOwnerLen)} {
		_, err := b.store.Put(b.ctx, owner, newJPEGStream(10), 0)
		require.NoError(t, err, "owner %q", owner)
	}
}

func TestFileStoreConcurrentPuts(t *testing.T) {
	t.Parallel()
	b := setupFileStore(t)

	const n = 16
	keys := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			blob, err := b.store.Put(b.ctx, "42", newJPEGStream(int64(1000+i)), 0)
			assert.NoError(t, err)
			keys[i] = blob.Key
		})
	}
	wg.Wait()

	seen := map[string]bool{}
	for i, key := range keys {
		require.False(t, seen[key], "keys are unique")
		seen[key] = true
		rc, err := b.store.Open(b.ctx, key)
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		require.Len(t, got, 1000+i)
	}
	require.Len(t, dirNames(t, b.dir), n)
}

func TestFileStoreRemoveTempFiles(t *testing.T) {
	t.Parallel()
	b := setupFileStore(t)

	blob, err := b.store.Put(b.ctx, "42", newJPEGStream(10), 0)
	require.NoError(t, err)
	stale := filepath.Join(b.dir, tempPrefix+"stale")
	fresh := filepath.Join(b.dir, tempPrefix+"fresh")
	require.NoError(t, os.WriteFile(stale, []byte("x"), 0o600))
	require.NoError(t, os.WriteFile(fresh, []byte("x"), 0o600))
	old := time.Now().Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(stale, old, old))

	n, err := b.store.RemoveTempFiles(b.ctx, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.ElementsMatch(t, []string{blob.Key, tempPrefix + "fresh"}, dirNames(t, b.dir))
}

func TestWriteFileAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	require.NoError(t, writeFileAtomic(dir, "a", []byte("one"), false))
	require.NoError(t, writeFileAtomic(dir, "a", []byte("two"), false))
	got, err := os.ReadFile(filepath.Join(dir, "a"))
	require.NoError(t, err)
	require.Equal(t, "two", string(got))

	err = writeFileAtomic(dir, "a", []byte("three"), true)
	require.ErrorIs(t, err, os.ErrExist)
	got, err = os.ReadFile(filepath.Join(dir, "a"))
	require.NoError(t, err)
	require.Equal(t, "two", string(got), "an exclusive write never replaces")
	require.Equal(t, []string{"a"}, dirNames(t, dir), "no temporary file is left")
}
