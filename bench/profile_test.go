package bench

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestProfileUnderWrk serves the fixture (the demo server's wiring on
// SQLite) on 127.0.0.1 and loads one route with wrk (1 thread, 16
// connections) for OPENKYC_BENCH_WRK_SECONDS (default 10), so that
// `go test -cpuprofile` / `-memprofile` profile the server side under the
// same load as bench/http.sh. It runs only when OPENKYC_BENCH_WRK_ROUTE
// names a route of readRoutes (status-new, wizard, ...):
//
//	OPENKYC_BENCH_WRK_ROUTE=status-new go test -run TestProfileUnderWrk -count 1 \
//	    -cpuprofile cpu.out -memprofile mem.out ./bench
//	go tool pprof -top -nodecount 30 bench.test cpu.out
//	go tool pprof -sample_index alloc_space -top bench.test mem.out
func TestProfileUnderWrk(t *testing.T) {
	name := os.Getenv("OPENKYC_BENCH_WRK_ROUTE")
	if name == "" {
		t.Skip("set OPENKYC_BENCH_WRK_ROUTE (e.g. status-new, wizard) to profile a route under wrk")
	}
	wrk, err := exec.LookPath("wrk")
	require.NoError(t, err, "wrk is needed (Debian: apt-get install wrk)")
	var rq request
	for _, r := range readRoutes {
		if r.name == name {
			rq = r
		}
	}
	require.NotEmpty(t, rq.name, "unknown route %q", name)
	f := newFixture(t, newSQLiteStore(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: f.handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown(context.Background()) }()
	secs := envInt("OPENKYC_BENCH_WRK_SECONDS", 10)
	args := []string{"-t1", "-c16", "-d" + time.Duration(secs*int(time.Second)).String(), "-H", "Authorization: " + rq.auth}
	if rq.ident != "" {
		args = append(args, "-H", "X-User-Identifier: "+rq.ident)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+30)*time.Second)
	defer cancel()
	before := f.calls.total.Load()
	out, err := exec.CommandContext(ctx, wrk, append(args, "http://"+ln.Addr().String()+rq.path)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("%s\n%s", rq.name, out)
	t.Logf("store calls: %d", f.calls.total.Load()-before)
	require.NotContains(t, string(out), "Non-2xx", "every request must succeed")
}
