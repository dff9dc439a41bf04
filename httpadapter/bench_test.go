package httpadapter

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// BenchmarkStatusRoute compares, in one run and through real net/http
// servers (httptest.NewServer, keep-alive clients, GOMAXPROCS parallel
// callers), the seed 000 status route on the SQLite store with a bare
// handler writing the same bytes. DESIGN.md's target: the adapter keeps at
// least half the bare handler's throughput. Sub-benchmarks: bare,
// adapter-sqlite, adapter-memory (the adapter's own cost), and interleaved,
// which alternates both servers in every caller and reports their mean
// request times and the ratio bare/adapter (the share of the bare
// throughput the adapter keeps) as metrics.
func BenchmarkStatusRoute(b *testing.B) {
	ctx := context.Background()
	_, svc := benchSQLiteService(b)
	sub := benchNewUser(b, svc)
	auth, err := NewStaticAuthenticator(map[string]StaticToken{"bench-token": {Principal: Principal{Credential: User, SubjectID: sub.ID}}}, nil)
	require.NoError(b, err)
	a, err := New(svc, Options{Authenticator: auth})
	require.NoError(b, err)
	mux := http.NewServeMux()
	a.Register(mux, "/kyc")
	kyc := httptest.NewServer(mux)
	defer kyc.Close()

	fetch := func(c *http.Client, url string) []byte {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer bench-token")
		res, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("status %d: %v %s", res.StatusCode, err, body)
		}
		return body
	}
	client := func() *http.Client {
		return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * runtime.GOMAXPROCS(0)}, Timeout: 10 * time.Second}
	}
	want := fetch(client(), kyc.URL+"/kyc/api/v2/user/verification-status")
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(want)
	}))
	defer bare.Close()

	// The same route on the memory store separates the adapter's own cost
	// from the store's.
	msvc, err := verification.New(verificationtest.SeedLadder(b), memory.New(), verification.Options{})
	require.NoError(b, err)
	msub, err := msvc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: verificationtest.Identifier()})
	require.NoError(b, err)
	_, err = msvc.Answer(ctx, msub.ID, "emailCode", json.RawMessage(`"123456"`))
	require.NoError(b, err)
	_, err = msvc.SetRequirement(ctx, verification.HostActor(), verification.SetRequirementParams{SubjectID: msub.ID, Requirement: "verificationFlag", Status: levels.Pending})
	require.NoError(b, err)
	mauth, err := NewStaticAuthenticator(map[string]StaticToken{"bench-token": {Principal: Principal{Credential: User, SubjectID: msub.ID}}}, nil)
	require.NoError(b, err)
	ma, err := New(msvc, Options{Authenticator: mauth})
	require.NoError(b, err)
	mem := httptest.NewServer(ma.Handler("/kyc"))
	defer mem.Close()

	run := func(name, url string) {
		b.Run(name, func(b *testing.B) {
			c := client()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if got := fetch(c, url); len(got) != len(want) {
						b.Fatalf("got %d bytes, want %d", len(got), len(want))
					}
				}
			})
			b.StopTimer()
			c.CloseIdleConnections()
		})
	}
	run("bare", bare.URL+"/")
	run("adapter-sqlite", kyc.URL+"/kyc/api/v2/user/verification-status")
	run("adapter-memory", mem.URL+"/kyc/api/v2/user/verification-status")
	// Interleaved: every caller alternates between the two servers, so
	// both see the same machine load (other processes, GC); the ratio of
	// their mean request times is reported as a metric (bare/adapter: the
	// adapter's share of the bare throughput).
	b.Run("interleaved", func(b *testing.B) {
		c := client()
		var adapterNs, bareNs atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				t0 := time.Now()
				fetch(c, bare.URL+"/")
				t1 := time.Now()
				fetch(c, kyc.URL+"/kyc/api/v2/user/verification-status")
				t2 := time.Now()
				bareNs.Add(int64(t1.Sub(t0)))
				adapterNs.Add(int64(t2.Sub(t1)))
			}
		})
		b.StopTimer()
		b.ReportMetric(float64(bareNs.Load())/float64(b.N), "bare-ns/req")
		b.ReportMetric(float64(adapterNs.Load())/float64(b.N), "adapter-ns/req")
		b.ReportMetric(float64(bareNs.Load())/float64(adapterNs.Load()), "ratio")
		c.CloseIdleConnections()
	})
}

// benchExclusiveEnv set to 1 opens the benchmarks' SQLite store with
// sqlite.Options.Exclusive, to measure it against the default (e.g. with
// bench/cpuop.sh).
const benchExclusiveEnv = "OPENKYC_BENCH_SQLITE_EXCLUSIVE"

// benchSQLiteService is the benchmarks' Service on a SQLite store in a
// temporary directory, with the seed ladder (Exclusive with
// benchExclusiveEnv=1).
func benchSQLiteService(b *testing.B) (*sqlite.Store, *verification.Service) {
	store, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "kyc.db"), sqlite.Options{Exclusive: os.Getenv(benchExclusiveEnv) == "1"})
	require.NoError(b, err)
	b.Cleanup(func() { _ = store.Close() })
	svc, err := verification.New(verificationtest.SeedLadder(b), store, verification.Options{})
	require.NoError(b, err)
	return store, svc
}

// benchAnsweredUser creates a subject whose email code is answered.
func benchAnsweredUser(b *testing.B, svc *verification.Service) verification.Subject {
	ctx := context.Background()
	sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: verificationtest.Identifier()})
	require.NoError(b, err)
	_, err = svc.Answer(ctx, sub.ID, "emailCode", json.RawMessage(`"123456"`))
	require.NoError(b, err)
	return sub
}

// benchNewUser creates a subject in the state of seed 000's example: the
// email code answered, the verification flag pending.
func benchNewUser(b *testing.B, svc *verification.Service) verification.Subject {
	sub := benchAnsweredUser(b, svc)
	_, err := svc.SetRequirement(context.Background(), verification.HostActor(), verification.SetRequirementParams{SubjectID: sub.ID, Requirement: "verificationFlag", Status: levels.Pending})
	require.NoError(b, err)
	return sub
}
