package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/openkyc/kyc/verification"
)

var _ verification.IdempotencyStore = (*Store)(nil)

const idemCols = `scope, key, request_hash, status, content_type, body, created_at, expires_at`

func scanIdem(row scanner) (verification.IdempotencyRecord, error) {
	var (
		r                verification.IdempotencyRecord
		created, expires int64
		body             []byte
	)
	if err := row.Scan(&r.Scope, &r.Key, &r.RequestHash, &r.Status, &r.ContentType, &body, &created, &expires); err != nil {
		return r, err
	}
	if len(body) > 0 {
		r.Body = body
	}
	r.CreatedAt, r.ExpiresAt = fromMicros(created), fromMicros(expires)
	return r, nil
}

// orderMicros encodes t for comparisons with an idempotency time column,
// where the zero time (stored as 0) is the earliest instant, as in Go.
func orderMicros(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixMicro()
}

// reserveSQL inserts a reservation, or replaces an expired record (its
// ExpiresAt not after the new CreatedAt, ?9; a stored 0 is the zero time,
// the earliest), and returns the stored row; it returns no row when a live
// record holds the key.
const reserveSQL = `INSERT INTO {{prefix}}idempotency (` + idemCols + `)
	VALUES (?1, ?2, ?3, 0, '', NULL, ?4, ?5)
	ON CONFLICT (scope, key) DO UPDATE
	   SET request_hash = excluded.request_hash, status = 0, content_type = '', body = NULL,
	       created_at = excluded.created_at, expires_at = excluded.expires_at
	 WHERE (CASE expires_at WHEN 0 THEN -9223372036854775808 ELSE expires_at END) <= ?6
	RETURNING ` + idemCols

// ReserveIdempotency implements verification.IdempotencyStore. It runs as
// one write transaction (or in the caller's), so of several requests racing
// on one key, in this process or in others on the same file, exactly one
// gets the reservation: the insert replaces an expired record in the same
// statement, and the writer's lock orders the others after it, when they
// see its record as live. A record is live when its ExpiresAt is after
// rec.CreatedAt (a zero time being the earliest); it is then read back in
// the same transaction and returned with ErrConflict. The conflict leaves a
// surrounding transaction usable.
func (s *Store) ReserveIdempotency(ctx context.Context, rec verification.IdempotencyRecord) (verification.IdempotencyRecord, error) {
	var (
		out      verification.IdempotencyRecord
		conflict bool
	)
	err := s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		got, err := scanIdem(cn.queryRowSQL(cn.sql(reserveSQL),
			rec.Scope, rec.Key, rec.RequestHash, micros(rec.CreatedAt), micros(rec.ExpiresAt), orderMicros(rec.CreatedAt)))
		if !errors.Is(err, sql.ErrNoRows) {
			out = got
			return s.c.mapErr(ctx, "reserve idempotency key", err)
		}
		// A live record holds the key; the writer is exclusive, so it is
		// still there.
		if out, err = scanIdem(cn.queryRowSQL(cn.sql(`SELECT `+idemCols+` FROM {{prefix}}idempotency WHERE scope = ? AND key = ?`),
			rec.Scope, rec.Key)); err != nil {
			return s.c.mapErr(ctx, "reserve idempotency key", err)
		}
		conflict = true
		return nil
	})
	switch {
	case err != nil:
		return verification.IdempotencyRecord{}, err
	case conflict:
		return out, fmt.Errorf("sqlite: idempotency key %q in use: %w", rec.Key, verification.ErrConflict)
	}
	return out, nil
}

// CompleteIdempotency implements verification.IdempotencyStore. It stores
// the status, content type and body only.
func (s *Store) CompleteIdempotency(ctx context.Context, rec verification.IdempotencyRecord) error {
	return s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		res, err := cn.q.ExecContext(cn.ctx, cn.sql(`UPDATE {{prefix}}idempotency SET status = ?, content_type = ?, body = ?
			WHERE scope = ? AND key = ?`),
			rec.Status, rec.ContentType, rawOrNil(rec.Body), rec.Scope, rec.Key)
		return s.rowsAffected(ctx, "complete idempotency key", res, err, "idempotency key", rec.Key)
	})
}

// ReleaseIdempotency implements verification.IdempotencyStore.
func (s *Store) ReleaseIdempotency(ctx context.Context, scope, key string) error {
	return s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		_, err := cn.q.ExecContext(cn.ctx, cn.sql(`DELETE FROM {{prefix}}idempotency WHERE scope = ? AND key = ?`), scope, key)
		return s.c.mapErr(ctx, "release idempotency key", err)
	})
}

// DeleteExpiredIdempotency implements verification.IdempotencyStore. A
// record without ExpiresAt (the zero time) counts as expired. The batch is
// chosen on the expires_at index.
func (s *Store) DeleteExpiredIdempotency(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, s.check(ctx)
	}
	var n int64
	err := s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		res, err := cn.q.ExecContext(cn.ctx, cn.sql(`DELETE FROM {{prefix}}idempotency WHERE rowid IN (
			SELECT rowid FROM {{prefix}}idempotency WHERE expires_at = 0 OR expires_at <= ?1 LIMIT ?2)`),
			orderMicros(before), limit)
		if err != nil {
			return s.c.mapErr(ctx, "delete expired idempotency keys", err)
		}
		n, err = res.RowsAffected()
		return s.c.mapErr(ctx, "delete expired idempotency keys", err)
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}
