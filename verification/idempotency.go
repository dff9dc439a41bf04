package verification

import "context"

// The Idempotency-Key records of the HTTP adapter go through the Service,
// so that adapters never hold the Store nor open its transactions. The
// replay semantics (what counts as the same request, which answers are
// kept) are the adapter's; the Service only keeps the records.

// ReserveIdempotency reserves rec's (Scope, Key) for a request in flight:
// see IdempotencyStore.ReserveIdempotency. A live record for the key
// answers that record and an error matching ErrConflict.
func (s *Service) ReserveIdempotency(ctx context.Context, rec IdempotencyRecord) (IdempotencyRecord, error) {
	old, err := s.store.ReserveIdempotency(ctx, rec)
	return old, s.fail("ReserveIdempotency", err)
}

// CompleteIdempotency stores the response of a reserved record.
func (s *Service) CompleteIdempotency(ctx context.Context, rec IdempotencyRecord) error {
	return s.fail("CompleteIdempotency", s.store.CompleteIdempotency(ctx, rec))
}

// ReleaseIdempotency deletes a reservation so that the key may be used
// again; an absent record is not an error.
func (s *Service) ReleaseIdempotency(ctx context.Context, scope, key string) error {
	return s.fail("ReleaseIdempotency", s.store.ReleaseIdempotency(ctx, scope, key))
}

// RekeyIdempotency replaces the reservation of (rec.Scope, rec.Key) by rec,
// response included, in one transaction: for requests whose fingerprint is
// known only once they ran (an upload's bytes).
func (s *Service) RekeyIdempotency(ctx context.Context, rec IdempotencyRecord) error {
	// s.store.InTx, not s.inTx: no event is added, so none is announced.
	return s.fail("RekeyIdempotency", s.store.InTx(ctx, func(ctx context.Context, tx Store) error {
		if err := tx.ReleaseIdempotency(ctx, rec.Scope, rec.Key); err != nil {
			return err
		}
		if _, err := tx.ReserveIdempotency(ctx, rec); err != nil {
			return err
		}
		return tx.CompleteIdempotency(ctx, rec)
	}))
}

// PurgeIdempotency deletes up to limit records that expired by now (the
// Service's clock) and returns how many it deleted. Run it from a periodic
// job; expired records are also replaced when their key is reused.
func (s *Service) PurgeIdempotency(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		return 0, s.fail("PurgeIdempotency", invalid("limit", "must be positive"))
	}
	n, err := s.store.DeleteExpiredIdempotency(ctx, s.Now(), limit)
	return n, s.fail("PurgeIdempotency", err)
}
