package verification_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// recordingObserver keeps everything a Service and a Dispatcher report.
type recordingObserver struct {
	mu          sync.Mutex
	calls       []string // "start NAME", "end NAME <err kind>"
	txs         []string
	transitions []verification.Transition
	reviews     []verification.ReviewDecision
	jobs        []verification.JobRun
	deliveries  []verification.DeliveryAttempt
}

type spanKey struct{}

func (o *recordingObserver) add(list *[]string, s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	*list = append(*list, s)
}

func (o *recordingObserver) StartCall(ctx context.Context, name string) (context.Context, func(error)) {
	o.add(&o.calls, "start "+name)
	return context.WithValue(ctx, spanKey{}, name), func(err error) { o.add(&o.calls, fmt.Sprintf("end %s %v", name, err != nil)) }
}

func (o *recordingObserver) StartTransaction(ctx context.Context, op string) (context.Context, func(error)) {
	parent, _ := ctx.Value(spanKey{}).(string)
	o.add(&o.txs, parent+">"+op)
	return ctx, func(error) {}
}

func (o *recordingObserver) Transition(_ context.Context, t verification.Transition) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.transitions = append(o.transitions, t)
}

func (o *recordingObserver) ReviewDecided(_ context.Context, r verification.ReviewDecision) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reviews = append(o.reviews, r)
}

func (o *recordingObserver) JobRan(_ context.Context, r verification.JobRun) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.jobs = append(o.jobs, r)
}

func (o *recordingObserver) DeliveryAttempted(_ context.Context, d verification.DeliveryAttempt) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.deliveries = append(o.deliveries, d)
}

func TestObserverSeesCallsTransitionsAndReviews(t *testing.T) {
	t.Parallel()
	obs := &recordingObserver{}
	b := appSetup(t, verification.Options{Observer: obs})
	sub := verificationtest.CreateSubject(t, b.svc)
	app := b.submitLevel1(t, sub.ID)
	b.clock.Advance(90 * time.Minute)
	_, err := b.svc.DecideApplication(b.ctx, verification.AdminActor(1, nil), verification.DecideApplicationParams{ApplicationID: app.ID, Decision: verification.Approve})
	require.NoError(t, err)
	_, err = b.svc.Answer(b.ctx, sub.ID, "no-such-requirement", raw(`1`))
	require.Error(t, err)

	assert.Contains(t, obs.calls, "start Answer")
	assert.Contains(t, obs.calls, "end Answer false")
	assert.Contains(t, obs.calls, "end Answer true", "a refused call ends with its error")
	assert.Contains(t, obs.calls, "end DecideApplication false")
	assert.Contains(t, obs.txs, "Answer>Answer", "the transaction runs in the call's context")
	assert.Contains(t, obs.txs, "DecideApplication>DecideApplication")
	assert.Contains(t, obs.txs, "InitWizard>InitWizard")
	assert.Contains(t, obs.txs, ">CreateSubject", "a call without a call span still reports its transaction")

	want := map[verification.Transition]bool{
		{Event: verification.EventRequirementSubmitted, Kind: "requirement", Outcome: "submitted", Requirement: "emailCode"}: true,
		{Event: verification.EventApplicationSubmitted, Kind: "application", Outcome: "submitted"}:                           true,
		{Event: verification.EventApplicationApproved, Kind: "application", Outcome: "approved"}:                             true,
		{Event: verification.EventLevelGranted, Kind: "level", Outcome: "granted"}:                                           true,
	}
	for _, tr := range obs.transitions {
		delete(want, tr)
	}
	assert.Empty(t, want, "transitions not reported")
	require.Len(t, obs.reviews, 1)
	assert.Equal(t, verification.ReviewDecision{Decision: verification.ApplicationApproved, Level: app.Level, Latency: 90 * time.Minute}, obs.reviews[0])
}

func TestObserverSeesNothingOfRolledBackTransactions(t *testing.T) {
	t.Parallel()
	obs := &recordingObserver{}
	b := appSetup(t, verification.Options{Observer: obs})
	sub := verificationtest.CreateSubject(t, b.svc)
	before := len(obs.transitions)
	_, err := b.svc.Review(b.ctx, verification.AdminActor(1, nil), verification.ReviewParams{SubjectID: sub.ID, Requirement: "emailCode", Decision: verification.Approve})
	require.Error(t, err, "nothing to review")
	assert.Len(t, obs.transitions, before)
}

