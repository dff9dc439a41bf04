package verification

import (
	"context"

	"github.com/openkyc/kyc/documents"
)

// deletionBatch is how many tombstones SweepDeletions reads per query.
const deletionBatch = 500

// tombstone records, inside tx, that the bytes of key (every blob and the
// data key of the subject's owner when key is "") are to be deleted once
// tx commits. The caller passes the result to finishDeletions after the
// commit.
func (s *Service) tombstone(ctx context.Context, tx Store, subjectID int64, key string) (BlobDeletion, error) {
	d := BlobDeletion{ID: s.newID(), SubjectID: subjectID, Key: key, CreatedAt: s.Now()}
	return d, tx.AddBlobDeletion(ctx, d)
}

// finishDeletions deletes the bytes of committed tombstones, then the
// tombstones. A failure leaves its tombstone for SweepDeletions and is
// returned (the first one) after the others were tried.
func (s *Service) finishDeletions(ctx context.Context, ds []BlobDeletion) (int, error) {
	var first error
	n := 0
	for _, d := range ds {
		err := s.deleteBytes(ctx, d)
		if err == nil {
			err = s.store.DeleteBlobDeletion(ctx, d.ID)
		}
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		n++
	}
	return n, first
}

// deleteBytes deletes what tombstone d names from the BlobStore.
func (s *Service) deleteBytes(ctx context.Context, d BlobDeletion) error {
	if s.blobs == nil {
		return nil
	}
	if d.Key != "" {
		return s.blobs.Delete(ctx, d.Key)
	}
	if e, ok := s.blobs.(documents.OwnerEraser); ok {
		return e.EraseOwner(ctx, owner(d.SubjectID))
	}
	return nil
}

// SweepDeletions finishes the deletions that a crash, a cancelled call or
// a failing BlobStore left half done: for every tombstone (BlobDeletion) it
// deletes the bytes again and removes the tombstone, and returns how many
// it finished. Deleting bytes twice is harmless (BlobStore.Delete is
// idempotent), so it is safe to run while the service serves requests and
// from several replicas at once. The maintenance runner calls it.
func (s *Service) SweepDeletions(ctx context.Context) (int, error) {
	return s.sweepDeletions(ctx, 0)
}

// sweepDeletions is SweepDeletions for one subject (0: every subject).
func (s *Service) sweepDeletions(ctx context.Context, subjectID int64) (int, error) {
	total := 0
	for {
		ds, err := s.store.ListBlobDeletions(ctx, BlobDeletionFilter{SubjectID: subjectID, Limit: deletionBatch})
		if err != nil {
			return total, s.fail("SweepDeletions", err)
		}
		n, err := s.finishDeletions(ctx, ds)
		total += n
		if err != nil {
			return total, s.fail("SweepDeletions", err)
		}
		if len(ds) < deletionBatch {
			return total, nil
		}
	}
}
