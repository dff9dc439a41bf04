package otelkyc_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/openkyc/kyc/contrib/otelkyc"
	"github.com/openkyc/kyc/httpadapter"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// testBundle is a Service, a Dispatcher and an Adapter on the memory store,
// all observed by one otelkyc.Observer recording to a manual reader and a
// span recorder.
type testBundle struct {
	ctx    context.Context
	svc    *verification.Service
	clock  *verificationtest.Clock
	disp   *verification.Dispatcher
	server *httptest.Server
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	// secrets are the values no attribute may carry: the seeded subjects'
	// ids and identifiers, their applications' ids and UUIDs.
	secrets []string
	// failing makes the "crm" sink fail.
	failing bool
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	b := &testBundle{ctx: context.Background(), reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(b.reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(b.spans))
	t.Cleanup(func() { _ = mp.Shutdown(b.ctx); _ = tp.Shutdown(b.ctx) })
	obs, err := otelkyc.New(otelkyc.Options{MeterProvider: mp, TracerProvider: tp})
	require.NoError(t, err)
	b.svc, b.clock = verificationtest.NewService(t, verificationtest.SeedLadder(t), verification.Options{Observer: obs})
	reg, err := obs.ObserveQueue(b.svc)
	require.NoError(t, err)
	t.Cleanup(func() { _ = reg.Unregister() })
	crm := verification.SubscriberFunc("crm", func(context.Context, verification.Event) error {
		if b.failing {
			return errors.New("crm refused the event of subject 1")
		}
		return nil
	})
	b.disp, err = verification.NewDispatcher(verificationtest.StoreOf(b.svc), verification.DispatcherOptions{Sinks: []verification.Sink{crm}, NowFunc: b.clock.Now, Observer: obs, BackoffBase: time.Second, BackoffMax: time.Second})
	require.NoError(t, err)
	require.NoError(t, b.disp.Register(b.ctx))

	sub := verificationtest.CreateSubject(t, b.svc)
	b.secrets = append(b.secrets, strconv.FormatInt(sub.ID, 10), sub.Identifier)
	auth, err := httpadapter.NewStaticAuthenticator(map[string]httpadapter.StaticToken{
		"user-token": {Principal: httpadapter.Principal{Credential: httpadapter.User, SubjectID: sub.ID, Scopes: []string{httpadapter.DefaultPendingRequestScope}}},
	}, b.clock.Now)
	require.NoError(t, err)
	a, err := httpadapter.New(b.svc, httpadapter.Options{Authenticator: auth, Observer: obs})
	require.NoError(t, err)
	b.server = httptest.NewServer(a.Handler("/kyc"))
	t.Cleanup(b.server.Close)

	// The walkthrough: a Level 1 application, answered and submitted,
	// approved 90 minutes later.
	step, err := b.svc.InitWizard(b.ctx, sub.ID)
	require.NoError(t, err)
	b.secrets = append(b.secrets, strconv.FormatInt(step.Application.ID, 10), step.Application.UUID)
	for name, answer := range map[string]string{"isBusiness": `false`, "nationality": `"NL"`, "emailCode": `"123456"`} {
		_, err := b.svc.Answer(b.ctx, sub.ID, name, json.RawMessage(answer))
		require.NoError(t, err, name)
	}
	step, err = b.svc.InitWizard(b.ctx, sub.ID)
	require.NoError(t, err)
	require.Equal(t, verification.ApplicationSubmitted, step.Application.Status)
	b.clock.Advance(90 * time.Minute)
	_, err = b.svc.DecideApplication(b.ctx, verification.AdminActor(3, nil), verification.DecideApplicationParams{ApplicationID: step.Application.ID, Decision: verification.Approve})
	require.NoError(t, err)
	return b
}

// get sends an authenticated GET to the adapter and returns the status.
func (b *testBundle) get(t *testing.T, path string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.server.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer user-token")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// collect reads every metric, by name.
func (b *testBundle) collect(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, b.reader.Collect(b.ctx, &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// points returns the attribute sets and values of m's data points (for
// histograms, the count).
func points(t *testing.T, m metricdata.Metrics) map[attribute.Distinct]float64 {
	t.Helper()
	out := map[attribute.Distinct]float64{}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			out[equivalent(p.Attributes)] = float64(p.Value)
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			out[equivalent(p.Attributes)] = float64(p.Value)
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			out[equivalent(p.Attributes)] = p.Value
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			out[equivalent(p.Attributes)] = float64(p.Count)
		}
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			out[equivalent(p.Attributes)] = float64(p.Count)
		}
	default:
		t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
	}
	return out
}

func set(kvs ...attribute.KeyValue) attribute.Distinct {
	s := attribute.NewSet(kvs...)
	return s.Equivalent()
}

// equivalent is s.Equivalent for a value.
func equivalent(s attribute.Set) attribute.Distinct { return s.Equivalent() }

// attrSets returns the attribute sets of m's data points.
func attrSets(m metricdata.Metrics) []attribute.Set {
	var out []attribute.Set
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	}
	return out
}

