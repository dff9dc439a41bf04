package documents

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

const (
	// keyBytes is the number of random bytes in a generated blob key.
	keyBytes = 16
	// keyLen is the length of a FileStore key: keyBytes in lowercase hex.
	keyLen = 2 * keyBytes
	// copyBufferSize bounds the memory a Put uses for copying, whatever the
	// size of the stream.
	copyBufferSize = 32 << 10
	// tempPrefix starts the name of in-progress files. A dot is outside the
	// key alphabet, so a temporary file can never be opened as a blob.
	tempPrefix = ".upload-"
)

// FileStore is a BlobStore keeping each blob in one file of a directory,
// named by its key: 32 lowercase hex characters drawn from crypto/rand. It
// keeps no index and no metadata besides the files; the owner, size and
// digest returned by Put are for the caller to record.
//
// A Put writes to a temporary file in the same directory, flushes it to disk
// (fsync), renames it to its key and flushes the directory, so a blob is
// either complete or absent, even across a crash. Temporary files left by a
// crash are removed by RemoveTempFiles. Files are created with mode 0600.
//
// FileStore is safe for concurrent use by several goroutines and processes.
// Store sealed blobs (see SealedStore) when the directory's disk or backups
// are not trusted.
type FileStore struct {
	dir string
}

var _ BlobStore = (*FileStore)(nil)

// NewFileStore returns a FileStore keeping files in dir, creating the
// directory (mode 0700) if needed.
func NewFileStore(dir string) (*FileStore, error) {
	if dir == "" {
		return nil, errors.New("documents: file store: directory is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("documents: file store: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("documents: file store: %w", err)
	}
	return &FileStore{dir: abs}, nil
}

// Dir returns the absolute directory holding the blobs.
func (s *FileStore) Dir() string { return s.dir }

// Put implements BlobStore. It reads r through a fixed 32 KiB buffer, so its
// memory use does not depend on the size of the stream, and reads at most
// limit+1 bytes of r. It checks ctx between reads; a Read blocked on a slow
// client is bounded by the caller (for HTTP, the server's read timeout).
func (s *FileStore) Put(ctx context.Context, owner string, r io.Reader, limit int64) (blob Blob, err error) {
	if err := ValidateOwner(owner); err != nil {
		return Blob{}, err
	}
	if err := ctx.Err(); err != nil {
		return Blob{}, fmt.Errorf("documents: put: %w", err)
	}
	limit = effectiveLimit(limit)
	key := newKey()

	tmp, err := os.CreateTemp(s.dir, tempPrefix+"*")
	if err != nil {
		return Blob{}, fmt.Errorf("documents: put: %w", err)
	}
	tmpName := tmp.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = tmp.Close()
			}
			_ = os.Remove(tmpName)
		}
	}()

	h := sha256.New()
	size, err := copyLimited(ctx, tmp, h, r, limit)
	if err != nil {
		return Blob{}, err
	}
	if err = tmp.Sync(); err != nil {
		return Blob{}, fmt.Errorf("documents: put: %w", err)
	}
	closed = true
	if err = tmp.Close(); err != nil {
		return Blob{}, fmt.Errorf("documents: put: %w", err)
	}
	final := filepath.Join(s.dir, key)
	if err = os.Rename(tmpName, final); err != nil {
		return Blob{}, fmt.Errorf("documents: put: %w", err)
	}
	if err = syncDir(s.dir); err != nil {
		_ = os.Remove(final)
		return Blob{}, fmt.Errorf("documents: put: %w", err)
	}
	return Blob{Key: key, Owner: owner, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Open implements BlobStore. The returned stream is an *os.File, which also
// implements io.Seeker (useful for http.ServeContent).
func (s *FileStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("documents: open: %w", err)
	}
	if err := validateKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(s.dir, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrBlobNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("documents: open: %w", err)
	}
	return f, nil
}

// Delete implements BlobStore. The directory is flushed after the removal.
func (s *FileStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("documents: delete: %w", err)
	}
	if err := validateKey(key); err != nil {
		return err
	}
	err := os.Remove(filepath.Join(s.dir, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("documents: delete: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("documents: delete: %w", err)
	}
	return nil
}

// RemoveTempFiles removes the temporary files of uploads that were
// interrupted by a crash: those last modified before before. Pass a time
// comfortably older than the longest upload (for example now minus one hour)
// so uploads in progress in other processes are left alone. It returns the
// number of files removed.
func (s *FileStore) RemoveTempFiles(ctx context.Context, before time.Time) (int, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, fmt.Errorf("documents: remove temp files: %w", err)
	}
	removed := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return removed, fmt.Errorf("documents: remove temp files: %w", err)
		}
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return removed, fmt.Errorf("documents: remove temp files: %w", err)
		}
		if !info.ModTime().Before(before) {
			continue
		}
		err = os.Remove(filepath.Join(s.dir, e.Name()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("documents: remove temp files: %w", err)
		}
		if err == nil {
			removed++
		}
	}
	return removed, nil
}

// copyLimited copies r to w and h through a bounded buffer, checking ctx
// between reads, and fails with ErrTooLarge as soon as more than limit bytes
// have been read. It never reads more than limit+1 bytes of r.
func copyLimited(ctx context.Context, w io.Writer, h hash.Hash, r io.Reader, limit int64) (int64, error) {
	if limit < math.MaxInt64 {
		r = io.LimitReader(r, limit+1)
	}
	buf := make([]byte, copyBufferSize)
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return size, fmt.Errorf("documents: put: %w", err)
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			size += int64(n)
			if size > limit {
				return size, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
			}
			h.Write(buf[:n])
			if _, err := w.Write(buf[:n]); err != nil {
				return size, fmt.Errorf("documents: put: %w", err)
			}
		}
		if rerr == io.EOF {
			return size, nil
		}
		if rerr != nil {
			return size, fmt.Errorf("documents: put: reading upload: %w", rerr)
		}
	}
}

// newKey returns a fresh blob key: keyBytes random bytes in lowercase hex.
// crypto/rand.Read never fails (it aborts the program if the system source
// is broken).
func newKey() string {
	var b [keyBytes]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validateKey accepts exactly the keys newKey generates: keyLen lowercase hex
// characters. Everything else (empty, "..", "a/b", absolute paths, NUL,
// upper case, temporary file names) matches ErrInvalidKey.
func validateKey(key string) error {
	if len(key) != keyLen {
		return fmt.Errorf("%w: want %d hex characters, got %d bytes", ErrInvalidKey, keyLen, len(key))
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("%w: byte %d is not a lowercase hex digit", ErrInvalidKey, i)
		}
	}
	return nil
}

// syncDir flushes a directory so that renames and removals in it survive a
// crash. Windows cannot sync directories; renames there are durable through
// the file system journal.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}

// writeFileAtomic writes data to dir/name through a temporary file in dir,
// flushed before it takes the final name. With exclusive, an existing file is
// never replaced: the result matches fs.ErrExist instead (the temporary file
// is linked, not renamed, which is atomic create-if-absent).
func writeFileAtomic(dir, name string, data []byte, exclusive bool) (err error) {
	tmp, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer func() {
		// After a rename the temporary name is gone and Remove is a no-op;
		// after a link (exclusive) it must be removed in every case.
		_ = os.Remove(tmpName)
	}()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	final := filepath.Join(dir, name)
	if exclusive {
		if err := os.Link(tmpName, final); err != nil {
			return err
		}
	} else if err := os.Rename(tmpName, final); err != nil {
		return err
	}
	return syncDir(dir)
}
