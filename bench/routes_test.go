package bench

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