// histogram returns the single data point of m with attributes kvs.
func histogram(t *testing.T, m metricdata.Metrics, kvs ...attribute.KeyValue) metricdata.HistogramDataPoint[float64] {
	t.Helper()
	want := set(kvs...)
	for _, p := range m.Data.(metricdata.Histogram[float64]).DataPoints {
		if equivalent(p.Attributes) == want {
			return p
		}
	}
	t.Fatalf("%s: no data point with %v", m.Name, kvs)
	return metricdata.HistogramDataPoint[float64]{}
}

func TestInstrumentsNamesAndAttributes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.clock.Advance(2 * time.Second)
	require.Equal(t, http.StatusOK, b.get(t, "/kyc/api/v2/user/verification-status"))
	b.failing = true
	_, err := b.disp.DispatchOnce(b.ctx)
	require.NoError(t, err)
	b.failing = false
	b.clock.Advance(time.Minute)
	for {
		n, err := b.disp.DispatchOnce(b.ctx)
		require.NoError(t, err)
		if n == 0 {
			break
		}
	}
	runner, err := b.svc.Maintenance(verification.MaintenanceOptions{})
	require.NoError(t, err)
	_, err = runner.RunJob(b.ctx, verification.JobApplicationExpiry)
	require.NoError(t, err)

	ms := b.collect(t)
	names := make([]string, 0, len(ms))
	for n := range ms {
		names = append(names, n)
	}
	assert.ElementsMatch(t, []string{otelkyc.MetricTransitions, otelkyc.MetricReviewDuration, otelkyc.MetricDeliveries, otelkyc.MetricDeliveryLag,
		otelkyc.MetricDeliveryAttempt, otelkyc.MetricMaintenanceRuns, otelkyc.MetricMaintenanceDuration, otelkyc.MetricHTTPDuration,
		otelkyc.MetricOpenApplications, otelkyc.MetricOldestPendingAge}, names,
		"every instrument that saw something (maintenance.items: the expiry run did nothing)")

	tr := points(t, ms[otelkyc.MetricTransitions])
	assert.Equal(t, 1.0, tr[set(otelkyc.AttrKind.String("application"), otelkyc.AttrOutcome.String("approved"))])
	assert.Equal(t, 1.0, tr[set(otelkyc.AttrKind.String("application"), otelkyc.AttrOutcome.String("submitted"))])
	assert.Equal(t, 1.0, tr[set(otelkyc.AttrKind.String("requirement"), otelkyc.AttrOutcome.String("submitted"), otelkyc.AttrRequirement.String("emailCode"))])
	assert.Equal(t, 1.0, tr[set(otelkyc.AttrKind.String("requirement"), otelkyc.AttrOutcome.String("approved"), otelkyc.AttrRequirement.String("emailCode"))],
		"the application's approval settles the pending requirement")
	assert.GreaterOrEqual(t, tr[set(otelkyc.AttrKind.String("level"), otelkyc.AttrOutcome.String("granted"))], 2.0, "the first level at creation, then Level 1")

	review := histogram(t, ms[otelkyc.MetricReviewDuration], otelkyc.AttrDecision.String("approved"), otelkyc.AttrLevel.Int(2))
	assert.Equal(t, uint64(1), review.Count)
	assert.InDelta(t, 5400, review.Sum, 0.001, "submitted to decided: 90 minutes")

	dl := points(t, ms[otelkyc.MetricDeliveries])
	assert.Equal(t, 1.0, dl[set(otelkyc.AttrSink.String("crm"), otelkyc.AttrOutcome.String("retry"), otelkyc.AttrEventType.String("subject.created"))])
	assert.Equal(t, 1.0, dl[set(otelkyc.AttrSink.String("crm"), otelkyc.AttrOutcome.String("delivered"), otelkyc.AttrEventType.String("subject.created"))])
	assert.Equal(t, 1.0, dl[set(otelkyc.AttrSink.String("crm"), otelkyc.AttrOutcome.String("delivered"), otelkyc.AttrEventType.String("application.approved"))])
	lag := histogram(t, ms[otelkyc.MetricDeliveryLag], otelkyc.AttrSink.String("crm"), otelkyc.AttrOutcome.String("retry"))
	assert.InDelta(t, 90*60+2, lag.Sum, 0.001, "the subject.created event waited since the start")

	runs := points(t, ms[otelkyc.MetricMaintenanceRuns])
	assert.Equal(t, 1.0, runs[set(otelkyc.AttrJob.String(verification.JobApplicationExpiry))])

	reqs := histogram(t, ms[otelkyc.MetricHTTPDuration], otelkyc.AttrHTTPMethod.String("GET"), otelkyc.AttrHTTPRoute.String("/kyc/api/v2/user/verification-status"), otelkyc.AttrHTTPStatus.Int(200))
	assert.Equal(t, uint64(1), reqs.Count)

	open := points(t, ms[otelkyc.MetricOpenApplications])
	assert.Equal(t, map[attribute.Distinct]float64{set(): 0}, open, "the one application was decided")
	age := points(t, ms[otelkyc.MetricOldestPendingAge])
	assert.Equal(t, map[attribute.Distinct]float64{set(): 0}, age, "everything was delivered")

	// No attribute of any metric or span carries an identifier.
	for _, m := range ms {
		require.NotEmpty(t, attrSets(m), m.Name)
		for _, s := range attrSets(m) {
			for _, kv := range s.ToSlice() {
				b.requireNoSecret(t, m.Name+" "+string(kv.Key), kv.Value.String())
			}
		}
	}
	for _, s := range b.spans.Ended() {
		b.requireNoSecret(t, "span name", s.Name())
		b.requireNoSecret(t, "span status", s.Status().Description)
		for _, kv := range s.Attributes() {
			b.requireNoSecret(t, s.Name()+" "+string(kv.Key), kv.Value.String())
		}
	}
}

