// Package otelkyc implements openkyc's observer hooks with OpenTelemetry,
// as River's otelriver does for River: metrics and traces through an
// injected MeterProvider and TracerProvider, so the host chooses the
// backend (Prometheus, OTLP, anything with an OpenTelemetry exporter) and
// the core module depends on none of it.
//
//	obs, err := otelkyc.New(otelkyc.Options{MeterProvider: mp, TracerProvider: tp})
//	svc, err := verification.New(ladder, store, verification.Options{Observer: obs})
//	d, err := verification.NewDispatcher(store, verification.DispatcherOptions{Observer: obs, ...})
//	a, err := httpadapter.New(svc, httpadapter.Options{Observer: obs, ...})
//	reg, err := obs.ObserveQueue(svc) // the two gauges; reg.Unregister() at shutdown
//
// One Observer serves a Service, its maintenance Runner, Dispatchers and
// Adapters. Its instruments (see the README's table):
//
//	openkyc.transitions                counter    openkyc.kind, openkyc.outcome, openkyc.requirement
//	openkyc.review.duration            histogram  s, openkyc.decision, openkyc.level
//	openkyc.deliveries                 counter    openkyc.sink, openkyc.outcome, openkyc.event_type
//	openkyc.delivery.lag               histogram  s, openkyc.sink, openkyc.outcome
//	openkyc.delivery.attempt           histogram  {attempt}, openkyc.sink, openkyc.outcome
//	openkyc.maintenance.runs           counter    openkyc.job, error.type
//	openkyc.maintenance.duration       histogram  s, openkyc.job
//	openkyc.maintenance.items          counter    openkyc.job, openkyc.count
//	http.server.request.duration       histogram  s, http.request.method, http.route, http.response.status_code
//	openkyc.applications.open          gauge      {application}
//	openkyc.outbox.oldest_pending.age  gauge      s
//
// and its spans: "verification.NAME" around the Service calls that report
// one (Answer, InitWizard, InitWizardByIdentifier, RunWizard, Upload,
// Review, DecideApplication, GrantLevel, ApplyProviderDecision, each
// maintenance job as
// "verification.maintenance JOB"), and "store.transaction" (attribute
// openkyc.op) around the store transaction of every state change of the
// Service, a child of the call's span when there is one. A failed call or
// transaction gets the Error status and an error.type attribute naming
// the failure's kind ("conflict", "not found"...), never its message.
//
// No attribute carries personal data: the core's observers never receive
// subject ids, identifiers, names, answers or paths (the HTTP attribute is
// the route pattern), and otelkyc adds none. Every attribute value comes
// from a bounded set fixed by the configuration (ladder, sinks, jobs,
// routes).
package otelkyc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/openkyc/kyc/httpadapter"
	"github.com/openkyc/kyc/verification"
)

// ScopeName is the instrumentation scope of otelkyc's meter and tracer.
const ScopeName = "github.com/openkyc/kyc/contrib/otelkyc"

// The instruments' names.
const (
	MetricTransitions         = "openkyc.transitions"
	MetricReviewDuration      = "openkyc.review.duration"
	MetricDeliveries          = "openkyc.deliveries"
	MetricDeliveryLag         = "openkyc.delivery.lag"
	MetricDeliveryAttempt     = "openkyc.delivery.attempt"
	MetricMaintenanceRuns     = "openkyc.maintenance.runs"
	MetricMaintenanceDuration = "openkyc.maintenance.duration"
	MetricMaintenanceItems    = "openkyc.maintenance.items"
	MetricHTTPDuration        = "http.server.request.duration"
	MetricOpenApplications    = "openkyc.applications.open"
	MetricOldestPendingAge    = "openkyc.outbox.oldest_pending.age"
)

// The span names (a Service call's is SpanCallPrefix and the call's name).
const (
	SpanCallPrefix  = "verification."
	SpanTransaction = "store.transaction"
)

// The attribute keys otelkyc sets.
const (
	AttrKind        = attribute.Key("openkyc.kind")
	AttrOutcome     = attribute.Key("openkyc.outcome")
	AttrRequirement = attribute.Key("openkyc.requirement")
	AttrDecision    = attribute.Key("openkyc.decision")
	AttrLevel       = attribute.Key("openkyc.level")
	AttrSink        = attribute.Key("openkyc.sink")
	AttrEventType   = attribute.Key("openkyc.event_type")
	AttrJob         = attribute.Key("openkyc.job")
	AttrCount       = attribute.Key("openkyc.count")
	AttrOp          = attribute.Key("openkyc.op")
	AttrErrorType   = attribute.Key("error.type")
	AttrHTTPMethod  = attribute.Key("http.request.method")
	AttrHTTPRoute   = attribute.Key("http.route")
	AttrHTTPStatus  = attribute.Key("http.response.status_code")
)

