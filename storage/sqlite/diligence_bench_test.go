package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/internal/cputime"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/screening/listscreen"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
)

// heapPeak samples the live heap every 10 ms until stop is called and
// returns the peak rise over the heap at the start (after a collection).
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > base && m.HeapAlloc-base > peak.Load() {
				peak.Store(m.HeapAlloc - base)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

const sweepStates = 1_000_000

var sweepT0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// sweepDB is a database of 1,000,000 subjects at Level 1 with an approved
// "flag" each, valid until just before T0 + 1..100 days (10,000 a day), built once per
// process; sweepDay is how many days the benchmark's clock has moved.
var (
	sweepDB  = sync.OnceValues(buildSweepDB)
	sweepDay atomic.Int64
)

func sweepLadder() (*levels.Ladder, error) {
	return levels.New([]levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{
			{Name: "flag", Type: levels.Boolean, ValidFor: levels.Duration(365 * 24 * time.Hour), ExpiryWarning: levels.Duration(24 * time.Hour)},
		}},
	})
}

func buildSweepDB() (string, error) {
	dir, err := os.MkdirTemp("", "openkyc-sweep")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "kyc.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		return "", err
	}
	if err := s.Close(); err != nil {
		return "", err
	}
	t0 := sweepT0.UnixMicro()
	day := (24 * time.Hour).Microseconds()
	db, err := sql.Open("sqlite", benchWriterDSN(path))
	if err != nil {
		return "", err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO subjects (id, identifier, level, created_at, updated_at)
			SELECT i, printf('%%036d', i), 2, %d, %d FROM n`, sweepStates, t0, t0),
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO requirement_states (subject_id, name, status, answer, attempts, updated_at, valid_until)
			SELECT i, 'flag', 'approved', CAST('true' AS BLOB), 1, %d, %d + (i %% 100 + 1) * %d - 1 - i %% 1000 FROM n`, sweepStates, t0, t0, day),
		`PRAGMA wal_checkpoint(TRUNCATE)`,
		`ANALYZE`,
	} {
		if _, err := db.Exec(q); err != nil {
			return "", err
		}
	}
	return path, nil
}

// BenchmarkExpireRequirements1M: the validity sweep over 1,000,000
// approved requirement states in SQLite, with DowngradeOnExpiry. Each op
// moves the clock one day: about 10,000 approvals expire (each downgrading
// its subject) and 10,000 enter the one-day warning window, read through
// the due index in batches. A sweep with nothing due is timed too.
func BenchmarkExpireRequirements1M(b *testing.B) {
	path, err := sweepDB()
	require.NoError(b, err)
	ladder, err := sweepLadder()
	require.NoError(b, err)
	ctx := b.Context()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(b, err)
	defer s.Close()
	var now atomic.Int64
	// Two days before the clock of the first op: nothing due, nothing in
	// the warning window.
	now.Store(sweepT0.Add(time.Duration(sweepDay.Load()-2) * 24 * time.Hour).UnixMicro())
	svc, err := verification.New(ladder, s, verification.Options{
		NowFunc:           func() time.Time { return time.UnixMicro(now.Load()).UTC() },
		DowngradeOnExpiry: true,
	})
	require.NoError(b, err)

	// A sweep with nothing due reads nothing but the index's edge.
	idle := time.Now()
	rep, err := svc.ExpireRequirements(ctx)
	require.NoError(b, err)
	idleMS := float64(time.Since(idle).Microseconds()) / 1000

	var expired, warned int
	var peak uint64
	now.Add((24 * time.Hour).Microseconds())
	cpu0 := cputime.Process()
	b.ResetTimer()
	for range b.N {
		now.Add((24 * time.Hour).Microseconds())
		sweepDay.Add(1)
		stop := heapPeak()
		rep, err = svc.ExpireRequirements(ctx)
		p := stop()
		require.NoError(b, err)
		expired += rep.Expired
		warned += rep.Warned
		peak = max(peak, p)
	}
	b.StopTimer()
	b.ReportMetric(float64(expired)/float64(b.N), "expired/op")
	b.ReportMetric(float64(warned)/float64(b.N), "warned/op")
	b.ReportMetric(idleMS, "ms-idle-sweep")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(max(1, expired+warned)), "µs/state")
	b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/float64(max(1, expired+warned)), "cpu-µs/state")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-heap")
}

// rescreenSubjects, rescreenEntries: the re-screening benchmark's sizes.
const (
	rescreenSubjects = 100_000
	rescreenEntries  = 10_000
)

// nameGen makes pronounceable made-up names.
type nameGen struct{ r *rand.Rand }

func (g nameGen) word() string {
	syl := []string{"ka", "lo", "mi", "ra", "te", "vo", "sun", "dra", "bel", "nor", "qui", "zan", "fe", "mar", "tol", "ish", "pe", "gor", "lan", "vik"}
	var sb strings.Builder
	for range 2 + g.r.IntN(2) {
		sb.WriteString(syl[g.r.IntN(len(syl))])
	}
	w := sb.String()
	return strings.ToUpper(w[:1]) + w[1:]
}

func (g nameGen) name() string { return g.word() + " " + g.word() + " " + g.word() }