// requireNoSecret fails if v carries a seeded id or identifier.
func (b *testBundle) requireNoSecret(t *testing.T, what, v string) {
	t.Helper()
	for _, s := range b.secrets {
		if len(s) < 3 {
			require.NotEqual(t, s, v, "%s carries the id %s", what, s)
			continue
		}
		require.NotContains(t, v, s, "%s carries %s", what, s)
	}
}

func TestGaugesShowQueueDepthAndLag(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	b.secrets = append(b.secrets, strconv.FormatInt(sub.ID, 10), sub.Identifier)
	_, err := b.svc.InitWizard(b.ctx, sub.ID)
	require.NoError(t, err)
	b.clock.Advance(time.Minute)
	ms := b.collect(t)
	assert.Equal(t, map[attribute.Distinct]float64{set(): 1}, points(t, ms[otelkyc.MetricOpenApplications]), "one draft application")
	assert.Equal(t, map[attribute.Distinct]float64{set(): (90*time.Minute + time.Minute).Seconds()}, points(t, ms[otelkyc.MetricOldestPendingAge]),
		"nothing was dispatched: the first subject's first event is 91 minutes old")
}

func TestSpansNestTransactionsInCalls(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.svc.Answer(b.ctx, 1_000_000, "nationality", json.RawMessage(`"NL"`))
	require.Error(t, err, "no such subject")

	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range b.spans.Ended() {
		byName[s.Name()] = append(byName[s.Name()], s)
	}
	calls := byName[otelkyc.SpanCallPrefix+"DecideApplication"]
	require.Len(t, calls, 1)
	var txs []sdktrace.ReadOnlySpan
	for _, s := range byName[otelkyc.SpanTransaction] {
		if s.Parent().SpanID() == calls[0].SpanContext().SpanID() {
			txs = append(txs, s)
		}
	}
	require.Len(t, txs, 1, "DecideApplication's one transaction is its child")
	assert.Contains(t, txs[0].Attributes(), otelkyc.AttrOp.String("DecideApplication"))
	assert.Equal(t, calls[0].SpanContext().TraceID(), txs[0].SpanContext().TraceID())

	answers := byName[otelkyc.SpanCallPrefix+"Answer"]
	require.Len(t, answers, 4, "three answers and the refused one")
	failed := answers[3]
	assert.Equal(t, "Error", failed.Status().Code.String())
	assert.Contains(t, failed.Attributes(), otelkyc.AttrErrorType.String(verification.ErrDeleted.Error()), "the kind (an absent subject is ER709, deleted), never the message")
	for _, s := range b.spans.Ended() {
		assert.False(t, strings.Contains(s.Name(), "/"), "span names are call names, never paths")
	}
}
