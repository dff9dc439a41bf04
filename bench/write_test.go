package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
)

// growthSizes reads OPENKYC_BENCH_SUBJECTS: the comma-separated numbers of
// subjects already in the database (default "0,100000"; the manual
// run goes to 1000000).
func growthSizes() []int {
	var out []int
	for _, s := range splitList(envString("OPENKYC_BENCH_SUBJECTS", "0,100000")) {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			out = append(out, n)
		}
	}
	return out
}

// populate adds n subjects with what Service.CreateSubject writes for each
// (the subject, its "created" grant, the subject.created and level.granted
// events), through the Store in transactions of 10,000 rows of subjects.
// No sink is registered yet, so these events get no deliveries: they stand
// for a history the dispatcher delivered long ago.
func populate(tb testing.TB, store verification.Store, ladder *levels.Ladder, n int) {
	tb.Helper()
	ctx := context.Background()
	first := ladder.First()
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for lo := 0; lo < n; lo += 10_000 {
		require.NoError(tb, store.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			for i := lo; i < lo+10_000 && i < n; i++ {
				s := verification.Subject{Identifier: fmt.Sprintf("benchhistory%024d", i), Level: first.ID, CreatedAt: at, UpdatedAt: at}
				if err := tx.CreateSubject(ctx, &s); err != nil {
					return err
				}
				g := verification.Grant{SubjectID: s.ID, Level: verification.LevelRef{ID: first.ID, Name: first.Name}, Reason: verification.ReasonCreated, CreatedAt: at}
				if err := tx.AddGrant(ctx, &g); err != nil {
					return err
				}
				for _, typ := range []verification.EventType{verification.EventSubjectCreated, verification.EventLevelGranted} {
					e := verification.Event{ID: fmt.Sprintf("hist-%s-%d", typ, i), SubjectID: s.ID, Type: typ, Data: json.RawMessage(`{}`), OccurredAt: at}
					if err := tx.AddEvent(ctx, &e); err != nil {
						return err
					}
				}
			}
			return nil
		}))
	}
}

// BenchmarkAnswerGrowth is the write rate (Service.Answer of a fresh
// subject's isBusiness: the state, two events and their deliveries, one
// transaction) with 16 concurrent writers, on a database that already
// holds OPENKYC_BENCH_SUBJECTS subjects and their history, alone and with
// a Dispatcher delivering the new events to an in-process subscriber at
// the same time (as the demo server does). The target: the rate
// stays within 20% from an empty database to 1M subjects. Run with a fixed
// count (-benchtime 3000x); db-MB is the SQLite file size with its WAL, or
// the PostgreSQL schema's tables with their indexes and TOAST. The history
// is loaded with populate on SQLite and with COPY (populatePostgres, the
// same rows) on PostgreSQL.
func BenchmarkAnswerGrowth(b *testing.B) {
	ladder := serverLadder(b)
	for _, be := range backends(b) {
		if be.name == "memory" {
			continue
		}
		for _, n := range growthSizes() {
			b.Run(fmt.Sprintf("%s/subjects=%d", be.name, n), func(b *testing.B) {
				store, path := growthStore(b, be, ladder, n)
				b.Run("alone", func(b *testing.B) { answerGrowth(b, store, ladder, false, path) })
				b.Run("with-dispatcher", func(b *testing.B) { answerGrowth(b, store, ladder, true, path) })
			})
		}
	}
}

// BenchmarkAnswerGrowthAlternated is BenchmarkAnswerGrowth with the sizes
// side by side: one store per size in OPENKYC_BENCH_SUBJECTS, all loaded
// first, then OPENKYC_BENCH_ROUNDS rounds (default 3) that each run every
// size alone and with the dispatcher, the sizes in a rotated order, so a
// change of the machine's load falls on all sizes alike instead of on
// whichever ran that minute. Compare the medians of the rounds (e.g.
// -benchtime 1000x).
func BenchmarkAnswerGrowthAlternated(b *testing.B) {
	ladder := serverLadder(b)
	rounds := envInt("OPENKYC_BENCH_ROUNDS", 3)
	for _, be := range backends(b) {
		if be.name == "memory" {
			continue
		}
		type sized struct {
			n     int
			store verification.Store
			path  string
		}
		var stores []sized
		for _, n := range growthSizes() {
			store, path := growthStore(b, be, ladder, n)
			stores = append(stores, sized{n: n, store: store, path: path})
		}
		for r := range rounds {
			for i := range stores {
				st := stores[(i+r)%len(stores)]
				name := fmt.Sprintf("%s/round=%d/subjects=%d", be.name, r+1, st.n)
				b.Run(name+"/alone", func(b *testing.B) { answerGrowth(b, st.store, ladder, false, st.path) })
				b.Run(name+"/with-dispatcher", func(b *testing.B) { answerGrowth(b, st.store, ladder, true, st.path) })
			}
		}
	}
}

