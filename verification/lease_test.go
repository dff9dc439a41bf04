package verification_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// pausedSink forwards to a shared receiver; its first call records the
// event, then pauses (ignoring its context, as a stopped process or a
// long GC pause would) until resume is closed, and fails.
type pausedSink struct {
	name    string
	rec     *subRecorder
	entered chan string
	resume  chan struct{}
	once    sync.Once
}

func (p *pausedSink) Name() string { return p.name }

func (p *pausedSink) Deliver(ctx context.Context, e verification.Event) error {
	paused := false
	p.once.Do(func() { paused = true })
	if !paused {
		return p.rec.sink(p.name).Deliver(ctx, e)
	}
	p.rec.mu.Lock()
	p.rec.calls = append(p.rec.calls, seenEvent{e.ID, e.SubjectID})
	p.rec.mu.Unlock()
	p.entered <- e.ID
	<-p.resume
	return errors.New("timed out waiting for the receiver")
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDispatcherStaleLeaseHolderIsFenced: dispatcher A claims a subject's
// first event and its sink pauses past the lease; dispatcher B takes the
// delivery over and delivers both events. A's late outcome (a failure,
// recorded after its sink resumes, or the lease release of a shutdown) is
// refused by the store: the delivered event never goes back to pending,
// the receiver never sees [E1 E2 E1], and A logs the lost lease at debug
// level, not as a failure.
func TestDispatcherStaleLeaseHolderIsFenced(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		shutdown bool // A's context ends while its sink is paused
	}{
		{"late outcome", false},
		{"release at shutdown", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t))
			clock := verificationtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			rec := &subRecorder{}
			paused := &pausedSink{name: "crm", rec: rec, entered: make(chan string, 1), resume: make(chan struct{})}
			var logs syncBuffer
			logA := zerolog.New(&logs).Level(zerolog.DebugLevel)
			opts := dspOptions()
			opts.NowFunc, opts.Lease, opts.Timeout = clock.Now, time.Minute, 30*time.Second
			optsA := opts
			optsA.Sinks, optsA.Logger = []verification.Sink{paused}, &logA
			a := newDispatcher(t, svc, optsA)
			optsB := opts
			optsB.Sinks = []verification.Sink{rec.sink("crm")}
			b := newDispatcher(t, svc, optsB)
			require.NoError(t, a.Register(ctx))
			sub := verificationtest.CreateSubject(t, svc)
			evs := eventsAfter(t, svc, 0)
			require.Len(t, evs, 2, "subject.created and level.granted")
			e1, e2 := evs[0].ID, evs[1].ID

			actx, cancelA := context.WithCancel(ctx)
			defer cancelA()
			aDone := make(chan error, 1)
			go func() {
				_, err := a.DispatchOnce(actx)
				aDone <- err
			}()
			require.Equal(t, e1, <-paused.entered, "A is delivering E1")

			// A is paused past its lease: B takes E1 over, then delivers E2.
			clock.Advance(opts.Lease + time.Second)
			for range 2 {
				n, err := b.DispatchOnce(ctx)
				require.NoError(t, err)
				require.Equal(t, 1, n, "B delivers one event of the subject at a time")
			}
			require.Equal(t, []seenEvent{{e1, sub.ID}, {e1, sub.ID}, {e2, sub.ID}}, rec.seen())

			if tc.shutdown {
				cancelA()
			}
			close(paused.resume)
			require.NoError(t, <-aDone)

			gotPage, err := outboxOf(t, svc).ListDeliveries(ctx, verification.DeliveryFilter{Limit: 10})
			got := gotPage.Items
			require.NoError(t, err)
			require.Len(t, got, 2)
			for _, d := range got {
				require.Equal(t, verification.DeliveryDelivered, d.Status, "%s must stay delivered after the stale holder's write", d.Event.ID)
				require.Equal(t, 1, d.Attempts, "%s: B's one attempt; A's stale outcome is not counted", d.Event.ID)
				require.Empty(t, d.LastError, "%s", d.Event.ID)
			}

			// Nothing is left to deliver, however long we wait.
			clock.Advance(time.Hour)
			n, err := b.DispatchOnce(ctx)
			require.NoError(t, err)
			require.Zero(t, n, "nothing went back to pending")
			require.Equal(t, []seenEvent{{e1, sub.ID}, {e1, sub.ID}, {e2, sub.ID}}, rec.seen(), "the receiver never sees E1 after E2")

			out := logs.String()
			require.Contains(t, out, `"level":"debug"`, "A logs the lost lease at debug level")
			require.Contains(t, out, "lease", "A logs the lost lease")
			for _, lvl := range []string{`"level":"warn"`, `"level":"error"`} {
				require.False(t, strings.Contains(out, lvl), "a lost lease is not a failure to warn about: %s", out)
			}
		})
	}
}
