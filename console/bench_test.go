package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/openkyc/kyc/console"
	"github.com/openkyc/kyc/httpadapter"
	"github.com/openkyc/kyc/internal/cputime"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// benchQueue is the size of the benchmarked review queue.
const benchQueue = 10_000

// BenchmarkPages: the queue and case pages over SQLite with 10,000
// submitted applications awaiting review (each of its own subject, half
// tagged eu, half us). Target: every page under 50 ms.
//
//	go test ./console -run '^$' -bench Pages -benchtime 200x
func BenchmarkPages(b *testing.B) {
	ctx := b.Context()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	clock := verificationtest.NewClock(verificationtest.Start)
	svc, err := verification.New(verificationtest.SeedLadder(b), store, verification.Options{NowFunc: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	start := verificationtest.Start.Add(-48 * time.Hour)
	var last int64
	const batch = 500
	for i := 0; i < benchQueue; i += batch {
		err := store.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			for j := i; j < i+batch; j++ {
				tag := "eu"
				if j%2 == 1 {
					tag = "us"
				}
				at := start.Add(time.Duration(j) * time.Second)
				sub := verification.Subject{Identifier: fmt.Sprintf("benchsubject%028d", j), Tags: []string{tag}, Level: 1, CreatedAt: at, UpdatedAt: at}
				if err := tx.CreateSubject(ctx, &sub); err != nil {
					return err
				}
				app := verification.Application{UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", j), SubjectID: sub.ID, Level: 2, Status: verification.ApplicationSubmitted,
					CreatedAt: at, SubmittedAt: at, ExpiresAt: at.Add(30 * 24 * time.Hour)}
				if err := tx.CreateApplication(ctx, &app); err != nil {
					return err
				}
				last = sub.ID
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	auth, err := httpadapter.NewStaticAuthenticator(map[string]httpadapter.StaticToken{
		tokAdmin:   {Principal: httpadapter.Principal{Credential: httpadapter.Admin, AdminID: 1}},
		tokAdminEU: {Principal: httpadapter.Principal{Credential: httpadapter.Admin, AdminID: 2, AdminTags: []string{"eu"}}},
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	if _, err := console.RegisterConsole(mux, "/console", svc, console.Options{Authenticator: auth}); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, token, path string }{
		{"queue", tokAdmin, "/console/"},
		{"queue_deep_page", tokAdmin, "/console/?offset=9000"},
		{"queue_tag_scoped_admin", tokAdminEU, "/console/"},
		{"queue_filtered", tokAdmin, "/console/?tag=us&assignee=unassigned&level=3&age=1"},
		{"case", tokAdmin, fmt.Sprintf("/console/clients/%d", last)},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, c.path, nil)
			req.Header.Set("Authorization", "Bearer "+c.token)
			cpu0 := cputime.Process()
			for b.Loop() {
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", c.path, rec.Code, rec.Body.String())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
			// CPU time per page: the figure that holds on a machine
			// shared with other work, where wall time includes waiting.
			b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/float64(b.N)/1000, "cpu-ms/page")
		})
	}
}
