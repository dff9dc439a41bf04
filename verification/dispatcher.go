package verification

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

// DispatcherOptions configure a Dispatcher. Zero fields take the defaults
// named on each.
type DispatcherOptions struct {
	// Sinks receive every event added after the Dispatcher first ran
	// (names must be unique).
	Sinks []Sink
	// NowFunc is the clock; nil means time.Now.
	NowFunc func() time.Time
	// Logger; nil means silent.
	Logger *zerolog.Logger
	// PollInterval is how long Run waits when nothing is due; default 1 s.
	PollInterval time.Duration
	// Lease is how long a claimed delivery is reserved for this
	// dispatcher; it must exceed the slowest sink's timeout. Default 1 min.
	Lease time.Duration
	// Concurrency bounds deliveries in flight; default 8. A slow sink holds
	// one slot per subject it is slow for, never the others. Run keeps up
	// to four times as many claimed (the others queued for the next free
	// slot) and records outcomes and claims in batches of about
	// Concurrency, up to three batches at once.
	Concurrency int
	// MaxAttempts before a delivery is dead-lettered; default 10.
	MaxAttempts int
	// BackoffBase and BackoffMax shape the retry delay: base*2^(n-1), capped,
	// with jitter in [delay/2, delay]. Defaults 1 s and 1 h.
	BackoffBase time.Duration
	// BackoffMax caps the retry delay (see BackoffBase).
	BackoffMax time.Duration
	// Timeout bounds one Deliver call; default 30 s (keep it under Lease).
	Timeout time.Duration
	// ShutdownGrace is how long Run, once its ctx is done, lets deliveries
	// in flight finish before cancelling them; default 5 s, negative means
	// cancel at once. A delivery cut off does not count as an attempt and
	// its lease is released, so a restarted dispatcher retries it at once;
	// but a receiver may already have processed it, so without the grace
	// every restart (a deploy) would deliver the events in flight twice.
	ShutdownGrace time.Duration
	// Observer receives each stored delivery outcome (DeliveryAttempted);
	// nil means NopObserver.
	Observer Observer
}

// Dispatcher delivers outbox events to sinks at least once, in order per
// subject and sink, with retries and a dead-letter state. It keeps no state
// of its own: several dispatchers (one per app replica) may run on one store
// and share the work through leases; a restarted one resumes from the store.
type Dispatcher struct {
	store  Store
	sinks  map[string]Sink
	names  []string
	now    func() time.Time
	log    zerolog.Logger
	opts   DispatcherOptions
	wake   chan struct{}
	regMu  sync.Mutex
	regged bool
	obs    Observer
}

// NewDispatcher returns a Dispatcher over store's outbox.
func NewDispatcher(store Store, opts DispatcherOptions) (*Dispatcher, error) {
	if store == nil {
		return nil, invalid("store", "is required")
	}
	d := &Dispatcher{store: store, sinks: map[string]Sink{}, now: opts.NowFunc, log: zerolog.Nop(), wake: make(chan struct{}, 1)}
	d.obs = observerOr(opts.Observer)
	for _, s := range opts.Sinks {
		if s == nil || s.Name() == "" {
			return nil, invalid("sinks", "every sink needs a name")
		}
		if _, dup := d.sinks[s.Name()]; dup {
			return nil, invalid("sinks", "duplicate sink name %q", s.Name())
		}
		d.sinks[s.Name()] = s
		d.names = append(d.names, s.Name())
	}
	if d.now == nil {
		d.now = time.Now
	}
	// Stores keep UTC at microsecond precision and expect times given to
	// them in that form (see Store): hand them exactly that.
	clock := d.now
	d.now = func() time.Time { return clock().UTC().Truncate(time.Microsecond) }
	if opts.Logger != nil {
		d.log = *opts.Logger
	}
	def := func(v *time.Duration, x time.Duration) {
		if *v <= 0 {
			*v = x
		}
	}
	def(&opts.PollInterval, time.Second)
	def(&opts.Lease, time.Minute)
	def(&opts.BackoffBase, time.Second)
	def(&opts.BackoffMax, time.Hour)
	def(&opts.Timeout, 30*time.Second)
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	switch {
	case opts.ShutdownGrace == 0:
		opts.ShutdownGrace = 5 * time.Second
	case opts.ShutdownGrace < 0:
		opts.ShutdownGrace = 0
	}
	if opts.Timeout >= opts.Lease {
		return nil, invalid("Timeout", "must be shorter than Lease")
	}
	d.opts = opts
	return d, nil
}

