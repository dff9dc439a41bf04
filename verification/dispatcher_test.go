package verification_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
	"github.com/openkyc/kyc/webhooks"
)

// Generous waits, fast polls: the dispatcher runs on a loaded 2-core CI box.
const (
	dspWait = 10 * time.Second
	dspTick = 2 * time.Millisecond
)

// healthyTimeout is the delivery timeout of the tests that require a
// healthy receiver's answer never to be taken for a timeout.
const healthyTimeout = 3 * time.Second

// dspOptions are fast dispatcher settings for tests.
func dspOptions(sinks ...verification.Sink) verification.DispatcherOptions {
	return verification.DispatcherOptions{
		Sinks:        sinks,
		PollInterval: 5 * time.Millisecond,
		Lease:        2 * time.Second,
		Timeout:      500 * time.Millisecond,
		BackoffBase:  time.Millisecond,
		BackoffMax:   10 * time.Millisecond,
	}
}

func newDispatcher(t *testing.T, svc *verification.Service, opts verification.DispatcherOptions) *verification.Dispatcher {
	t.Helper()
	d, err := verification.NewDispatcher(verificationtest.StoreOf(svc), opts)
	require.NoError(t, err)
	return d
}

// startDispatcher runs d.Run in a goroutine. stop cancels it and waits for
// Run to return nil; it also runs at cleanup.
func startDispatcher(t *testing.T, d *verification.Dispatcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-ran:
				require.NoError(t, err, "Run")
			case <-time.After(dspWait):
				t.Fatal("Run did not return after its context was cancelled")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func outboxOf(t *testing.T, svc *verification.Service) verification.OutboxStore {
	t.Helper()
	return verificationtest.StoreOf(svc)
}

// dspActivity walks a new subject through the Level 1 transitions (and one
// refused answer): 10 events, created + granted included.
const dspEventsPerSubject = 10

func dspActivity(ctx context.Context, svc *verification.Service) (int64, error) {
	sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: verificationtest.Identifier()})
	if err != nil {
		return 0, err
	}
	id := sub.ID
	for _, a := range []struct{ name, answer string }{{"isBusiness", `false`}, {"nationality", `"NL"`}, {"emailCode", `"123456"`}} {
		if _, err := svc.Answer(ctx, id, a.name, json.RawMessage(a.answer)); err != nil {
			return id, fmt.Errorf("answer %s: %w", a.name, err)
		}
	}
	// Refused inside its transaction (a review is pending): emits nothing.
	if _, err := svc.Answer(ctx, id, "emailCode", json.RawMessage(`"654321"`)); !errors.Is(err, verification.ErrConflict) {
		return id, fmt.Errorf("a second emailCode answer must be refused with ErrConflict, got %v", err)
	}
	if _, err := svc.Review(ctx, verification.AdminActor(7, nil), verification.ReviewParams{SubjectID: id, Requirement: "emailCode", Decision: verification.Approve}); err != nil {
		return id, fmt.Errorf("review: %w", err)
	}
	if _, err := svc.GrantLevel(ctx, verification.AdminActor(7, nil), verification.GrantLevelParams{SubjectID: id, Level: 1, Reason: "manual downgrade"}); err != nil {
		return id, fmt.Errorf("grant: %w", err)
	}
	return id, nil
}

// dspActivities runs dspActivity for n subjects concurrently.
func dspActivities(t *testing.T, svc *verification.Service, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i], errs[i] = dspActivity(context.Background(), svc) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	for _, id := range ids {
		verificationtest.RequireEvents(t, svc, id,
			verification.EventSubjectCreated, verification.EventLevelGranted,
			verification.EventRequirementSubmitted, verification.EventRequirementApproved,
			verification.EventRequirementSubmitted, verification.EventRequirementApproved,
			verification.EventRequirementSubmitted,
			verification.EventRequirementApproved, verification.EventLevelGranted,
			verification.EventLevelGranted)
	}
	return ids
}

// seenEvent is one call of a sink, as the receiving side saw it.
type seenEvent struct {
	ID        string
	SubjectID int64
}

// sinkLog is what a test receiver recorded.
type sinkLog interface {
	// seen lists every call (attempts included) in arrival order.
	seen() []seenEvent
	// accepted counts the calls the receiver acknowledged, per event id.
	accepted() map[string]int
}

type hookAction int

const (
	hookAccept hookAction = iota
	hookFail              // answer 500
	hookHang              // answer nothing until the sender gives up
)

// hookReceiver is a real webhook endpoint (httptest) that checks every
// request's signature and behaves as decide says (nil: accept everything).
type hookReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	decide func(p webhooks.Payload, attempt int) hookAction
	stop   chan struct{}

	mu       sync.Mutex
	calls    []seenEvent
	attempts map[string]int
	acks     map[string]int
	badSigs  int
}

