package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/verification"
)

var _ verification.BlobDeletionStore = (*Store)(nil)

// RedactSubject implements verification.SubjectStore: one statement whose
// data-modifying CTEs replace the identifier and blank every reason of the
// subject together. (PostgreSQL keeps the old row versions until VACUUM
// reclaims them; run VACUUM after erasures if dead tuples must go too.)
func (s *Store) RedactSubject(ctx context.Context, id int64, identifier string, keep []string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	var n int
	err := s.q.QueryRow(ctx, s.sql(`
		WITH sub AS (UPDATE {{schema}}.subjects SET identifier = $2 WHERE id = $1 RETURNING id),
		     r AS (UPDATE {{schema}}.reviews SET reason = '' WHERE subject_id = $1 AND reason <> '' AND reason <> ALL($3)),
		     g AS (UPDATE {{schema}}.grants SET reason = '' WHERE client_id = $1 AND reason <> '' AND reason <> ALL($3)),
		     a AS (UPDATE {{schema}}.applications SET reason = '' WHERE subject_id = $1 AND reason <> '' AND reason <> ALL($3)),
		     st AS (UPDATE {{schema}}.requirement_states SET reason = '' WHERE subject_id = $1 AND reason <> '' AND reason <> ALL($3)),
		     f AS (UPDATE {{schema}}.files SET reason = '' WHERE subject_id = $1 AND reason <> '' AND reason <> ALL($3))
		SELECT count(*) FROM sub`), id, identifier, append([]string{}, keep...)).Scan(&n)
	if err != nil {
		return fail(ctx, "redact subject", err)
	}
	if n == 0 {
		return notFound("subject", id)
	}
	return nil
}

// UpdateEventData implements verification.EventStore.
func (s *Store) UpdateEventData(ctx context.Context, id string, data json.RawMessage) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	var arg any
	if len(data) > 0 {
		arg = string(data)
	}
	tag, err := s.q.Exec(ctx, s.sql(`UPDATE {{schema}}.events SET data = $2 WHERE id = $1`), id, arg)
	if err != nil {
		return fail(ctx, "update event data", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("event", id)
	}
	return nil
}

// AddBlobDeletion implements verification.BlobDeletionStore.
func (s *Store) AddBlobDeletion(ctx context.Context, d verification.BlobDeletion) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	_, err := s.q.Exec(ctx, s.sql(`INSERT INTO {{schema}}.blob_deletions (id, subject_id, blob_key, created_at) VALUES ($1, $2, $3, $4)`),
		d.ID, d.SubjectID, d.Key, tsIn(d.CreatedAt))
	return fail(ctx, "add blob deletion", err)
}

// ListBlobDeletions implements verification.BlobDeletionStore.
func (s *Store) ListBlobDeletions(ctx context.Context, f verification.BlobDeletionFilter) ([]verification.BlobDeletion, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	var c conds
	if f.SubjectID != 0 {
		c.add("subject_id = ?", f.SubjectID)
	}
	limit := "ALL"
	if f.Limit > 0 {
		limit = c.param(int64(f.Limit))
	}
	rows, err := s.q.Query(ctx, s.sql(`SELECT id, subject_id, blob_key, created_at FROM {{schema}}.blob_deletions WHERE `+
		c.where()+` ORDER BY created_at, id LIMIT `+limit), c.args...)
	if err != nil {
		return nil, fail(ctx, "list blob deletions", err)
	}
	out, err := collect(rows, func(row pgx.Row) (verification.BlobDeletion, error) {
		var (
			d  verification.BlobDeletion
			at pgtype.Timestamptz
		)
		err := row.Scan(&d.ID, &d.SubjectID, &d.Key, &at)
		d.CreatedAt = tsOut(at)
		return d, err
	})
	return out, fail(ctx, "list blob deletions", err)
}

// DeleteBlobDeletion implements verification.BlobDeletionStore.
func (s *Store) DeleteBlobDeletion(ctx context.Context, id string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	_, err := s.q.Exec(ctx, s.sql(`DELETE FROM {{schema}}.blob_deletions WHERE id = $1`), id)
	return fail(ctx, "delete blob deletion", err)
}

// DeleteDelivered implements verification.OutboxStore. Rows locked by a
// running transaction are skipped, so pruners on several replicas do not
// queue behind each other or behind the dispatcher.
func (s *Store) DeleteDelivered(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, nil
	}
	tag, err := s.q.Exec(ctx, s.sql(`
		WITH doomed AS MATERIALIZED (
			SELECT event_seq, sink FROM {{schema}}.deliveries
			 WHERE status = 'delivered' AND delivered_at < $1
			 LIMIT $2
			 FOR UPDATE SKIP LOCKED)
		DELETE FROM {{schema}}.deliveries d USING doomed x
		 WHERE d.event_seq = x.event_seq AND d.sink = x.sink`),
		tsIn(before), int64(limit))
	if err != nil {
		return 0, fail(ctx, "delete delivered deliveries", err)
	}
	return int(tag.RowsAffected()), nil
}