// Register records the sinks in the store so that every event added from
// now on is delivered to them. Run calls it; call it yourself before the
// first events if the dispatcher starts later than the API.
func (d *Dispatcher) Register(ctx context.Context) error {
	d.regMu.Lock()
	defer d.regMu.Unlock()
	if d.regged {
		return nil
	}
	for _, n := range d.names {
		if err := d.store.RegisterSink(ctx, n); err != nil {
			return fmt.Errorf("verification: registering sink %q: %w", n, err)
		}
	}
	d.regged = true
	return nil
}

// Notify wakes a running dispatcher early (e.g. after a request that
// emitted events); it never blocks.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is done, then lets deliveries in flight finish
// (for up to ShutdownGrace, then cancels them), records their outcomes and
// returns nil. Store errors are logged and retried after PollInterval.
//
// Claims and outcomes go to the store in batches. Run keeps up to
// claimAhead times Concurrency deliveries claimed: Concurrency in flight,
// the others queued to start as soon as a slot frees, so that a slow
// commit does not leave the slots idle. Once a batch's worth of room
// (Concurrency) is free, it records the outcomes of the deliveries
// finished meanwhile and claims the next ones in one transaction, a cycle
// (a finished delivery keeps its lease until its outcome is recorded).
// Up to maxCycles cycles run at once, each in its own transaction: the
// store's claim keeps them apart (leases, fences, and a subject's next
// delivery only once the previous one is recorded). An outcome waits at
// most settleDelay for company. A queued delivery whose
// lease has less than Timeout left when its turn comes is released, not
// attempted, so its lease never runs out mid-delivery.
func (d *Dispatcher) Run(ctx context.Context) error {
	if err := d.Register(ctx); err != nil {
		return err
	}
	// Deliveries outlive ctx by up to ShutdownGrace.
	dctx, cutOff := context.WithCancel(context.WithoutCancel(ctx))
	defer cutOff()
	results := make(chan settled, d.opts.Concurrency)
	cycled := make(chan cycleResult, maxCycles)
	var (
		running  int        // deliveries in flight
		queue    []Delivery // claimed, not started
		finished []settled  // outcomes not recorded yet
		cycles   int        // cycles in flight
		asked    int        // deliveries the cycles in flight may claim
	)
	// start feeds the free slots from the queue.
	start := func() {
		for running < d.opts.Concurrency && len(queue) > 0 {
			dl := queue[0]
			queue = queue[1:]
			if d.now().Add(d.opts.Timeout).After(dl.LeaseUntil) {
				finished = append(finished, release(dl))
				continue
			}
			running++
			go func() { results <- d.attempt(ctx, dctx, dl) }()
		}
	}
	receive := func(r settled) {
		running--
		finished = append(finished, r)
	}
	// launch runs a cycle in its own goroutine: the outcomes of finished
	// and a claim of up to limit.
	launch := func(limit int) {
		batch := append([]settled(nil), finished...)
		finished = finished[:0]
		cycles++
		asked += limit
		go func() { cycled <- cycleResult{claimed: d.cycle(ctx, batch, limit), limit: limit} }()
	}
	// done takes a finished cycle's claim.
	done := func(c cycleResult) (more bool) {
		cycles--
		asked -= c.limit
		queue = append(queue, c.claimed...)
		return c.limit > 0 && len(c.claimed) == c.limit
	}
	poll := time.NewTimer(0)
	defer poll.Stop()
	// force: record and claim whatever there is, however little: at the
	// start, on Notify and when a wait ran out.
	force := true
	// dry: the last claim got less than it asked for, so nothing more is
	// due until a delivery finishes, Notify or the next poll.
	dry := false
	for ctx.Err() == nil {
		start()
		room := claimAhead*d.opts.Concurrency - running - len(queue) - asked
		held := false // outcomes or room kept back to batch them
		if cycles < maxCycles && (room > 0 || len(finished) > 0) && (force || (!dry && room >= d.opts.Concurrency)) {
			launch(max(min(room, cycleClaim*d.opts.Concurrency), 0))
			force = false
			if cycles < maxCycles {
				continue
			}
		} else {
			held = len(finished) > 0 || (!dry && room > 0)
		}
		force = false
		// Wait for a result, a cycle, a wake-up or the next poll; only
		// settleDelay while outcomes or room are held back.
		wait := d.opts.PollInterval
		if held {
			wait = min(wait, settleDelay)
		}
		resetTimer(poll, wait)
		select {
		case <-ctx.Done():
		case c := <-cycled:
			dry = !done(c)
		case <-d.wake:
			force, dry = true, false
		case r := <-results:
			receive(r)
			dry = false
		drain:
			for {
				select {
				case r := <-results:
					receive(r)
				default:
					break drain
				}
			}
		case <-poll.C:
			force, dry = true, false
		}
	}
	// Shutting down: wait for the cycles in flight, release the queued
	// deliveries, wait for those in flight (cut off after the grace), then
	// record every outcome.
	for cycles > 0 {
		done(<-cycled)
	}
	for _, dl := range queue {
		finished = append(finished, release(dl))
	}
	grace := time.NewTimer(d.opts.ShutdownGrace)
	defer grace.Stop()
	for running > 0 {
		select {
		case r := <-results:
			receive(r)
		case <-grace.C:
			cutOff()
		}
	}
	d.settle(ctx, finished)
	return nil
}