// Options configure an Observer.
type Options struct {
	// MeterProvider creates the instruments; nil means the global one
	// (otel.GetMeterProvider).
	MeterProvider metric.MeterProvider
	// TracerProvider creates the spans; nil means the global one
	// (otel.GetTracerProvider).
	TracerProvider trace.TracerProvider
}

// Observer is a verification.Observer and an httpadapter.Observer
// recording to OpenTelemetry. It is safe for concurrent use.
type Observer struct {
	meter  metric.Meter
	tracer trace.Tracer

	transitions    metric.Int64Counter
	reviewDuration metric.Float64Histogram
	deliveries     metric.Int64Counter
	lag            metric.Float64Histogram
	attempt        metric.Int64Histogram
	jobRuns        metric.Int64Counter
	jobDuration    metric.Float64Histogram
	jobItems       metric.Int64Counter
	httpDuration   metric.Float64Histogram
}

var (
	_ verification.Observer = (*Observer)(nil)
	_ httpadapter.Observer  = (*Observer)(nil)
)

// New returns an Observer with its instruments created on the meter
// provider.
func New(opts Options) (*Observer, error) {
	mp, tp := opts.MeterProvider, opts.TracerProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	o := &Observer{meter: mp.Meter(ScopeName), tracer: tp.Tracer(ScopeName)}
	m := o.meter
	// Latency buckets from 5 ms to 1 week: an HTTP request, a delivery
	// lag and a review decision each fall somewhere in it.
	slow := metric.WithExplicitBucketBoundaries(0.005, 0.05, 0.5, 1, 5, 30, 60, 300, 900, 3600, 4*3600, 86400, 7*86400)
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	var err error
	o.transitions, err = m.Int64Counter(MetricTransitions, metric.WithUnit("{transition}"),
		metric.WithDescription("Committed state changes of subjects, requirements, applications and levels, by kind and outcome."))
	add(err)
	o.reviewDuration, err = m.Float64Histogram(MetricReviewDuration, metric.WithUnit("s"), slow,
		metric.WithDescription("Time from an application's submission to its reviewer's decision."))
	add(err)
	o.deliveries, err = m.Int64Counter(MetricDeliveries, metric.WithUnit("{delivery}"),
		metric.WithDescription("Outbox delivery attempts by sink and outcome (delivered, retry, dead)."))
	add(err)
	o.lag, err = m.Float64Histogram(MetricDeliveryLag, metric.WithUnit("s"), slow,
		metric.WithDescription("Time from an event's occurrence to the end of a delivery attempt of it."))
	add(err)
	o.attempt, err = m.Int64Histogram(MetricDeliveryAttempt, metric.WithUnit("{attempt}"),
		metric.WithExplicitBucketBoundaries(1, 2, 3, 5, 10, 20),
		metric.WithDescription("The attempt number of each delivery attempt (1 for the first)."))
	add(err)
	o.jobRuns, err = m.Int64Counter(MetricMaintenanceRuns, metric.WithUnit("{run}"),
		metric.WithDescription("Maintenance job runs, with error.type set on failed ones."))
	add(err)
	o.jobDuration, err = m.Float64Histogram(MetricMaintenanceDuration, metric.WithUnit("s"),
		metric.WithDescription("How long a maintenance job run took."))
	add(err)
	o.jobItems, err = m.Int64Counter(MetricMaintenanceItems, metric.WithUnit("{item}"),
		metric.WithDescription("What maintenance runs did, by job and count name (expired, purged, deleted...)."))
	add(err)
	o.httpDuration, err = m.Float64Histogram(MetricHTTPDuration, metric.WithUnit("s"), slow,
		metric.WithDescription("Duration of HTTP requests served by the openkyc adapter, by route pattern."))
	add(err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("otelkyc: creating instruments: %w", err)
	}
	return o, nil
}

// QueueStatser is what ObserveQueue reads: *verification.Service.
type QueueStatser interface {
	// QueueStats returns the open applications, the oldest pending
	// delivery and its age.
	QueueStats(ctx context.Context) (verification.QueueStats, time.Duration, error)
}

