package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// RunQueueStats checks the optional verification.QueueStatsStore
// capability (skipped for a store without it): the open applications
// counted across subjects, and the oldest pending delivery's event time
// following deliveries as they are delivered, dead-lettered or added.
func RunQueueStats(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "CountsOpenApplicationsAndOldestPendingDelivery", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		qsStore, ok := s.(verification.QueueStatsStore)
		if !ok {
			t.Skip("the store does not implement verification.QueueStatsStore")
		}
		stats := func(what string) verification.QueueStats {
			t.Helper()
			qs, err := qsStore.QueueStats(ctx)
			require.NoError(t, err, what)
			return qs
		}
		require.Equal(t, verification.QueueStats{}, stats("empty store"), "an empty store has no open application and no pending delivery (zero time)")

		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		for i, st := range []verification.ApplicationStatus{verification.ApplicationDraft, verification.ApplicationSubmitted, verification.ApplicationApproved,
			verification.ApplicationRejected, verification.ApplicationExpired, verification.ApplicationSubmitted} {
			sub := alice
			if i%2 == 1 {
				sub = bob
			}
			a := verification.Application{UUID: fmt.Sprintf("app-%d", i), SubjectID: sub.ID, Level: 2, Status: st, CreatedAt: at(i), ExpiresAt: at(i + 60)}
			require.NoError(t, s.CreateApplication(ctx, &a))
		}
		got := stats("applications, no sink")
		require.Equal(t, 3, got.OpenApplications, "draft and submitted applications of every subject are open; approved, rejected and expired ones are not")
		require.True(t, got.OldestPendingEvent.IsZero(), "no delivery is pending (got %v)", got.OldestPendingEvent)

		ob := requireOutbox(t, s)
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		addOutboxEvent(t, s, alice.ID, "ev-1", 5)
		addOutboxEvent(t, s, bob.ID, "ev-2", 7)
		addOutboxEvent(t, s, alice.ID, "ev-3", 9)
		require.Equal(t, at(5), stats("three pending").OldestPendingEvent, "the event time of the pending delivery with the lowest Seq, at microsecond precision")

		claimed, err := ob.ClaimDeliveries(ctx, at(10), at(20), 10)
		require.NoError(t, err)
		require.Len(t, claimed, 2, "ev-1 and ev-2 (ev-3 waits behind ev-1)")
		require.Equal(t, at(5), stats("leased").OldestPendingEvent, "a leased delivery is still pending")
		markDelivered(t, ob, claimed[0], at(11))
		require.Equal(t, at(7), stats("ev-1 delivered").OldestPendingEvent)
		dead := claimed[1]
		dead.Status, dead.Attempts, dead.LeaseUntil = verification.DeliveryDead, 1, time.Time{}
		require.NoError(t, ob.UpdateDelivery(ctx, dead))
		require.Equal(t, at(9), stats("ev-2 dead").OldestPendingEvent, "a dead delivery is not pending")
		require.Equal(t, 3, stats("ev-2 dead").OpenApplications)
	})

	test(t, newStore, "HonoursCancellation", func(t *testing.T, s verification.Store) {
		qsStore, ok := s.(verification.QueueStatsStore)
		if !ok {
			t.Skip("the store does not implement verification.QueueStatsStore")
		}
		_, err := qsStore.QueueStats(cancelledContext(t))
		require.Error(t, err, "QueueStats with a cancelled context must fail")
	})
}
