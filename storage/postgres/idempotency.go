package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/verification"
)

var _ verification.IdempotencyStore = (*Store)(nil)

const idemCols = `scope, key, request_hash, status, content_type, body, created_at, expires_at`

func scanIdem(row pgx.Row) (verification.IdempotencyRecord, error) {
	var (
		r                verification.IdempotencyRecord
		created, expires pgtype.Timestamptz
	)
	err := row.Scan(&r.Scope, &r.Key, &r.RequestHash, &r.Status, &r.ContentType, &r.Body, &created, &expires)
	if len(r.Body) == 0 {
		r.Body = nil
	}
	r.CreatedAt, r.ExpiresAt = tsOut(created), tsOut(expires)
	return r, err
}

// bytesIn stores an empty body as NULL, so that it reads back as nil.
func bytesIn(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// reserveAttempts bounds ReserveIdempotency's retries: each one follows a
// record that was released or replaced between the insert and the read.
const reserveAttempts = 10

// ReserveIdempotency implements verification.IdempotencyStore. The insert
// replaces an expired record in the same statement (ON CONFLICT DO UPDATE
// ... WHERE expired), so of several requests racing on one key exactly one
// gets the reservation: PostgreSQL makes the others wait for the winner's
// transaction and then sees its record as live. A record counts as live
// when its ExpiresAt is after rec.CreatedAt (a zero time being the
// earliest, as in Go); the live record is then read back and returned with
// ErrConflict. Nothing here aborts a surrounding transaction.
func (s *Store) ReserveIdempotency(ctx context.Context, rec verification.IdempotencyRecord) (verification.IdempotencyRecord, error) {
	if err := s.begin(ctx); err != nil {
		return verification.IdempotencyRecord{}, err
	}
	for range reserveAttempts {
		got, err := scanIdem(s.q.QueryRow(ctx, s.sql(`
			INSERT INTO {{schema}}.idempotency AS i (`+idemCols+`)
			VALUES ($1, $2, $3, 0, '', NULL, $4, $5)
			ON CONFLICT (scope, key) DO UPDATE
			   SET request_hash = EXCLUDED.request_hash, status = 0, content_type = '', body = NULL,
			       created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
			 WHERE COALESCE(i.expires_at, '-infinity') <= COALESCE(EXCLUDED.created_at, '-infinity')
			RETURNING `+idemCols),
			rec.Scope, rec.Key, rec.RequestHash, tsIn(rec.CreatedAt), tsIn(rec.ExpiresAt)))
		if err == nil {
			return got, nil
		}
		if !noRows(err) {
			return verification.IdempotencyRecord{}, fail(ctx, "reserve idempotency key", err)
		}
		// A live record holds the key: read it (a new snapshot, which sees
		// a record committed by a racing request after this one started).
		old, err := scanIdem(s.q.QueryRow(ctx, s.sql(`SELECT `+idemCols+` FROM {{schema}}.idempotency WHERE scope = $1 AND key = $2`),
			rec.Scope, rec.Key))
		if noRows(err) {
			continue // released meanwhile: try again
		}
		if err != nil {
			return verification.IdempotencyRecord{}, fail(ctx, "reserve idempotency key", err)
		}
		if !old.ExpiresAt.After(rec.CreatedAt) {
			continue // replaced meanwhile by a record that is already expired
		}
		return old, fmt.Errorf("postgres: idempotency key %q in use: %w", rec.Key, verification.ErrConflict)
	}
	return verification.IdempotencyRecord{}, fmt.Errorf("postgres: idempotency key %q kept changing while being reserved: %w", rec.Key, verification.ErrConflict)
}

// CompleteIdempotency implements verification.IdempotencyStore.
func (s *Store) CompleteIdempotency(ctx context.Context, rec verification.IdempotencyRecord) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.q.Exec(ctx, s.sql(`
		UPDATE {{schema}}.idempotency SET status = $3, content_type = $4, body = $5
		 WHERE scope = $1 AND key = $2`),
		rec.Scope, rec.Key, rec.Status, rec.ContentType, bytesIn(rec.Body))
	if err != nil {
		return fail(ctx, "complete idempotency key", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("idempotency key", rec.Key)
	}
	return nil
}

// ReleaseIdempotency implements verification.IdempotencyStore.
func (s *Store) ReleaseIdempotency(ctx context.Context, scope, key string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	_, err := s.q.Exec(ctx, s.sql(`DELETE FROM {{schema}}.idempotency WHERE scope = $1 AND key = $2`), scope, key)
	return fail(ctx, "release idempotency key", err)
}

// DeleteExpiredIdempotency implements verification.IdempotencyStore. A
// record without ExpiresAt (the zero time) counts as expired. Records
// locked by a running transaction (one being reserved again or completed)
// are skipped rather than waited for, so cleaners running on several
// replicas do not queue behind each other or behind requests.
func (s *Store) DeleteExpiredIdempotency(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, nil
	}
	tag, err := s.q.Exec(ctx, s.sql(`
		WITH doomed AS MATERIALIZED (
			SELECT scope, key FROM {{schema}}.idempotency
			 WHERE expires_at IS NULL OR expires_at <= COALESCE($1, '-infinity'::timestamptz)
			 LIMIT $2
			 FOR UPDATE SKIP LOCKED)
		DELETE FROM {{schema}}.idempotency i USING doomed d
		 WHERE i.scope = d.scope AND i.key = d.key`),
		tsIn(before), int64(limit))
	if err != nil {
		return 0, fail(ctx, "delete expired idempotency keys", err)
	}
	return int(tag.RowsAffected()), nil
}
