package storagetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// RunOutbox checks verification.OutboxStore, the delivery state the
// Dispatcher keeps for every event and sink. The capability is optional in
// the type system (detected by type assertion) but required of every store
// this suite runs against: a store without it fails.
func RunOutbox(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "RegisterSinkIsIdempotent", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		ob := requireOutbox(t, s)
		alice := newSubject(t, s, "alice")
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		require.NoError(t, ob.RegisterSink(ctx, "crm"), "registering a sink again must not be an error")
		require.NoError(t, ob.RegisterSink(ctx, "audit"))
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		e := addOutboxEvent(t, s, alice.ID, "ev-1", 0)
		page, err := ob.ListDeliveries(ctx, verification.DeliveryFilter{Limit: 100})
		got, total := page.Items, page.Total
		require.NoError(t, err)
		require.Equal(t, 2, total, "one delivery per registered sink, however often it was registered")
		require.Equal(t, []string{"ev-1/audit", "ev-1/crm"}, deliveryKeys(got), "ListDeliveries orders by Seq, then sink name")
		for _, d := range got {
			requireEvent(t, e, d.Event, "the event of a delivery")
		}
	})

	test(t, newStore, "DeliveriesOnlyForEventsAfterRegistration", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		ob := requireOutbox(t, s)
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		addOutboxEvent(t, s, alice.ID, "ev-1", 0)
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		e2 := addOutboxEvent(t, s, bob.ID, "ev-2", 1)
		require.NoError(t, ob.RegisterSink(ctx, "audit"))
		e3 := addOutboxEvent(t, s, alice.ID, "ev-3", 2)
		page, err := ob.ListDeliveries(ctx, verification.DeliveryFilter{Limit: 100})
		got, total := page.Items, page.Total
		require.NoError(t, err)
		require.Equal(t, 3, total)
		require.Equal(t, []string{"ev-2/crm", "ev-3/audit", "ev-3/crm"}, deliveryKeys(got),
			"an event gets a delivery for each sink registered before it was added, and no other")
		byKey := map[string]verification.Event{"ev-2": e2, "ev-3": e3}
		for _, d := range got {
			what := "new delivery " + d.Event.ID + "/" + d.Sink
			requireEvent(t, byKey[d.Event.ID], d.Event, what)
			require.Equal(t, verification.DeliveryPending, d.Status, "%s: a new delivery is pending", what)
			require.Zero(t, d.Attempts, what)
			require.True(t, d.LeaseUntil.IsZero(), "%s: no lease (got %v)", what, d.LeaseUntil)
			require.True(t, d.DeliveredAt.IsZero(), "%s: not delivered (got %v)", what, d.DeliveredAt)
			require.Empty(t, d.LastError, what)
			require.False(t, d.NextAttemptAt.After(d.Event.OccurredAt), "%s: due as soon as the event occurred (NextAttemptAt %v)", what, d.NextAttemptAt)
		}
		claimed, err := ob.ClaimDeliveries(ctx, at(2), at(12), 10)
		require.NoError(t, err)
		require.Equal(t, []string{"ev-2/crm", "ev-3/audit", "ev-3/crm"}, deliveryKeys(claimed), "new deliveries are due at the time their event occurred")
	})

	test(t, newStore, "ClaimFindsHeadsBehindALongQueue", func(t *testing.T, s verification.Store) {
		// A store may bound the Seq-ordered part of its claim (the SQL
		// stores read a window past the oldest pending delivery): the
		// heads behind a long queue of one subject must still be found,
		// in Seq order, and those of a leased head must not.
		ctx := t.Context()
		ob := requireOutbox(t, s)
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		carol := newSubject(t, s, "carol")
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		const queue = 3000
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			for i := 1; i <= queue+3; i++ {
				subject := alice.ID
				switch {
				case i == queue+1:
					subject = bob.ID
				case i > queue+1:
					subject = carol.ID
				}
				e := newEvent(subject, fmt.Sprintf("ev-%d", i), 0)
				if err := tx.AddEvent(ctx, &e); err != nil {
					return err
				}
			}
			return nil
		}))
		first, err := ob.ClaimDeliveries(ctx, at(10), at(20), 1)
		require.NoError(t, err)
		require.Equal(t, []string{"ev-1/crm"}, deliveryKeys(first), "limit 1: the oldest head")
		b, c := fmt.Sprintf("ev-%d/crm", queue+1), fmt.Sprintf("ev-%d/crm", queue+2)
		requireClaims(t, ob, at(10), at(20), []string{b, c}, "the heads behind alice's queue, in Seq order, none behind a leased head")
		requireClaims(t, ob, at(10), at(20), nil, "every head is leased")
		requireClaims(t, ob, at(20), at(30), []string{"ev-1/crm", b, c}, "the leases ran out")
	})

	test(t, newStore, "ClaimHonoursDueTimeAndLease", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		ob := requireOutbox(t, s)
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		e1 := addOutboxEvent(t, s, alice.ID, "ev-1", 0)
		addOutboxEvent(t, s, alice.ID, "ev-2", 0)
		addOutboxEvent(t, s, alice.ID, "ev-3", 0)
		e4 := addOutboxEvent(t, s, bob.ID, "ev-4", 0)

		claimed, err := ob.ClaimDeliveries(ctx, at(10), at(20), 10)
		require.NoError(t, err)
		require.Equal(t, []string{"ev-1/crm", "ev-4/crm"}, deliveryKeys(claimed),
			"only the oldest pending delivery of each (sink, subject), in Seq order")
		requireEvent(t, e1, claimed[0].Event, "the event of a claimed delivery")
		requireEvent(t, e4, claimed[1].Event, "the event of a claimed delivery")
		for _, d := range claimed {
			require.Equal(t, at(20), d.LeaseUntil, "a claimed delivery comes back with the new lease")
			require.Equal(t, verification.DeliveryPending, d.Status)
			require.Zero(t, d.Attempts, "claiming is not an attempt")
		}
		stored := listOne(t, ob, "ev-1", "crm")
		require.Equal(t, at(20), stored.LeaseUntil, "the lease is stored")

		requireClaims(t, ob, at(10), at(30), nil, "leased deliveries (and those behind them) are not claimed again")
		requireClaims(t, ob, at(20).Add(-time.Microsecond), at(30), nil, "a lease holds until LeaseUntil")
		requireClaims(t, ob, at(20), at(30), []string{"ev-1/crm", "ev-4/crm"}, "a lease that is not after now has passed")

		// ev-1 delivered (by its latest claimer: the first claim's copy is
		// stale now, see UpdateIsFencedByTheClaim): ev-2 is next for
		// alice; bob's ev-4 is leased again (until at(30)).
		markDelivered(t, ob, listOne(t, ob, "ev-1", "crm"), at(21))
		requireClaims(t, ob, at(21), at(40), []string{"ev-2/crm"}, "after ev-1 is delivered, ev-2 is alice's next")

		// ev-2 failed, retry at(50): nothing of alice is due before that.
		d2 := listOne(t, ob, "ev-2", "crm")
		d2.Attempts, d2.NextAttemptAt, d2.LeaseUntil, d2.LastError = 1, at(50), time.Time{}, "answered 500"
		require.NoError(t, ob.UpdateDelivery(ctx, d2))
		requireClaims(t, ob, at(49), at(60), []string{"ev-4/crm"}, "a delivery waiting for its retry blocks its subject's later ones; bob's lease (at(30)) passed")
		requireClaims(t, ob, at(50), at(60), []string{"ev-2/crm"}, "a delivery is due when NextAttemptAt is not after now")
	})

	test(t, newStore, "UpdateIsFencedByTheClaim", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		ob := requireOutbox(t, s)
		alice := newSubject(t, s, "alice")
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		addOutboxEvent(t, s, alice.ID, "ev-1", 0)
		addOutboxEvent(t, s, alice.ID, "ev-2", 0)
		addOutboxEvent(t, s, alice.ID, "ev-3", 0)

		// A claims ev-1 and stalls past its lease; B takes it over.
		a, err := ob.ClaimDeliveries(ctx, at(1), at(10), 10)
		require.NoError(t, err)
		require.Equal(t, []string{"ev-1/crm"}, deliveryKeys(a))
		b, err := ob.ClaimDeliveries(ctx, at(10), at(20), 10)
		require.NoError(t, err)
		require.Equal(t, []string{"ev-1/crm"}, deliveryKeys(b), "an expired lease is claimed again")
		require.NotEqual(t, a[0].Fence, b[0].Fence, "each claim gets its own fence")
		markDelivered(t, ob, b[0], at(11))
		delivered := listOne(t, ob, "ev-1", "crm")

		// A's late outcome and A's lease release are both refused.
		stale := a[0]
		stale.Attempts, stale.NextAttemptAt, stale.LeaseUntil, stale.LastError = 1, at(12), time.Time{}, "timed out"
		require.ErrorIs(t, ob.UpdateDelivery(ctx, stale), verification.ErrConflict, "the outcome of a claim that was taken over")
		release := a[0]
		release.LeaseUntil = time.Time{}
		require.ErrorIs(t, ob.UpdateDelivery(ctx, release), verification.ErrConflict, "the lease release of a claim that was taken over")
		requireDelivery(t, delivered, listOne(t, ob, "ev-1", "crm"), "a refused update changes nothing: delivered stays delivered")
		requireClaims(t, ob, at(12), at(30), []string{"ev-2/crm"}, "ev-1 did not go back to pending")

		// A holder whose lease ran out but that nobody took over may still
		// record its outcome.
		late := listOne(t, ob, "ev-2", "crm")
		markDelivered(t, ob, late, at(45))

		// A copy read before a claim (an operator's replay racing a
		// dispatcher) is refused once the delivery is claimed.
		listed := listOne(t, ob, "ev-3", "crm")
		requireClaims(t, ob, at(46), at(50), []string{"ev-3/crm"}, "ev-3 is next")
		listed.Status, listed.Attempts = verification.DeliveryDead, 5
		require.ErrorIs(t, ob.UpdateDelivery(ctx, listed), verification.ErrConflict, "a copy from before the current claim")
		claimed := listOne(t, ob, "ev-3", "crm")
		require.Equal(t, verification.DeliveryPending, claimed.Status)
		require.Equal(t, at(50), claimed.LeaseUntil, "the current claim is untouched")
		markDelivered(t, ob, claimed, at(47))

		unknown := claimed
		unknown.Event.ID = "ev-404"
		require.ErrorIs(t, ob.UpdateDelivery(ctx, unknown), verification.ErrNotFound, "an unknown delivery is not found, whatever its fence")
	})

	test(t, newStore, "UpdateAndClaimSeesTheOutcomes", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		ob := requireOutbox(t, s)
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		addOutboxEvent(t, s, alice.ID, "ev-1", 0)
		addOutboxEvent(t, s, bob.ID, "ev-2", 0)
		addOutboxEvent(t, s, alice.ID, "ev-3", 0)
		addOutboxEvent(t, s, bob.ID, "ev-4", 0)

		errs, got, err := ob.UpdateAndClaimDeliveries(ctx, nil, at(1), at(10), 0)
		require.NoError(t, err)
		require.Empty(t, errs, "no outcomes: no results")
		require.Empty(t, got, "limit 0 claims nothing")

		first, err := ob.ClaimDeliveries(ctx, at(1), at(10), 10)
		require.NoError(t, err)
		require.Equal(t, []string{"ev-1/crm", "ev-2/crm"}, deliveryKeys(first), "one delivery per subject at a time")
		delivered, stale := first[0], first[1]
		delivered.Status, delivered.Attempts, delivered.LeaseUntil, delivered.DeliveredAt = verification.DeliveryDelivered, 1, time.Time{}, at(2)
		stale.Fence-- // an outcome from before the last claim: refused
		stale.Status, stale.Attempts, stale.LeaseUntil, stale.DeliveredAt = verification.DeliveryDelivered, 1, time.Time{}, at(2)
		errs, got, err = ob.UpdateAndClaimDeliveries(ctx, []verification.Delivery{delivered, stale}, at(3), at(20), 10)
		require.NoError(t, err)
		require.Len(t, errs, 2, "one result per outcome, in order")
		require.NoError(t, errs[0], "ev-1 delivered")
		require.ErrorIs(t, errs[1], verification.ErrConflict, "ev-2: a stale fence")
		require.Equal(t, []string{"ev-3/crm"}, deliveryKeys(got),
			"the claim sees the outcome written before it (alice's next event), and bob's next waits for ev-2, still leased")
		require.Equal(t, at(20), got[0].LeaseUntil, "the claim's lease")
		requireDelivery(t, delivered, listOne(t, ob, "ev-1", "crm"), "ev-1 after UpdateAndClaimDeliveries")
		ev2 := listOne(t, ob, "ev-2", "crm")
		require.Equal(t, verification.DeliveryPending, ev2.Status, "a refused outcome changes nothing")

		dead := cancelledContext(t)
		_, _, err = ob.UpdateAndClaimDeliveries(dead, nil, at(30), at(40), 10)
		require.ErrorIs(t, err, context.Canceled, "UpdateAndClaimDeliveries with a cancelled context")
		again, err := ob.ClaimDeliveries(ctx, at(30), at(40), 10)
		require.NoError(t, err)
		require.Equal(t, []string{"ev-2/crm", "ev-3/crm"}, deliveryKeys(again), "a cancelled call claims nothing")
	})

	test(t, newStore, "UpdateDeliveriesSettlesABatch", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		ob := requireOutbox(t, s)
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		carol := newSubject(t, s, "carol")
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		addOutboxEvent(t, s, alice.ID, "ev-1", 0)
		addOutboxEvent(t, s, bob.ID, "ev-2", 0)
		addOutboxEvent(t, s, carol.ID, "ev-3", 0)
		addOutboxEvent(t, s, alice.ID, "ev-4", 0)

		errs, err := ob.UpdateDeliveries(ctx, nil)
		require.NoError(t, err)
		require.Empty(t, errs, "an empty batch writes nothing")

		first, err := ob.ClaimDeliveries(ctx, at(1), at(10), 10)
		require.NoError(t, err)
		require.Equal(t, []string{"ev-1/crm", "ev-2/crm", "ev-3/crm"}, deliveryKeys(first))
		// ev-3's lease runs out and another claimer takes it over: the
		// first claimer's outcome for it is refused, not the others'.
		again, err := ob.ClaimDeliveries(ctx, at(10), at(20), 10)
		require.NoError(t, err)
		require.Equal(t, []string{"ev-1/crm", "ev-2/crm", "ev-3/crm"}, deliveryKeys(again))
		delivered, retry, stale := again[0], again[1], first[2]
		delivered.Status, delivered.Attempts, delivered.LeaseUntil, delivered.DeliveredAt = verification.DeliveryDelivered, 1, time.Time{}, at(11)
		retry.Attempts, retry.NextAttemptAt, retry.LeaseUntil, retry.LastError = 1, at(40), time.Time{}, "answered 503"
		stale.Status, stale.Attempts, stale.LeaseUntil, stale.DeliveredAt = verification.DeliveryDelivered, 1, time.Time{}, at(12)
		unknown := delivered
		unknown.Event.ID = "ev-404"
		errs, err = ob.UpdateDeliveries(ctx, []verification.Delivery{delivered, stale, unknown, retry})
		require.NoError(t, err)
		require.Len(t, errs, 4, "one result per delivery, in order")
		require.NoError(t, errs[0], "ev-1 delivered")
		require.ErrorIs(t, errs[1], verification.ErrConflict, "ev-3: the outcome of a claim that was taken over")
		require.ErrorIs(t, errs[2], verification.ErrNotFound, "an unknown delivery")
		require.NoError(t, errs[3], "ev-2 waits for its retry")
		requireDelivery(t, delivered, listOne(t, ob, "ev-1", "crm"), "ev-1 after the batch")
		requireDelivery(t, retry, listOne(t, ob, "ev-2", "crm"), "ev-2 after the batch")
		ev3 := listOne(t, ob, "ev-3", "crm")
		require.Equal(t, verification.DeliveryPending, ev3.Status, "a refused write in a batch changes nothing")
		require.Equal(t, at(20), ev3.LeaseUntil, "the current claim of ev-3 is untouched")
		requireClaims(t, ob, at(20), at(30), []string{"ev-3/crm", "ev-4/crm"}, "ev-1 settled: alice's ev-4 is next; ev-2 waits for at(40)")

		// Inside a transaction that rolls back, a batch is undone with it.
		ev4 := listOne(t, ob, "ev-4", "crm")
		done := ev4
		done.Status, done.Attempts, done.LeaseUntil, done.DeliveredAt = verification.DeliveryDelivered, 1, time.Time{}, at(21)
		boom := fmt.Errorf("boom")
		require.ErrorIs(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			errs, err := tx.UpdateDeliveries(ctx, []verification.Delivery{done})
			require.NoError(t, err)
			require.NoError(t, errs[0])
			return boom
		}), boom)
		requireDelivery(t, ev4, listOne(t, ob, "ev-4", "crm"), "a rolled-back batch leaves ev-4 as it was")
	})

	test(t, newStore, "EachSinkHasItsOwnOrder", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		ob := requireOutbox(t, s)
		alice := newSubject(t, s, "alice")
		require.NoError(t, ob.RegisterSink(ctx, "b-sink"))
		require.NoError(t, ob.RegisterSink(ctx, "a-sink"))
		addOutboxEvent(t, s, alice.ID, "ev-1", 0)
		addOutboxEvent(t, s, alice.ID, "ev-2", 0)
		claimed, err := ob.ClaimDeliveries(ctx, at(1), at(10), 10)
		require.NoError(t, err)
		require.Equal(t, []string{"ev-1/a-sink", "ev-1/b-sink"}, deliveryKeys(claimed), "Seq order, then sink name")
		markDelivered(t, ob, claimed[0], at(2))
		requireClaims(t, ob, at(2), at(10), []string{"ev-2/a-sink"}, "a slow sink does not hold back another sink")
	})

	test(t, newStore, "ClaimLimit", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		ob := requireOutbox(t, s)
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		var want []string
		for i := range 5 {
			sub := newSubject(t, s, fmt.Sprintf("s%02dsubject", i))
			addOutboxEvent(t, s, sub.ID, fmt.Sprint("ev-", i+1), -i)
			want = append(want, fmt.Sprintf("ev-%d/crm", i+1))
		}
		for _, step := range []struct {
			limit int
			want  []string
		}{{2, want[:2]}, {1, want[2:3]}, {10, want[3:]}, {10, []string{}}} {
			got, err := ob.ClaimDeliveries(ctx, at(0), at(10), step.limit)
			require.NoError(t, err)
			require.Equal(t, step.want, deliveryKeys(got), "ClaimDeliveries(limit %d) claims the lowest Seqs first, whatever their times", step.limit)
		}
	})

	test(t, newStore, "DeadAndDeliveredDoNotBlock", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		ob := requireOutbox(t, s)
		alice := newSubject(t, s, "alice")
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		addOutboxEvent(t, s, alice.ID, "ev-1", 0)
		addOutboxEvent(t, s, alice.ID, "ev-2", 0)
		addOutboxEvent(t, s, alice.ID, "ev-3", 0)
		claimed, err := ob.ClaimDeliveries(ctx, at(1), at(10), 10)
		require.NoError(t, err)
		require.Equal(t, []string{"ev-1/crm"}, deliveryKeys(claimed))
		dead := claimed[0]
		dead.Status, dead.Attempts, dead.LeaseUntil, dead.LastError = verification.DeliveryDead, 3, time.Time{}, "answered 500"
		require.NoError(t, ob.UpdateDelivery(ctx, dead))
		claimed, err = ob.ClaimDeliveries(ctx, at(1), at(10), 10)
		require.NoError(t, err)
		require.Equal(t, []string{"ev-2/crm"}, deliveryKeys(claimed), "a dead delivery does not block its subject's later ones")
		markDelivered(t, ob, claimed[0], at(2))
		requireClaims(t, ob, at(2), at(10), []string{"ev-3/crm"}, "nor does a delivered one")

		// A replayed dead delivery (pending again) is claimed, even behind later ones.
		markDelivered(t, ob, listOne(t, ob, "ev-3", "crm"), at(3))
		replay := listOne(t, ob, "ev-1", "crm")
		replay.Status, replay.Attempts, replay.NextAttemptAt, replay.LastError = verification.DeliveryPending, 0, at(4), ""
		require.NoError(t, ob.UpdateDelivery(ctx, replay))
		requireClaims(t, ob, at(4), at(10), []string{"ev-1/crm"}, "a dead delivery made pending again")
	})

	test(t, newStore, "ConcurrentClaimersShareTheWork", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		ob := requireOutbox(t, s)
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		const subjects, events, claimers = 20, 200, 8
		subs := make([]verification.Subject, subjects)
		for i := range subs {
			subs[i] = newSubject(t, s, fmt.Sprintf("s%02dsubject", i))
		}
		seqOf := map[string]int64{}
		for i := range events {
			e := addOutboxEvent(t, s, subs[i%subjects].ID, fmt.Sprint("ev-", i+1), 0)
			seqOf[e.ID] = e.Seq
		}
		var (
			mu      sync.Mutex
			claimed = map[string]int{}
			order   = map[int64][]int64{} // subject -> Seqs in claim order
			done    int
		)
		deadline := time.Now().Add(deadlockTimeout)
		errs := make(chan error, claimers)
		var wg sync.WaitGroup
		for w := range claimers {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					got, err := ob.ClaimDeliveries(ctx, at(0), at(60), 5)
					if err != nil {
						errs <- fmt.Errorf("claimer %d: ClaimDeliveries: %w", w, err)
						return
					}
					mu.Lock()
					for _, d := range got {
						claimed[d.Event.ID]++
						order[d.Event.SubjectID] = append(order[d.Event.SubjectID], d.Event.Seq)
					}
					finished := done == events
					mu.Unlock()
					if len(got) == 0 {
						if finished {
							return
						}
						time.Sleep(time.Millisecond)
						continue
					}
					for _, d := range got {
						d.Status, d.Attempts, d.LeaseUntil, d.DeliveredAt = verification.DeliveryDelivered, 1, time.Time{}, at(1)
						if err := ob.UpdateDelivery(ctx, d); err != nil {
							errs <- fmt.Errorf("claimer %d: UpdateDelivery(%s): %w", w, d.Event.ID, err)
							return
						}
						mu.Lock()
						done++
						mu.Unlock()
					}
				}
				errs <- fmt.Errorf("claimer %d: not done after %v (probable deadlock)", w, deadlockTimeout)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Len(t, claimed, events, "together the claimers must claim every delivery")
		for id, n := range claimed {
			require.Equal(t, 1, n, "delivery %s was claimed %d times while leased (the lease runs to at(60))", id, n)
		}
		for sub, got := range order {
			require.True(t, sort.SliceIsSorted(got, func(i, j int) bool { return got[i] < got[j] }), "subject %d: claimed out of Seq order: %v", sub, got)
		}
		page, err := ob.ListDeliveries(ctx, verification.DeliveryFilter{Status: verification.DeliveryPending})
		pending := page.Total
		require.NoError(t, err)
		require.Zero(t, pending)
		page, err = ob.ListDeliveries(ctx, verification.DeliveryFilter{Status: verification.DeliveryDelivered})
		delivered := page.Total
		require.NoError(t, err)
		require.Equal(t, events, delivered)
	})

	test(t, newStore, "UpdateRoundTripsEveryField", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		ob := requireOutbox(t, s)
		alice := newSubject(t, s, "alice")
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		require.NoError(t, ob.RegisterSink(ctx, "audit"))
		e := addOutboxEvent(t, s, alice.ID, "ev-1", 0)
		before := listOne(t, ob, "ev-1", "audit")

		want := verification.Delivery{
			Event: e, Sink: "crm", Status: verification.DeliveryDead, Attempts: 7,
			NextAttemptAt: at(5), LeaseUntil: at(6), DeliveredAt: at(7),
			LastError: `webhook crm: answered 503 — "überlastet"`,
		}
		require.NoError(t, ob.UpdateDelivery(ctx, want))
		requireDelivery(t, want, listOne(t, ob, "ev-1", "crm"), "after UpdateDelivery (times must be UTC, microsecond precision)")
		requireDelivery(t, before, listOne(t, ob, "ev-1", "audit"), "UpdateDelivery must change only the (event, sink) it names")

		want.Status, want.Attempts, want.NextAttemptAt, want.LeaseUntil, want.DeliveredAt, want.LastError =
			verification.DeliveryPending, 0, time.Time{}, time.Time{}, time.Time{}, ""
		require.NoError(t, ob.UpdateDelivery(ctx, want))
		requireDelivery(t, want, listOne(t, ob, "ev-1", "crm"), "zero times and an empty error come back as such")

		// The Event other than its ID is not part of the update.
		other := want
		other.Event.Type, other.Event.Data, other.Event.SubjectID = verification.EventSubjectErased, json.RawMessage(`{"x":1}`), alice.ID+1000
		other.Attempts = 2
		require.NoError(t, ob.UpdateDelivery(ctx, other))
		got := listOne(t, ob, "ev-1", "crm")
		requireEvent(t, e, got.Event, "UpdateDelivery must not change the event")
		require.Equal(t, 2, got.Attempts)

		unknown := want
		unknown.Event.ID = "ev-404"
		require.ErrorIs(t, ob.UpdateDelivery(ctx, unknown), verification.ErrNotFound, "UpdateDelivery of an unknown event")
		unknown = want
		unknown.Sink = "nobody"
		require.ErrorIs(t, ob.UpdateDelivery(ctx, unknown), verification.ErrNotFound, "UpdateDelivery for a sink the event has no delivery for")
	})

	test(t, newStore, "ListFilters", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		ob := requireOutbox(t, s)
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		require.NoError(t, ob.RegisterSink(ctx, "audit"))
		for i, sub := range []int64{alice.ID, bob.ID, alice.ID, bob.ID, alice.ID} {
			addOutboxEvent(t, s, sub, fmt.Sprint("ev-", i+1), i)
		}
		setStatus := func(id, sink string, st verification.DeliveryStatus) {
			d := listOne(t, ob, id, sink)
			d.Status, d.Attempts = st, 1
			if st == verification.DeliveryDelivered {
				d.DeliveredAt = at(9)
			}
			require.NoError(t, ob.UpdateDelivery(ctx, d))
		}
		setStatus("ev-1", "crm", verification.DeliveryDelivered)
		setStatus("ev-1", "audit", verification.DeliveryDelivered)
		setStatus("ev-2", "crm", verification.DeliveryDead)
		setStatus("ev-3", "crm", verification.DeliveryDelivered)
		setStatus("ev-4", "audit", verification.DeliveryDead)

		type row struct {
			id, sink string
			subject  int64
			status   verification.DeliveryStatus
		}
		all := []row{
			{"ev-1", "audit", alice.ID, verification.DeliveryDelivered}, {"ev-1", "crm", alice.ID, verification.DeliveryDelivered},
			{"ev-2", "audit", bob.ID, verification.DeliveryPending}, {"ev-2", "crm", bob.ID, verification.DeliveryDead},
			{"ev-3", "audit", alice.ID, verification.DeliveryPending}, {"ev-3", "crm", alice.ID, verification.DeliveryDelivered},
			{"ev-4", "audit", bob.ID, verification.DeliveryDead}, {"ev-4", "crm", bob.ID, verification.DeliveryPending},
			{"ev-5", "audit", alice.ID, verification.DeliveryPending}, {"ev-5", "crm", alice.ID, verification.DeliveryPending},
		}
		for _, f := range []verification.DeliveryFilter{
			{Limit: 100},
			{Limit: 3},
			{Limit: 3, Offset: 3},
			{Limit: 3, Offset: 9},
			{Limit: 3, Offset: 10},
			{Limit: 3, Offset: 50},
			{},
			{Sink: "crm", Limit: 100},
			{Sink: "nobody", Limit: 100},
			{Status: verification.DeliveryPending, Limit: 100},
			{Status: verification.DeliveryDead, Limit: 100},
			{Status: verification.DeliveryDead, Sink: "audit", Limit: 100},
			{Status: verification.DeliveryDelivered, Limit: 1, Offset: 1},
			{SubjectID: alice.ID, Limit: 100},
			{SubjectID: bob.ID, Status: verification.DeliveryPending, Limit: 100},
			{SubjectID: bob.ID + 1000, Limit: 100},
			{EventID: "ev-4", Limit: 100},
			{EventID: "ev-4", Sink: "crm", Limit: 100},
			{EventID: "ev-404", Limit: 100},
			{Sink: "audit", SubjectID: alice.ID, Limit: 2, Offset: 1},
		} {
			want := []string{}
			total := 0
			for _, r := range all {
				if (f.Sink == "" || r.sink == f.Sink) && (f.Status == "" || r.status == f.Status) &&
					(f.SubjectID == 0 || r.subject == f.SubjectID) && (f.EventID == "" || r.id == f.EventID) {
					if total >= f.Offset && len(want) < f.Limit {
						want = append(want, r.id+"/"+r.sink)
					}
					total++
				}
			}
			what := fmt.Sprintf("ListDeliveries(%+v) (alice is %d, bob %d)", f, alice.ID, bob.ID)
			page, err := ob.ListDeliveries(ctx, f)
			got, gotTotal := page.Items, page.Total
			require.NoError(t, err, what)
			require.Equal(t, total, gotTotal, "%s: the total matching the filters, whatever Limit and Offset", what)
			require.Equal(t, want, deliveryKeys(got), "%s: Seq then sink order; Limit 0 returns only the total", what)
			for _, d := range got {
				for _, r := range all {
					if r.id == d.Event.ID && r.sink == d.Sink {
						require.Equal(t, r.status, d.Status, "%s: status of %s/%s", what, r.id, r.sink)
						require.Equal(t, r.subject, d.Event.SubjectID, what)
					}
				}
			}
		}

		// Returned values are copies.
		page, err := ob.ListDeliveries(ctx, verification.DeliveryFilter{EventID: "ev-1", Sink: "crm", Limit: 1})
		got := page.Items
		require.NoError(t, err)
		require.Len(t, got, 1)
		for i := range got[0].Event.Data {
			got[0].Event.Data[i] = ' '
		}
		requireJSON(t, json.RawMessage(`{"event": "ev-1", "level": 1}`), listOne(t, ob, "ev-1", "crm").Event.Data, "ListDeliveries must return copies of the event's Data")
	})

	test(t, newStore, "RolledBackEventLeavesNoDelivery", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		ob := requireOutbox(t, s)
		alice := newSubject(t, s, "alice")
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			e := newEvent(alice.ID, "ev-1", 0)
			if err := tx.AddEvent(ctx, &e); err != nil {
				return err
			}
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		page, err := ob.ListDeliveries(ctx, verification.DeliveryFilter{Limit: 100})
		got, total := page.Items, page.Total
		require.NoError(t, err)
		require.Zero(t, total, "an event rolled back must leave no delivery (got %v)", deliveryKeys(got))
		requireClaims(t, ob, at(10), at(20), nil, "nothing to claim after a rollback")

		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			e := newEvent(alice.ID, "ev-1", 0)
			return tx.AddEvent(ctx, &e)
		}), "the rolled-back event's ID is free again")
		requireClaims(t, ob, at(10), at(20), []string{"ev-1/crm"}, "a committed event's delivery")
	})

	test(t, newStore, "CancelledContext", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		ob := requireOutbox(t, s)
		alice := newSubject(t, s, "alice")
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		addOutboxEvent(t, s, alice.ID, "ev-1", 0)
		dead := cancelledContext(t)
		require.ErrorIs(t, ob.RegisterSink(dead, "audit"), context.Canceled, "RegisterSink")
		_, err := ob.ClaimDeliveries(dead, at(1), at(10), 10)
		require.ErrorIs(t, err, context.Canceled, "ClaimDeliveries")
		d := listOne(t, ob, "ev-1", "crm")
		d.Status = verification.DeliveryDead
		require.ErrorIs(t, ob.UpdateDelivery(dead, d), context.Canceled, "UpdateDelivery")
		_, err = ob.ListDeliveries(dead, verification.DeliveryFilter{Limit: 10})
		require.ErrorIs(t, err, context.Canceled, "ListDeliveries")
		requireClaims(t, ob, at(1), at(10), []string{"ev-1/crm"}, "calls with a cancelled context must not write")
	})
}

