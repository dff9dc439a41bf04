package documents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// BlobLister is an optional capability of a BlobStore (detected by type
// assertion): it lists the blobs the store holds, so that an orphan sweep
// (verification.Service.SweepOrphans) can find the blobs no record points
// to, left by a crash between a Put and the commit of the record that was
// to point to it.
type BlobLister interface {
	// ListBlobs calls fn with the key of every blob and when it was
	// written, in no particular order, streaming the listing rather than
	// holding it in memory. An error from fn stops the walk and is
	// returned. Blobs written or deleted meanwhile may or may not be
	// listed. A store that cannot list returns an error matching
	// errors.ErrUnsupported.
	ListBlobs(ctx context.Context, fn func(key string, written time.Time) error) error
}

// TempFileRemover is an optional capability of a BlobStore that stages
// uploads in temporary files: it removes those left by a crash mid-Put.
type TempFileRemover interface {
	// RemoveTempFiles removes the temporary files last modified before
	// before and returns how many it removed.
	RemoveTempFiles(ctx context.Context, before time.Time) (int, error)
}

var (
	_ BlobLister      = (*FileStore)(nil)
	_ TempFileRemover = (*FileStore)(nil)
	_ BlobLister      = (*SealedStore)(nil)
	_ TempFileRemover = (*SealedStore)(nil)
)

// listBatch is how many directory entries ListBlobs reads at a time.
const listBatch = 256

// ListBlobs implements BlobLister: it reads the directory in batches, and
// reports each file named like a key (temporary files are not blobs) with
// its modification time.
func (s *FileStore) ListBlobs(ctx context.Context, fn func(key string, written time.Time) error) error {
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("documents: list blobs: %w", err)
	}
	defer d.Close()
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("documents: list blobs: %w", err)
		}
		entries, err := d.ReadDir(listBatch)
		for _, e := range entries {
			if !e.Type().IsRegular() || validateKey(e.Name()) != nil {
				continue
			}
			info, ierr := e.Info()
			if errors.Is(ierr, os.ErrNotExist) {
				continue // deleted meanwhile
			}
			if ierr != nil {
				return fmt.Errorf("documents: list blobs: %w", ierr)
			}
			if err := fn(e.Name(), info.ModTime()); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("documents: list blobs: %w", err)
		}
	}
}

// ListBlobs implements BlobLister by listing the inner store's blobs (a
// sealed blob has its inner blob's key), or fails with an error matching
// errors.ErrUnsupported if the inner store cannot list.
func (s *SealedStore) ListBlobs(ctx context.Context, fn func(key string, written time.Time) error) error {
	l, ok := s.inner.(BlobLister)
	if !ok {
		return fmt.Errorf("documents: %T cannot list its blobs: %w", s.inner, errors.ErrUnsupported)
	}
	return l.ListBlobs(ctx, fn)
}

// RemoveTempFiles implements TempFileRemover for the inner store (none
// removed if it keeps no temporary files).
func (s *SealedStore) RemoveTempFiles(ctx context.Context, before time.Time) (int, error) {
	if r, ok := s.inner.(TempFileRemover); ok {
		return r.RemoveTempFiles(ctx, before)
	}
	return 0, nil
}
