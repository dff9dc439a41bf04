package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
)

// benchExclusive, from OPENKYC_BENCH_SQLITE_EXCLUSIVE=1, runs
// BenchmarkSubmission with Options.Exclusive on both sides (the raw
// baseline on the same unix-excl VFS), to measure it against the default
// (e.g. with bench/cpuop.sh).
var benchExclusive = os.Getenv("OPENKYC_BENCH_SQLITE_EXCLUSIVE") == "1"

// benchWriterDSN is the store's writer configuration, for the raw baseline.
func benchWriterDSN(path string) string {
	vfs := ""
	if benchExclusive {
		vfs = "vfs=unix-excl&"
	}
	return "file:" + path + "?" + vfs + "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)&_pragma=secure_delete(1)&_txlock=immediate"
}

// timings collects the ns/op of sub-benchmarks so the parent can report
// ratios.
type timings struct {
	mu sync.Mutex
	ns map[string]float64
}

func (tm *timings) record(b *testing.B, name string) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if tm.ns == nil {
		tm.ns = map[string]float64{}
	}
	tm.ns[name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
}

func (tm *timings) get(name string) float64 {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.ns[name]
}

// BenchmarkSubmission compares one submission through the Service (the
// answer to a requirement without review: lock the subject, read and write
// its state, two outbox events, re-evaluate its level, in one transaction)
// with a raw single-row INSERT transaction on the same database settings
// (one connection, BEGIN IMMEDIATE, WAL, synchronous=NORMAL, prepared
// statement). The target: the Service path at least a third of the raw rate.
func BenchmarkSubmission(b *testing.B) {
	var tm timings
	b.Run("service", func(b *testing.B) {
		ctx := b.Context()
		s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "kyc.db"), sqlite.Options{Exclusive: benchExclusive})
		require.NoError(b, err)
		defer s.Close()
		ladder, err := levels.New([]levels.Level{
			{ID: 1, Name: "Level 0"},
			{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{
				{Name: "isBusiness", Type: levels.Boolean},
				{Name: "acceptsTerms", Type: levels.Boolean},
				{Name: "isPEP", Type: levels.Boolean},
			}},
		})
		require.NoError(b, err)
		svc, err := verification.New(ladder, s, verification.Options{})
		require.NoError(b, err)
		subjects := make([]int64, b.N)
		for i := range subjects {
			sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: fmt.Sprintf("%036d", i)})
			require.NoError(b, err)
			subjects[i] = sub.ID
		}
		answer := json.RawMessage(`true`)
		b.ResetTimer()
		for i := range b.N {
			if _, err := svc.Answer(ctx, subjects[i], "isBusiness", answer); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		tm.record(b, "service")
	})
	b.Run("raw", func(b *testing.B) {
		ctx := b.Context()
		db, err := sql.Open("sqlite", benchWriterDSN(filepath.Join(b.TempDir(), "raw.db")))
		require.NoError(b, err)
		defer db.Close()
		db.SetMaxOpenConns(1)
		_, err = db.ExecContext(ctx, `CREATE TABLE submissions (id INTEGER PRIMARY KEY, subject_id INTEGER NOT NULL, name TEXT NOT NULL, answer BLOB, at INTEGER NOT NULL)`)
		require.NoError(b, err)
		ins, err := db.PrepareContext(ctx, `INSERT INTO submissions (subject_id, name, answer, at) VALUES (?, ?, ?, ?)`)
		require.NoError(b, err)
		defer ins.Close()
		answer := []byte(`true`)
		b.ResetTimer()
		for i := range b.N {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tx.StmtContext(ctx, ins).ExecContext(ctx, i+1, "isBusiness", answer, time.Now().UnixMicro()); err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		tm.record(b, "raw")
		if svc := tm.get("service"); svc > 0 {
			// The Service's submission rate as a fraction of the raw
			// insert-transaction rate (target: at least 0.33).
			b.ReportMetric(tm.get("raw")/svc, "service/raw-rate")
		}
	})
}

// Shape of the BenchmarkListGrants data set.
const (
	benchGrants   = 1_000_000
	benchSubjects = 10_000
	benchBatch    = 100_000
)

// buildGrantDB writes the BenchmarkListGrants data set to path: 10,000
// subjects (even IDs tagged "eu", IDs divisible by 5 tagged "vip"; subject 1
// untagged), created through the Store in one transaction, and 1,000,000
// grants, every tenth one for subject 1 (so it has 100,000) and the rest
// spread over the others. The grants go in through raw SQL on one
// connection, a prepared INSERT in transactions of 100,000 rows, with IDs and
// per-client sequence numbers computed here exactly as the store assigns
// them (the schema's triggers check them and fill the tag index). It takes
// seconds, where a Store's one-grant-per-transaction API would take minutes.
func buildGrantDB(b *testing.B, path string) {
	b.Helper()
	ctx := b.Context()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(b, err)
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(b, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		for id := int64(1); id <= benchSubjects; id++ {
			sub := verification.Subject{Identifier: fmt.Sprintf("%036d", id), Level: 1, CreatedAt: now, UpdatedAt: now}
			if id%2 == 0 {
				sub.Tags = append(sub.Tags, "eu")
			}
			if id%5 == 0 {
				sub.Tags = append(sub.Tags, "vip")
			}
			if err := tx.CreateSubject(ctx, &sub); err != nil {
				return err
			}
			if sub.ID != id {
				return fmt.Errorf("subject %d got ID %d", id, sub.ID)
			}
		}
		return nil
	}))
	require.NoError(b, s.Close())

	db, err := sql.Open("sqlite", benchWriterDSN(path))
	require.NoError(b, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	seq := make([]int64, benchSubjects+1)
	for start := int64(1); start <= benchGrants; start += benchBatch {
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(b, err)
		ins, err := tx.PrepareContext(ctx, `INSERT INTO grants
			(id, client_id, client_seq, level_id, level_name, prev_level_id, prev_level_name, reason, user_id, create_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`)
		require.NoError(b, err)
		for id := start; id < start+benchBatch && id <= benchGrants; id++ {
			client := int64(1)
			if id%10 != 0 {
				client = 2 + id%(benchSubjects-1)
			}
			seq[client]++
			_, err := ins.ExecContext(ctx, id, client, seq[client], 2, "Level 1", 1, "Level 0", "requirements approved", now.UnixMicro()+id)
			require.NoError(b, err)
		}
		require.NoError(b, tx.Commit())
	}
	_, err = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	require.NoError(b, err)
}