func newHookReceiver(t *testing.T, decide func(p webhooks.Payload, attempt int) hookAction) *hookReceiver {
	t.Helper()
	r := &hookReceiver{t: t, secret: webhooks.NewSecret(), decide: decide, stop: make(chan struct{}), attempts: map[string]int{}, acks: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	t.Cleanup(func() { close(r.stop) }) // runs first: ends hanging handlers
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		assert.Zero(t, r.badSigs, "requests whose signature did not verify")
	})
	return r
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	if err := webhooks.Verify([]string{r.secret}, req.Header, body, time.Now()); err != nil {
		r.mu.Lock()
		r.badSigs++
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var p webhooks.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		r.mu.Lock()
		r.badSigs++
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.calls = append(r.calls, seenEvent{p.ID, p.SubjectID})
	r.attempts[p.ID]++
	n := r.attempts[p.ID]
	r.mu.Unlock()
	action := hookAccept
	if r.decide != nil {
		action = r.decide(p, n)
	}
	switch action {
	case hookFail:
		w.WriteHeader(http.StatusInternalServerError)
	case hookHang:
		select {
		case <-req.Context().Done():
		case <-r.stop:
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		r.mu.Lock()
		r.acks[p.ID]++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

// sink returns a webhook Sink named name that posts to the receiver.
func (r *hookReceiver) sink(name string) verification.Sink {
	r.t.Helper()
	w, err := webhooks.New(name, r.srv.URL+"/hooks?token=test", webhooks.Options{Secrets: []string{r.secret}})
	require.NoError(r.t, err)
	return w
}

func (r *hookReceiver) seen() []seenEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seenEvent(nil), r.calls...)
}

func (r *hookReceiver) accepted() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.acks))
	for k, v := range r.acks {
		out[k] = v
	}
	return out
}

func (r *hookReceiver) attemptsOf(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts[id]
}

// subRecorder is an in-process subscriber; decide (nil: accept) may fail,
// block or panic.
type subRecorder struct {
	decide func(ctx context.Context, e verification.Event, attempt int) error

	mu       sync.Mutex
	calls    []seenEvent
	attempts map[string]int
	acks     map[string]int
}

func (r *subRecorder) sink(name string) verification.Sink {
	return verification.SubscriberFunc(name, func(ctx context.Context, e verification.Event) error {
		r.mu.Lock()
		if r.attempts == nil {
			r.attempts, r.acks = map[string]int{}, map[string]int{}
		}
		r.calls = append(r.calls, seenEvent{e.ID, e.SubjectID})
		r.attempts[e.ID]++
		n := r.attempts[e.ID]
		r.mu.Unlock()
		if r.decide != nil {
			if err := r.decide(ctx, e, n); err != nil {
				return err
			}
		}
		r.mu.Lock()
		r.acks[e.ID]++
		r.mu.Unlock()
		return nil
	})
}

func (r *subRecorder) seen() []seenEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seenEvent(nil), r.calls...)
}

func (r *subRecorder) accepted() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.acks))
	for k, v := range r.acks {
		out[k] = v
	}
	return out
}

// eventsAfter returns the committed events with a Seq above after.
func eventsAfter(t *testing.T, svc *verification.Service, after int64) []verification.Event {
	t.Helper()
	evs, err := verificationtest.StoreOf(svc).ListEvents(context.Background(), verification.EventFilter{AfterSeq: after})
	require.NoError(t, err)
	return evs
}

// lastSeq is the Seq of the newest committed event (0 for none).
func lastSeq(t *testing.T, svc *verification.Service) int64 {
	t.Helper()
	evs := eventsAfter(t, svc, 0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

// waitAccepted waits until every log acknowledged every event of evs.
func waitAccepted(t *testing.T, evs []verification.Event, logs map[string]sinkLog) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for name, l := range logs {
			acks := l.accepted()
			missing := 0
			for _, e := range evs {
				if acks[e.ID] == 0 {
					missing++
				}
			}
			assert.Zero(c, missing, "sink %s: events of %d not acknowledged yet", name, len(evs))
		}
	}, dspWait, dspTick)
}

// requireOrdered checks that every call a sink saw is of a committed event
// of evs and that, per subject, calls arrived in Seq order (retries repeat
// an event; a later event never comes before an earlier one).
func requireOrdered(t *testing.T, evs []verification.Event, name string, l sinkLog) {
	t.Helper()
	seq := make(map[string]int64, len(evs))
	for _, e := range evs {
		seq[e.ID] = e.Seq
	}
	last := map[int64]int64{}
	for i, s := range l.seen() {
		n, ok := seq[s.ID]
		require.True(t, ok, "sink %s: call %d is of event %s, which is not a committed event after registration", name, i, s.ID)
		require.GreaterOrEqual(t, n, last[s.SubjectID], "sink %s: call %d (event %s, Seq %d) of subject %d came after Seq %d", name, i, s.ID, n, s.SubjectID, last[s.SubjectID])
		last[s.SubjectID] = n
	}
}

// requireOnce checks that a healthy sink acknowledged each event exactly once.
func requireOnce(t *testing.T, evs []verification.Event, name string, l sinkLog) {
	t.Helper()
	acks := l.accepted()
	for _, e := range evs {
		require.Equal(t, 1, acks[e.ID], "sink %s: acknowledgements of event %s (%s)", name, e.ID, e.Type)
	}
	require.Len(t, acks, len(evs), "sink %s: acknowledged events", name)
}