func TestObserverSeesDeliveriesAndJobs(t *testing.T) {
	t.Parallel()
	obs := &recordingObserver{}
	b := appSetup(t, verification.Options{Observer: obs})
	fails := true
	sink := verification.SubscriberFunc("crm", func(context.Context, verification.Event) error {
		if fails {
			return errors.New("crm down for subject 42")
		}
		return nil
	})
	d := newDispatcher(t, b.svc, verification.DispatcherOptions{Sinks: []verification.Sink{sink}, NowFunc: b.clock.Now, MaxAttempts: 2, Observer: obs, Concurrency: 1})
	require.NoError(t, d.Register(b.ctx))
	verificationtest.CreateSubject(t, b.svc) // subject.created, level.granted
	b.clock.Advance(time.Minute)
	_, err := d.DispatchOnce(b.ctx)
	require.NoError(t, err)
	b.clock.Advance(time.Hour)
	_, err = d.DispatchOnce(b.ctx)
	require.NoError(t, err)
	fails = false
	verificationtest.CreateSubject(t, b.svc)
	b.clock.Advance(3 * time.Second)
	for range 4 {
		_, err = d.DispatchOnce(b.ctx)
		require.NoError(t, err)
	}
	require.GreaterOrEqual(t, len(obs.deliveries), 4)
	assert.Equal(t, verification.DeliveryAttempt{Sink: "crm", Event: verification.EventSubjectCreated, Outcome: verification.RetryOutcome, Attempt: 1, Lag: time.Minute}, obs.deliveries[0])
	assert.Equal(t, verification.DeliveryAttempt{Sink: "crm", Event: verification.EventSubjectCreated, Outcome: verification.DeadOutcome, Attempt: 2, Lag: time.Hour + time.Minute}, obs.deliveries[1])
	last := obs.deliveries[len(obs.deliveries)-1]
	assert.Equal(t, verification.DeliveredOutcome, last.Outcome)
	assert.Equal(t, 3*time.Second, last.Lag)

	r, err := b.svc.Maintenance(verification.MaintenanceOptions{Jobs: []verification.Job{{Name: "exports", Interval: time.Hour, Run: func(context.Context) (verification.JobResult, error) {
		return verification.JobResult{Counts: map[string]int{"exported": 3}}, fmt.Errorf("export of subject 42 failed: %w", verification.ErrConflict)
	}}}})
	require.NoError(t, err)
	_, err = r.RunJob(b.ctx, "exports")
	require.NoError(t, err)
	_, err = r.RunJob(b.ctx, verification.JobApplicationExpiry)
	require.NoError(t, err)
	require.Len(t, obs.jobs, 2)
	assert.Equal(t, "exports", obs.jobs[0].Job)
	assert.Equal(t, map[string]int{"exported": 3}, obs.jobs[0].Counts)
	assert.Equal(t, verification.ErrConflict.Error(), obs.jobs[0].Error, "the kind, never the text")
	assert.Equal(t, verification.JobApplicationExpiry, obs.jobs[1].Job)
	assert.Empty(t, obs.jobs[1].Error)
	assert.Contains(t, obs.calls, "start maintenance exports")
	assert.Contains(t, obs.calls, "end maintenance exports true")
}

func TestQueueStats(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	qs, age, err := b.svc.QueueStats(b.ctx)
	require.NoError(t, err)
	assert.Equal(t, verification.QueueStats{}, qs)
	assert.Zero(t, age)
	d := newDispatcher(t, b.svc, verification.DispatcherOptions{Sinks: []verification.Sink{verification.SubscriberFunc("crm", func(context.Context, verification.Event) error { return nil })}, NowFunc: b.clock.Now})
	require.NoError(t, d.Register(b.ctx))
	sub := verificationtest.CreateSubject(t, b.svc)
	b.submitLevel1(t, sub.ID)
	b.clock.Advance(5 * time.Minute)
	qs, age, err = b.svc.QueueStats(b.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, qs.OpenApplications)
	assert.Equal(t, verificationtest.Start, qs.OldestPendingEvent)
	assert.Equal(t, 5*time.Minute, age)
}
