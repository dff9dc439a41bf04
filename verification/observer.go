package verification

import (
	"context"
	"strings"
	"time"
)

// Observer receives what a Service, its maintenance Runner and a
// Dispatcher do, for metrics and traces (Options.Observer,
// DispatcherOptions.Observer). The core knows no metrics or tracing
// library: contrib/otelkyc implements Observer with OpenTelemetry, and a
// host may implement it with anything else.
//
// Observers never receive personal data: no subject ids, identifiers,
// names, answers, reasons, file or event ids, nor error texts (a failure
// is reported by its kind, the sentinel's text). What they get is bounded
// by the configuration: call names, event types, ladder and sink names,
// job names.
//
// Every method is called synchronously on the path it observes and must
// not block; it may be called from several goroutines at once. Embed
// NopObserver in an implementation so that methods added to Observer later
// have a default.
type Observer interface {
	// StartCall is called when the Service call named call begins: the
	// method's name for Answer, InitWizard, InitWizardByIdentifier,
	// RunWizard, Upload, Review, DecideApplication, GrantLevel and
	// ApplyProviderDecision, and "maintenance " and the job's name for each
	// maintenance run. It returns the context the call runs with (carrying
	// a span, say) and the func the Service calls once with the call's
	// error (nil on success) when it returns.
	StartCall(ctx context.Context, call string) (context.Context, func(err error))
	// StartTransaction is called when the Service opens the store
	// transaction of a state change for op (the Service call it serves,
	// whether or not that call reported StartCall); like StartCall, it
	// returns the transaction's context and the func called with its
	// outcome (nil: committed) when it ends.
	StartTransaction(ctx context.Context, op string) (context.Context, func(err error))
	// Transition is called for each state change a committed transaction
	// made (one per event it added to the outbox).
	Transition(ctx context.Context, t Transition)
	// ReviewDecided is called when a reviewer's decision on a submitted
	// application has committed.
	ReviewDecided(ctx context.Context, r ReviewDecision)
	// JobRan is called after each run of a maintenance job (r.Counts is
	// shared: read it, never modify it).
	JobRan(ctx context.Context, r JobRun)
	// DeliveryAttempted is called after a Dispatcher stored the outcome of
	// a delivery attempt.
	DeliveryAttempted(ctx context.Context, d DeliveryAttempt)
}

// Transition is one committed state change: the event type it was
// recorded as, split into Kind and Outcome.
type Transition struct {
	// Event is the event type the change added to the outbox, e.g.
	// "requirement.approved".
	Event EventType
	// Kind is what changed: the event type up to its first dot
	// ("requirement", "application", "level", "subject", "screening",
	// "provider").
	Kind string
	// Outcome is what it became: the rest of the event type ("approved",
	// "granted", "expired", "decision.applied"...).
	Outcome string
	// Requirement is the ladder requirement the change is about, "" when
	// none (ladder names are configuration, never personal data).
	Requirement string
}

// ReviewDecision is a reviewer's decision on a submitted application.
type ReviewDecision struct {
	// Decision is ApplicationApproved or ApplicationRejected.
	Decision ApplicationStatus
	// Level is the ID of the level the application aimed at.
	Level int
	// Latency is the time from the submission to the decision (the
	// Service's clock).
	Latency time.Duration
}

// JobRun is the outcome of one maintenance job run, as a JobReport without
// the error's text.
type JobRun struct {
	// Job is the job's name.
	Job string
	// Counts is what the run did (JobResult.Counts), e.g. {"expired": 2}.
	Counts map[string]int
	// Duration is how long the run took (wall time).
	Duration time.Duration
	// Error is "" on success, else the failure's kind: the sentinel's text
	// ("internal error", "conflict"...) or "canceled".
	Error string
}

// DeliveryOutcome is what became of one delivery attempt.
type DeliveryOutcome string

// Delivery outcomes.
const (
	// DeliveredOutcome: the sink accepted the event.
	DeliveredOutcome DeliveryOutcome = "delivered"
	// RetryOutcome: the attempt failed and the delivery will be retried.
	RetryOutcome DeliveryOutcome = "retry"
	// DeadOutcome: the last allowed attempt failed; the delivery is dead.
	DeadOutcome DeliveryOutcome = "dead"
)

