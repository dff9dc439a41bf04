package listscreen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/openkyc/kyc/screening"
)

// File is a list loaded from a path that the host may replace: Reload reads
// the file again and, when its contents changed, swaps in the new list. It
// is safe for concurrent use; screens in flight finish on the list they
// started with.
type File struct {
	path string
	opts Options
	cur  atomic.Pointer[List]
	mu   sync.Mutex // serialises Reload
}

var (
	_ screening.Screener      = (*File)(nil)
	_ screening.ListVersioner = (*File)(nil)
)

// OpenFile loads the list at path; it fails as LoadFile does.
func OpenFile(path string, opts Options) (*File, error) {
	l, err := LoadFile(path, opts)
	if err != nil {
		return nil, err
	}
	f := &File{path: path, opts: opts}
	f.cur.Store(l)
	return f, nil
}

// Reload reads the file again. When its bytes are those of the current list
// it returns false and keeps the list; when they changed it loads the new
// contents and returns true. On any error (the file is gone, a line is
// malformed) the current list stays in use and the error is returned, so a
// bad edit never empties the screener.
func (f *File) Reload(ctx context.Context) (changed bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return false, err
	}
	sum, err := fileHash(f.path)
	if err != nil {
		return false, err
	}
	if sum == f.cur.Load().version {
		return false, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	l, err := LoadFile(f.path, f.opts)
	if err != nil {
		return false, err
	}
	f.cur.Store(l)
	return true, nil
}

// fileHash returns the list version the file's bytes would give.
func fileHash(path string) (string, error) {
	r, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("listscreen: %w", err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("listscreen: reading list: %w", err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// List returns the list in use now.
func (f *File) List() *List { return f.cur.Load() }

// Screen screens q against the list in use now (see List.Screen).
func (f *File) Screen(ctx context.Context, q screening.Query) (screening.Result, error) {
	return f.cur.Load().Screen(ctx, q)
}

// ListVersion returns the version of the list in use now.
func (f *File) ListVersion(ctx context.Context) (string, error) {
	return f.cur.Load().ListVersion(ctx)
}
