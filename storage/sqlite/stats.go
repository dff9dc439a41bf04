package sqlite

import (
	"context"
	"database/sql"

	"github.com/openkyc/kyc/verification"
)

var _ verification.QueueStatsStore = (*Store)(nil)

// QueueStats implements verification.QueueStatsStore: the open
// applications are counted on applications_queue (status, id), and the
// oldest pending delivery is the first entry of deliveries_status (status,
// seq, sink), so neither reads the table.
func (s *Store) QueueStats(ctx context.Context) (verification.QueueStats, error) {
	var qs verification.QueueStats
	err := s.snapshot(ctx, "queue stats", func(cn conn) error {
		err := cn.queryRowSQL(cn.sql(`SELECT COUNT(*) FROM {{prefix}}applications WHERE status IN ('draft', 'submitted')`)).Scan(&qs.OpenApplications)
		if err != nil {
			return s.c.mapErr(ctx, "count open applications", err)
		}
		var at int64
		err = cn.queryRowSQL(cn.sql(`SELECT e.occurred_at FROM {{prefix}}deliveries d JOIN {{prefix}}events e ON e.seq = d.seq
			WHERE d.status = 'pending' ORDER BY d.seq LIMIT 1`)).Scan(&at)
		switch {
		case err == sql.ErrNoRows:
			return nil
		case err != nil:
			return s.c.mapErr(ctx, "oldest pending delivery", err)
		}
		qs.OldestPendingEvent = fromMicros(at)
		return nil
	})
	if err != nil {
		return verification.QueueStats{}, err
	}
	return qs, nil
}
