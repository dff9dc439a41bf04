package verification_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/internal/cputime"
	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// BenchmarkObserverOverhead measures what the observer hooks cost on a hot
// path: Service.Answer of a fresh subject (one call span, one transaction, its transitions)
// on the memory store, where nothing hides the hooks' cost. Sub-benchmarks:
// default (no Observer: NopObserver, transitions not collected), nop (an
// explicit NopObserver: every hook runs and collects, then does nothing),
// and interleaved, which alternates both in one loop so that both see the
// same machine load and reports their mean times and the ratio
// default/nop as metrics (1.0: the hooks cost nothing). default and nop
// also report the process's CPU time per op (cpu-ns/op), which moves less
// than wall time with other jobs' load on a shared machine.
func BenchmarkObserverOverhead(b *testing.B) {
	ctx := context.Background()
	// answerer returns a func answering "nationality" for the next of n
	// fresh subjects (one transaction, requirement.approved).
	answerer := func(b *testing.B, obs verification.Observer, n int) func() {
		svc, err := verification.New(verificationtest.SeedLadder(b), memory.New(), verification.Options{Observer: obs})
		require.NoError(b, err)
		subjects := make([]int64, n)
		for i := range subjects {
			sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: verificationtest.Identifier()})
			require.NoError(b, err)
			subjects[i] = sub.ID
		}
		answer := json.RawMessage(`"NL"`)
		next := 0
		return func() {
			if _, err := svc.Answer(ctx, subjects[next], "nationality", answer); err != nil {
				b.Fatal(err)
			}
			next++
		}
	}
	for _, c := range []struct {
		name string
		obs  verification.Observer
	}{{"default", nil}, {"nop", verification.NopObserver{}}} {
		b.Run(c.name, func(b *testing.B) {
			answer := answerer(b, c.obs, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cputime.Process()
			for range b.N {
				answer()
			}
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
	b.Run("interleaved", func(b *testing.B) {
		plain, nop := answerer(b, nil, b.N), answerer(b, verification.NopObserver{}, b.N)
		var plainNs, nopNs time.Duration
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			plain()
			t1 := time.Now()
			nop()
			t2 := time.Now()
			plainNs += t1.Sub(t0)
			nopNs += t2.Sub(t1)
		}
		b.ReportMetric(float64(plainNs)/float64(b.N), "default-ns/op")
		b.ReportMetric(float64(nopNs)/float64(b.N), "nop-ns/op")
		b.ReportMetric(float64(plainNs)/float64(nopNs), "ratio")
	})
}
