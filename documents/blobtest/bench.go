package blobtest

import (
	"io"
	"runtime"
	"testing"

	"github.com/openkyc/kyc/documents"
)

// BenchSize is the upload size of Benchmark: 20 MiB.
const BenchSize = 20 << 20

// HeapTarget is the most a 20 MiB upload may raise the heap: 2 MiB.
// Benchmark fails when Put reaches it.
const HeapTarget = 2 << 20

// Benchmark measures storing (Put) and reading back (Open) a 20 MiB stream
// through the store that newStore returns, and reports, besides time and
// allocations, peak-heap-B/op: the largest rise of the heap observed during
// one operation, from a collected heap. It fails if an upload (Put) raises
// the heap by HeapTarget or more. Downloads (Open) are reported, not held to
// the target: a driver that copies every row it returns (modernc's SQLite
// does) makes garbage as large as the blob, which the heap carries until
// the GC's next cycle (its goal is at least 4 MiB), although the store holds
// one chunk at a time. Run it from a store's own benchmark:
//
//	func BenchmarkBlobs(b *testing.B) { blobtest.Benchmark(b, newStoreForBench) }
//
// and read the figures with
//
//	go test -run '^$' -bench Blobs -benchtime 5x ./yourpkg
func Benchmark(b *testing.B, newStore func(b *testing.B) documents.BlobStore) {
	b.Run("Put20MiB", func(b *testing.B) {
		st := newStore(b)
		ctx := b.Context()
		h := newHeapSampler()
		var peakRise uint64
		b.SetBytes(BenchSize)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			runtime.GC()
			h.peak = 0
			base := h.now()
			src := &sampledReader{r: newPattern(BenchSize), h: h}
			b.StartTimer()

			blob, err := st.Put(ctx, "42", src, BenchSize)
			if err != nil {
				b.Fatal(err)
			}

			b.StopTimer()
			h.now()
			peakRise = max(peakRise, h.peak-min(h.peak, base))
			if blob.Size != BenchSize {
				b.Fatalf("stored %d bytes", blob.Size)
			}
			if err := st.Delete(ctx, blob.Key); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.StopTimer()
		report(b, peakRise, true)
	})

	b.Run("Open20MiB", func(b *testing.B) {
		st := newStore(b)
		ctx := b.Context()
		blob, err := st.Put(ctx, "42", newPattern(BenchSize), BenchSize)
		if err != nil {
			b.Fatal(err)
		}
		h := newHeapSampler()
		var peakRise uint64
		buf := make([]byte, 32<<10)
		b.SetBytes(BenchSize)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			runtime.GC()
			h.peak = 0
			base := h.now()
			b.StartTimer()

			rc, err := st.Open(ctx, blob.Key)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.CopyBuffer(io.Discard, &sampledReader{r: rc, h: h}, buf)
			if err != nil {
				b.Fatal(err)
			}
			if err := rc.Close(); err != nil {
				b.Fatal(err)
			}

			b.StopTimer()
			h.now()
			peakRise = max(peakRise, h.peak-min(h.peak, base))
			if n != BenchSize {
				b.Fatalf("read %d bytes", n)
			}
			b.StartTimer()
		}
		b.StopTimer()
		report(b, peakRise, false)
	})
}

// report adds peak-heap-B/op and, for an upload, fails the benchmark at
// HeapTarget or above.
func report(b *testing.B, peakRise uint64, upload bool) {
	b.ReportMetric(float64(peakRise), "peak-heap-B/op")
	if upload && peakRise >= HeapTarget {
		b.Errorf("a 20 MiB stream raised the heap by %d bytes; the target is under %d", peakRise, HeapTarget)
	}
}
