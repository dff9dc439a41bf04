package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/internal/cputime"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/webhooks"
)

// backlogs reads OPENKYC_BENCH_BACKLOG: a comma-separated list of backlog
// sizes (default 100000, the issue's).
func backlogs() []int {
	list := splitList(envString("OPENKYC_BENCH_BACKLOG", "100000"))
	out := make([]int, 0, len(list))
	for _, s := range list {
		n, err := strconv.Atoi(s)
		if err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

const benchSubjects = 64

var (
	eventData = json.RawMessage(`{"grantId":838,"level":2,"previousLevel":1,"reason":"Application: 838"}`)
	eventAt   = time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
)

// receiver is the local webhook receiver both sides post to.
func receiver(b *testing.B) (*httptest.Server, *atomic.Int64) {
	var received atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	return srv, &received
}

// fillOutbox creates benchSubjects subjects and n events spread over them,
// through the Store, in transactions of 10,000.
func fillOutbox(tb testing.TB, store verification.Store, n int) {
	tb.Helper()
	ctx := context.Background()
	for i := range benchSubjects {
		s := verification.Subject{Identifier: fmt.Sprintf("benchoutbox%025d", i), Level: 1, CreatedAt: eventAt, UpdatedAt: eventAt}
		require.NoError(tb, store.CreateSubject(ctx, &s))
	}
	for lo := 0; lo < n; lo += 10_000 {
		require.NoError(tb, store.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			for i := lo; i < lo+10_000 && i < n; i++ {
				e := verification.Event{ID: fmt.Sprintf("ev-%09d", i), SubjectID: int64(i%benchSubjects) + 1, Type: verification.EventLevelGranted, Data: eventData, OccurredAt: eventAt}
				if err := tx.AddEvent(ctx, &e); err != nil {
					return err
				}
			}
			return nil
		}))
	}
}

// BenchmarkDispatchBacklog compares events delivered per second by the
// Dispatcher (one signed webhook sink, default concurrency 8) to a local
// receiver while a backlog of OPENKYC_BENCH_BACKLOG events is pending, on
// each store, with a plain sequential loop of POSTs of the same body to
// the same receiver (plain-post). An op is one event: run it with a fixed
// count, e.g. -benchtime 5000x. The outbox holds the backlog; the first
// min(b.N, backlog) events are delivered and timed, so a large backlog stays
// close to its size while timing (ns/op and events/s are per delivered
// event). The target: the dispatcher keeps at least half the plain
// loop's rate: x-plain is the ratio to a plain loop of min(n, 2000) POSTs
// run just before the dispatcher (plain-events/s), so that both sides see
// the same load of the machine. OPENKYC_BENCH_CONCURRENCY sets the
// dispatcher's Concurrency (default: the Dispatcher's, 8). self-cpu-us/event
// and pg-cpu-us/event are the CPU time per delivered event of this process
// and of a PostgreSQL server on this machine (everything it did meanwhile,
// see pgCPU): what the two cores were shared out to.
func BenchmarkDispatchBacklog(b *testing.B) {
	srv, received := receiver(b)
	body, err := json.Marshal(webhooks.Payload{ID: "ev-000001", Type: verification.EventLevelGranted, SubjectID: 1, OccurredAt: eventAt, Data: eventData})
	require.NoError(b, err)
	client := &http.Client{Timeout: 10 * time.Second}
	// posts sends n plain POSTs one after the other and returns their rate.
	posts := func(b *testing.B, n int) float64 {
		start := time.Now()
		for range n {
			res, err := client.Post(srv.URL, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
		}
		return float64(n) / time.Since(start).Seconds()
	}
	b.Run("plain-post", func(b *testing.B) {
		b.ReportMetric(posts(b, b.N), "events/s")
	})
	for _, be := range backends(b) {
		for _, backlog := range backlogs() {
			b.Run(fmt.Sprintf("%s/backlog=%d", be.name, backlog), func(b *testing.B) {
				b.StopTimer()
				store := be.open(b)
				hook, err := webhooks.New("bench", srv.URL, webhooks.Options{Secrets: []string{webhooks.NewSecret()}})
				require.NoError(b, err)
				counted := &calls{}
				d, err := verification.NewDispatcher(&countingStore{s: store, c: counted}, verification.DispatcherOptions{Sinks: []verification.Sink{hook}, PollInterval: 5 * time.Millisecond, Timeout: 10 * time.Second,
					Concurrency: envInt("OPENKYC_BENCH_CONCURRENCY", 0)})
				require.NoError(b, err)
				ctx := context.Background()
				require.NoError(b, d.Register(ctx))
				fillOutbox(b, store, backlog)
				analyze(b, store)
				n := min(b.N, backlog)
				before := counted.total.Load()
				// The baseline, measured just before on the same machine
				// state (the load of this shared machine changes by the
				// minute): the plain loop for as many events, up to 2,000.
				plain := posts(b, min(n, 2000))
				want := received.Load() + int64(n)
				runCtx, cancel := context.WithCancel(ctx)
				ran := make(chan error, 1)
				b.StartTimer()
				self0 := cputime.Process()
				pg0, pgOK := pgCPU()
				start := time.Now()
				go func() { ran <- d.Run(runCtx) }()
				for received.Load() < want {
					time.Sleep(50 * time.Microsecond)
				}
				elapsed := time.Since(start)
				self := cputime.Process() - self0
				pg1, pgOK1 := pgCPU()
				b.StopTimer()
				// Where the CPU went, per event: this process (Dispatcher,
				// receiver, HTTP on both sides) and, when it runs here,
				// PostgreSQL (10 ms resolution: use a few thousand events).
				b.ReportMetric(float64(self.Microseconds())/float64(n), "self-cpu-us/event")
				if be.name == "postgres" && pgOK && pgOK1 {
					b.ReportMetric(float64((pg1-pg0).Microseconds())/float64(n), "pg-cpu-us/event")
				}
				cancel()
				require.NoError(b, <-ran)
				b.ReportMetric(float64(counted.total.Load()-before)/float64(n), "store-calls/event")
				rate := float64(n) / elapsed.Seconds()
				b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n), "ns/op")
				b.ReportMetric(rate, "events/s")
				b.ReportMetric(plain, "plain-events/s")
				b.ReportMetric(rate/plain, "x-plain")
			})
		}
	}
}

