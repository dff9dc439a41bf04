package listscreen

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openkyc/kyc/internal/cputime"
	"github.com/openkyc/kyc/screening"
)

// benchList builds the synthetic 10,000-entry list (2,000 given names and
// 8,000 family names, every fifth entry with an alias) and 100,000
// subjects, one in twenty a spelling variant of a listed person.
type benchData struct {
	file    string
	queries []screening.Query
	truth   []int // listed person each query varies, -1 for none
}

var benchList = sync.OnceValue(func() benchData {
	gen := newSynth(2026, 2000, 8000)
	file, people := gen.csv(10_000)
	queries, truth := gen.queries(100_000, people)
	return benchData{file, queries, truth}
})

// BenchmarkLoad10k: parsing and indexing a 10,000-entry list file.
func BenchmarkLoad10k(b *testing.B) {
	file := benchList().file
	b.ReportAllocs()
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, err := Load(strings.NewReader(file), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScreen: one screen against the 10,000-entry list (ns/op and
// allocs/op are per screened person).
func BenchmarkScreen(b *testing.B) {
	data := benchList()
	queries := data.queries
	l, err := Load(strings.NewReader(data.file), Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := l.Screen(ctx, queries[i%len(queries)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkScreen100kAgainst10k: one op screens all 100,000 subjects
// against the 10,000-entry list, on one goroutine and on GOMAXPROCS
// goroutines. Reported: seconds per 100k (wall), CPU seconds per 100k (all
// threads, the garbage collector's included), screens per second, allocations
// and bytes per screen, subjects needing review at the default threshold
// (review), the share of listed people's spelling variants among them
// (recall: a variant that lost its birth date half of the time, and some
// edits give another person's name), made-up subjects sent to review
// (unlisted-reviewed), and the live heap after the run minus before it: the
// pooled scratch of each concurrent screen (bounded memory: it does not
// grow with the number of screens).
func BenchmarkScreen100kAgainst10k(b *testing.B) {
	data := benchList()
	queries := data.queries
	l, err := Load(strings.NewReader(data.file), Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		name := "sequential"
		if workers > 1 {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var review, found, falseReview, variants atomic.Int64
			cpuBefore := cputime.Process()
			b.ResetTimer()
			for b.Loop() {
				review.Store(0)
				found.Store(0)
				falseReview.Store(0)
				variants.Store(0)
				var next atomic.Int64
				var wg sync.WaitGroup
				for range workers {
					wg.Go(func() {
						for {
							i := next.Add(1) - 1
							if i >= int64(len(queries)) {
								return
							}
							res, err := l.Screen(ctx, queries[i])
							if err != nil {
								b.Error(err)
								return
							}
							want := ""
							if t := data.truth[i]; t >= 0 {
								want = l.entries[t].id
								variants.Add(1)
							}
							if screening.Decide(res, screening.DefaultThreshold) != screening.NeedsReview {
								continue
							}
							review.Add(1)
							if want != "" && slices.ContainsFunc(res.Above(screening.DefaultThreshold), func(h screening.Hit) bool { return h.EntityID == want }) {
								found.Add(1)
							} else if want == "" {
								falseReview.Add(1)
							}
						}
					})
				}
				wg.Wait()
			}
			b.StopTimer()
			cpu := cputime.Process() - cpuBefore
			runtime.ReadMemStats(&after)
			perOp := float64(b.N) * float64(len(queries))
			b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/100k")
			b.ReportMetric(perOp/b.Elapsed().Seconds(), "screens/s")
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/100k")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/perOp, "allocs/screen")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/perOp, "B/screen")
			b.ReportMetric(float64(review.Load()), "review")
			b.ReportMetric(float64(found.Load())/float64(variants.Load()), "recall")
			b.ReportMetric(float64(falseReview.Load()), "unlisted-reviewed")
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/1024, "heap-growth-KiB")
		})
	}
}