// requireNoPending waits until the store records every delivery done (a
// sink acknowledges an event a moment before the dispatcher records it).
func requireNoPending(t *testing.T, svc *verification.Service, wantDelivered int) {
	t.Helper()
	ob := outboxOf(t, svc)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		page, err := ob.ListDeliveries(context.Background(), verification.DeliveryFilter{Status: verification.DeliveryPending})
		pending := page.Total
		assert.NoError(c, err)
		assert.Zero(c, pending, "pending deliveries")
		page, err = ob.ListDeliveries(context.Background(), verification.DeliveryFilter{Status: verification.DeliveryDelivered})
		delivered := page.Total
		assert.NoError(c, err)
		assert.Equal(c, wantDelivered, delivered, "delivered deliveries")
	}, dspWait, dspTick)
}

func TestDispatcherDeliversEveryCommittedEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	early := verificationtest.CreateSubject(t, svc) // before any sink exists
	hook := newHookReceiver(t, nil)
	sub := &subRecorder{}
	d := newDispatcher(t, svc, dspOptions(hook.sink("crm"), sub.sink("mailer")))
	require.NoError(t, d.Register(ctx))
	registered := lastSeq(t, svc)
	startDispatcher(t, d)

	const subjects = 6
	dspActivities(t, svc, subjects)
	// A transaction that adds an event and then fails leaves nothing behind.
	boom := errors.New("boom")
	err := verificationtest.StoreOf(svc).InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		e := verification.Event{ID: "rolled-back", SubjectID: early.ID, Type: verification.EventSubjectDeleted, Data: json.RawMessage(`{}`), OccurredAt: verificationtest.Start}
		if err := tx.AddEvent(ctx, &e); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	// A refused transition emits nothing either.
	_, err = svc.GrantLevel(ctx, verification.AdminActor(7, nil), verification.GrantLevelParams{SubjectID: early.ID, Level: 1, Reason: "same level"})
	require.ErrorIs(t, err, verification.ErrConflict)

	evs := eventsAfter(t, svc, registered)
	require.Equal(t, subjects*dspEventsPerSubject, len(evs), "the committed events after registration")
	logs := map[string]sinkLog{"crm": hook, "mailer": sub}
	waitAccepted(t, evs, logs)
	for name, l := range logs {
		requireOrdered(t, evs, name, l)
		requireOnce(t, evs, name, l)
		for _, s := range l.seen() {
			require.NotEqual(t, "rolled-back", s.ID, "sink %s got the rolled-back event", name)
			require.NotEqual(t, early.ID, s.SubjectID, "sink %s got an event added before the sinks were registered", name)
		}
	}
	requireNoPending(t, svc, 2*len(evs))
	all := eventsAfter(t, svc, 0)
	require.Equal(t, len(evs)+2, len(all), "the early subject's two events, then the rest; no rolled-back event")
}

func TestDispatcherOrderPerSubjectWithFlakyReceivers(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	var rngMu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, seed>>7))
	roll := func() float64 {
		rngMu.Lock()
		defer rngMu.Unlock()
		return rng.Float64()
	}
	var hookHangs, subHangs atomic.Int32
	flaky := newHookReceiver(t, func(webhooks.Payload, int) hookAction {
		switch x := roll(); {
		case x < 0.05 && hookHangs.Add(1) <= 3: // beyond the 500 ms timeout
			return hookHang
		case x < 0.35:
			return hookFail
		}
		return hookAccept
	})
	healthy := newHookReceiver(t, nil)
	flakySub := &subRecorder{decide: func(ctx context.Context, _ verification.Event, _ int) error {
		switch x := roll(); {
		case x < 0.04 && subHangs.Add(1) <= 2:
			<-ctx.Done() // until the dispatcher's timeout
			return ctx.Err()
		case x < 0.3:
			return errors.New("subscriber failed")
		}
		return nil
	}}
	svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	opts := dspOptions(flaky.sink("flaky-hook"), healthy.sink("healthy-hook"), flakySub.sink("flaky-subscriber"))
	opts.MaxAttempts = 100
	// requireOnce below needs every answer of the healthy hook to arrive
	// within Timeout: on a loaded CI box under -race, 500 ms was sometimes
	// too short, the dispatcher counted an acknowledged delivery as failed
	// and sent it again (at least once, as designed), and the healthy hook
	// acknowledged it twice.
	opts.Timeout, opts.Lease = healthyTimeout, 2*healthyTimeout
	d := newDispatcher(t, svc, opts)
	require.NoError(t, d.Register(context.Background()))
	startDispatcher(t, d)

	const subjects = 8
	dspActivities(t, svc, subjects)
	evs := eventsAfter(t, svc, 0)
	require.Equal(t, subjects*dspEventsPerSubject, len(evs))
	logs := map[string]sinkLog{"flaky-hook": flaky, "healthy-hook": healthy, "flaky-subscriber": flakySub}
	waitAccepted(t, evs, logs)
	for name, l := range logs {
		requireOrdered(t, evs, name, l)
	}
	requireOnce(t, evs, "healthy-hook", healthy)
	requireNoPending(t, svc, 3*len(evs))
	page, err := d.DeadLetters(context.Background(), "", 10, 0)
	dead, total := page.Items, page.Total
	require.NoError(t, err)
	require.Zero(t, total, "dead letters: %v", dead)
	t.Logf("flaky webhook: %d calls for %d events; flaky subscriber: %d calls", len(flaky.seen()), len(evs), len(flakySub.seen()))
}

func TestDispatcherRestartDeliversNoneTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	// A healthy but not instant receiver, so that requests are in flight
	// when a dispatcher stops.
	hook := newHookReceiver(t, func(webhooks.Payload, int) hookAction {
		time.Sleep(5 * time.Millisecond)
		return hookAccept
	})
	sub := &subRecorder{}
	opts := func() verification.DispatcherOptions {
		o := dspOptions(hook.sink("crm"), sub.sink("mailer"))
		// "one call per event, no retry" needs every answer within Timeout
		// (see TestDispatcherOrderPerSubjectWithFlakyReceivers).
		o.Timeout, o.Lease = healthyTimeout, 2*healthyTimeout
		return o
	}
	logs := map[string]sinkLog{"crm": hook, "mailer": sub}

	// First run: deliver everything, then stop while idle.
	d1 := newDispatcher(t, svc, opts())
	require.NoError(t, d1.Register(ctx))
	stop1 := startDispatcher(t, d1)
	dspActivities(t, svc, 3)
	waitAccepted(t, eventsAfter(t, svc, 0), logs)
	stop1()

	// No dispatcher running: events wait in the outbox.
	before := lastSeq(t, svc)
	dspActivities(t, svc, 3)
	page, err := outboxOf(t, svc).ListDeliveries(ctx, verification.DeliveryFilter{Status: verification.DeliveryPending})
	pending := page.Total
	require.NoError(t, err)
	require.Equal(t, 2*len(eventsAfter(t, svc, before)), pending, "deliveries wait for a dispatcher")

	// Second run, a new Dispatcher on the same store: stopped while
	// requests are in flight (events keep coming); in-flight deliveries
	// finish within the shutdown grace, so nothing is sent twice.
	d2 := newDispatcher(t, svc, opts())
	stop2 := startDispatcher(t, d2)
	activity := make(chan error, 1)
	go func() {
		for range 3 {
			if _, err := dspActivity(ctx, svc); err != nil {
				activity <- err
				return
			}
		}
		activity <- nil
	}()
	require.Eventually(t, func() bool { return len(hook.seen()) > 3*dspEventsPerSubject+5 }, dspWait, time.Millisecond)
	stop2()
	require.NoError(t, <-activity)

	// Third run picks up the rest.
	d3 := newDispatcher(t, svc, opts())
	startDispatcher(t, d3)
	evs := eventsAfter(t, svc, 0)
	require.Equal(t, 9*dspEventsPerSubject, len(evs))
	waitAccepted(t, evs, logs)
	for name, l := range logs {
		requireOnce(t, evs, name, l)
		requireOrdered(t, evs, name, l)
		require.Len(t, l.seen(), len(evs), "sink %s: one call per event, no retry", name)
	}
	requireNoPending(t, svc, 2*len(evs))
}

func TestDispatcherKilledMidDelivery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	entered := make(chan string, 1)
	var blocking atomic.Bool
	blocking.Store(true)
	rec := &subRecorder{decide: func(ctx context.Context, e verification.Event, _ int) error {
		if !blocking.Load() {
			return nil
		}
		entered <- e.ID
		<-ctx.Done() // blocks until the dispatcher gives up: a hung subscriber
		return ctx.Err()
	}}
	opts := dspOptions(rec.sink("mailer"))
	opts.Lease, opts.Timeout = time.Minute, 30*time.Second // a retry after lease expiry would take a minute
	opts.ShutdownGrace = 50 * time.Millisecond
	d1 := newDispatcher(t, svc, opts)
	require.NoError(t, d1.Register(ctx))
	stop1 := startDispatcher(t, d1)
	sub := verificationtest.CreateSubject(t, svc)
	var blocked string
	select {
	case blocked = <-entered:
	case <-time.After(dspWait):
		t.Fatal("the subscriber was not called")
	}
	start := time.Now()
	stop1() // kill while the subscriber blocks
	require.Less(t, time.Since(start), 5*time.Second, "Run must return soon after the grace, not wait for the hung subscriber's timeout")

	evs := eventsAfter(t, svc, 0)
	require.Equal(t, evs[0].ID, blocked, "the subject's first event was in flight")
	page, err := outboxOf(t, svc).ListDeliveries(ctx, verification.DeliveryFilter{EventID: blocked, Limit: 10})
	got := page.Items
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, verification.DeliveryPending, got[0].Status)
	require.Zero(t, got[0].Attempts, "an attempt cut off by shutdown does not count")
	require.True(t, got[0].LeaseUntil.IsZero(), "the lease is released at shutdown (got %v)", got[0].LeaseUntil)

	blocking.Store(false)
	d2 := newDispatcher(t, svc, opts)
	start = time.Now()
	startDispatcher(t, d2)
	waitAccepted(t, evs, map[string]sinkLog{"mailer": rec})
	require.Less(t, time.Since(start), opts.Lease/2, "the restarted dispatcher retried at once, not after the lease")
	requireOrdered(t, evs, "mailer", rec)
	require.Equal(t, []seenEvent{{evs[0].ID, sub.ID}, {evs[0].ID, sub.ID}, {evs[1].ID, sub.ID}}, rec.seen(), "the killed delivery is delivered again, then the next")
}

func TestDispatcherResumesAfterAnExpiredLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	rec := &subRecorder{}
	d := newDispatcher(t, svc, dspOptions(rec.sink("mailer")))
	require.NoError(t, d.Register(ctx))
	verificationtest.CreateSubject(t, svc)
	// A dispatcher that crashed (kill -9) after claiming leaves a lease.
	leaseUntil := time.Now().UTC().Add(300 * time.Millisecond).Truncate(time.Microsecond)
	claimed, err := outboxOf(t, svc).ClaimDeliveries(ctx, time.Now().UTC(), leaseUntil, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	startDispatcher(t, d)
	evs := eventsAfter(t, svc, 0)
	waitAccepted(t, evs, map[string]sinkLog{"mailer": rec})
	requireNoPending(t, svc, len(evs))
	page, err := outboxOf(t, svc).ListDeliveries(ctx, verification.DeliveryFilter{EventID: claimed[0].Event.ID, Limit: 10})
	got := page.Items
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, verification.DeliveryDelivered, got[0].Status)
	require.False(t, got[0].DeliveredAt.Before(leaseUntil), "delivered at %v, before the crashed claimer's lease ended (%v)", got[0].DeliveredAt, leaseUntil)
	require.Equal(t, time.UTC, got[0].DeliveredAt.Location(), "the dispatcher hands the store UTC times")
	require.Zero(t, got[0].DeliveredAt.Nanosecond()%1000, "the dispatcher hands the store microsecond times")
	requireOrdered(t, evs, "mailer", rec)
}

// TestDispatcherReleasesAQueuedDeliveryWhoseLeaseRanLow: Run claims ahead
// of its free slots; a delivery queued behind a slow one is started only
// while its lease has at least Timeout left, else released and claimed
// again, unattempted.
func TestDispatcherReleasesAQueuedDeliveryWhoseLeaseRanLow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, clock := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	hold := make(chan struct{})
	var first atomic.Bool
	var leaseErrs []string
	var mu sync.Mutex
	opts := dspOptions()
	rec := &subRecorder{decide: func(_ context.Context, e verification.Event, _ int) error {
		page, err := outboxOf(t, svc).ListDeliveries(ctx, verification.DeliveryFilter{EventID: e.ID, Sink: "mailer", Limit: 1})
		if err != nil || len(page.Items) != 1 {
			return fmt.Errorf("listing the delivery of %s: %v", e.ID, err)
		}
		if left := page.Items[0].LeaseUntil.Sub(clock.Now()); left < opts.Timeout {
			mu.Lock()
			leaseErrs = append(leaseErrs, fmt.Sprintf("%s started with %v of lease left", e.ID, left))
			mu.Unlock()
		}
		if first.CompareAndSwap(false, true) {
			<-hold // the slow delivery: the other subject's waits in the queue
		}
		return nil
	}}
	opts.Sinks = []verification.Sink{rec.sink("mailer")}
	opts.NowFunc = clock.Now
	opts.Concurrency = 1
	d := newDispatcher(t, svc, opts)
	require.NoError(t, d.Register(ctx))
	verificationtest.CreateSubject(t, svc)
	verificationtest.CreateSubject(t, svc)
	startDispatcher(t, d)
	require.Eventually(t, first.Load, dspWait, dspTick)
	// The queued delivery's lease (claimed at the clock's time) now has
	// less than Timeout left.
	clock.Advance(opts.Lease - opts.Timeout/2)
	close(hold)
	evs := eventsAfter(t, svc, 0)
	waitAccepted(t, evs, map[string]sinkLog{"mailer": rec})
	requireNoPending(t, svc, len(evs))
	mu.Lock()
	require.Empty(t, leaseErrs, "no delivery starts with less than Timeout of lease left")
	mu.Unlock()
	requireOnce(t, evs, "mailer", rec)
	require.Len(t, rec.seen(), len(evs), "one call per event: the released delivery was not attempted")
	page, err := outboxOf(t, svc).ListDeliveries(ctx, verification.DeliveryFilter{Sink: "mailer", Limit: 100})
	require.NoError(t, err)
	for _, dl := range page.Items {
		require.Equal(t, 1, dl.Attempts, "%s: a release is not an attempt", dl.Event.ID)
	}
	requireOrdered(t, evs, "mailer", rec)
}