// ObserveQueue registers the two observable gauges, read from
// svc.QueueStats at each collection (one cheap store read per scrape):
// openkyc.applications.open and openkyc.outbox.oldest_pending.age (0 when
// nothing is pending). Unregister the returned registration when svc goes
// away. A failing read is reported to otel's error handler and skips the
// collection's values.
func (o *Observer) ObserveQueue(svc QueueStatser) (metric.Registration, error) {
	open, err := o.meter.Int64ObservableGauge(MetricOpenApplications, metric.WithUnit("{application}"),
		metric.WithDescription("Applications in draft or submitted status: the reviewers' queue depth."))
	if err != nil {
		return nil, fmt.Errorf("otelkyc: %w", err)
	}
	age, err := o.meter.Float64ObservableGauge(MetricOldestPendingAge, metric.WithUnit("s"),
		metric.WithDescription("Age of the event of the oldest pending outbox delivery (0 when none is pending)."))
	if err != nil {
		return nil, fmt.Errorf("otelkyc: %w", err)
	}
	reg, err := o.meter.RegisterCallback(func(ctx context.Context, ob metric.Observer) error {
		qs, a, err := svc.QueueStats(ctx)
		if err != nil {
			return fmt.Errorf("otelkyc: reading queue stats: %s", errorType(err))
		}
		ob.ObserveInt64(open, int64(qs.OpenApplications))
		ob.ObserveFloat64(age, a.Seconds())
		return nil
	}, open, age)
	if err != nil {
		return nil, fmt.Errorf("otelkyc: %w", err)
	}
	return reg, nil
}

// StartCall starts the span of a Service call, "verification.NAME".
func (o *Observer) StartCall(ctx context.Context, call string) (context.Context, func(error)) {
	ctx, span := o.tracer.Start(ctx, SpanCallPrefix+call, trace.WithSpanKind(trace.SpanKindInternal))
	return ctx, func(err error) { end(span, err) }
}

// StartTransaction starts the span of a store transaction,
// "store.transaction" with openkyc.op.
func (o *Observer) StartTransaction(ctx context.Context, op string) (context.Context, func(error)) {
	ctx, span := o.tracer.Start(ctx, SpanTransaction, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(AttrOp.String(op)))
	return ctx, func(err error) { end(span, err) }
}

// end ends span, marking a failure by its kind only.
func end(span trace.Span, err error) {
	if err != nil {
		kind := errorType(err)
		span.SetAttributes(AttrErrorType.String(kind))
		span.SetStatus(codes.Error, kind)
	}
	span.End()
}

// errorType names err's kind without its text: the verification
// sentinel's text, "canceled", or "error".
func errorType(err error) string {
	var e *verification.Error
	switch {
	case errors.As(err, &e) && e.Sentinel != nil:
		return e.Sentinel.Error()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	for _, s := range verification.Sentinels {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "error"
}

// Transition counts a committed state change.
func (o *Observer) Transition(ctx context.Context, t verification.Transition) {
	attrs := []attribute.KeyValue{AttrKind.String(t.Kind), AttrOutcome.String(t.Outcome)}
	if t.Requirement != "" {
		attrs = append(attrs, AttrRequirement.String(t.Requirement))
	}
	o.transitions.Add(ctx, 1, metric.WithAttributes(attrs...))
}

// ReviewDecided records the submitted-to-decided latency of a review.
func (o *Observer) ReviewDecided(ctx context.Context, r verification.ReviewDecision) {
	o.reviewDuration.Record(ctx, r.Latency.Seconds(), metric.WithAttributes(AttrDecision.String(string(r.Decision)), AttrLevel.Int(r.Level)))
}

// JobRan counts a maintenance run, its duration and what it did.
func (o *Observer) JobRan(ctx context.Context, r verification.JobRun) {
	job := AttrJob.String(r.Job)
	runAttrs := []attribute.KeyValue{job}
	if r.Error != "" {
		runAttrs = append(runAttrs, AttrErrorType.String(r.Error))
	}
	o.jobRuns.Add(ctx, 1, metric.WithAttributes(runAttrs...))
	o.jobDuration.Record(ctx, r.Duration.Seconds(), metric.WithAttributes(job))
	for name, n := range r.Counts {
		if n != 0 {
			o.jobItems.Add(ctx, int64(n), metric.WithAttributes(job, AttrCount.String(name)))
		}
	}
}

// DeliveryAttempted counts a delivery attempt and records its lag and
// attempt number.
func (o *Observer) DeliveryAttempted(ctx context.Context, d verification.DeliveryAttempt) {
	sink, outcome := AttrSink.String(d.Sink), AttrOutcome.String(string(d.Outcome))
	o.deliveries.Add(ctx, 1, metric.WithAttributes(sink, outcome, AttrEventType.String(string(d.Event))))
	o.lag.Record(ctx, d.Lag.Seconds(), metric.WithAttributes(sink, outcome))
	o.attempt.Record(ctx, int64(d.Attempt), metric.WithAttributes(sink, outcome))
}

// Request records an HTTP request's duration by route pattern.
func (o *Observer) Request(ctx context.Context, r httpadapter.Request) {
	o.httpDuration.Record(ctx, r.Duration.Seconds(), metric.WithAttributes(
		AttrHTTPMethod.String(r.Method), AttrHTTPRoute.String(r.Route), AttrHTTPStatus.Int(r.Status)))
}
