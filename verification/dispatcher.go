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
	// one slot per subject it is slow for, never the others.
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
// (for up to ShutdownGrace, then cancels them) and returns nil. Store
// errors are logged and retried after PollInterval.
func (d *Dispatcher) Run(ctx context.Context) error {
	if err := d.Register(ctx); err != nil {
		return err
	}
	sem := make(chan struct{}, d.opts.Concurrency)
	// Deliveries outlive ctx by up to ShutdownGrace.
	dctx, cutOff := context.WithCancel(context.WithoutCancel(ctx))
	defer cutOff()
	var wg sync.WaitGroup
	defer func() {
		idle := make(chan struct{})
		go func() {
			wg.Wait()
			close(idle)
		}()
		grace := time.NewTimer(d.opts.ShutdownGrace)
		defer grace.Stop()
		select {
		case <-idle:
		case <-grace.C:
			cutOff()
			<-idle
		}
	}()
	done := make(chan struct{}, d.opts.Concurrency)
	for ctx.Err() == nil {
		free := d.opts.Concurrency - len(sem)
		n := 0
		if free > 0 {
			claimed, err := d.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				d.log.Error().Err(err).Msg("verification: claiming deliveries")
			}
			for _, dl := range claimed {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					d.attempt(ctx, dctx, dl)
					<-sem
					select {
					case done <- struct{}{}:
					default:
					}
				}()
			}
			n = len(claimed)
		}
		if n > 0 && n == free {
			continue
		}
		t := time.NewTimer(d.opts.PollInterval)
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
	return nil
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
	var wg sync.WaitGroup
	for _, dl := range claimed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.attempt(ctx, ctx, dl)
		}()
	}
	wg.Wait()
	return len(claimed), nil
}

func (d *Dispatcher) claim(ctx context.Context, limit int) ([]Delivery, error) {
	now := d.now()
	claimed, err := d.store.ClaimDeliveries(ctx, now, now.Add(d.opts.Lease), limit)
	if err != nil {
		return nil, err
	}
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
	return out, nil
}

// attempt delivers one event (calling the sink with dctx) and stores the
// outcome; ctx is the dispatcher's: once it is done, a failed attempt is
// a shutdown, not the sink's fault.
func (d *Dispatcher) attempt(ctx, dctx context.Context, dl Delivery) {
	sink := d.sinks[dl.Sink]
	err := d.deliver(dctx, sink, dl.Event)
	if ctx.Err() != nil && err != nil {
		// Shutting down mid-delivery: release the lease so a restarted
		// dispatcher retries at once; the attempt does not count.
		dl.LeaseUntil = time.Time{}
		d.record(ctx, dl, "releasing a delivery lease")
		return
	}
	now := d.now()
	dl.Attempts++
	dl.LeaseUntil = time.Time{}
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
	if !d.record(ctx, dl, "recording a delivery outcome") {
		return
	}
	if d.observeAttempt(ctx, dl); err == nil {
		return
	}
	if dl.Status == DeliveryDead {
		d.log.Error().Str("sink", dl.Sink).Str("event", dl.Event.ID).Int("attempts", dl.Attempts).Msg("verification: delivery dead-lettered")
	} else {
		d.log.Warn().Str("sink", dl.Sink).Str("event", dl.Event.ID).Int("attempt", dl.Attempts).Msg("verification: delivery failed; will retry")
	}
}

// record stores dl (a fenced write: see OutboxStore.UpdateDelivery) and
// reports whether it applied. A refused write means this dispatcher's
// lease ran out and another claimer took the delivery over (this one was
// paused, or its clock runs behind): the outcome is the other claimer's
// to record, so it is dropped, and logged at debug level, not as a
// failure to retry.
func (d *Dispatcher) record(ctx context.Context, dl Delivery, what string) bool {
	err := d.store.UpdateDelivery(context.WithoutCancel(ctx), dl)
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrConflict):
		d.log.Debug().Str("sink", dl.Sink).Str("event", dl.Event.ID).Int64("fence", dl.Fence).
			Msg("verification: delivery lease lost to another claimer; outcome dropped")
	default:
		d.log.Error().Err(err).Str("sink", dl.Sink).Msg("verification: " + what)
	}
	return false
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