func TestDispatcherDeadLetters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var healed atomic.Bool
	hook := newHookReceiver(t, func(p webhooks.Payload, _ int) hookAction {
		if p.Type == verification.EventSubjectCreated && !healed.Load() {
			return hookFail
		}
		return hookAccept
	})
	svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	opts := dspOptions(hook.sink("crm"))
	opts.MaxAttempts = 3
	d := newDispatcher(t, svc, opts)
	require.NoError(t, d.Register(ctx))
	startDispatcher(t, d)
	sub := verificationtest.CreateSubject(t, svc)
	evs := eventsAfter(t, svc, 0)
	require.Equal(t, 2, len(evs))
	created, granted := evs[0], evs[1]
	require.Equal(t, verification.EventSubjectCreated, created.Type)

	// The later event is not blocked forever by the dead one.
	waitAccepted(t, evs[1:], map[string]sinkLog{"crm": hook})
	page, err := d.DeadLetters(ctx, "", 10, 0)
	dead, total := page.Items, page.Total
	require.NoError(t, err)
	require.Equal(t, 1, total)
	require.Len(t, dead, 1)
	dl := dead[0]
	require.Equal(t, created.ID, dl.Event.ID)
	require.Equal(t, sub.ID, dl.Event.SubjectID)
	require.Equal(t, "crm", dl.Sink)
	require.Equal(t, verification.DeliveryDead, dl.Status)
	require.Equal(t, 3, dl.Attempts)
	require.Contains(t, dl.LastError, "500")
	require.NotContains(t, dl.LastError, "token=test", "LastError must not repeat the URL's query")
	require.Equal(t, 3, hook.attemptsOf(created.ID), "MaxAttempts calls, then no more")
	require.Equal(t, []seenEvent{{created.ID, sub.ID}, {created.ID, sub.ID}, {created.ID, sub.ID}, {granted.ID, sub.ID}}, hook.seen())

	page, err = d.DeadLetters(ctx, "crm", 10, 0)
	require.NoError(t, err)
	require.Equal(t, 1, page.Total, "dead letters of the sink")
	page, err = d.DeadLetters(ctx, "other", 10, 0)
	require.NoError(t, err)
	require.Zero(t, page.Total, "dead letters of another sink")
	page, err = d.DeadLetters(ctx, "", 0, 0)
	require.NoError(t, err)
	require.Equal(t, 1, page.Total)
	require.Empty(t, page.Items, "limit 0 returns the total only")

	require.ErrorIs(t, d.Replay(ctx, verification.AdminActor(1, nil), granted.ID, "crm"), verification.ErrConflict, "replaying a delivered event")
	require.ErrorIs(t, d.Replay(ctx, verification.AdminActor(1, nil), "no-such-event", "crm"), verification.ErrNotFound)
	require.ErrorIs(t, d.Replay(ctx, verification.AdminActor(1, nil), created.ID, "other"), verification.ErrNotFound)
	require.ErrorIs(t, d.Replay(ctx, verification.AdminActor(1, nil), created.ID, ""), verification.ErrInvalid, "the sink is required")

	ob := outboxOf(t, svc)
	healed.Store(true)
	require.NoError(t, d.Replay(ctx, verification.AdminActor(1, nil), created.ID, "crm"))
	waitAccepted(t, evs, map[string]sinkLog{"crm": hook})
	requireOnce(t, evs, "crm", hook)
	page, err = d.DeadLetters(ctx, "", 10, 0)
	total = page.Total
	require.NoError(t, err)
	require.Zero(t, total, "no dead letter after the replay")
	require.Eventually(t, func() bool {
		page, err := ob.ListDeliveries(ctx, verification.DeliveryFilter{EventID: created.ID, Sink: "crm", Limit: 1})
		got := page.Items
		return err == nil && len(got) == 1 && got[0].Status == verification.DeliveryDelivered && got[0].Attempts == 1 && got[0].LastError == ""
	}, dspWait, dspTick, "a replayed delivery starts with fresh attempts")
	require.ErrorIs(t, d.Replay(ctx, verification.AdminActor(1, nil), created.ID, "crm"), verification.ErrConflict, "replaying it again")
}

func TestDispatcherSlowEndpointDoesNotBlockOtherSubjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	release := make(chan struct{})
	var slowSubject atomic.Int64
	hook := newHookReceiver(t, func(p webhooks.Payload, _ int) hookAction {
		if p.SubjectID != slowSubject.Load() {
			return hookAccept
		}
		select {
		case <-release:
			return hookAccept
		default:
			return hookHang // beyond the 500 ms timeout, every time
		}
	})
	svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	opts := dspOptions(hook.sink("crm"))
	opts.MaxAttempts = 1000
	opts.Concurrency = 2 // the slow subject holds one slot, never both
	d := newDispatcher(t, svc, opts)
	require.NoError(t, d.Register(ctx))
	slow := verificationtest.CreateSubject(t, svc)
	slowSubject.Store(slow.ID)
	first := eventsAfter(t, svc, 0)[0].ID
	startDispatcher(t, d)
	require.Eventually(t, func() bool { return hook.attemptsOf(first) > 0 }, dspWait, dspTick, "the slow subject's first event is being sent")

	// The API is not slowed down by the hanging endpoint.
	start := time.Now()
	fast := dspActivities(t, svc, 3)
	require.Less(t, time.Since(start), 2*time.Second, "transitions while a webhook endpoint hangs")

	var fastEvents, slowEvents []verification.Event
	for _, e := range eventsAfter(t, svc, 0) {
		if e.SubjectID == slow.ID {
			slowEvents = append(slowEvents, e)
		} else {
			fastEvents = append(fastEvents, e)
		}
	}
	require.Len(t, fastEvents, len(fast)*dspEventsPerSubject)
	waitAccepted(t, fastEvents, map[string]sinkLog{"crm": hook})
	acks := hook.accepted()
	for _, e := range slowEvents {
		require.Zero(t, acks[e.ID], "the slow subject's events are still held up")
	}

	close(release)
	waitAccepted(t, slowEvents, map[string]sinkLog{"crm": hook})
	all := eventsAfter(t, svc, 0)
	requireOrdered(t, all, "crm", hook)
	requireOnce(t, all, "crm", hook)
}

