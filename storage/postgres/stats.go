package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/verification"
)

var _ verification.QueueStatsStore = (*Store)(nil)

// QueueStats implements verification.QueueStatsStore in one statement: the
// open applications are counted on applications_queue_idx (status, id),
// and the oldest pending delivery is the first entry of the partial index
// deliveries_pending_seq_idx (event_seq, sink).
func (s *Store) QueueStats(ctx context.Context) (verification.QueueStats, error) {
	if err := s.begin(ctx); err != nil {
		return verification.QueueStats{}, err
	}
	var (
		n  int64
		at pgtype.Timestamptz
	)
	err := s.q.QueryRow(ctx, s.sql(`SELECT
		(SELECT count(*) FROM {{schema}}.applications WHERE status IN ('draft', 'submitted')),
		(SELECT e.occurred_at FROM {{schema}}.deliveries d JOIN {{schema}}.events e ON e.seq = d.event_seq
		  WHERE d.status = 'pending' ORDER BY d.event_seq LIMIT 1)`)).Scan(&n, &at)
	if err != nil {
		return verification.QueueStats{}, fail(ctx, "queue stats", err)
	}
	return verification.QueueStats{OpenApplications: int(n), OldestPendingEvent: tsOut(at)}, nil
}