// cycleResult is what a cycle claimed, and how many it asked for.
type cycleResult struct {
	claimed []Delivery
	limit   int
}

// maxCycles bounds the cycles (outcomes and a claim, one transaction) Run
// keeps in flight: on a store with concurrent writers (PostgreSQL) their
// commits overlap; on SQLite the next one is ready when the writer frees.
const maxCycles = 3

// cycleClaim bounds one cycle's claim, in units of Concurrency, so that
// the room is shared between the cycles in flight.
const cycleClaim = 2

// claimAhead bounds the deliveries Run holds claimed, in units of
// Concurrency (in flight, queued, or finished and not recorded yet).
const claimAhead = 4

// release is a claimed delivery given back unattempted: its lease ends now
// and the attempt does not count.
func release(dl Delivery) settled {
	dl.LeaseUntil = time.Time{}
	return settled{dl: dl, released: true}
}

// settleDelay is how long Run lets a finished delivery's outcome wait for
// others to record with it.
const settleDelay = 2 * time.Millisecond

// resetTimer makes t fire after wait, whether or not it fired already.
func resetTimer(t *time.Timer, wait time.Duration) {
	t.Stop()
	select {
	case <-t.C:
	default:
	}
	t.Reset(wait)
}

// DispatchOnce claims what is due and delivers it before returning (for
// tests and cron-style hosts); it returns how many deliveries it attempted.
func (d *Dispatcher) DispatchOnce(ctx context.Context) (int, error) {
	if err := d.Register(ctx); err != nil {
		return 0, err
	}
	claimed, err := d.claim(ctx, d.opts.Concurrency)
	if err != nil {
		return 0, err
	}
	out := make([]settled, len(claimed))
	var wg sync.WaitGroup
	for i, dl := range claimed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = d.attempt(ctx, ctx, dl)
		}()
	}
	wg.Wait()
	d.settle(ctx, out)
	return len(claimed), nil
}

// cycle records the outcomes of batch and claims up to limit deliveries
// in one transaction (one commit for both; the claim sees the deliveries
// just recorded, so a subject's next event is claimed right after its
// previous one is settled). If that transaction fails, the outcomes are
// recorded on their own and nothing is claimed this time.
func (d *Dispatcher) cycle(ctx context.Context, batch []settled, limit int) []Delivery {
	if len(batch) == 0 {
		if limit <= 0 {
			return nil
		}
		claimed, err := d.claim(ctx, limit)
		if err != nil && ctx.Err() == nil {
			d.log.Error().Err(err).Msg("verification: claiming deliveries")
		}
		return claimed
	}
	if ctx.Err() != nil {
		limit = 0 // stopping: record the outcomes, claim nothing
	}
	now := d.now()
	errs, claimed, err := d.store.UpdateAndClaimDeliveries(context.WithoutCancel(ctx), outcomes(batch), now, now.Add(d.opts.Lease), limit)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error().Err(err).Msg("verification: recording outcomes and claiming deliveries")
		}
		d.settle(ctx, batch)
		return nil
	}
	for i, r := range batch {
		d.recorded(ctx, r, errs[i])
	}
	return d.known(claimed)
}