// BenchmarkClaim is the cost of one ClaimDeliveries (limit 8, what one
// dispatcher pass asks for) with n deliveries pending, for every n of
// OPENKYC_BENCH_BACKLOG. The lease ends at the claim's own now, so the
// same deliveries stay due and the backlog does not change while timing.
// The target on the memory store: the same cost at 100 and 100,000.
// The heads-leased case is what a dispatcher with more deliveries in
// flight than subjects meets: every (sink, subject)'s oldest delivery is
// leased, so a claim (limit 96, Concurrency 32's) finds nothing, and a
// scan in Seq order would read the whole backlog to learn it.
func BenchmarkClaim(b *testing.B) {
	for _, be := range backends(b) {
		for _, backlog := range backlogs() {
			for _, leased := range []bool{false, true} {
				name := fmt.Sprintf("%s/pending=%d", be.name, backlog)
				if leased {
					name += "/heads-leased"
				}
				b.Run(name, func(b *testing.B) {
					store := be.open(b)
					ob, ok := store.(verification.OutboxStore)
					require.True(b, ok)
					ctx := context.Background()
					require.NoError(b, ob.RegisterSink(ctx, "bench"))
					fillOutbox(b, store, backlog)
					analyze(b, store)
					now := eventAt.Add(time.Hour)
					limit, until, want := 8, now, 1
					if leased {
						heads, err := ob.ClaimDeliveries(ctx, now, now.Add(24*time.Hour), 1000)
						require.NoError(b, err)
						require.Len(b, heads, min(backlog, benchSubjects), "one head per subject")
						limit, want = 96, 0
					}
					b.ResetTimer()
					for range b.N {
						ds, err := ob.ClaimDeliveries(ctx, now, until, limit)
						if err != nil {
							b.Fatal(err)
						}
						if (len(ds) > 0) != (want > 0) {
							b.Fatalf("claimed %d deliveries", len(ds))
						}
					}
				})
			}
		}
	}
}

func envString(name, def string) string {
	if v := lookupEnv(name); v != "" {
		return v
	}
	return def
}
