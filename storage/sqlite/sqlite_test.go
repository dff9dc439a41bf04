package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/storage/storagetest"
	"github.com/openkyc/kyc/verification"
)

// base is the tests' reference time (UTC, with microseconds).
var base = time.Date(2024, time.January, 15, 12, 0, 0, 123456000, time.UTC)

// openStore opens a fresh store in t's temporary directory and closes it when
// the test ends.
func openStore(t testing.TB, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "kyc.db"), opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// openRaw opens a plain database/sql handle on path, for checks the Store's
// API does not allow.
func openRaw(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func ident(name string) string { return name + strings.Repeat("0", 36-len(name)) }

func newSubject(t testing.TB, s verification.Store, name string, tags ...string) verification.Subject {
	t.Helper()
	sub := verification.Subject{Identifier: ident(name), Tags: tags, CreatedAt: base, UpdatedAt: base}
	require.NoError(t, s.CreateSubject(t.Context(), &sub))
	return sub
}

func newGrant(clientID int64, lvl int) verification.Grant {
	return verification.Grant{SubjectID: clientID, Level: verification.LevelRef{ID: lvl, Name: fmt.Sprintf("Level %d", lvl)}, Reason: "created", CreatedAt: base}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storagetest.Run(t, func(t *testing.T) verification.Store { return openStore(t, sqlite.Options{}) })
}

// TestConformanceWithOptions runs the suite once more with the options
// that change how the store talks to SQLite: TablePrefix (every
// statement's text) and, on Unix, Exclusive (the unix-excl VFS: the WAL
// index in memory). They are independent, so one run covers both and
// keeps the package's time under -race down.
func TestConformanceWithOptions(t *testing.T) {
	t.Parallel()
	opts := sqlite.Options{TablePrefix: "kyc_", Exclusive: runtime.GOOS != "windows"}
	storagetest.Run(t, func(t *testing.T) verification.Store { return openStore(t, opts) })
}

func TestOpenRefusesBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "kyc.db")
	notDir := filepath.Join(dir, "plain-file")
	require.NoError(t, os.WriteFile(notDir, nil, 0o600))
	tests := []struct {
		name string
		path string
		opts sqlite.Options
		want string
	}{
		{"empty path", "", sqlite.Options{}, "needs a file path"},
		{"memory", ":memory:", sqlite.Options{}, "needs a file path"},
		{"DSN instead of a path", "file:" + db + "?_pragma=journal_mode(DELETE)", sqlite.Options{}, "needs a file path"},
		{"upper-case prefix", db, sqlite.Options{TablePrefix: "KYC_"}, "TablePrefix"},
		{"prefix with a quote", db, sqlite.Options{TablePrefix: "x'; DROP TABLE t; --"}, "TablePrefix"},
		{"prefix with a dot", db, sqlite.Options{TablePrefix: "main.x"}, "TablePrefix"},
		{"prefix starting with a digit", db, sqlite.Options{TablePrefix: "1x_"}, "TablePrefix"},
		{"reserved prefix", db, sqlite.Options{TablePrefix: "sqlite_x"}, "reserved"},
		{"long prefix", db, sqlite.Options{TablePrefix: strings.Repeat("x", 33)}, "longer"},
		{"negative busy timeout", db, sqlite.Options{BusyTimeout: -time.Second}, "BusyTimeout"},
		{"negative read pool", db, sqlite.Options{MaxReadConns: -1}, "MaxReadConns"},
		// A missing directory is created (0700, see TestFileModes); one
		// that cannot be is an error.
		{"directory is a file", filepath.Join(notDir, "kyc.db"), sqlite.Options{}, "sqlite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlite.Open(t.Context(), tt.path, tt.opts)
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, s)
		})
	}
	_, err := os.Stat(db)
	require.ErrorIs(t, err, os.ErrNotExist, "a refused Open must not create the database")
}

func TestOpenTwiceAndReopen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "kyc.db")
	a, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	b, err := sqlite.Open(ctx, path, sqlite.Options{}) // a second handle on the same file
	require.NoError(t, err)
	sub := newSubject(t, a, "alice", "eu")
	got, err := b.GetSubject(ctx, sub.ID)
	require.NoError(t, err, "a second Store on the same file sees the first one's commits")
	require.Equal(t, sub, got)
	require.NoError(t, a.Close())
	require.NoError(t, b.Close())

	c, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer c.Close()
	got, err = c.GetSubject(ctx, sub.ID)
	require.NoError(t, err, "data survives a reopen")
	require.Equal(t, sub, got)
}

