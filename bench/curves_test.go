package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/httpadapter"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// The curves bench/plot.sh draws: page latency against offset, status
// latency against the number of requirements (and dispatch rate against
// backlog: BenchmarkDispatchBacklog with a list of backlogs).

// grantSubjects is how many subjects share the listing data set's grants.
const grantSubjects = 1000

// loadGrants adds grantSubjects subjects (even ones tagged "eu") and n
// grants through the Store, in transactions of 20,000: every tenth grant is
// subject 1's, the others go round the other subjects.
func loadGrants(tb testing.TB, store verification.Store, n int) {
	tb.Helper()
	ctx := context.Background()
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := make([]int64, grantSubjects)
	require.NoError(tb, store.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		for i := range ids {
			s := verification.Subject{Identifier: fmt.Sprintf("benchgrants%025d", i), Level: 1, CreatedAt: at, UpdatedAt: at}
			if i%2 == 1 {
				s.Tags = []string{"eu"}
			}
			if err := tx.CreateSubject(ctx, &s); err != nil {
				return err
			}
			ids[i] = s.ID
		}
		return nil
	}))
	for lo := 0; lo < n; lo += 20_000 {
		require.NoError(tb, store.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			for i := lo; i < lo+20_000 && i < n; i++ {
				client := ids[0]
				if i%10 != 0 {
					client = ids[1+i%(grantSubjects-1)]
				}
				g := verification.Grant{SubjectID: client, Level: verification.LevelRef{ID: 2, Name: "Level 1"}, Previous: &verification.LevelRef{ID: 1, Name: "Level 0"},
					Reason: "Application: 838", CreatedAt: at.Add(time.Duration(i) * time.Millisecond)}
				if err := tx.AddGrant(ctx, &g); err != nil {
					return err
				}
			}
			return nil
		}))
	}
}

// BenchmarkGrantPage is the latency of one page of 10 grants at growing
// offsets over OPENKYC_BENCH_GRANTS grants (default 1000000), newest first,
// for three listings: every grant (the admin route), one client's tenth of
// them (a user's history) and one tag's half (a tag-scoped admin), on
// SQLite and PostgreSQL. Offsets: 0, then x10 steps up to 90% of each
// listing.
func BenchmarkGrantPage(b *testing.B) {
	total := envInt("OPENKYC_BENCH_GRANTS", 1_000_000)
	for _, be := range backends(b) {
		if be.name == "memory" {
			continue
		}
		b.Run(be.name, func(b *testing.B) {
			store := be.open(b)
			start := time.Now()
			loadGrants(b, store, total)
			analyze(b, store)
			b.Logf("%d grants loaded in %v", total, time.Since(start).Round(time.Millisecond))
			first, err := store.GetSubjectByIdentifier(context.Background(), fmt.Sprintf("benchgrants%025d", 0))
			require.NoError(b, err)
			listings := []struct {
				name string
				f    verification.GrantFilter
				size int
			}{
				{"all", verification.GrantFilter{}, total},
				{"client", verification.GrantFilter{SubjectID: first.ID}, (total + 9) / 10},
				{"tag", verification.GrantFilter{Tags: []string{"eu"}}, total / 2},
			}
			for _, l := range listings {
				for _, off := range offsets(l.size) {
					b.Run(fmt.Sprintf("%s/offset=%d", l.name, off), func(b *testing.B) {
						f := l.f
						f.Limit, f.Offset, f.Desc = 10, off, true
						ctx := context.Background()
						for b.Loop() {
							page, err := store.ListGrants(ctx, f)
							if err != nil {
								b.Fatal(err)
							}
							if len(page.Items) == 0 {
								b.Fatalf("empty page at offset %d of %d", off, page.Total)
							}
						}
					})
				}
			}
		})
	}
}

// offsets are 0, 10, 100, ... below 90% of size, and 90% of size.
func offsets(size int) []int {
	out := []int{0}
	deep := size * 9 / 10
	for o := 10; o < deep; o *= 10 {
		out = append(out, o)
	}
	if deep > 0 {
		out = append(out, deep)
	}
	return out
}

// wideLadder is a three-level ladder with n boolean requirements: the
// first half for Level 1, the rest for Level 2.
func wideLadder(tb testing.TB, n int) *levels.Ladder {
	tb.Helper()
	l1, l2 := levels.Level{ID: 2, Name: "Level 1"}, levels.Level{ID: 3, Name: "Level 2"}
	for i := range n {
		r := levels.Requirement{Name: "req" + strconv.Itoa(i), Type: levels.Boolean}
		if i < n/2 {
			l1.Requirements = append(l1.Requirements, r)
		} else {
			l2.Requirements = append(l2.Requirements, r)
		}
	}
	ladder, err := levels.New([]levels.Level{{ID: 1, Name: "Level 0"}, l1, l2})
	require.NoError(tb, err)
	return ladder
}

// requirementCounts reads OPENKYC_BENCH_REQUIREMENTS (default 6,24,96,384).
func requirementCounts() []int {
	var out []int
	for _, s := range splitList(envString("OPENKYC_BENCH_REQUIREMENTS", "6,24,96,384")) {
		if n, err := strconv.Atoi(s); err == nil && n >= 2 {
			out = append(out, n)
		}
	}
	return out
}

// BenchmarkStatusRequirements is the status route (handler, in process)
// for a subject who answered every other requirement of a ladder of n
// boolean requirements, for each n of OPENKYC_BENCH_REQUIREMENTS, on every
// store: how the cost grows with the ladder.
func BenchmarkStatusRequirements(b *testing.B) {
	for _, be := range backends(b) {
		for _, n := range requirementCounts() {
			b.Run(fmt.Sprintf("%s/requirements=%d", be.name, n), func(b *testing.B) {
				ctx := context.Background()
				store := be.open(b)
				svc, err := verification.New(wideLadder(b, n), store, verification.Options{})
				require.NoError(b, err)
				sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: identNew})
				require.NoError(b, err)
				for i := 0; i < n; i += 2 {
					_, err := svc.Answer(ctx, sub.ID, "req"+strconv.Itoa(i), json.RawMessage(`true`))
					require.NoError(b, err)
				}
				analyze(b, store)
				auth, err := httpadapter.NewStaticAuthenticator(map[string]httpadapter.StaticToken{"tok": {Principal: httpadapter.Principal{Credential: httpadapter.User, SubjectID: sub.ID}}}, nil)
				require.NoError(b, err)
				a, err := httpadapter.New(svc, httpadapter.Options{Authenticator: auth})
				require.NoError(b, err)
				mux := http.NewServeMux()
				a.Register(mux, "")
				r := newRequest(request{method: "GET", path: "/api/v2/user/verification-status", auth: "Bearer tok"})
				d := &discard{h: http.Header{}}
				b.ReportAllocs()
				for b.Loop() {
					d.reset()
					mux.ServeHTTP(d, r)
					if d.status != 200 {
						b.Fatalf("status %d", d.status)
					}
				}
			})
		}
	}
}