// naiveGrantIDs lists one page the slow, obvious way (OFFSET over a join),
// as an oracle for the store's index walks.
func naiveGrantIDs(b *testing.B, db *sql.DB, f verification.GrantFilter) []int64 {
	b.Helper()
	q := `SELECT g.id FROM grants g JOIN subjects s ON s.id = g.client_id WHERE 1 = 1`
	var args []any
	if f.SubjectID != 0 {
		q += ` AND g.client_id = ?`
		args = append(args, f.SubjectID)
	}
	if f.Tags != nil {
		q += ` AND s.tagset_id IN (SELECT tagset_id FROM tagset_tags WHERE tag IN (?` + strings.Repeat(", ?", len(f.Tags)-1) + `))`
		for _, t := range f.Tags {
			args = append(args, t)
		}
	}
	order := "ASC"
	if f.Desc {
		order = "DESC"
	}
	rows, err := db.QueryContext(b.Context(), q+` ORDER BY g.id `+order+` LIMIT ? OFFSET ?`, append(args, f.Limit, f.Offset)...)
	require.NoError(b, err)
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		require.NoError(b, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(b, rows.Err())
	return ids
}

// BenchmarkListGrants lists pages of 10 grants out of 1,000,000 at offset 0
// and at a deep offset, in both orders: all grants (deep offset 900,000),
// one client's 100,000 (deep offset 90,000), one tag's ~540,000 (deep offset
// 400,000), and two tags (~620,000, deep offset 400,000). Before timing, each
// page is checked against a naive OFFSET query. The target: a deep page no
// more than 3x the first page of the same listing (reported as x-offset0).
func BenchmarkListGrants(b *testing.B) {
	path := filepath.Join(b.TempDir(), "grants.db")
	buildGrantDB(b, path)
	s, err := sqlite.Open(b.Context(), path, sqlite.Options{})
	require.NoError(b, err)
	defer s.Close()
	oracle, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
	require.NoError(b, err)
	defer oracle.Close()

	listings := []struct {
		name string
		f    verification.GrantFilter
		deep int
	}{
		{"all", verification.GrantFilter{}, 900_000},
		{"client", verification.GrantFilter{SubjectID: 1}, 90_000},
		{"tag", verification.GrantFilter{Tags: []string{"eu"}}, 400_000},
		{"two-tags", verification.GrantFilter{Tags: []string{"eu", "vip"}}, 400_000},
	}
	var tm timings
	for _, l := range listings {
		for _, desc := range []bool{false, true} {
			order := "asc"
			if desc {
				order = "desc"
			}
			for _, offset := range []int{0, l.deep} {
				name := fmt.Sprintf("%s/%s/offset%d", l.name, order, offset)
				f := l.f
				f.Limit, f.Offset, f.Desc = 10, offset, desc
				page, err := s.ListGrants(b.Context(), f)
				require.NoError(b, err)
				got := make([]int64, len(page.Items))
				for i, g := range page.Items {
					got[i] = g.ID
				}
				require.Equal(b, naiveGrantIDs(b, oracle, f), got, "%s: the page differs from a naive OFFSET query", name)
				b.Run(name, func(b *testing.B) {
					ctx := b.Context()
					for range b.N {
						page, err := s.ListGrants(ctx, f)
						if err != nil {
							b.Fatal(err)
						}
						if len(page.Items) != 10 {
							b.Fatalf("%s: %d items of %d", name, len(page.Items), page.Total)
						}
					}
					tm.record(b, name)
					if first := tm.get(fmt.Sprintf("%s/%s/offset0", l.name, order)); offset != 0 && first > 0 {
						// The deep page's cost as a multiple of the first
						// page's (target: at most 3).
						b.ReportMetric(tm.get(name)/first, "x-offset0")
					}
				})
			}
		}
	}
}

// BenchmarkListGrantsSmall is the same listing over 1,000 grants, for
// comparison with the 1,000,000-grant figures.
func BenchmarkListGrantsSmall(b *testing.B) {
	ctx := b.Context()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "kyc.db"), sqlite.Options{})
	require.NoError(b, err)
	defer s.Close()
	require.NoError(b, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		sub := verification.Subject{Identifier: fmt.Sprintf("%036d", 1), Tags: []string{"eu"}}
		if err := tx.CreateSubject(ctx, &sub); err != nil {
			return err
		}
		for i := range 1000 {
			g := newGrant(sub.ID, i)
			if err := tx.AddGrant(ctx, &g); err != nil {
				return err
			}
		}
		return nil
	}))
	for _, l := range []struct {
		name string
		f    verification.GrantFilter
	}{
		{"all/asc/offset0", verification.GrantFilter{Limit: 10}},
		{"all/desc/offset900", verification.GrantFilter{Limit: 10, Offset: 900, Desc: true}},
		{"tag/asc/offset900", verification.GrantFilter{Limit: 10, Offset: 900, Tags: []string{"eu"}}},
	} {
		b.Run(l.name, func(b *testing.B) {
			for range b.N {
				if _, err := s.ListGrants(ctx, l.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
