package bench

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/httpadapter"
)

// BenchmarkRoutes measures every route bench/http.sh loads, in process, on
// the SQLite fixture:
//
//   - handler: ServeHTTP called directly with a reused request and a
//     ResponseWriter that allocates nothing, so allocs/op and B/op are the
//     adapter's, the Service's and the store's own (the target: at
//     most 60 allocations per status request); store-calls/op counts the
//     store round trips (InTx counts as one, each call inside it too).
//   - loopback-openkyc and loopback-bare: one keep-alive client against a
//     real net/http server on 127.0.0.1, the handler or a bare handler
//     writing the same bytes and headers; their difference is what the
//     handler adds to a whole request, client and server included.
//
// The store calls of one request of each route are logged (-v).
func BenchmarkRoutes(b *testing.B) {
	f := newFixture(b, newSQLiteStore(b))
	for _, rq := range append(append([]request(nil), readRoutes...), answerRoute) {
		b.Run(rq.name, func(b *testing.B) {
			if rq.method == "GET" {
				trace := f.calls.record(func() { f.serve(rq) })
				b.Logf("%s: %d store calls: %s", rq.name, len(trace), strings.Join(trace, ", "))
			}
			b.Run("handler", func(b *testing.B) { benchHandler(b, f, rq) })
			b.Run("loopback-openkyc", func(b *testing.B) { benchLoopback(b, f, rq, f.handler) })
			b.Run("loopback-bare", func(b *testing.B) { benchLoopback(b, f, rq, bareHandler(b, f, rq)) })
		})
	}
}

// requests returns n requests for rq: the same one reused for a GET, fresh
// ones (a new subject each, created here) for the answer route.
func (f *fixture) requests(b *testing.B, rq request, n int) func(i int) *http.Request {
	if rq.method == "GET" {
		r := newRequest(rq)
		return func(int) *http.Request { return r }
	}
	f.addAnswerSubjects(b, n)
	rs := make([]*http.Request, n)
	for i := range rs {
		x := rq
		x.ident = fmt.Sprintf(answerFormat, f.answerNext)
		f.answerNext++
		rs[i] = newRequest(x)
	}
	return func(i int) *http.Request { return rs[i] }
}

func benchHandler(b *testing.B, f *fixture, rq request) {
	next := f.requests(b, rq, b.N)
	d := &discard{h: http.Header{}}
	before := f.calls.total.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		d.reset()
		f.handler.ServeHTTP(d, next(i))
		if d.status != 200 {
			b.Fatalf("%s: status %d", rq.name, d.status)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(f.calls.total.Load()-before)/float64(b.N), "store-calls/op")
}

// bareHandler answers rq with the bytes and headers the fixture gives it.
func bareHandler(b *testing.B, f *fixture, rq request) http.Handler {
	x := rq
	if rq.method == "POST" {
		f.addAnswerSubjects(b, 1)
		x.ident = fmt.Sprintf(answerFormat, f.answerNext)
		f.answerNext++
	}
	d := &discard{h: http.Header{}, keep: true}
	f.handler.ServeHTTP(d, newRequest(x))
	if d.status != 200 {
		b.Fatalf("%s: status %d: %s", rq.name, d.status, d.body.String())
	}
	body, hdr, status := append([]byte(nil), d.body.Bytes()...), d.h.Clone(), d.status
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			_, _ = io.Copy(io.Discard, r.Body)
		}
		h := w.Header()
		for k, v := range hdr {
			h[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}

func benchLoopback(b *testing.B, f *fixture, rq request, h http.Handler) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	next := f.requests(b, rq, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r0 := next(i)
		r, err := http.NewRequest(rq.method, srv.URL+rq.path, strings.NewReader(rq.body))
		if err != nil {
			b.Fatal(err)
		}
		r.Header = r0.Header
		res, err := client.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("%s: status %d", rq.name, res.StatusCode)
		}
	}
}

// BenchmarkAccessLog is the cost of the access log in process: the status
// and grant-history handlers with the adapter's logger at warn (nothing
// written) and at info (one JSON line per request to a file, as the demo
// server's stderr redirected), interleaved in one loop so that both see
// the same machine load. Reported: ns per request of each and their ratio
// (info/warn time; the target is under 10% more).
func BenchmarkAccessLog(b *testing.B) {
	store := newSQLiteStore(b)
	file, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
	require.NoError(b, err)
	b.Cleanup(func() { _ = file.Close() })
	warn := zerolog.New(file).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	info := zerolog.New(file).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	fw := newLoggedFixture(b, store, &warn)
	// The same store and subjects, a second adapter logging at info.
	fi := &fixture{calls: fw.calls, svc: fw.svc, auth: fw.auth}
	a, err := httpadapter.New(fw.svc, httpadapter.Options{Authenticator: fw.auth, Logger: &info})
	require.NoError(b, err)
	mux := http.NewServeMux()
	a.Register(mux, "")
	fi.handler = mux
	for _, rq := range []request{readRoutes[0], readRoutes[2]} {
		b.Run(rq.name, func(b *testing.B) {
			r := newRequest(rq)
			d := &discard{h: http.Header{}}
			var tw, ti time.Duration
			b.ReportAllocs()
			for b.Loop() {
				d.reset()
				t0 := time.Now()
				fw.handler.ServeHTTP(d, r)
				t1 := time.Now()
				d.reset()
				fi.handler.ServeHTTP(d, r)
				t2 := time.Now()
				tw += t1.Sub(t0)
				ti += t2.Sub(t1)
				if d.status != 200 {
					b.Fatalf("status %d", d.status)
				}
			}
			b.ReportMetric(float64(tw.Nanoseconds())/float64(b.N), "warn-ns/req")
			b.ReportMetric(float64(ti.Nanoseconds())/float64(b.N), "info-ns/req")
			b.ReportMetric(float64(ti)/float64(tw), "info/warn")
		})
	}
}
