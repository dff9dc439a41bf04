package httpadapter

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// BenchmarkAuditExport streams an export of 1,000,000 audit entries from
// the SQLite store through a real HTTP server to a client that discards
// them, in each format. Every 10 ms a sampler collects garbage and reads
// the live heap (what the collection marked); the benchmark reports the
// largest live heap over the one before the export (heap-growth-KiB), fails above 4 MiB (the export must
// stream in constant memory), and reports the peak of the heap between
// collections too (heap-peak-KiB, garbage included, which the collector's
// pacing lets grow with the process's live heap).
//
//	go test -run '^$' -bench BenchmarkAuditExport -benchtime 1x ./httpadapter/
//
// OPENKYC_AUDIT_BENCH_ENTRIES sets another number of entries.
func BenchmarkAuditExport(b *testing.B) {
	const maxGrowth = 4 << 20
	entries := 1_000_000
	if v := os.Getenv("OPENKYC_AUDIT_BENCH_ENTRIES"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err, "OPENKYC_AUDIT_BENCH_ENTRIES")
		entries = n
	}
	store, svc := benchSQLiteService(b)
	sub := verificationtest.CreateSubject(b, svc)
	fillAudit(b, store, sub.ID, entries)

	auth, err := NewStaticAuthenticator(map[string]StaticToken{"admin": {Principal: Principal{Credential: Admin, AdminID: 1}}}, nil)
	require.NoError(b, err)
	a, err := New(svc, Options{Authenticator: auth})
	require.NoError(b, err)
	srv := httptest.NewServer(a.AdminHandler(""))
	defer srv.Close()
	client := &http.Client{Timeout: 10 * time.Minute}

	for _, accept := range []string{mediaNDJSON, mediaCSV} {
		b.Run(accept, func(b *testing.B) {
			var peak, rawPeak uint64
			var size int64
			for b.Loop() {
				base := liveHeap()
				stop, done := make(chan struct{}), make(chan [2]uint64)
				go func() { done <- sampleHeap(stop) }()
				req, _ := http.NewRequest("GET", srv.URL+"/api/v2/audit", nil)
				req.Header.Set("Authorization", "Bearer admin")
				req.Header.Set("Accept", accept)
				res, err := client.Do(req)
				require.NoError(b, err)
				require.Equal(b, 200, res.StatusCode)
				size, err = io.Copy(io.Discard, res.Body)
				require.NoError(b, err)
				require.NoError(b, res.Body.Close())
				close(stop)
				p := <-done
				if p[0] > base {
					peak = max(peak, p[0]-base)
				}
				if p[1] > base {
					rawPeak = max(rawPeak, p[1]-base)
				}
			}
			b.ReportMetric(float64(peak)/1024, "heap-growth-KiB")
			b.ReportMetric(float64(rawPeak)/1024, "heap-peak-KiB")
			b.ReportMetric(float64(size)/(1<<20), "export-MiB")
			if peak > maxGrowth {
				b.Fatalf("exporting %d entries as %s grew the heap by %d KiB (limit %d KiB)", entries, accept, peak>>10, maxGrowth>>10)
			}
		})
	}
}

// sampleHeap returns, until stop is closed, the highest live heap (the
// bytes the last collection marked, /gc/heap/live:bytes, after a forced
// collection every 10 ms) and the highest heap seen just before those
// collections (HeapAlloc, garbage included).
func sampleHeap(stop chan struct{}) [2]uint64 {
	var peak [2]uint64
	var m runtime.MemStats
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		runtime.ReadMemStats(&m)
		peak[1] = max(peak[1], m.HeapAlloc)
		runtime.GC()
		metrics.Read(live)
		peak[0] = max(peak[0], live[0].Value.Uint64())
		select {
		case <-stop:
			return peak
		case <-t.C:
		}
	}
}

// liveHeap returns the live heap after a collection.
func liveHeap() uint64 {
	runtime.GC()
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	return live[0].Value.Uint64()
}

// fillAudit appends n linked entries about subjectID, 20,000 per
// transaction.
func fillAudit(tb testing.TB, store verification.Store, subjectID int64, n int) {
	tb.Helper()
	at := verificationtest.Start
	prev, seq := "", int64(0)
	for seq < int64(n) {
		err := store.InTx(context.Background(), func(ctx context.Context, tx verification.Store) error {
			for i := 0; i < 20_000 && seq < int64(n); i++ {
				e := verification.AuditEntry{
					Seq: seq + 1, At: at.Add(time.Duration(seq) * time.Millisecond), Actor: verification.AdminActor(7, nil),
					Action: verification.AuditReviewDecided, SubjectID: subjectID, Entity: verification.AuditEntityRequirement, EntityID: "emailCode",
					Summary: map[string]string{"decision": "approved", "attempt": "1", "final": "false"}, PrevHash: prev,
				}
				e.Hash = e.ComputeHash()
				if err := tx.AppendAudit(ctx, e); err != nil {
					return fmt.Errorf("entry %d: %w", e.Seq, err)
				}
				prev, seq = e.Hash, seq+1
			}
			return nil
		})
		require.NoError(tb, err)
	}
}
