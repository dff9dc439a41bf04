package verification_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// counts returns the reports' counts by job name (and fails on an error).
func counts(t *testing.T, reps []verification.JobReport) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	for _, r := range reps {
		require.NoError(t, r.Err, r.Job)
		require.NotZero(t, r.Started, r.Job)
		out[r.Job] = r.Counts
	}
	return out
}

// TestMaintenanceRunOnce leaves one piece of work for every built-in job
// and checks that one pass does it all, with a report per job.
func TestMaintenanceRunOnce(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	b := docSetup(t, verification.Options{ImageRetention: 30 * day, UploadTTL: day, ApplicationTTL: day})
	ctx := b.ctx
	st := verificationtest.StoreOf(b.svc)
	require.NoError(t, st.RegisterSink(ctx, "crm"))

	// application-expiry: an open application past its TTL.
	applicant := verificationtest.CreateSubject(t, b.svc)
	b.submitLevel1(t, applicant.ID)
	// retention: a reviewed passport.
	reviewed := verificationtest.CreateSubject(t, b.svc)
	front, back := b.passport(t, reviewed.ID)
	b.answerPassport(t, reviewed.ID, front, back)
	_, err := b.svc.Review(ctx, verification.AdminActor(1, nil), verification.ReviewParams{SubjectID: reviewed.ID, Requirement: "idDocument", Decision: verification.Approve})
	require.NoError(t, err)
	// upload-expiry: an upload never submitted.
	verificationtest.Upload(t, b.svc, reviewed.ID, verification.SelfieType, verification.SelfieSide)
	// orphan-sweep runs too (its cut-off is on the Service's clock, the
	// files' times are not: orphans_test.go covers what it removes).
	// idempotency-pruning: a record that expires after a day.
	_, err = b.svc.ReserveIdempotency(ctx, verification.IdempotencyRecord{Scope: "s", Key: "k", CreatedAt: b.svc.Now(), ExpiresAt: b.svc.Now().Add(day)})
	require.NoError(t, err)
	// outbox-pruning: a delivery delivered now.
	claimed, err := st.ClaimDeliveries(ctx, b.svc.Now(), b.svc.Now().Add(time.Minute), 1)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	d := claimed[0]
	d.Status, d.DeliveredAt, d.Attempts = verification.DeliveryDelivered, b.svc.Now(), 1
	require.NoError(t, st.UpdateDelivery(ctx, d))
	// deletion-sweep: a tombstone left by a crash.
	require.NoError(t, st.AddBlobDeletion(ctx, verification.BlobDeletion{ID: "crashed", SubjectID: reviewed.ID, Key: "0123456789abcdef0123456789abcdef", CreatedAt: b.svc.Now()}))

	b.clock.Advance(31 * day)
	r, err := b.svc.Maintenance(verification.MaintenanceOptions{})
	require.NoError(t, err)
	names := []string{}
	for _, j := range r.Jobs() {
		names = append(names, j.Name)
	}
	require.Equal(t, []string{
		verification.JobApplicationExpiry, verification.JobRetention, verification.JobUploadExpiry, verification.JobOrphanSweep,
		verification.JobDeletionSweep, verification.JobIdempotencyPruning, verification.JobOutboxPruning,
	}, names)

	got := counts(t, r.RunOnce(ctx))
	assert.Equal(t, map[string]map[string]int{
		verification.JobApplicationExpiry:  {"expired": 1},
		verification.JobRetention:          {"purged": 2, "held": 0, "deferred": 0},
		verification.JobUploadExpiry:       {"expired": 1},
		verification.JobOrphanSweep:        {"blobs": 0, "temp_files": 0},
		verification.JobDeletionSweep:      {"deleted": 1},
		verification.JobIdempotencyPruning: {"deleted": 1},
		verification.JobOutboxPruning:      {"deleted": 1},
	}, got)
	assert.Empty(t, blobFiles(t, b.dir), "every image purged or expired")

	again := counts(t, r.RunOnce(ctx))
	for job, c := range again {
		for k, n := range c {
			assert.Zero(t, n, "%s %s: a second pass finds nothing to do", job, k)
		}
	}
	rep, err := r.RunJob(ctx, verification.JobRetention)
	require.NoError(t, err)
	assert.NoError(t, rep.Err)
	_, err = r.RunJob(ctx, "nope")
	require.ErrorIs(t, err, verification.ErrNotFound)
}

