package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// emit adds one event for subject in a transition-like transaction (lock
// the subject, then add the event).
func emit(ctx context.Context, s *Store, subject int64, id string, at time.Time) error {
	return s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		if _, err := tx.LockSubject(ctx, subject); err != nil {
			return err
		}
		e := verification.Event{ID: id, SubjectID: subject, Type: verification.EventRequirementSubmitted,
			Data: json.RawMessage(`{"n":1}`), OccurredAt: at}
		return tx.AddEvent(ctx, &e)
	})
}

// deliveryLog records what a sink received, shared by the sinks of
// several dispatchers.
type deliveryLog struct {
	mu       sync.Mutex
	count    map[string]int    // event ID -> deliveries
	order    map[int64][]int64 // subject -> Seqs in delivery order
	inFlight map[int64]int     // subject -> deliveries running now
	by       map[string]int    // dispatcher -> deliveries
	problems []string
}

func newDeliveryLog() *deliveryLog {
	return &deliveryLog{count: map[string]int{}, order: map[int64][]int64{}, inFlight: map[int64]int{}, by: map[string]int{}}
}

// sink returns a SubscriberFunc named name that records into l as
// dispatcher who, taking pause per delivery.
func (l *deliveryLog) sink(name, who string, pause time.Duration) verification.Sink {
	return verification.SubscriberFunc(name, func(ctx context.Context, e verification.Event) error {
		l.mu.Lock()
		l.count[e.ID]++
		l.by[who]++
		l.order[e.SubjectID] = append(l.order[e.SubjectID], e.Seq)
		l.inFlight[e.SubjectID]++
		if n := l.inFlight[e.SubjectID]; n > 1 {
			l.problems = append(l.problems, fmt.Sprintf("subject %d: %d deliveries at once (%s)", e.SubjectID, n, e.ID))
		}
		l.mu.Unlock()
		time.Sleep(pause)
		l.mu.Lock()
		l.inFlight[e.SubjectID]--
		l.mu.Unlock()
		return nil
	})
}

func (l *deliveryLog) delivered() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.count)
}

// check asserts that exactly the events in ids were delivered, once each,
// in Seq order per subject, one at a time per subject.
func (l *deliveryLog) check(t *testing.T, ids []string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	require.Empty(t, l.problems)
	require.Len(t, l.count, len(ids), "every event delivered")
	for _, id := range ids {
		require.Equal(t, 1, l.count[id], "event %s delivered %d times", id, l.count[id])
	}
	for sub, seqs := range l.order {
		for i := 1; i < len(seqs); i++ {
			require.Less(t, seqs[i-1], seqs[i], "subject %d: delivered out of Seq order: %v", sub, seqs)
		}
	}
}

