package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// BenchmarkSubmission compares, in the same run and on the same pool, a
// submission through the Service (Answer on a requirement that needs
// review: lock the subject, read and write its requirement state, add the
// outbox event, commit) with a raw single-row INSERT transaction. The
// service-vs-raw metric of the "service" case is its rate over the raw
// case's rate from the same run.
func BenchmarkSubmission(b *testing.B) {
	s := openStore(b)
	ctx := context.Background()
	ladder, err := levels.New([]levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{{Name: "emailCode", Type: levels.String, Rule: "required,numeric,len=6", Review: true}}},
	})
	require.NoError(b, err)
	svc, err := verification.New(ladder, s, verification.Options{})
	require.NoError(b, err)
	exec(b, s, `CREATE TABLE {{schema}}.bench_raw (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, subject_id bigint NOT NULL, answer json, at timestamptz)`)
	rawInsert := s.sql(`INSERT INTO {{schema}}.bench_raw (subject_id, answer, at) VALUES ($1, $2, $3)`)
	answer := json.RawMessage(`"123456"`)
	var rawNs float64

	b.Run("raw-insert-tx", func(b *testing.B) {
		for i := range b.N {
			err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, rawInsert, int64(i), answer, time.Now())
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		rawNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("service", func(b *testing.B) {
		// One fresh subject per submission, created outside the timing.
		var first int64
		require.NoError(b, s.db.pool.QueryRow(ctx, s.sql(`
			WITH ins AS (
				INSERT INTO {{schema}}.subjects (identifier, level, created_at, updated_at)
				SELECT 'bench' || gen_random_uuid()::text, 1, now(), now() FROM generate_series(1, $1::int)
				RETURNING id)
			SELECT min(id) FROM ins`), b.N).Scan(&first))
		b.ResetTimer()
		for i := range b.N {
			if _, err := svc.Answer(ctx, first+int64(i), "emailCode", answer); err != nil {
				b.Fatal(err)
			}
		}
		if rawNs > 0 {
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(rawNs/ns, "service-vs-raw")
		}
	})
}

// The listing benchmark's data set: 1,000,000 grants over 1,000 subjects.
// Subject 1 owns every tenth grant (100,000); the other 900,000 go round
// the 999 others. Subject i carries tag "t<i mod 10>", so tag t3 covers
// about 90,000 grants.
const (
	benchGrants   = 1_000_000
	benchSubjects = 1_000
)

var benchData struct {
	once  sync.Once
	store *Store
	load  time.Duration
}

// listingStore returns the store holding the listing data set, loading it
// once per run: the subjects with one INSERT, the grants with COPY (pgx
// CopyFrom) straight into the grants table, then the counters AddGrant
// maintains are set from them (recount) and the tables are vacuumed and
// analysed. The schema is dropped when the run ends.
func listingStore(b *testing.B) *Store {
	benchData.once.Do(func() {
		pool := sharedPool(b)
		schema := randomSchema()
		atExit(func() { dropSchema(b, pool, schema) })
		s, err := New(context.Background(), pool, Options{Schema: schema})
		require.NoError(b, err)
		start := time.Now()
		exec(b, s, `INSERT INTO {{schema}}.subjects (identifier, tags, level)
			SELECT 'bench' || lpad(i::text, 31, '0'), ARRAY['t' || (i % 10)], 1 FROM generate_series(1, $1::int) i`, benchSubjects)
		n, err := s.db.pool.CopyFrom(context.Background(), pgx.Identifier{schema, "grants"},
			[]string{"id", "client_id", "client_seq", "level_id", "level_name", "prev_level_id", "prev_level_name", "reason", "user_id", "created_at"},
			&grantRows{seq: map[int64]int64{}})
		require.NoError(b, err)
		require.EqualValues(b, benchGrants, n)
		recount(b, s)
		benchData.store, benchData.load = s, time.Since(start)
	})
	require.NotNil(b, benchData.store, "loading the listing data set failed earlier")
	return benchData.store
}

// grantRows generates the listing data set's grants for CopyFrom.
type grantRows struct {
	i   int64
	seq map[int64]int64
}

func (r *grantRows) Next() bool {
	r.i++
	return r.i <= benchGrants
}

func (r *grantRows) Values() ([]any, error) {
	client := int64(1)
	if r.i%10 != 0 {
		client = 2 + r.i%(benchSubjects-1)
	}
	r.seq[client]++
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.i) * time.Second)
	return []any{r.i, client, r.seq[client], int32(2), "Level 1", int32(1), "Level 0", "Application: 838", int64(0), at}, nil
}

func (r *grantRows) Err() error { return nil }

// BenchmarkListGrants lists one page of 50 grants over 1,000,000 at offset
// 0 and deep in the listing, for every listing shape, plus a plain
// ORDER BY id OFFSET query for comparison.
func BenchmarkListGrants(b *testing.B) {
	s := listingStore(b)
	b.Logf("data set loaded in %v", benchData.load)
	ctx := context.Background()
	cases := []struct {
		name string
		f    verification.GrantFilter
	}{
		{"all/asc/offset=0", verification.GrantFilter{}},
		{"all/asc/offset=900000", verification.GrantFilter{Offset: 900_000}},
		{"all/desc/offset=0", verification.GrantFilter{Desc: true}},
		{"all/desc/offset=900000", verification.GrantFilter{Offset: 900_000, Desc: true}},
		{"client/asc/offset=0", verification.GrantFilter{SubjectID: 1}},
		{"client/asc/offset=90000", verification.GrantFilter{SubjectID: 1, Offset: 90_000}},
		{"client/desc/offset=0", verification.GrantFilter{SubjectID: 1, Desc: true}},
		{"client/desc/offset=90000", verification.GrantFilter{SubjectID: 1, Offset: 90_000, Desc: true}},
		{"tags/asc/offset=0", verification.GrantFilter{Tags: []string{"t3"}}},
		{"tags/asc/offset=80000", verification.GrantFilter{Tags: []string{"t3"}, Offset: 80_000}},
		{"tags/desc/offset=0", verification.GrantFilter{Tags: []string{"t3"}, Desc: true}},
		{"tags/desc/offset=80000", verification.GrantFilter{Tags: []string{"t3"}, Offset: 80_000, Desc: true}},
		{"two-tags/asc/offset=170000", verification.GrantFilter{Tags: []string{"t3", "t4"}, Offset: 170_000}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			f := c.f
			f.Limit = 50
			for b.Loop() {
				page, err := s.ListGrants(ctx, f)
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Items) != 50 {
					b.Fatalf("%s: %d items of %d", c.name, len(page.Items), page.Total)
				}
			}
		})
	}
	naive := s.sql(`SELECT ` + grantCols + ` FROM {{schema}}.grants g ORDER BY g.id OFFSET $1 LIMIT 50`)
	for _, off := range []int{0, 900_000} {
		b.Run(fmt.Sprintf("plain-OFFSET-for-comparison/offset=%d", off), func(b *testing.B) {
			for b.Loop() {
				rows, err := s.db.pool.Query(ctx, naive, off)
				if err != nil {
					b.Fatal(err)
				}
				rows.Close()
			}
		})
	}
}