func (d *Dispatcher) claim(ctx context.Context, limit int) ([]Delivery, error) {
	now := d.now()
	claimed, err := d.store.ClaimDeliveries(ctx, now, now.Add(d.opts.Lease), limit)
	if err != nil {
		return nil, err
	}
	return d.known(claimed), nil
}

// known keeps the claimed deliveries of this dispatcher's sinks.
func (d *Dispatcher) known(claimed []Delivery) []Delivery {
	// Deliveries of sinks this dispatcher does not know (another replica's
	// configuration) are left to their lease expiry; log once per batch.
	out := claimed[:0]
	for _, dl := range claimed {
		if _, ok := d.sinks[dl.Sink]; ok {
			out = append(out, dl)
		} else {
			d.log.Warn().Str("sink", dl.Sink).Msg("verification: delivery for an unknown sink skipped")
		}
	}
	return out
}

// outcomes are the deliveries of batch as they are to be recorded.
func outcomes(batch []settled) []Delivery {
	ds := make([]Delivery, len(batch))
	for i, r := range batch {
		ds[i] = r.dl
	}
	return ds
}

// settled is one finished attempt: the delivery as it is to be recorded,
// and what the sink answered.
type settled struct {
	// dl is the delivery's new state (an outcome, or a released lease).
	dl Delivery
	// err is the sink's error (nil: delivered).
	err error
	// released: the attempt was cut off by a shutdown and does not count.
	released bool
}

// attempt delivers one event (calling the sink with dctx) and returns the
// delivery's new state; ctx is the dispatcher's: once it is done, a failed
// attempt is a shutdown, not the sink's fault.
func (d *Dispatcher) attempt(ctx, dctx context.Context, dl Delivery) settled {
	sink := d.sinks[dl.Sink]
	err := d.deliver(dctx, sink, dl.Event)
	dl.LeaseUntil = time.Time{}
	if ctx.Err() != nil && err != nil {
		// Shutting down mid-delivery: release the lease so a restarted
		// dispatcher retries at once; the attempt does not count.
		return settled{dl: dl, err: err, released: true}
	}
	now := d.now()
	dl.Attempts++
	if err == nil {
		dl.Status, dl.DeliveredAt, dl.LastError = DeliveryDelivered, now, ""
	} else {
		dl.LastError = truncate(err.Error(), 500)
		if dl.Attempts >= d.opts.MaxAttempts {
			dl.Status = DeliveryDead
		} else {
			dl.NextAttemptAt = now.Add(d.backoff(dl.Attempts))
		}
	}
	return settled{dl: dl, err: err}
}

// settle records the outcomes of finished attempts in one fenced write
// (see OutboxStore.UpdateDeliveries), then reports each with recorded.
func (d *Dispatcher) settle(ctx context.Context, batch []settled) {
	if len(batch) == 0 {
		return
	}
	errs, err := d.store.UpdateDeliveries(context.WithoutCancel(ctx), outcomes(batch))
	for i, r := range batch {
		werr := err
		if werr == nil && i < len(errs) {
			werr = errs[i]
		}
		d.recorded(ctx, r, werr)
	}
}