func TestTablePrefixSharesTheHostsFile(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "host.db")
	host := openRaw(t, path)
	_, err := host.ExecContext(ctx, `CREATE TABLE subjects (name TEXT); INSERT INTO subjects VALUES ('host row')`)
	require.NoError(t, err)

	_, err = sqlite.Open(ctx, path, sqlite.Options{})
	require.ErrorContains(t, err, "already exists", "without a prefix the store's tables clash with the host's")

	a, err := sqlite.Open(ctx, path, sqlite.Options{TablePrefix: "kyc_"})
	require.NoError(t, err)
	defer a.Close()
	b, err := sqlite.Open(ctx, path, sqlite.Options{TablePrefix: "other_"})
	require.NoError(t, err)
	defer b.Close()

	alice := newSubject(t, a, "alice", "eu")
	g := newGrant(alice.ID, 1)
	require.NoError(t, a.AddGrant(ctx, &g))
	_, err = b.GetSubjectByIdentifier(ctx, alice.Identifier)
	require.ErrorIs(t, err, verification.ErrNotFound, "stores with different prefixes must not see each other's rows")
	page, err := b.ListGrants(ctx, verification.GrantFilter{Limit: 10, Tags: []string{"eu"}})
	require.NoError(t, err)
	require.Zero(t, page.Total)
	bob := newSubject(t, b, "bob")
	require.Equal(t, int64(1), bob.ID, "each prefix has its own ID sequences")

	var name string
	require.NoError(t, host.QueryRowContext(ctx, `SELECT name FROM subjects`).Scan(&name))
	require.Equal(t, "host row", name, "the host's own table is untouched")
	var n int
	require.NoError(t, host.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM sqlite_schema WHERE name LIKE 'kyc\_%' ESCAPE '\' OR name LIKE 'other\_%' ESCAPE '\'`).Scan(&n))
	require.Positive(t, n)
	require.NoError(t, host.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM sqlite_schema WHERE type IN ('table', 'index', 'trigger')
		 AND name NOT LIKE 'kyc\_%' ESCAPE '\' AND name NOT LIKE 'other\_%' ESCAPE '\'
		 AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'subjects'`).Scan(&n))
	require.Zero(t, n, "every table, index and trigger of the store carries the prefix")
}

func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "kyc.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{TablePrefix: "kyc_"})
	require.NoError(t, err)
	v, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Positive(t, v)
	require.NoError(t, s.Close())

	raw := openRaw(t, path)
	_, err = raw.ExecContext(ctx, `INSERT INTO kyc_schema_migrations (version, name) VALUES (?, 'from_the_future')`, v+1)
	require.NoError(t, err)
	require.NoError(t, raw.Close())

	_, err = sqlite.Open(ctx, path, sqlite.Options{TablePrefix: "kyc_"})
	require.ErrorIs(t, err, sqlite.ErrSchemaTooNew)
	require.ErrorContains(t, err, fmt.Sprintf("schema version %d", v+1))
}

func TestClosedStore(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kyc.db"), sqlite.Options{})
	require.NoError(t, err)
	sub := newSubject(t, s, "alice")

	var leaked verification.Store
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		leaked = tx
		return nil
	}))
	_, err = leaked.GetSubject(ctx, sub.ID)
	require.ErrorIs(t, err, verification.ErrClosed, "a transaction's Store used after InTx returned")
	require.ErrorIs(t, leaked.UpdateSubject(ctx, sub), verification.ErrClosed)

	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "closing twice is harmless")

	calls := map[string]func() error{
		"GetSubject":    func() error { _, err := s.GetSubject(ctx, sub.ID); return err },
		"CreateSubject": func() error { x := verification.Subject{Identifier: ident("bob")}; return s.CreateSubject(ctx, &x) },
		"UpdateSubject": func() error { return s.UpdateSubject(ctx, sub) },
		"ListGrants":    func() error { _, err := s.ListGrants(ctx, verification.GrantFilter{Limit: 1}); return err },
		"AddGrant":      func() error { g := newGrant(sub.ID, 1); return s.AddGrant(ctx, &g) },
		"ListEvents":    func() error { _, err := s.ListEvents(ctx, verification.EventFilter{}); return err },
		"ListApplications": func() error {
			_, err := s.ListApplications(ctx, verification.ApplicationFilter{Limit: 1})
			return err
		},
		"ListFiles":     func() error { _, err := s.ListFiles(ctx, verification.FileFilter{}); return err },
		"InTx":          func() error { return s.InTx(ctx, func(context.Context, verification.Store) error { return nil }) },
		"Checkpoint":    func() error { return s.Checkpoint(ctx) },
		"SchemaVersion": func() error { _, err := s.SchemaVersion(ctx); return err },
	}
	for name, call := range calls {
		require.NotPanics(t, func() { err = call() }, name)
		require.ErrorIs(t, err, verification.ErrClosed, "%s on a closed store", name)
	}
}

func TestGrantsAreAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "kyc.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{TablePrefix: "kyc_"})
	require.NoError(t, err)
	defer s.Close()
	sub := newSubject(t, s, "alice")
	g := newGrant(sub.ID, 1)
	require.NoError(t, s.AddGrant(ctx, &g))

	raw := openRaw(t, path)
	for _, q := range []string{
		`UPDATE kyc_grants SET reason = 'rewritten' WHERE id = 1`,
		`UPDATE kyc_grants SET level_id = 9`,
		`DELETE FROM kyc_grants WHERE id = 1`,
		`DELETE FROM kyc_grants`,
		`INSERT OR REPLACE INTO kyc_grants (id, client_id, client_seq, level_id, level_name, reason, create_time)
		 VALUES (1, 1, 1, 9, 'Level 9', 'replaced', 0)`,
		`INSERT INTO kyc_grants (id, client_id, client_seq, level_id, level_name, reason, create_time)
		 VALUES (1, 1, 1, 9, 'Level 9', 'again', 0) ON CONFLICT DO UPDATE SET reason = 'upserted'`,
		`INSERT INTO kyc_grants (id, client_id, client_seq, level_id, level_name, reason, create_time)
		 VALUES (5, 1, 2, 9, 'Level 9', 'leaves a gap', 0)`,
		`INSERT INTO kyc_grants (client_id, client_seq, level_id, level_name, reason, create_time)
		 VALUES (1, 2, 9, 'Level 9', 'no id', 0)`,
	} {
		_, err := raw.ExecContext(ctx, q)
		require.ErrorContains(t, err, "grants are append-only", q)
	}
	got, err := s.GetGrant(ctx, g.ID)
	require.NoError(t, err)
	require.Equal(t, g, got, "the grant is unchanged")
}

func TestGrantIDsStayDenseAcrossRollbacks(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openStore(t, sqlite.Options{})
	a := newSubject(t, s, "alice", "eu")
	b := newSubject(t, s, "bob", "eu")
	var ids []int64
	for i := range 6 {
		sub := []verification.Subject{a, b}[i%2]
		g := newGrant(sub.ID, i+1)
		require.NoError(t, s.AddGrant(ctx, &g))
		ids = append(ids, g.ID)
		// A rolled-back grant in between gives its number back.
		err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			g := newGrant(sub.ID, 99)
			require.NoError(t, tx.AddGrant(ctx, &g))
			return context.Canceled
		})
		require.ErrorIs(t, err, context.Canceled)
		// So does a grant refused for an unknown subject.
		bad := newGrant(b.ID+100, 1)
		require.ErrorIs(t, s.AddGrant(ctx, &bad), verification.ErrNotFound)
	}
	require.Equal(t, []int64{1, 2, 3, 4, 5, 6}, ids)
	for _, tt := range []struct {
		f    verification.GrantFilter
		want []int64
	}{
		{verification.GrantFilter{Limit: 2, Offset: 4}, []int64{5, 6}},
		{verification.GrantFilter{Limit: 2, Offset: 4, Desc: true}, []int64{2, 1}},
		{verification.GrantFilter{SubjectID: b.ID, Limit: 2, Offset: 1}, []int64{4, 6}},
		{verification.GrantFilter{SubjectID: b.ID, Limit: 2, Offset: 1, Desc: true}, []int64{4, 2}},
		{verification.GrantFilter{Tags: []string{"eu"}, Limit: 2, Offset: 3}, []int64{4, 5}},
	} {
		page, err := s.ListGrants(ctx, tt.f)
		require.NoError(t, err)
		got := []int64{}
		for _, g := range page.Items {
			got = append(got, g.ID)
		}
		require.Equal(t, tt.want, got, "%+v", tt.f)
	}
}

// TestListGrantsMatchesMemory checks every listing path (global, per client,
// one tag, several tags, client and tags) against the reference store, over
// enough grants to span several tag blocks, with tags changing between and
// after the grants.
func TestListGrantsMatchesMemory(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	sq := openStore(t, sqlite.Options{})
	mem := memory.New()
	stores := []verification.Store{sq, mem}
	allTags := []string{"eu", "us", "vip", "kyb"}
	randomTags := func() []string {
		var tags []string
		for _, tg := range allTags {
			if rng.IntN(3) == 0 {
				tags = append(tags, tg)
			}
		}
		return tags
	}
	var subjects []verification.Subject
	for i := range 40 {
		tags := randomTags()
		var sub verification.Subject
		for _, s := range stores {
			sub = newSubject(t, s, fmt.Sprintf("s%dx", i), tags...)
		}
		subjects = append(subjects, sub)
	}
	retag := func(n int) {
		for range n {
			i := rng.IntN(len(subjects))
			subjects[i].Tags = randomTags()
			for _, s := range stores {
				require.NoError(t, s.UpdateSubject(ctx, subjects[i]))
			}
		}
	}
	// Under -race (which slows SQLite itself down tenfold) fewer grants, still
	// more than one tag block (1024 IDs).
	rounds, perRound, checks := 3, 1200, 400
	if raceEnabled {
		rounds, perRound, checks = 2, 600, 150
	}
	for round := range rounds {
		err := sq.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			for i := range perRound {
				// Skewed: subject 0 gets a large share, so its pages span blocks.
				sub := subjects[0]
				if rng.IntN(4) != 0 {
					sub = subjects[rng.IntN(len(subjects))]
				}
				g := newGrant(sub.ID, round*10000+i)
				require.NoError(t, tx.AddGrant(ctx, &g))
				g2 := g
				require.NoError(t, mem.AddGrant(ctx, &g2))
				require.Equal(t, g2.ID, g.ID)
				if i%300 == 0 {
					// Retag inside the transaction too.
					j := rng.IntN(len(subjects))
					subjects[j].Tags = randomTags()
					require.NoError(t, tx.UpdateSubject(ctx, subjects[j]))
					require.NoError(t, mem.UpdateSubject(ctx, subjects[j]))
				}
			}
			return nil
		})
		require.NoError(t, err)
		retag(5)
	}

	total := rounds * perRound
	randomFilter := func() verification.GrantFilter {
		f := verification.GrantFilter{Limit: rng.IntN(40), Desc: rng.IntN(2) == 0}
		switch rng.IntN(4) {
		case 0:
			f.SubjectID = subjects[rng.IntN(len(subjects))].ID
		case 1:
			f.SubjectID = subjects[0].ID
		}
		switch rng.IntN(4) {
		case 0:
			f.Tags = []string{allTags[rng.IntN(len(allTags))]}
		case 1:
			f.Tags = []string{allTags[rng.IntN(len(allTags))], allTags[rng.IntN(len(allTags))], "none"}
		case 2:
			if rng.IntN(5) == 0 {
				f.Tags = []string{}
			}
		}
		switch rng.IntN(3) {
		case 0:
			f.Offset = rng.IntN(30)
		case 1:
			f.Offset = rng.IntN(total + 50)
		default:
			f.Offset = rng.IntN(total/2 + 1)
		}
		return f
	}
	ids := func(gs []verification.Grant) []int64 {
		out := make([]int64, len(gs))
		for i, g := range gs {
			out[i] = g.ID
		}
		return out
	}
	for range checks {
		f := randomFilter()
		want, err := mem.ListGrants(ctx, f)
		require.NoError(t, err)
		got, err := sq.ListGrants(ctx, f)
		require.NoError(t, err)
		require.Equal(t, want.Total, got.Total, "total of %+v", f)
		require.Equal(t, ids(want.Items), ids(got.Items), "items of %+v", f)
		require.Equal(t, want.Items, got.Items, "%+v", f)
	}
}

func TestReadsDoNotWaitForTheWriter(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openStore(t, sqlite.Options{})
	alice := newSubject(t, s, "alice")
	inTx, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			sub, err := tx.LockSubject(ctx, alice.ID)
			if err != nil {
				return err
			}
			sub.Level = 7
			if err := tx.UpdateSubject(ctx, sub); err != nil {
				return err
			}
			close(inTx)
			<-release
			return nil
		})
	}()
	<-inTx
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	got, err := s.GetSubject(rctx, alice.ID)
	require.NoError(t, err, "a read outside the transaction must not wait for the writer")
	require.Zero(t, got.Level, "a read outside the transaction sees the last commit, not the transaction's writes")
	page, err := s.ListGrants(rctx, verification.GrantFilter{Limit: 10})
	require.NoError(t, err)
	require.Zero(t, page.Total)
	close(release)
	require.NoError(t, <-done)
	got, err = s.GetSubject(ctx, alice.ID)
	require.NoError(t, err)
	require.Equal(t, 7, got.Level)
}

func TestCheckpointAndSecureDelete(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "kyc.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer s.Close()
	sub := newSubject(t, s, "alice")
	marker := "PLAINTEXT-MARKER-" + strings.Repeat("x", 40)
	f := verification.File{ID: "file-1", SubjectID: sub.ID, BlobKey: marker, SHA256: marker, Status: levels.Pending, CreatedAt: base}
	require.NoError(t, s.CreateFile(ctx, f))
	require.NoError(t, s.Checkpoint(ctx))
	requireBytes(t, path, marker, true)

	require.NoError(t, s.DeleteFile(ctx, f.ID))
	require.ErrorContains(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		return tx.(*sqlite.Store).Checkpoint(ctx)
	}), "inside a transaction")
	require.NoError(t, s.Checkpoint(ctx))
	info, err := os.Stat(path + "-wal")
	require.NoError(t, err)
	require.Zero(t, info.Size(), "Checkpoint truncates the log")
	requireBytes(t, path, marker, false)
}

// requireBytes checks whether marker occurs in the database file or its log.
func requireBytes(t *testing.T, path, marker string, present bool) {
	t.Helper()
	found := false
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil {
			require.ErrorIs(t, err, os.ErrNotExist)
			continue
		}
		found = found || strings.Contains(string(b), marker)
	}
	require.Equal(t, present, found, "marker present in the raw database bytes")
}

func TestConcurrentReadersAndWriters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openStore(t, sqlite.Options{MaxReadConns: 3})
	subs := make([]verification.Subject, 4)
	for i := range subs {
		subs[i] = newSubject(t, s, fmt.Sprintf("s%dx", i), "eu")
	}
	errs := make(chan error, 8)
	for w := range 4 {
		go func() {
			var err error
			for i := 0; i < 50 && err == nil; i++ {
				g := newGrant(subs[w].ID, i+1)
				err = s.AddGrant(ctx, &g)
			}
			errs <- err
		}()
		go func() {
			var err error
			for i := 0; i < 50 && err == nil; i++ {
				var page verification.Page[verification.Grant]
				page, err = s.ListGrants(ctx, verification.GrantFilter{Limit: 5, Tags: []string{"eu"}, Desc: true})
				if err == nil && len(page.Items) > 0 && page.Items[0].ID != int64(page.Total) {
					err = fmt.Errorf("inconsistent snapshot: total %d, newest %d", page.Total, page.Items[0].ID)
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
	page, err := s.ListGrants(ctx, verification.GrantFilter{Limit: 1000})
	require.NoError(t, err)
	require.Equal(t, 200, page.Total)
	got := make([]int64, len(page.Items))
	for i, g := range page.Items {
		got[i] = g.ID
	}
	require.True(t, slices.IsSorted(got))
}

// TestListGrantsAcrossSuperblocks checks the tag listings against the
// reference store over 140,000 grants (three superblocks of the tag index),
// loaded through raw SQL as the benchmark does, with tags changed afterwards
// so that the counts of old blocks move.
func TestListGrantsAcrossSuperblocks(t *testing.T) {
	if testing.Short() || raceEnabled {
		// Not a concurrency test: under -race the load alone takes a minute.
		t.Skip("loads 140,000 grants; skipped with -short and -race (run go test without -race)")
	}
	t.Parallel()
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(3, 4))
	path := filepath.Join(t.TempDir(), "kyc.db")
	sq, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer sq.Close()
	mem := memory.New()
	tagsOf := func(i int) []string {
		return [][]string{nil, {"eu"}, {"us"}, {"eu", "vip"}, {"vip"}}[i%5]
	}
	subjects := make([]verification.Subject, 50)
	for i := range subjects {
		for _, s := range []verification.Store{sq, mem} {
			subjects[i] = newSubject(t, s, fmt.Sprintf("s%dx", i), tagsOf(i)...)
		}
	}

	const grants = 140_000
	raw := openRaw(t, path)
	tx, err := raw.BeginTx(ctx, nil)
	require.NoError(t, err)
	ins, err := tx.PrepareContext(ctx, `INSERT INTO grants (id, client_id, client_seq, level_id, level_name, reason, create_time) VALUES (?, ?, ?, 1, 'Level 1', 'created', ?)`)
	require.NoError(t, err)
	seq := map[int64]int64{}
	for id := int64(1); id <= grants; id++ {
		sub := subjects[rng.IntN(len(subjects))]
		if id%7 == 0 {
			sub = subjects[3] // one client spanning every block
		}
		seq[sub.ID]++
		_, err := ins.ExecContext(ctx, id, sub.ID, seq[sub.ID], base.UnixMicro())
		require.NoError(t, err)
		g := newGrant(sub.ID, 1)
		require.NoError(t, mem.AddGrant(ctx, &g))
		require.Equal(t, id, g.ID)
	}
	require.NoError(t, tx.Commit())
	require.NoError(t, raw.Close())

	// Retag: subject 3 (a fifth of the grants) leaves "eu", others move.
	for i, tags := range map[int][]string{3: {"vip"}, 5: {"eu"}, 6: nil, 8: {"us", "eu"}} {
		subjects[i].Tags = tags
		for _, s := range []verification.Store{sq, mem} {
			require.NoError(t, s.UpdateSubject(ctx, subjects[i]))
		}
	}

	tagSets := [][]string{{"eu"}, {"vip"}, {"us"}, {"eu", "vip"}, {"us", "vip", "eu"}, {"kyb"}}
	for i := range 120 {
		f := verification.GrantFilter{Tags: tagSets[i%len(tagSets)], Limit: 1 + rng.IntN(30), Desc: rng.IntN(2) == 0}
		switch i % 3 {
		case 0:
			f.Offset = rng.IntN(100)
		case 1:
			f.Offset = rng.IntN(grants)
		default:
			f.Offset = rng.IntN(grants/2) + 65_000 // around the superblock boundaries
		}
		want, err := mem.ListGrants(ctx, f)
		require.NoError(t, err)
		got, err := sq.ListGrants(ctx, f)
		require.NoError(t, err)
		require.Equal(t, want.Total, got.Total, "total of %+v", f)
		require.Equal(t, want.Items, got.Items, "items of %+v", f)
	}
}

func TestCloseWaitsForTheTransactionInProgress(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "kyc.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	inTx, release, closed := make(chan struct{}), make(chan struct{}), make(chan error)
	txDone := make(chan error)
	go func() {
		txDone <- s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			sub := verification.Subject{Identifier: ident("alice")}
			if err := tx.CreateSubject(ctx, &sub); err != nil {
				return err
			}
			close(inTx)
			<-release
			return nil
		})
	}()
	<-inTx
	go func() { closed <- s.Close() }()
	require.Eventually(t, func() bool {
		// A transaction waiting for the writer gives up once Close began.
		err := s.InTx(ctx, func(context.Context, verification.Store) error { return nil })
		return errors.Is(err, verification.ErrClosed)
	}, 5*time.Second, time.Millisecond)
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a transaction was in progress", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-txDone, "the transaction in progress commits")
	require.NoError(t, <-closed)

	again, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer again.Close()
	_, err = again.GetSubjectByIdentifier(ctx, ident("alice"))
	require.NoError(t, err, "the transaction that was in progress at Close committed")
}