// rescreenDB is a database of 100,000 subjects at Level 1 whose screening
// was approved against list version "old" (so every one is due when the
// list says otherwise), and the 10,000-entry list file; one subject in a
// hundred bears a listed name.
var rescreenDB = sync.OnceValues(func() ([2]string, error) {
	dir, err := os.MkdirTemp("", "openkyc-rescreen")
	if err != nil {
		return [2]string{}, err
	}
	g := nameGen{rand.New(rand.NewPCG(2026, 18))}
	var list strings.Builder
	list.WriteString("id,name,aliases,birth_date,country,programme\n")
	listed := make([]string, rescreenEntries)
	born := make([]string, rescreenEntries)
	for i := range rescreenEntries {
		listed[i] = g.name()
		born[i] = fmt.Sprintf("19%02d-%02d-%02d", 40+i%60, 1+i%12, 1+i%28)
		fmt.Fprintf(&list, "E%05d,%s,,%s,NL,FICT\n", i, listed[i], born[i])
	}
	listPath := filepath.Join(dir, "list.csv")
	if err := os.WriteFile(listPath, []byte(list.String()), 0o600); err != nil {
		return [2]string{}, err
	}
	path := filepath.Join(dir, "kyc.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		return [2]string{}, err
	}
	if err := s.Close(); err != nil {
		return [2]string{}, err
	}
	db, err := sql.Open("sqlite", benchWriterDSN(path))
	if err != nil {
		return [2]string{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	t0 := sweepT0.UnixMicro()
	tx, err := db.Begin()
	if err != nil {
		return [2]string{}, err
	}
	subj, _ := tx.Prepare(`INSERT INTO subjects (id, identifier, level, created_at, updated_at) VALUES (?, printf('%036d', ?), 2, ?, ?)`)
	st, _ := tx.Prepare(`INSERT INTO requirement_states (subject_id, name, status, answer, attempts, updated_at, valid_until) VALUES (?, ?, 'approved', ?, ?, ?, ?)`)
	rec, _ := json.Marshal(verification.ScreeningRecord{ListVersion: "old", ScreenedAt: sweepT0.Add(-24 * time.Hour)})
	for i := 1; i <= rescreenSubjects; i++ {
		name, birth := g.name(), fmt.Sprintf("19%02d-01-01", 50+i%50)
		if i%100 == 0 {
			e := g.r.IntN(rescreenEntries)
			name, birth = listed[e], born[e]
		}
		fn, _ := json.Marshal(name)
		for _, q := range []struct {
			stmt *sql.Stmt
			args []any
		}{
			{subj, []any{i, i, t0, t0}},
			{st, []any{i, "fullName", fn, 1, t0, 0}},
			{st, []any{i, "birthDate", []byte(`"` + birth + `"`), 1, t0, 0}},
			{st, []any{i, "nationality", []byte(`"DE"`), 1, t0, 0}},
			{st, []any{i, "sanctions", rec, 0, t0, sweepT0.Add(29*24*time.Hour).UnixMicro() + int64(i)}},
		} {
			if _, err := q.stmt.Exec(q.args...); err != nil {
				return [2]string{}, err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return [2]string{}, err
	}
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return [2]string{}, err
	}
	return [2]string{path, listPath}, nil
})

// BenchmarkRescreen100kAgainst10k: RunScreening after a list version
// change re-screens 100,000 approved subjects in SQLite against a local
// 10,000-entry list (listscreen), in batches through the due index; one
// subject in a hundred bears a listed name and goes to review. Run it once
// (-benchtime 1x): a second op finds them screened against this version.
func BenchmarkRescreen100kAgainst10k(b *testing.B) {
	paths, err := rescreenDB()
	require.NoError(b, err)
	list, err := listscreen.LoadFile(paths[1], listscreen.Options{Name: "fict"})
	require.NoError(b, err)
	ladder, err := levels.New([]levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{
			{Name: "fullName", Type: levels.String},
			{Name: "birthDate", Type: levels.String},
			{Name: "nationality", Type: levels.String},
			{Name: "sanctions", Type: levels.Screening, RescreenInterval: levels.Duration(30 * 24 * time.Hour),
				Screening: &levels.ScreeningSources{Name: "fullName", BirthDate: "birthDate", Nationality: "nationality"}},
		}},
	})
	require.NoError(b, err)
	ctx := b.Context()
	s, err := sqlite.Open(ctx, paths[0], sqlite.Options{})
	require.NoError(b, err)
	defer s.Close()
	svc, err := verification.New(ladder, s, verification.Options{NowFunc: func() time.Time { return sweepT0 }, Screener: list})
	require.NoError(b, err)
	var screened, hits int
	var peak uint64
	cpu0 := cputime.Process()
	b.ResetTimer()
	for range b.N {
		stop := heapPeak()
		rep, err := svc.RunScreening(ctx)
		p := stop()
		require.NoError(b, err)
		screened += rep.Screened
		hits += rep.Hits
		peak = max(peak, p)
	}
	b.StopTimer()
	b.ReportMetric(float64(screened)/float64(b.N), "screened/op")
	b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
	if screened > 0 {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(screened), "µs/screen")
		b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/float64(screened), "cpu-µs/screen")
	}
	b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-heap")
}