// DeliveryAttempt is one finished delivery attempt of a Dispatcher.
type DeliveryAttempt struct {
	// Sink is the sink's name.
	Sink string
	// Event is the delivered event's type.
	Event EventType
	// Outcome is delivered, retry or dead.
	Outcome DeliveryOutcome
	// Attempt is the attempt's number, 1 for the first.
	Attempt int
	// Lag is the time from the event's OccurredAt to the end of this
	// attempt (the Dispatcher's clock).
	Lag time.Duration
}

// NopObserver is the Observer that does nothing, the default of a Service
// and a Dispatcher. Embed it in an Observer to implement only some
// methods.
type NopObserver struct{}

var _ Observer = NopObserver{}

// endNothing is the end func of NopObserver's calls and transactions.
func endNothing(error) {}

// StartCall returns ctx unchanged and an end func that does nothing.
func (NopObserver) StartCall(ctx context.Context, _ string) (context.Context, func(error)) {
	return ctx, endNothing
}

// StartTransaction returns ctx unchanged and an end func that does nothing.
func (NopObserver) StartTransaction(ctx context.Context, _ string) (context.Context, func(error)) {
	return ctx, endNothing
}

// Transition does nothing.
func (NopObserver) Transition(context.Context, Transition) {}

// ReviewDecided does nothing.
func (NopObserver) ReviewDecided(context.Context, ReviewDecision) {}

// JobRan does nothing.
func (NopObserver) JobRan(context.Context, JobRun) {}

// DeliveryAttempted does nothing.
func (NopObserver) DeliveryAttempted(context.Context, DeliveryAttempt) {}

// observerOr returns o, or NopObserver when o is nil.
func observerOr(o Observer) Observer {
	if o == nil {
		return NopObserver{}
	}
	return o
}

// call starts the observed Service call name and returns its end func;
// use it as
//
//	defer endCall(s.call(&ctx, "Answer"), &err)
//
// with err the method's named error result (a static call, so err stays on
// the stack and a Service without an Observer allocates nothing).
func (s *Service) call(ctx *context.Context, name string) func(error) {
	if !s.observing {
		return endNothing
	}
	c, end := s.obs.StartCall(*ctx, name)
	*ctx = c
	return end
}

// endCall ends a call with its error (see Service.call).
func endCall(end func(error), err *error) { end(*err) }

// observed is what a transaction reports to the Observer once it commits.
type observed struct {
	transitions []Transition
	reviews     []ReviewDecision
}

// observed returns what t collected so far, allocated on first use.
func (t *txn) observed() *observed {
	if t.seen == nil {
		t.seen = &observed{}
	}
	return t.seen
}

// note records the transition p stands for (emit calls it).
func (t *txn) note(p Payload) {
	if !t.observing {
		return
	}
	typ := p.EventType()
	kind, outcome, _ := strings.Cut(string(typ), ".")
	tr := Transition{Event: typ, Kind: kind, Outcome: outcome}
	switch e := p.(type) {
	case *RequirementSubmittedPayload:
		tr.Requirement = e.Requirement
	case *RequirementApprovedPayload:
		tr.Requirement = e.Requirement
	case *RequirementRejectedPayload:
		tr.Requirement = e.Requirement
	case *RequirementResetPayload:
		tr.Requirement = e.Requirement
	case *RequirementExpiringPayload:
		tr.Requirement = e.Requirement
	case *RequirementExpiredPayload:
		tr.Requirement = e.Requirement
	case *ScreeningHitPayload:
		tr.Requirement = e.Requirement
	case *ScreeningClearedPayload:
		tr.Requirement = e.Requirement
	}
	t.observed().transitions = append(t.observed().transitions, tr)
}

