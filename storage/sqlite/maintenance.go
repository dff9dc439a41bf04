package sqlite

import (
	"context"
	"encoding/json"
	"time"

	"github.com/openkyc/kyc/verification"
)

var _ verification.BlobDeletionStore = (*Store)(nil)

// RedactSubject implements verification.SubjectStore. With secure_delete
// on, the overwritten identifier and reasons leave no copy in the database
// file; Checkpoint (which Erase calls) clears the log.
func (s *Store) RedactSubject(ctx context.Context, id int64, identifier string, keep []string) error {
	return s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		res, err := cn.q.ExecContext(cn.ctx, cn.sql(`UPDATE {{prefix}}subjects SET identifier = ? WHERE id = ?`), identifier, id)
		if err := s.rowsAffected(ctx, "redact subject", res, err, "subject", id); err != nil {
			return err
		}
		kept, err := json.Marshal(append([]string{}, keep...))
		if err != nil {
			return err
		}
		for _, q := range []string{
			`UPDATE {{prefix}}reviews SET reason = '' WHERE subject_id = ? AND reason <> '' AND reason NOT IN (SELECT value FROM json_each(?))`,
			`UPDATE {{prefix}}grants SET reason = '' WHERE client_id = ? AND reason <> '' AND reason NOT IN (SELECT value FROM json_each(?))`,
			`UPDATE {{prefix}}applications SET reason = '' WHERE subject_id = ? AND reason <> '' AND reason NOT IN (SELECT value FROM json_each(?))`,
			`UPDATE {{prefix}}requirement_states SET reason = '' WHERE subject_id = ? AND reason <> '' AND reason NOT IN (SELECT value FROM json_each(?))`,
			`UPDATE {{prefix}}files SET reason = '' WHERE subject_id = ? AND reason <> '' AND reason NOT IN (SELECT value FROM json_each(?))`,
		} {
			if _, err := cn.q.ExecContext(cn.ctx, cn.sql(q), id, string(kept)); err != nil {
				return s.c.mapErr(ctx, "redact subject", err)
			}
		}
		return nil
	})
}

// UpdateEventData implements verification.EventStore.
func (s *Store) UpdateEventData(ctx context.Context, id string, data json.RawMessage) error {
	return s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		res, err := cn.q.ExecContext(cn.ctx, cn.sql(`UPDATE {{prefix}}events SET data = ? WHERE id = ?`), rawOrNil(data), id)
		return s.rowsAffected(ctx, "update event data", res, err, "event", id)
	})
}

// AddBlobDeletion implements verification.BlobDeletionStore.
func (s *Store) AddBlobDeletion(ctx context.Context, d verification.BlobDeletion) error {
	return s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		_, err := cn.q.ExecContext(cn.ctx, cn.sql(`INSERT INTO {{prefix}}blob_deletions (id, subject_id, blob_key, created_at) VALUES (?, ?, ?, ?)`),
			d.ID, d.SubjectID, d.Key, micros(d.CreatedAt))
		return s.c.mapErr(ctx, "add blob deletion", err)
	})
}

// ListBlobDeletions implements verification.BlobDeletionStore.
func (s *Store) ListBlobDeletions(ctx context.Context, f verification.BlobDeletionFilter) ([]verification.BlobDeletion, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	limit := int64(f.Limit)
	if limit <= 0 {
		limit = -1
	}
	cn := s.conn(ctx)
	q, args := `SELECT id, subject_id, blob_key, created_at FROM {{prefix}}blob_deletions ORDER BY created_at, id LIMIT ?`, []any{limit}
	if f.SubjectID != 0 {
		q = `SELECT id, subject_id, blob_key, created_at FROM {{prefix}}blob_deletions WHERE subject_id = ? ORDER BY created_at, id LIMIT ?`
		args = []any{f.SubjectID, limit}
	}
	rows, err := cn.querySQL(cn.sql(q), args...)
	return collect(ctx, s.c, "list blob deletions", rows, err, func(row scanner) (verification.BlobDeletion, error) {
		var (
			d  verification.BlobDeletion
			at int64
		)
		err := row.Scan(&d.ID, &d.SubjectID, &d.Key, &at)
		d.CreatedAt = fromMicros(at)
		return d, err
	})
}

// DeleteBlobDeletion implements verification.BlobDeletionStore.
func (s *Store) DeleteBlobDeletion(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		_, err := cn.q.ExecContext(cn.ctx, cn.sql(`DELETE FROM {{prefix}}blob_deletions WHERE id = ?`), id)
		return s.c.mapErr(ctx, "delete blob deletion", err)
	})
}

// DeleteDelivered implements verification.OutboxStore.
func (s *Store) DeleteDelivered(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, s.check(ctx)
	}
	var n int64
	err := s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		res, err := cn.q.ExecContext(cn.ctx, cn.sql(`DELETE FROM {{prefix}}deliveries WHERE (seq, sink) IN (
			SELECT seq, sink FROM {{prefix}}deliveries
			 WHERE status = 'delivered' AND delivered_at < ? LIMIT ?)`),
			micros(before), limit)
		if err != nil {
			return s.c.mapErr(ctx, "delete delivered deliveries", err)
		}
		n, err = res.RowsAffected()
		return s.c.mapErr(ctx, "delete delivered deliveries", err)
	})
	return int(n), err
}