// recorded reports one settled delivery once its write returned werr. A
// refused write (ErrConflict) means this dispatcher's lease ran out and
// another claimer took the delivery over (this one was paused, or its
// clock runs behind): the outcome is the other claimer's to record, so it
// is dropped, and logged at debug level, not as a failure to retry.
func (d *Dispatcher) recorded(ctx context.Context, r settled, werr error) {
	dl := r.dl
	switch {
	case werr == nil:
	case errors.Is(werr, ErrConflict):
		d.log.Debug().Str("sink", dl.Sink).Str("event", dl.Event.ID).Int64("fence", dl.Fence).
			Msg("verification: delivery lease lost to another claimer; outcome dropped")
		return
	default:
		what := "recording a delivery outcome"
		if r.released {
			what = "releasing a delivery lease"
		}
		d.log.Error().Err(werr).Str("sink", dl.Sink).Msg("verification: " + what)
		return
	}
	if !r.released {
		d.observeAttempt(ctx, dl)
	}
	switch {
	case r.err == nil || r.released:
	case dl.Status == DeliveryDead:
		d.log.Error().Str("sink", dl.Sink).Str("event", dl.Event.ID).Int("attempts", dl.Attempts).Msg("verification: delivery dead-lettered")
	default:
		d.log.Warn().Str("sink", dl.Sink).Str("event", dl.Event.ID).Int("attempt", dl.Attempts).Msg("verification: delivery failed; will retry")
	}
}

// deliver calls the sink with a timeout, turning a panic into an error.
func (d *Dispatcher) deliver(ctx context.Context, s Sink, e Event) (err error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sink panicked: %v", p)
		}
	}()
	return s.Deliver(ctx, e)
}

// backoff returns the delay before attempt n+1: exponential, capped,
// jittered into [delay/2, delay].
func (d *Dispatcher) backoff(n int) time.Duration {
	delay := d.opts.BackoffBase
	for i := 1; i < n && delay < d.opts.BackoffMax; i++ {
		delay *= 2
	}
	if delay > d.opts.BackoffMax {
		delay = d.opts.BackoffMax
	}
	half := delay / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// truncate returns valid UTF-8 of at most n bytes (a text column of a SQL
// store refuses a rune cut in half, and a sink's error may carry anything).
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// DeadLetters lists dead-lettered deliveries (optionally of one sink).
func (d *Dispatcher) DeadLetters(ctx context.Context, sink string, limit, offset int) (Page[Delivery], error) {
	return d.store.ListDeliveries(ctx, DeliveryFilter{Sink: sink, Status: DeliveryDead, Limit: limit, Offset: offset})
}

// Replay puts a dead-lettered delivery back in the queue with fresh
// attempts, and records the replay in the audit trail (AuditDeliveryReplayed)
// in the same transaction. ErrNotFound if there is none for (eventID, sink),
// ErrConflict if it is not dead (or was replayed and claimed meanwhile).
// The actor is an admin, the host or the system.
func (d *Dispatcher) Replay(ctx context.Context, actor Actor, eventID, sink string) error {
	if err := actor.may("Replay", managers...); err != nil {
		return err
	}
	if err := replayDelivery(ctx, d.store, d.now(), actor, eventID, sink); err != nil {
		return err
	}
	d.Notify()
	return nil
}

// replayDelivery is Replay's one rule, shared with Service.ReplayDelivery:
// the delivery back in the queue and its audit entry, in one transaction.
func replayDelivery(ctx context.Context, store Store, now time.Time, actor Actor, eventID, sink string) error {
	if eventID == "" || sink == "" {
		// An empty sink would not filter: Replay would pick any sink's delivery.
		return invalid("sink", "the event id and the sink name are required")
	}
	err := store.InTx(ctx, func(ctx context.Context, tx Store) error {
		list, err := tx.ListDeliveries(ctx, DeliveryFilter{EventID: eventID, Sink: sink, Limit: 1})
		if err != nil {
			return err
		}
		if len(list.Items) == 0 {
			return newErr(ErrNotFound, "no delivery of event %s to %s", eventID, sink)
		}
		dl := list.Items[0]
		if dl.Status != DeliveryDead {
			return newErr(ErrConflict, "delivery is %s, not dead", dl.Status)
		}
		dl.Status, dl.Attempts, dl.NextAttemptAt, dl.LeaseUntil, dl.LastError = DeliveryPending, 0, now, time.Time{}, ""
		if err := tx.UpdateDelivery(ctx, dl); err != nil {
			return err
		}
		return appendAudit(ctx, tx, actor, now, auditArgs{action: AuditDeliveryReplayed, subjectID: dl.Event.SubjectID,
			entity: AuditEntityDelivery, entityID: eventID, summary: map[string]string{"sink": sink, "eventType": string(dl.Event.Type)}})
	})
	if err != nil {
		return internal(err)
	}
	return nil
}