// TestMaintenanceRun: every job runs on its own interval until the context
// is cancelled, runs of one job never overlap, a failing or panicking job
// is reported and does not stop the others, a disabled job never runs.
func TestMaintenanceRun(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	var (
		fastRuns, slowRuns atomic.Int32
		running            atomic.Int32
		mu                 sync.Mutex
		reports            = map[string][]verification.JobReport{}
	)
	boom := errors.New("boom")
	r, err := b.svc.Maintenance(verification.MaintenanceOptions{
		ApplicationExpiry: -1, Retention: -1, UploadExpiry: -1, OrphanSweep: -1, DeletionSweep: -1, IdempotencyPruning: -1,
		OutboxPruning: time.Hour,
		Jobs: []verification.Job{
			{Name: "fast", Interval: time.Millisecond, Run: func(ctx context.Context) (verification.JobResult, error) {
				if running.Add(1) > 1 {
					t.Error("two runs of one job overlap")
				}
				defer running.Add(-1)
				n := fastRuns.Add(1)
				if n%2 == 0 {
					return verification.JobResult{}, boom
				}
				if n == 3 {
					panic("job bug")
				}
				return verification.JobResult{Counts: map[string]int{"n": int(n)}}, nil
			}},
			{Name: "slow", Interval: time.Hour, Run: func(ctx context.Context) (verification.JobResult, error) {
				slowRuns.Add(1)
				<-ctx.Done() // a long run sees the shutdown
				return verification.JobResult{}, ctx.Err()
			}},
		},
		OnReportFunc: func(rep verification.JobReport) {
			mu.Lock()
			defer mu.Unlock()
			reports[rep.Job] = append(reports[rep.Job], rep)
		},
	})
	require.NoError(t, err)
	require.Len(t, r.Jobs(), 3, "outbox-pruning and the two host jobs")

	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	require.Eventually(t, func() bool { return fastRuns.Load() >= 6 && slowRuns.Load() == 1 }, 10*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the context was cancelled")
	}
	n := fastRuns.Load()
	time.Sleep(5 * time.Millisecond)
	assert.Equal(t, n, fastRuns.Load(), "no run after Run returned")
	assert.Equal(t, int32(1), slowRuns.Load(), "the slow job waits an hour")

	mu.Lock()
	defer mu.Unlock()
	fast := reports["fast"]
	require.GreaterOrEqual(t, len(fast), 6)
	assert.NoError(t, fast[0].Err)
	assert.Equal(t, map[string]int{"n": 1}, fast[0].Counts)
	assert.ErrorIs(t, fast[1].Err, boom)
	assert.ErrorIs(t, fast[2].Err, verification.ErrInternal, "a panic is the run's error")
	require.Len(t, reports["outbox-pruning"], 1)
	assert.ErrorIs(t, reports["slow"][0].Err, context.Canceled)
}

func TestMaintenanceOptions(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	run := func(context.Context) (verification.JobResult, error) { return verification.JobResult{}, nil }
	for name, o := range map[string]verification.MaintenanceOptions{
		"duplicate":      {Jobs: []verification.Job{{Name: "a", Interval: time.Second, Run: run}, {Name: "a", Interval: time.Second, Run: run}}},
		"built-in name":  {Jobs: []verification.Job{{Name: verification.JobRetention, Interval: time.Second, Run: run}}},
		"disabled name":  {Retention: -1, Jobs: []verification.Job{{Name: verification.JobRetention, Interval: time.Second, Run: run}}},
		"no name":        {Jobs: []verification.Job{{Interval: time.Second, Run: run}}},
		"no interval":    {Jobs: []verification.Job{{Name: "a", Run: run}}},
		"no run":         {Jobs: []verification.Job{{Name: "a", Interval: time.Second}}},
		"negative grace": {OrphanGrace: -1},
		"negative keep":  {DeliveredRetention: -1},
	} {
		_, err := b.svc.Maintenance(o)
		require.ErrorIs(t, err, verification.ErrInvalid, name)
	}
	_, err := b.svc.PruneDeliveries(b.ctx, 0)
	require.ErrorIs(t, err, verification.ErrInvalid)
}