// noteReview records a reviewer's decision on app (DecideApplication calls
// it); tx is the Service's transaction.
func noteReview(tx Store, app Application) {
	t, ok := tx.(*txn)
	if !ok || !t.observing || app.SubmittedAt.IsZero() {
		return
	}
	t.observed().reviews = append(t.observed().reviews, ReviewDecision{Decision: app.Status, Level: app.Level, Latency: app.DecidedAt.Sub(app.SubmittedAt)})
}

// report hands what a committed transaction did to the Observer.
func (s *Service) report(ctx context.Context, seen *observed) {
	for _, tr := range seen.transitions {
		s.obs.Transition(ctx, tr)
	}
	for _, r := range seen.reviews {
		s.obs.ReviewDecided(ctx, r)
	}
}

// jobRun is rep as an Observer sees it.
func jobRun(rep JobReport) JobRun {
	run := JobRun{Job: rep.Job, Counts: rep.Counts, Duration: rep.Duration}
	switch {
	case rep.Err == nil:
	case isContextErr(rep.Err):
		run.Error = "canceled"
	default:
		run.Error = kindName(internal(rep.Err))
	}
	return run
}

// observeAttempt reports dl's stored outcome (attempt calls it).
func (d *Dispatcher) observeAttempt(ctx context.Context, dl Delivery) {
	out := RetryOutcome
	switch dl.Status {
	case DeliveryDelivered:
		out = DeliveredOutcome
	case DeliveryDead:
		out = DeadOutcome
	}
	d.obs.DeliveryAttempted(ctx, DeliveryAttempt{Sink: dl.Sink, Event: dl.Event.Type, Outcome: out, Attempt: dl.Attempts, Lag: d.now().Sub(dl.Event.OccurredAt)})
}

// QueueStats are the two numbers an operator watches as gauges: how much
// work waits for reviewers and how far the outbox is behind.
type QueueStats struct {
	// OpenApplications counts applications in draft or submitted status.
	OpenApplications int
	// OldestPendingEvent is when the event of the oldest pending delivery
	// (lowest Seq) occurred; zero when no delivery is pending.
	OldestPendingEvent time.Time
}

// QueueStatsStore is an optional Store capability: QueueStats from indexes
// in one cheap read. The stores of this module implement it (checked by
// storagetest.RunQueueStats); Service.QueueStats falls back to two list
// calls on a store without it.
type QueueStatsStore interface {
	// QueueStats counts the open applications (draft or submitted) and
	// returns the OccurredAt of the event of the pending delivery with
	// the lowest Seq (zero when none is pending).
	QueueStats(ctx context.Context) (QueueStats, error)
}

// QueueStats returns the store's open applications and the oldest pending
// delivery (for gauges: contrib/otelkyc observes them), and the age of that
// delivery by the Service's clock (0 when none is pending). It reads no
// subject's data and takes no Actor: it answers counts only.
func (s *Service) QueueStats(ctx context.Context) (QueueStats, time.Duration, error) {
	var qs QueueStats
	var err error
	if c, ok := s.store.(QueueStatsStore); ok {
		qs, err = c.QueueStats(ctx)
	} else {
		qs, err = s.listQueueStats(ctx)
	}
	if err != nil {
		return QueueStats{}, 0, s.fail("QueueStats", err)
	}
	var age time.Duration
	if !qs.OldestPendingEvent.IsZero() {
		age = max(s.Now().Sub(qs.OldestPendingEvent), 0)
	}
	return qs, age, nil
}

// listQueueStats is QueueStats through the list calls every Store has.
func (s *Service) listQueueStats(ctx context.Context) (QueueStats, error) {
	apps, err := s.store.ListApplications(ctx, ApplicationFilter{Statuses: []ApplicationStatus{ApplicationDraft, ApplicationSubmitted}})
	if err != nil {
		return QueueStats{}, err
	}
	dl, err := s.store.ListDeliveries(ctx, DeliveryFilter{Status: DeliveryPending, Limit: 1})
	if err != nil {
		return QueueStats{}, err
	}
	qs := QueueStats{OpenApplications: apps.Total}
	if len(dl.Items) > 0 {
		qs.OldestPendingEvent = dl.Items[0].Event.OccurredAt
	}
	return qs, nil
}
