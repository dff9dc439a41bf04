package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/openkyc/kyc/verification"
)

var _ verification.IdempotencyStore = (*Store)(nil)

type idemKey struct{ scope, key string }

func cloneIdem(r verification.IdempotencyRecord) verification.IdempotencyRecord {
	r.Body = append([]byte(nil), r.Body...)
	return r
}

// ReserveIdempotency implements verification.IdempotencyStore.
func (s *Store) ReserveIdempotency(ctx context.Context, rec verification.IdempotencyRecord) (verification.IdempotencyRecord, error) {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return verification.IdempotencyRecord{}, err
	}
	defer unlock()
	r := s.root
	k := idemKey{rec.Scope, rec.Key}
	old, had := r.idem[k]
	if had && old.ExpiresAt.After(rec.CreatedAt) {
		return cloneIdem(old), fmt.Errorf("memory: idempotency key in use: %w", verification.ErrConflict)
	}
	rec.Status, rec.Body, rec.ContentType = 0, nil, ""
	r.idem[k] = rec
	s.onUndo(func() {
		if had {
			r.idem[k] = old
		} else {
			delete(r.idem, k)
		}
	})
	return rec, nil
}

// CompleteIdempotency implements verification.IdempotencyStore.
func (s *Store) CompleteIdempotency(ctx context.Context, rec verification.IdempotencyRecord) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	k := idemKey{rec.Scope, rec.Key}
	old, ok := r.idem[k]
	if !ok {
		return notFound("idempotency key", rec.Key)
	}
	upd := old
	upd.Status, upd.ContentType, upd.Body = rec.Status, rec.ContentType, append([]byte(nil), rec.Body...)
	r.idem[k] = upd
	s.onUndo(func() { r.idem[k] = old })
	return nil
}

// ReleaseIdempotency implements verification.IdempotencyStore.
func (s *Store) ReleaseIdempotency(ctx context.Context, scope, key string) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r, k := s.root, idemKey{scope, key}
	if old, ok := r.idem[k]; ok {
		delete(r.idem, k)
		s.onUndo(func() { r.idem[k] = old })
	}
	return nil
}

// DeleteExpiredIdempotency implements verification.IdempotencyStore.
func (s *Store) DeleteExpiredIdempotency(ctx context.Context, before time.Time, limit int) (int, error) {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return 0, err
	}
	defer unlock()
	n := 0
	for k, rec := range s.root.idem {
		if n >= limit {
			break
		}
		if !rec.ExpiresAt.After(before) {
			r, k, rec := s.root, k, rec
			delete(r.idem, k)
			s.onUndo(func() { r.idem[k] = rec })
			n++
		}
	}
	return n, nil
}
