package memory

import (
	"context"

	"github.com/openkyc/kyc/verification"
)

var _ verification.QueueStatsStore = (*Store)(nil)

// QueueStats implements verification.QueueStatsStore in one pass over the
// applications and the deliveries.
func (s *Store) QueueStats(ctx context.Context) (verification.QueueStats, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.QueueStats{}, err
	}
	defer unlock()
	var qs verification.QueueStats
	for _, a := range s.root.apps {
		if a.Status.Open() {
			qs.OpenApplications++
		}
	}
	var oldest int64
	for k, d := range s.root.deliveries {
		if d.Status == verification.DeliveryPending && (oldest == 0 || k.seq < oldest) {
			oldest = k.seq
		}
	}
	if oldest != 0 {
		qs.OldestPendingEvent = s.root.events[oldest-1].OccurredAt
	}
	return qs, nil
}