func TestDispatcherRetriesAPanickingSubscriber(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var panicking atomic.Bool
	panicking.Store(true)
	rec := &subRecorder{decide: func(context.Context, verification.Event, int) error {
		if panicking.Load() {
			panic("subscriber bug")
		}
		return nil
	}}
	svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	opts := dspOptions(rec.sink("mailer"))
	opts.MaxAttempts = 1000
	d := newDispatcher(t, svc, opts)
	require.NoError(t, d.Register(ctx))
	startDispatcher(t, d)
	sub := verificationtest.CreateSubject(t, svc)
	ob := outboxOf(t, svc)
	require.Eventually(t, func() bool {
		page, err := ob.ListDeliveries(ctx, verification.DeliveryFilter{SubjectID: sub.ID, Limit: 1})
		got := page.Items
		return err == nil && len(got) == 1 && got[0].Attempts >= 2 && got[0].Status == verification.DeliveryPending
	}, dspWait, dspTick, "the panicking subscriber is retried")
	page, err := ob.ListDeliveries(ctx, verification.DeliveryFilter{SubjectID: sub.ID, Limit: 1})
	got := page.Items
	require.NoError(t, err)
	require.Contains(t, got[0].LastError, "panicked")
	require.Contains(t, got[0].LastError, "subscriber bug")

	panicking.Store(false)
	evs := eventsAfter(t, svc, 0)
	waitAccepted(t, evs, map[string]sinkLog{"mailer": rec})
	requireOrdered(t, evs, "mailer", rec)
	requireOnce(t, evs, "mailer", rec)
}

func TestDispatchOnceRecordsAValidLastError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	var calls atomic.Int32
	fail := verification.SubscriberFunc("mailer", func(context.Context, verification.Event) error {
		calls.Add(1)
		// 2-byte runes straddling the 500-byte cut, and an invalid byte.
		return errors.New("xy" + string([]byte{0xff}) + strings.Repeat("ü", 400))
	})
	opts := dspOptions(fail)
	opts.MaxAttempts = 2
	d := newDispatcher(t, svc, opts)
	n, err := d.DispatchOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing to deliver yet")
	sub := verificationtest.CreateSubject(t, svc)

	n, err = d.DispatchOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n, "one delivery per subject at a time")
	require.EqualValues(t, 1, calls.Load())
	page, err := outboxOf(t, svc).ListDeliveries(ctx, verification.DeliveryFilter{SubjectID: sub.ID, Limit: 10})
	got := page.Items
	require.NoError(t, err)
	require.Len(t, got, 2)
	first := got[0]
	require.Equal(t, verification.DeliveryPending, first.Status)
	require.Equal(t, 1, first.Attempts)
	require.True(t, utf8.ValidString(first.LastError), "LastError must be valid UTF-8: %q", first.LastError)
	require.LessOrEqual(t, len(first.LastError), 500)
	require.Greater(t, len(first.LastError), 490)
	require.True(t, first.NextAttemptAt.After(time.Now().Add(-time.Second)), "a retry is scheduled after a backoff")
	require.True(t, first.LeaseUntil.IsZero(), "the lease is released after the attempt")

	require.Eventually(t, func() bool {
		_, err := d.DispatchOnce(ctx)
		return err == nil && calls.Load() == 2
	}, dspWait, dspTick, "retried once the backoff passed")
	page, err = d.DeadLetters(ctx, "mailer", 10, 0)
	dead, total := page.Items, page.Total
	require.NoError(t, err)
	require.Equal(t, 1, total)
	require.Equal(t, 2, dead[0].Attempts)
}

func TestNewDispatcherValidation(t *testing.T) {
	t.Parallel()
	svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	noop := func(context.Context, verification.Event) error { return nil }
	a := verification.SubscriberFunc("a", noop)
	tests := []struct {
		name string
		opts verification.DispatcherOptions
		ok   bool
	}{
		{"defaults", verification.DispatcherOptions{Sinks: []verification.Sink{a}}, true},
		{"no sinks", verification.DispatcherOptions{}, true},
		{"two sinks", verification.DispatcherOptions{Sinks: []verification.Sink{a, verification.SubscriberFunc("b", noop)}}, true},
		{"timeout under lease", verification.DispatcherOptions{Sinks: []verification.Sink{a}, Timeout: time.Second, Lease: 2 * time.Second}, true},
		{"duplicate names", verification.DispatcherOptions{Sinks: []verification.Sink{a, verification.SubscriberFunc("a", noop)}}, false},
		{"empty name", verification.DispatcherOptions{Sinks: []verification.Sink{verification.SubscriberFunc("", noop)}}, false},
		{"nil sink", verification.DispatcherOptions{Sinks: []verification.Sink{nil}}, false},
		{"timeout equals lease", verification.DispatcherOptions{Sinks: []verification.Sink{a}, Timeout: 2 * time.Second, Lease: 2 * time.Second}, false},
		{"timeout over lease", verification.DispatcherOptions{Sinks: []verification.Sink{a}, Timeout: 3 * time.Second, Lease: 2 * time.Second}, false},
		{"default timeout over lease", verification.DispatcherOptions{Sinks: []verification.Sink{a}, Lease: 10 * time.Second}, false},
	}
	for _, tt := range tests {
		d, err := verification.NewDispatcher(verificationtest.StoreOf(svc), tt.opts)
		if tt.ok {
			require.NoError(t, err, tt.name)
			require.NotNil(t, d, tt.name)
			continue
		}
		require.ErrorIs(t, err, verification.ErrInvalid, tt.name)
	}
	_, err := verification.NewDispatcher(nil, verification.DispatcherOptions{Sinks: []verification.Sink{a}})
	require.ErrorIs(t, err, verification.ErrInvalid, "a nil store")
}