// TestDispatchersShareWorkAcrossPools runs two Dispatchers, each on its own
// pool and Store (two replicas of an application), with a sink of the same
// name, over 300 events for 30 subjects (half of them a backlog waiting
// when the dispatchers start, half emitted while they run): every event is
// delivered exactly once (no crash, so no redelivery), per subject in Seq
// order and one at a time, and both dispatchers take part.
func TestDispatchersShareWorkAcrossPools(t *testing.T) {
	t.Parallel()
	const subjects, perSubject = 30, 10
	schema := newSchema(t)
	stores := []*Store{openOwnPool(t, schema), openOwnPool(t, schema)}
	ctx := ctxTimeout(t)
	log := newDeliveryLog()

	dispatchers := make([]*verification.Dispatcher, len(stores))
	for i, s := range stores {
		who := fmt.Sprint("replica-", i)
		d, err := verification.NewDispatcher(s, verification.DispatcherOptions{
			Sinks:        []verification.Sink{log.sink("audit", who, 2*time.Millisecond)},
			PollInterval: 10 * time.Millisecond,
			Concurrency:  8,
		})
		require.NoError(t, err)
		require.NoError(t, d.Register(ctx), "register before the first events")
		dispatchers[i] = d
	}
	subs := make([]verification.Subject, subjects)
	for i := range subs {
		subs[i] = newSubject(t, stores[0], fmt.Sprintf("disp%02d", i))
	}
	var ids []string
	for n := range perSubject {
		for i := range subs {
			ids = append(ids, fmt.Sprintf("ev-%02d-%02d", i, n))
		}
	}
	// emitRange emits events [from, to) of every subject from four
	// goroutines on both pools.
	emitRange := func(from, to int) {
		emitErr := make(chan error, 4)
		var emitted sync.WaitGroup
		for w := range 4 {
			emitted.Go(func() {
				// Subject by subject, so that a subject's events have
				// neighbouring Seqs (the head-of-line rule then matters).
				for i := w; i < subjects; i += 4 {
					for n := from; n < to; n++ {
						id := fmt.Sprintf("ev-%02d-%02d", i, n)
						if err := emit(ctx, stores[(i+n)%2], subs[i].ID, id, time.Now().UTC().Truncate(time.Microsecond)); err != nil {
							emitErr <- fmt.Errorf("emit %s: %w", id, err)
							return
						}
						for _, d := range dispatchers {
							d.Notify()
						}
					}
				}
			})
		}
		emitted.Wait()
		close(emitErr)
		for err := range emitErr {
			require.NoError(t, err)
		}
	}

	// A backlog of five events per subject waits for the dispatchers (as
	// after an outage); the other five are emitted while they run.
	emitRange(0, perSubject/2)
	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	for _, d := range dispatchers {
		running.Go(func() {
			if err := d.Run(runCtx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	defer func() {
		stop()
		running.Wait()
	}()
	emitRange(perSubject/2, perSubject)

	deadline := time.Now().Add(20 * time.Second)
	for log.delivered() < len(ids) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// Let the dispatchers record the last outcomes and look for more work.
	time.Sleep(100 * time.Millisecond)
	stop()
	running.Wait()

	log.check(t, ids)
	log.mu.Lock()
	t.Logf("deliveries per dispatcher: %v", log.by)
	require.Positive(t, log.by["replica-0"], "both dispatchers share the work")
	require.Positive(t, log.by["replica-1"], "both dispatchers share the work")
	log.mu.Unlock()
	page, err := stores[0].ListDeliveries(ctx, verification.DeliveryFilter{Status: verification.DeliveryPending})
	pending := page.Total
	require.NoError(t, err)
	require.Zero(t, pending)
	page, err = stores[1].ListDeliveries(ctx, verification.DeliveryFilter{Status: verification.DeliveryDelivered, Limit: 1000})
	got, delivered := page.Items, page.Total
	require.NoError(t, err)
	require.Equal(t, len(ids), delivered)
	for _, d := range got {
		require.Equal(t, 1, d.Attempts, "%s: one attempt", d.Event.ID)
		require.True(t, d.LeaseUntil.IsZero(), "%s: lease released", d.Event.ID)
		require.False(t, d.DeliveredAt.IsZero(), "%s: delivery time", d.Event.ID)
	}
}

// TestDispatcherTakesOverAfterLease: a replica claims deliveries and dies
// before delivering them; another replica's dispatcher delivers them once
// the lease has run out, and not before.
func TestDispatcherTakesOverAfterLease(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	crashed, alive := openOwnPool(t, schema), openOwnPool(t, schema)
	ctx := ctxTimeout(t)
	log := newDeliveryLog()
	d, err := verification.NewDispatcher(alive, verification.DispatcherOptions{
		Sinks:        []verification.Sink{log.sink("audit", "alive", 0)},
		PollInterval: 10 * time.Millisecond,
	})
	require.NoError(t, err)
	require.NoError(t, d.Register(ctx))
	sub := newSubject(t, alive, "takeover")
	var ids []string
	for n := range 5 {
		id := fmt.Sprint("ev-", n)
		require.NoError(t, emit(ctx, alive, sub.ID, id, time.Now().UTC().Truncate(time.Microsecond)))
		ids = append(ids, id)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	lease := now.Add(2 * time.Second)
	claimed, err := crashed.ClaimDeliveries(ctx, now, lease, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"ev-0/audit"}, keysOf(claimed), "only the subject's oldest delivery")

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(runCtx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	require.Zero(t, log.delivered(), "nothing of the subject is delivered while the dead replica's lease holds")
	deadline := time.Now().Add(10 * time.Second)
	for log.delivered() < len(ids) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
	log.check(t, ids)
	require.False(t, time.Now().Before(lease))
}

// TestClaimSkipsLockedDeliveries: a claimer never waits for a delivery
// another transaction holds (FOR UPDATE SKIP LOCKED); it takes the next
// due ones instead.
func TestClaimSkipsLockedDeliveries(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	a, b := openOwnPool(t, schema), openOwnPool(t, schema)
	ctx := ctxTimeout(t)
	require.NoError(t, a.RegisterSink(ctx, "audit"))
	alice, bob := newSubject(t, a, "alice"), newSubject(t, a, "bob")
	now := time.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, emit(ctx, a, alice.ID, "ev-1", now))
	require.NoError(t, emit(ctx, a, bob.ID, "ev-2", now))

	err := a.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		got, err := tx.ClaimDeliveries(ctx, now, now.Add(time.Minute), 1)
		require.NoError(t, err)
		require.Equal(t, []string{"ev-1/audit"}, keysOf(got))
		// ev-1 is locked by this uncommitted claim: b skips it, without waiting.
		short, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		got, err = b.ClaimDeliveries(short, now, now.Add(time.Minute), 10)
		require.NoError(t, err, "a claim must not wait for another claimer's locks")
		require.Equal(t, []string{"ev-2/audit"}, keysOf(got))
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
	got, err := b.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Equal(t, []string{"ev-1/audit"}, keysOf(got), "the rolled-back claim left ev-1 unleased")
}

func keysOf(ds []verification.Delivery) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.Event.ID+"/"+d.Sink)
	}
	return out
}

// TestClaimDeliveriesUsesIndexes asserts, with EXPLAIN ANALYZE over 200,000
// deliveries of which 2,000 are pending, that a claim reads the pending
// deliveries only: no plan node on deliveries is a sequential scan or
// filters out more rows than there are pending ones, with the actual
// parameters and with the generic plan PostgreSQL may switch to after a
// prepared statement's fifth run.
func TestClaimDeliveriesUsesIndexes(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxTimeout(t)
	const events, pending = 100_000, 1_000
	exec(t, s, `INSERT INTO {{schema}}.sinks (name) VALUES ('audit'), ('crm')`)
	exec(t, s, `INSERT INTO {{schema}}.events (id, subject_id, type, occurred_at)
		SELECT 'ev-' || g, g % 500, 'level.granted', '2024-01-01T00:00:00Z'::timestamptz FROM generate_series(1, $1::int) g`, events)
	exec(t, s, `INSERT INTO {{schema}}.deliveries (event_seq, sink, subject_id, status, attempts, next_attempt_at, delivered_at)
		SELECT e.seq, k.name, e.subject_id,
		       CASE WHEN e.seq > $1::bigint THEN 'pending' WHEN e.seq % 1000 = 0 THEN 'dead' ELSE 'delivered' END,
		       CASE WHEN e.seq > $1::bigint THEN 0 ELSE 1 END, e.occurred_at,
		       CASE WHEN e.seq > $1::bigint THEN NULL ELSE e.occurred_at END
		  FROM {{schema}}.events e CROSS JOIN {{schema}}.sinks k`, events-pending)
	exec(t, s, `ANALYZE {{schema}}.events`)
	exec(t, s, `ANALYZE {{schema}}.deliveries`)

	now := time.Date(2024, time.January, 2, 0, 0, 0, 0, time.UTC)
	got, err := s.ClaimDeliveries(ctx, now, now.Add(time.Minute), 8)
	require.NoError(t, err)
	require.Len(t, got, 8)
	require.Equal(t, int64(events-pending+1), got[0].Event.Seq, "the oldest pending delivery first")

	conn, err := s.db.pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	check := func(what, stmt string, args ...any) {
		t.Helper()
		// EXPLAIN ANALYZE runs the UPDATE: roll it back.
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		if strings.HasPrefix(stmt, "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE") {
			_, err = tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan")
			require.NoError(t, err)
		}
		var plan []map[string]any
		require.NoError(t, tx.QueryRow(ctx, stmt, args...).Scan(&plan))
		require.Len(t, plan, 1)
		var walk func(node map[string]any)
		walk = func(node map[string]any) {
			if node["Relation Name"] == "events" {
				require.NotEqual(t, "Seq Scan", node["Node Type"], "%s: %v", what, plan)
			}
			if node["Relation Name"] == "deliveries" {
				require.NotEqual(t, "Seq Scan", node["Node Type"], "%s: %v", what, plan)
				removed, _ := node["Rows Removed by Filter"].(float64)
				require.LessOrEqual(t, removed, float64(2*pending), "%s: a %s on deliveries (%s) filtered out %v rows: it walks delivered history",
					what, node["Node Type"], node["Index Name"], removed)
			}
			children, _ := node["Plans"].([]any)
			for _, c := range children {
				walk(c.(map[string]any))
			}
		}
		walk(plan[0]["Plan"].(map[string]any))
	}
	for name, q := range map[string]string{"window": s.sql(claimSQL), "heads": s.sql(claimHeadsSQL)} {
		check(name+", custom plan", "EXPLAIN (ANALYZE, FORMAT JSON) "+q, tsIn(now.Add(time.Minute)), tsIn(now.Add(2*time.Minute)), int64(8))
		_, err = conn.Exec(ctx, "PREPARE kyc_claim AS "+q)
		require.NoError(t, err)
		check(name+", generic plan", "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE kyc_claim('2024-01-02T00:02:00Z', '2024-01-02T00:03:00Z', 8)")
		_, err = conn.Exec(ctx, "DEALLOCATE kyc_claim")
		require.NoError(t, err)
	}
	// The outcomes of the claimed deliveries, on the generic plan
	// UpdateAndClaimDeliveries gives them: key lookups, no scan of events
	// or deliveries. EXECUTE takes the arrays as literals.
	_, err = conn.Exec(ctx, "PREPARE kyc_update(text[], text[], text[], integer[], timestamptz[], timestamptz[], timestamptz[], text[], bigint[]) AS "+
		s.sql(updateDeliveriesSQL))
	require.NoError(t, err)
	var ids, sinks, fences []string
	for _, d := range got {
		ids, sinks, fences = append(ids, d.Event.ID), append(sinks, d.Sink), append(fences, strconv.FormatInt(d.Fence, 10))
	}
	same := func(v string) string { return "{" + strings.Repeat(v+",", len(got)-1) + v + "}" }
	check("outcomes, generic plan", fmt.Sprintf(
		"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE kyc_update('{%s}', '{%s}', '%s', '%s', '%s', '%s', '%s', '%s', '{%s}')",
		strings.Join(ids, ","), strings.Join(sinks, ","), same("delivered"), same("1"), same("NULL"), same("NULL"),
		same("2024-01-02T00:01:00Z"), same(`""`), strings.Join(fences, ",")))
}

var errRollback = errors.New("roll back")

// pendingOutbox registers sinks and adds events ev-1..ev-n (g = 1..n, the
// subject given by the SQL expression subject in g), each with one pending
// delivery per sink: a backlog written in bulk, without the Service.
func pendingOutbox(tb testing.TB, s *Store, sinks []string, n int, subject string) {
	tb.Helper()
	exec(tb, s, `INSERT INTO {{schema}}.sinks (name) SELECT unnest($1::text[])`, sinks)
	exec(tb, s, `INSERT INTO {{schema}}.events (id, subject_id, type, occurred_at)
		SELECT 'ev-' || g, `+subject+`, 'level.granted', '2024-01-01T00:00:00Z'::timestamptz FROM generate_series(1, $1::int) g`, n)
	exec(tb, s, `INSERT INTO {{schema}}.deliveries (event_seq, sink, subject_id)
		SELECT e.seq, k.name, e.subject_id FROM {{schema}}.events e CROSS JOIN {{schema}}.sinks k`)
}

// TestClaimFindsHeadsBeyondTheWindow checks claimSQL's second step: when
// the first claimWindow Seqs hold fewer claimable heads than asked for,
// the heads further on are claimed too, in Seq order, and a pair whose
// head is leased gives nothing.
func TestClaimFindsHeadsBeyondTheWindow(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxTimeout(t)
	// Subject 1: Seqs 1..2000; subject 2: 2001; subject 3: 2002 and 2003.
	pendingOutbox(t, s, []string{"audit"}, 2003, `CASE WHEN g <= 2000 THEN 1 WHEN g = 2001 THEN 2 ELSE 3 END`)
	now := time.Date(2024, time.January, 2, 0, 0, 0, 0, time.UTC)
	lease := now.Add(time.Minute)

	got, err := s.ClaimDeliveries(ctx, now, lease, 1)
	require.NoError(t, err)
	require.Equal(t, []string{"ev-1/audit"}, keysOf(got), "the window holds enough")
	got, err = s.ClaimDeliveries(ctx, now, lease, 8)
	require.NoError(t, err)
	require.Equal(t, []string{"ev-2001/audit", "ev-2002/audit"}, keysOf(got), "the heads beyond the window, none behind a leased head")
	got, err = s.ClaimDeliveries(ctx, now, lease, 8)
	require.NoError(t, err)
	require.Empty(t, got, "every head is leased")
	got, err = s.ClaimDeliveries(ctx, lease, lease.Add(time.Minute), 8)
	require.NoError(t, err)
	require.Equal(t, []string{"ev-1/audit", "ev-2001/audit", "ev-2002/audit"}, keysOf(got), "the leases ran out")
}

// TestClaimWithFewHeadsReadsEachQueueOnce asserts, with EXPLAIN ANALYZE,
// what a claim reads when every head is leased (a dispatcher whose
// deliveries in flight cover all its subjects): 24,000 pending deliveries
// of 24 (sink, subject) pairs. An unbounded scan in Seq order reads all of
// them (26,074 rows with their probes); the bounded window and the skip
// scan read about a thousand.
func TestClaimWithFewHeadsReadsEachQueueOnce(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxTimeout(t)
	const pending = 24_000
	pendingOutbox(t, s, []string{"audit", "crm"}, pending/2, `g % 12`)
	exec(t, s, `ANALYZE {{schema}}.events`)
	exec(t, s, `ANALYZE {{schema}}.deliveries`)
	now := time.Date(2024, time.January, 2, 0, 0, 0, 0, time.UTC)
	got, err := s.ClaimDeliveries(ctx, now, now.Add(time.Hour), 100)
	require.NoError(t, err)
	require.Len(t, got, 24, "one head per (sink, subject)")

	tx, err := s.db.pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	var read, ms float64
	var walk func(node map[string]any)
	walk = func(node map[string]any) {
		if node["Relation Name"] == "deliveries" {
			rows, _ := node["Actual Rows"].(float64)
			removed, _ := node["Rows Removed by Filter"].(float64)
			loops, _ := node["Actual Loops"].(float64)
			read += (rows + removed) * loops
		}
		children, _ := node["Plans"].([]any)
		for _, c := range children {
			walk(c.(map[string]any))
		}
	}
	// What ClaimDeliveries runs when the window comes back short.
	for _, q := range []string{claimSQL, claimHeadsSQL} {
		var plan []map[string]any
		require.NoError(t, tx.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+s.sql(q),
			tsIn(now.Add(time.Minute)), tsIn(now.Add(2*time.Minute)), int64(100)).Scan(&plan))
		require.Len(t, plan, 1)
		walk(plan[0]["Plan"].(map[string]any))
		took, _ := plan[0]["Execution Time"].(float64)
		ms += took
	}
	t.Logf("a claim with every head leased read %.0f rows of deliveries (%d pending) in %.1f ms", read, pending, ms)
	require.Less(t, read, float64(pending)/10, "the claim walked the backlog")
}

