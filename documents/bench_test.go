package documents

import (
	"io"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/stretchr/testify/require"
)

// benchFileSize is the upload size of the streaming benchmarks.
const benchFileSize = 20 << 20

// heapObjects is the runtime/metrics name of HeapAlloc: bytes of heap
// objects, live or not yet swept.
const heapObjects = "/memory/classes/heap/objects:bytes"

// heapSampler records the highest heap size seen, without allocating.
type heapSampler struct {
	sample []metrics.Sample
	peak   uint64
}

func newHeapSampler() *heapSampler {
	return &heapSampler{sample: []metrics.Sample{{Name: heapObjects}}}
}

// now returns the current heap size and raises the peak.
func (h *heapSampler) now() uint64 {
	metrics.Read(h.sample)
	v := h.sample[0].Value.Uint64()
	h.peak = max(h.peak, v)
	return v
}

// sampledReader samples the heap every MiB handed out.
type sampledReader struct {
	r    io.Reader
	h    *heapSampler
	next int64
	read int64
}

func (s *sampledReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.read += int64(n)
	if s.read >= s.next {
		s.h.now()
		s.next += 1 << 20
	}
	return n, err
}

// benchStores builds the stores the benchmarks compare, in b.TempDir().
func benchStores(b *testing.B) []struct {
	name  string
	store BlobStore
} {
	files, err := NewFileStore(b.TempDir())
	require.NoError(b, err)
	master, err := GenerateMasterKey("bench")
	require.NoError(b, err)
	keyring, err := NewKeyring(master)
	require.NoError(b, err)
	sealedFiles, err := NewFileStore(b.TempDir())
	require.NoError(b, err)
	sealed, err := NewSealedStore(sealedFiles, keyring, NewMemoryKeyStore())
	require.NoError(b, err)
	return []struct {
		name  string
		store BlobStore
	}{{"plain", files}, {"sealed", sealed}}
}

// reportHeap reports the heap cost per operation: heap-B/op is the bytes
// allocated per operation (TotalAlloc delta: an upper bound of how much one
// upload can raise the heap), peak-heap-B/op the largest rise of HeapAlloc
// observed during one operation, starting from a collected heap.
func reportHeap(b *testing.B, before, after *runtime.MemStats, peakRise uint64) {
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N), "heap-B/op")
	b.ReportMetric(float64(peakRise), "peak-heap-B/op")
}

// BenchmarkPut20MiB uploads a generated 20 MiB JPEG stream through Sniff and
// Put, the path of an upload handler. The stream is produced on the fly, so
// any heap growth is the store's.
func BenchmarkPut20MiB(b *testing.B) {
	for _, bc := range benchStores(b) {
		b.Run(bc.name, func(b *testing.B) {
			ctx := b.Context()
			h := newHeapSampler()
			var before, after runtime.MemStats
			var peakRise uint64
			b.SetBytes(benchFileSize)
			b.ReportAllocs()
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				runtime.GC()
				h.peak = 0
				base := h.now()
				src := &sampledReader{r: newJPEGStream(benchFileSize), h: h}
				b.StartTimer()

				ct, body, err := Sniff(src, DefaultAllowed)
				if err != nil || ct != JPEG {
					b.Fatalf("sniff: %v %v", ct, err)
				}
				blob, err := bc.store.Put(ctx, "42", body, benchFileSize)
				if err != nil {
					b.Fatal(err)
				}

				b.StopTimer()
				h.now()
				peakRise = max(peakRise, h.peak-base)
				if blob.Size != benchFileSize {
					b.Fatalf("stored %d bytes", blob.Size)
				}
				if err := bc.store.Delete(ctx, blob.Key); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			reportHeap(b, &before, &after, peakRise)
		})
	}
}

// BenchmarkOpen20MiB reads back a 20 MiB blob, the path of a file download.
func BenchmarkOpen20MiB(b *testing.B) {
	for _, bc := range benchStores(b) {
		b.Run(bc.name, func(b *testing.B) {
			ctx := b.Context()
			blob, err := bc.store.Put(ctx, "42", newJPEGStream(benchFileSize), benchFileSize)
			require.NoError(b, err)
			h := newHeapSampler()
			var before, after runtime.MemStats
			var peakRise uint64
			buf := make([]byte, 32<<10)
			b.SetBytes(benchFileSize)
			b.ReportAllocs()
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				runtime.GC()
				h.peak = 0
				base := h.now()
				b.StartTimer()

				rc, err := bc.store.Open(ctx, blob.Key)
				if err != nil {
					b.Fatal(err)
				}
				var n int64
				for {
					m, err := rc.Read(buf)
					n += int64(m)
					if n&(1<<20-1) < int64(m) {
						h.now()
					}
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				if err := rc.Close(); err != nil {
					b.Fatal(err)
				}

				b.StopTimer()
				h.now()
				peakRise = max(peakRise, h.peak-base)
				if n != benchFileSize {
					b.Fatalf("read %d bytes", n)
				}
				b.StartTimer()
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			reportHeap(b, &before, &after, peakRise)
		})
	}
}