// requireOutbox returns the outbox part of s (OutboxStore is part of
// verification.Store), so that the outbox cases read as outbox calls.
func requireOutbox(t *testing.T, s verification.Store) verification.OutboxStore {
	t.Helper()
	return s
}

// addOutboxEvent adds (and commits) newEvent(subjectID, id, minute).
func addOutboxEvent(t *testing.T, s verification.Store, subjectID int64, id string, minute int) verification.Event {
	t.Helper()
	e := newEvent(subjectID, id, minute)
	require.NoError(t, s.InTx(t.Context(), func(ctx context.Context, tx verification.Store) error {
		return tx.AddEvent(ctx, &e)
	}), "AddEvent(%s)", id)
	return e
}

// listOne returns the delivery of event id to sink.
func listOne(t *testing.T, ob verification.OutboxStore, id, sink string) verification.Delivery {
	t.Helper()
	page, err := ob.ListDeliveries(t.Context(), verification.DeliveryFilter{EventID: id, Sink: sink, Limit: 10})
	got, total := page.Items, page.Total
	require.NoError(t, err)
	require.Equal(t, 1, total, "deliveries of %s to %s", id, sink)
	require.Len(t, got, 1, "deliveries of %s to %s", id, sink)
	return got[0]
}

// requireClaims claims (limit 10) and checks which deliveries came back.
func requireClaims(t *testing.T, ob verification.OutboxStore, now, leaseUntil time.Time, want []string, what string) {
	t.Helper()
	got, err := ob.ClaimDeliveries(t.Context(), now, leaseUntil, 10)
	require.NoError(t, err, what)
	if want == nil {
		want = []string{}
	}
	require.Equal(t, want, deliveryKeys(got), "ClaimDeliveries(now %v, lease until %v): %s", now, leaseUntil, what)
}

// markDelivered records a successful attempt of d.
func markDelivered(t *testing.T, ob verification.OutboxStore, d verification.Delivery, when time.Time) {
	t.Helper()
	d.Status, d.Attempts, d.LeaseUntil, d.DeliveredAt = verification.DeliveryDelivered, d.Attempts+1, time.Time{}, when
	require.NoError(t, ob.UpdateDelivery(t.Context(), d), "UpdateDelivery(%s/%s delivered)", d.Event.ID, d.Sink)
}

func requireDelivery(t *testing.T, want, got verification.Delivery, what string) {
	t.Helper()
	requireEvent(t, want.Event, got.Event, what+": Event")
	want.Event, got.Event = verification.Event{}, verification.Event{}
	require.Equal(t, want, got, "%s: the delivery read back differs from the one written", what)
}

// deliveryKeys returns "eventID/sink" for each delivery (never nil).
func deliveryKeys(ds []verification.Delivery) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.Event.ID+"/"+d.Sink)
	}
	return out
}
