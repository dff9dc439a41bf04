package verification

import (
	"context"
	"errors"
	"time"

	"github.com/openkyc/kyc/documents"
)

// DefaultOrphanGrace is how long ago a blob or a temporary upload file must
// have been written before SweepOrphans may remove it.
const DefaultOrphanGrace = time.Hour

// orphanBatch is how many listed blobs SweepOrphans checks per store query.
const orphanBatch = 500

// SweepOrphansParams configure SweepOrphans.
type SweepOrphansParams struct {
	// Grace spares what was written less than Grace ago: an upload whose
	// blob is stored but whose record has not committed yet. It must exceed
	// the longest upload (the time from the first byte to the commit). 0
	// means DefaultOrphanGrace; negative is refused.
	Grace time.Duration
}

// OrphanSweep is what SweepOrphans removed.
type OrphanSweep struct {
	// Blobs counts the blobs no file record pointed to.
	Blobs int
	// TempFiles counts the temporary files of interrupted uploads.
	TempFiles int
}

// SweepOrphans removes what a crash leaves in the BlobStore and no record
// points to, so it is out of reach of erasure and retention: blobs stored
// by an upload whose record never committed (or whose record was deleted
// before the blob was), and the temporary files of uploads cut off
// mid-stream. Only what was written more than p.Grace ago is removed. It
// needs a BlobStore that implements documents.BlobLister (FileStore and
// SealedStore over it do) for the blobs and documents.TempFileRemover for
// the temporary files; without them that part is skipped. A blob counts
// as referenced when a File record has its key (the store is asked in
// batches through FileFilter.BlobKeys), so a BlobStore must not be shared
// with anything else. Safe to run while the service serves requests, and
// from several replicas at once. The maintenance runner calls it; hosts
// without one call it periodically (hourly is plenty).
func (s *Service) SweepOrphans(ctx context.Context, p SweepOrphansParams) (OrphanSweep, error) {
	var out OrphanSweep
	if p.Grace < 0 {
		return out, s.fail("SweepOrphans", invalid("grace", "must not be negative"))
	}
	if p.Grace == 0 {
		p.Grace = DefaultOrphanGrace
	}
	if s.blobs == nil {
		return out, nil
	}
	cutoff := s.Now().Add(-p.Grace)
	if r, ok := s.blobs.(documents.TempFileRemover); ok {
		n, err := r.RemoveTempFiles(ctx, cutoff)
		out.TempFiles = n
		if err != nil {
			return out, s.fail("SweepOrphans", err)
		}
	}
	l, ok := s.blobs.(documents.BlobLister)
	if !ok {
		return out, nil
	}
	batch := make([]string, 0, orphanBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		files, err := s.store.ListFiles(ctx, FileFilter{BlobKeys: batch})
		if err != nil {
			return err
		}
		referenced := make(map[string]bool, len(files))
		for _, f := range files {
			referenced[f.BlobKey] = true
		}
		for _, key := range batch {
			if referenced[key] {
				continue
			}
			if err := s.blobs.Delete(ctx, key); err != nil {
				return err
			}
			out.Blobs++
		}
		batch = batch[:0]
		return nil
	}
	err := l.ListBlobs(ctx, func(key string, written time.Time) error {
		if !written.Before(cutoff) {
			return nil
		}
		batch = append(batch, key)
		if len(batch) == orphanBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if errors.Is(err, errors.ErrUnsupported) {
		err = nil
	}
	if out.Blobs+out.TempFiles > 0 {
		s.log.Info().Int("blobs", out.Blobs).Int("temp_files", out.TempFiles).Msg("verification: orphans removed")
	}
	return out, s.fail("SweepOrphans", err)
}