// growthStore opens a store of be for the growth benchmarks and loads n
// subjects of history into it (loadHistory), then takes statistics. On
// SQLite the store is a file of its own, whose path (with its WAL) is the
// db-MB answerGrowth reports; path is empty for the others.
func growthStore(b *testing.B, be backend, ladder *levels.Ladder, n int) (store verification.Store, path string) {
	b.Helper()
	if be.name == "sqlite" {
		path = filepath.Join(b.TempDir(), "kyc.db")
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		require.NoError(b, err)
		b.Cleanup(func() { _ = s.Close() })
		store = s
	} else {
		store = be.open(b)
	}
	start := time.Now()
	loadHistory(b, store, ladder, n)
	analyze(b, store)
	b.Logf("%s: %d subjects loaded in %v", be.name, n, time.Since(start).Round(time.Millisecond))
	if total, idx, ok := pgSizes(b, store); ok {
		b.Logf("schema after loading: %.1f MB, of which indexes %.1f MB", float64(total)/(1<<20), float64(idx)/(1<<20))
	}
	return store, path
}

func answerGrowth(b *testing.B, store verification.Store, ladder *levels.Ladder, withDispatcher bool, path string) {
	b.StopTimer()
	ctx := context.Background()
	var delivered atomic.Int64
	d, err := verification.NewDispatcher(store, verification.DispatcherOptions{
		Sinks: []verification.Sink{verification.SubscriberFunc("log", func(context.Context, verification.Event) error {
			delivered.Add(1)
			return nil
		})},
		PollInterval: 5 * time.Millisecond,
	})
	require.NoError(b, err)
	require.NoError(b, d.Register(ctx))
	svc, err := verification.New(ladder, store, verification.Options{OnEventsFunc: d.Notify})
	require.NoError(b, err)
	ids := make([]int64, b.N)
	for i := range ids {
		s, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: fmt.Sprintf("benchwriter%025d", writers.Add(1))})
		require.NoError(b, err)
		ids[i] = s.ID
	}
	runCtx, cancel := context.WithCancel(ctx)
	ran := make(chan error, 1)
	if withDispatcher {
		// Deliver the backlog of the subjects just created first.
		go func() { ran <- d.Run(runCtx) }()
		for range 2000 {
			if dead, err := d.DeadLetters(ctx, "log", 0, 0); err == nil && dead.Total == 0 && pendingDeliveries(b, store) == 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	var next atomic.Int64
	b.SetParallelism(8) // 16 writers on 2 cores, as wrk's 16 connections
	b.StartTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[next.Add(1)-1]
			if _, err := svc.Answer(ctx, id, "isBusiness", json.RawMessage(`false`)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	if withDispatcher {
		require.NoError(b, <-ran)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "answers/s")
	if path != "" {
		var size int64
		for _, p := range []string{path, path + "-wal"} {
			if fi, err := os.Stat(p); err == nil {
				size += fi.Size()
			}
		}
		b.ReportMetric(float64(size)/(1<<20), "db-MB")
	}
	if total, _, ok := pgSizes(b, store); ok {
		b.ReportMetric(float64(total)/(1<<20), "db-MB")
	}
}

// writers numbers the subjects answerGrowth creates, across runs on one store.
var writers atomic.Int64

// pendingDeliveries counts the store's pending deliveries.
func pendingDeliveries(tb testing.TB, store verification.Store) int {
	page, err := store.ListDeliveries(context.Background(), verification.DeliveryFilter{Status: verification.DeliveryPending})
	require.NoError(tb, err)
	return page.Total
}