func TestServiceOnEventsWakesTheDispatcher(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var (
		disp    atomic.Pointer[verification.Dispatcher]
		svcRef  atomic.Pointer[verification.Service]
		calls   atomic.Int64
		visible atomic.Int64
	)
	svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t), verification.Options{OnEventsFunc: func() {
		calls.Add(1)
		if s := svcRef.Load(); s != nil {
			evs, err := verificationtest.StoreOf(s).ListEvents(context.Background(), verification.EventFilter{})
			if err == nil {
				visible.Store(int64(len(evs)))
			}
		}
		if d := disp.Load(); d != nil {
			d.Notify()
		}
	}})
	svcRef.Store(svc)

	sub := verificationtest.CreateSubject(t, svc)
	require.EqualValues(t, 1, calls.Load(), "OnEventsFunc after the transaction")
	require.EqualValues(t, 2, visible.Load(), "OnEventsFunc runs after the commit: the events are visible")
	_, err := svc.Answer(ctx, sub.ID, "emailCode", json.RawMessage(`"123456"`))
	require.NoError(t, err)
	require.EqualValues(t, 2, calls.Load())
	_, err = svc.Answer(ctx, sub.ID, "emailCode", json.RawMessage(`"123456"`))
	require.ErrorIs(t, err, verification.ErrConflict)
	require.EqualValues(t, 2, calls.Load(), "no call after a transaction that rolled back")

	rec := &subRecorder{}
	opts := dspOptions(rec.sink("mailer"))
	opts.PollInterval = time.Hour // only Notify (or a finished delivery) wakes it
	d := newDispatcher(t, svc, opts)
	require.NoError(t, d.Register(ctx))
	disp.Store(d)
	startDispatcher(t, d)
	registered := lastSeq(t, svc)

	verificationtest.CreateSubject(t, svc)
	waitAccepted(t, eventsAfter(t, svc, registered), map[string]sinkLog{"mailer": rec})
	time.Sleep(50 * time.Millisecond) // let the dispatcher go idle, waiting for the hour-long poll
	second := lastSeq(t, svc)
	other := verificationtest.CreateSubject(t, svc)
	_, err = svc.Answer(ctx, other.ID, "isBusiness", json.RawMessage(`true`))
	require.NoError(t, err)
	evs := eventsAfter(t, svc, second)
	require.Equal(t, 4, len(evs))
	waitAccepted(t, evs, map[string]sinkLog{"mailer": rec})
	requireOrdered(t, eventsAfter(t, svc, registered), "mailer", rec)
}

// BenchmarkDispatch compares events dispatched per second through the
// Dispatcher (memory store, one signed webhook sink, default concurrency)
// with the same number of plain POSTs of the same body from a loop, against
// the same local receiver.
func BenchmarkDispatch(b *testing.B) {
	var received atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	const subjects = 64
	data := json.RawMessage(`{"grantId":838,"level":2,"previousLevel":1,"reason":"Application: 838"}`)
	occurred := verificationtest.Start
	body, err := json.Marshal(webhooks.Payload{ID: "ev-000001", Type: verification.EventLevelGranted, SubjectID: 1, OccurredAt: occurred, Data: data})
	require.NoError(b, err)

	b.Run("dispatcher", func(b *testing.B) {
		svc, _ := verificationtest.NewService(b, verificationtest.SeedLadder(b))
		store := verificationtest.StoreOf(svc)
		hook, err := webhooks.New("bench", srv.URL, webhooks.Options{Secrets: []string{webhooks.NewSecret()}})
		require.NoError(b, err)
		d, err := verification.NewDispatcher(store, verification.DispatcherOptions{Sinks: []verification.Sink{hook}, PollInterval: 5 * time.Millisecond, Timeout: 10 * time.Second})
		require.NoError(b, err)
		ctx := context.Background()
		require.NoError(b, d.Register(ctx))
		for i := range subjects {
			s := verification.Subject{Identifier: fmt.Sprintf("bench%031d", i), CreatedAt: occurred, UpdatedAt: occurred}
			require.NoError(b, store.CreateSubject(ctx, &s))
		}
		for i := range b.N {
			e := verification.Event{ID: fmt.Sprintf("ev-%06d", i), SubjectID: int64(i%subjects) + 1, Type: verification.EventLevelGranted, Data: data, OccurredAt: occurred}
			require.NoError(b, store.AddEvent(ctx, &e))
		}
		want := received.Load() + int64(b.N)
		runCtx, cancel := context.WithCancel(ctx)
		ran := make(chan error, 1)
		b.ResetTimer()
		go func() { ran <- d.Run(runCtx) }()
		for received.Load() < want {
			time.Sleep(50 * time.Microsecond)
		}
		b.StopTimer()
		cancel()
		require.NoError(b, <-ran)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})

	b.Run("plain-post", func(b *testing.B) {
		client := &http.Client{}
		for range b.N {
			resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