// TestClaimIsHOTUpdate asserts that a claim rewrites its deliveries in
// place (heap-only tuples, no index entries): the lease and the fence are
// in no index, and migration 0014 keeps room on every page for the new
// row versions (a claim of 16, twice the Dispatcher's batch: a page keeps
// room for about 45 versions until pruning frees its dead ones). At the
// default fillfactor the pages are full and none of these updates is HOT.
func TestClaimIsHOTUpdate(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxTimeout(t)
	pendingOutbox(t, s, []string{"audit"}, 2000, `g`)
	now := time.Date(2024, time.January, 2, 0, 0, 0, 0, time.UTC)

	conn, err := s.db.pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	rows, err := tx.Query(ctx, s.sql(claimSQL), tsIn(now), tsIn(now.Add(time.Minute)), int64(16))
	got, err := claimed(ctx, rows, err)
	require.NoError(t, err)
	require.Len(t, got, 16)
	var updated, hot int64
	require.NoError(t, tx.QueryRow(ctx, s.sql(`SELECT pg_stat_get_xact_tuples_updated('{{schema}}.deliveries'::regclass),
		pg_stat_get_xact_tuples_hot_updated('{{schema}}.deliveries'::regclass)`)).Scan(&updated, &hot))
	require.Equal(t, int64(16), updated)
	require.Equal(t, int64(16), hot, "every claim a HOT update")
}
