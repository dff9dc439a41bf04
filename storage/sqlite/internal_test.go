package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// openWriter opens a writer connection on path as Open does, without
// migrating.
func openWriter(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", writerDSN(path, time.Second, false, false))
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func tableExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM sqlite_schema WHERE name = ?`, name).Scan(&n))
	return n > 0
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ms, err := migrations()
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	for i, m := range ms {
		require.Equal(t, i+1, m.version, "migrations are numbered 1, 2, ... without gaps")
		require.Contains(t, m.sql, prefixPlaceholder, "%s: every name carries the prefix placeholder", m.name)
	}
}

// TestMigrateOneAtATime stops a database at every schema version, writes a
// row as that version's schema had it, and checks that Open upgrades it to
// the newest version with the row intact.
func TestMigrateOneAtATime(t *testing.T) {
	t.Parallel()
	ms, err := migrations()
	require.NoError(t, err)
	for stop := 0; stop <= len(ms); stop++ {
		t.Run(fmt.Sprintf("from version %d", stop), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "kyc.db")
			w := openWriter(t, path)
			for v := 1; v <= stop; v++ {
				require.NoError(t, migrateTo(ctx, w, "kyc_", v))
				got, err := schemaVersion(ctx, w, "kyc_")
				require.NoError(t, err)
				require.Equal(t, v, got)
				require.NoError(t, migrateTo(ctx, w, "kyc_", v), "re-applying a version is a no-op")
			}
			if stop >= 1 {
				// A row as schema version 1 stores it.
				_, err := w.ExecContext(ctx, `INSERT INTO kyc_subjects (identifier, level, created_at, updated_at) VALUES (?, 2, 1, 1)`,
					strings.Repeat("a", 36))
				require.NoError(t, err)
			}
			require.NoError(t, w.Close())

			s, err := Open(ctx, path, Options{TablePrefix: "kyc_"})
			require.NoError(t, err)
			defer s.Close()
			v, err := s.SchemaVersion(ctx)
			require.NoError(t, err)
			require.Equal(t, len(ms), v)
			if stop >= 1 {
				sub, err := s.GetSubjectByIdentifier(ctx, strings.Repeat("a", 36))
				require.NoError(t, err, "a row written at version %d survives the upgrade", stop)
				require.Equal(t, 2, sub.Level)
			}
			sub := verification.Subject{Identifier: strings.Repeat("b", 36)}
			require.NoError(t, s.CreateSubject(ctx, &sub), "the upgraded schema works")
			var check string
			require.NoError(t, s.c.wconn.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check))
			require.Equal(t, "ok", check)
		})
	}
}

// TestStatusEntryMigration writes requirement states as schema version 13
// stores them (no status_entry column), upgrades, and checks that migration
// 0014 kept every column and index and that the packed reads decode the
// entries SQLite computed for the copied rows and computes for new writes.
func TestStatusEntryMigration(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "kyc.db")
	w := openWriter(t, path)
	require.NoError(t, migrateTo(ctx, w, "kyc_", 13))
	_, err := w.ExecContext(ctx, `INSERT INTO kyc_subjects (identifier, level, created_at, updated_at) VALUES (?, 2, 1, 1)`, strings.Repeat("a", 36))
	require.NoError(t, err)
	states := []struct {
		name, status string
		final        int
		validUntil   int64
	}{
		{"isBusiness", "approved", 0, 0},
		{"idDocument", "rejected", 1, 0},
		{"naïve:3a", "pending", 0, 0}, // a multi-byte name holding the entry's own separator
		{"screening", "approved", 0, 5_000_000},
		{"", "missing", 1, 0},
	}
	for _, st := range states {
		_, err := w.ExecContext(ctx, `INSERT INTO kyc_requirement_states
			(subject_id, name, status, answer, reason, final, attempts, updated_at, valid_until, warned_at)
			VALUES (1, ?, ?, x'74727565', 'why', ?, 2, 7, ?, 0)`, st.name, st.status, st.final, st.validUntil)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())

	s, err := Open(ctx, path, Options{TablePrefix: "kyc_"})
	require.NoError(t, err)
	defer s.Close()
	got, err := s.GetSubjectStatuses(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, levels.States{"isBusiness": levels.Approved, "idDocument": levels.Rejected, "naïve:3a": levels.Pending,
		"screening": levels.Approved, "": levels.Missing}, got.States)
	require.ElementsMatch(t, []string{"idDocument", ""}, got.Final)

	var entry string
	require.NoError(t, s.c.wconn.QueryRowContext(ctx, `SELECT status_entry FROM kyc_requirement_states WHERE subject_id = 1 AND name = ?`, "naïve:3a").Scan(&entry))
	require.Equal(t, "9:naïve:3ap", entry, "the length is in bytes")
	copied, err := s.ListRequirementStates(ctx, 1)
	require.NoError(t, err)
	require.Len(t, copied, len(states))
	for _, st := range copied {
		require.Equal(t, json.RawMessage("true"), st.Answer, "every column was copied: %s", st.Name)
		require.Equal(t, "why", st.Reason)
		require.Equal(t, 2, st.Attempts)
	}
	due, err := s.ListDueRequirementStates(ctx, verification.DueFilter{Name: "screening", Before: fromMicros(6_000_000), Limit: 10})
	require.NoError(t, err)
	require.Len(t, due, 1, "the due index is back")

	// A write after the upgrade: the entry follows the status and the final mark.
	require.NoError(t, s.PutRequirementState(ctx, verification.RequirementState{SubjectID: 1, Name: "isBusiness", Status: levels.Rejected, Final: true}))
	got, err = s.GetSubjectStatuses(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, levels.Rejected, got.States["isBusiness"])
	require.ElementsMatch(t, []string{"idDocument", "", "isBusiness"}, got.Final)
	var check string
	require.NoError(t, s.c.wconn.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check))
	require.Equal(t, "ok", check)
}

func TestMigrationIsAtomic(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "kyc.db")
	w := openWriter(t, path)
	// A table in the way of a late statement of migration 0001.
	_, err := w.ExecContext(ctx, `CREATE TABLE kyc_events (x INTEGER)`)
	require.NoError(t, err)
	require.NoError(t, w.Close())

	_, err = Open(ctx, path, Options{TablePrefix: "kyc_"})
	require.ErrorContains(t, err, "migration 0001_init")

	w = openWriter(t, path)
	for _, name := range []string{"kyc_subjects", "kyc_grants", "kyc_schema_migrations"} {
		require.False(t, tableExists(t, w, name), "a failed migration leaves nothing behind: %s exists", name)
	}
}

func TestConnectionSettings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "kyc.db"), Options{BusyTimeout: 1500 * time.Millisecond})
	require.NoError(t, err)
	defer s.Close()
	pragma := func(db querier, name string) string {
		var v string
		require.NoError(t, db.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v), name)
		return v
	}
	for name, want := range map[string]string{
		"journal_mode":       "wal",
		"synchronous":        "1", // NORMAL
		"foreign_keys":       "1",
		"secure_delete":      "1",
		"busy_timeout":       "1500",
		"query_only":         "0",
		"wal_autocheckpoint": "8192",
	} {
		require.Equal(t, want, pragma(s.c.wconn, name), "writer %s", name)
	}
	for name, want := range map[string]string{"busy_timeout": "1500", "query_only": "1", "foreign_keys": "1"} {
		require.Equal(t, want, pragma(s.c.reader, name), "reader %s", name)
	}
	require.Equal(t, 1, s.c.writer.Stats().MaxOpenConnections, "exactly one writer connection")
	_, err = s.c.reader.ExecContext(ctx, `INSERT INTO subjects (identifier) VALUES ('x')`)
	require.ErrorContains(t, err, "readonly", "the read pool cannot write")

	full, err := Open(ctx, filepath.Join(t.TempDir(), "full.db"), Options{SynchronousFull: true})
	require.NoError(t, err)
	defer full.Close()
	require.Equal(t, "2", pragma(full.c.wconn, "synchronous"))
}

func TestDSN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path string
		want string
	}{
		{"/var/lib/kyc/kyc.db", "file:/var/lib/kyc/kyc.db"},
		{"/tmp/a b/kyc.db", "file:/tmp/a%20b/kyc.db"},
		{"/tmp/x?_pragma=journal_mode(DELETE)#frag/kyc.db", "file:/tmp/x%3F_pragma=journal_mode(DELETE)%23frag/kyc.db"},
		{"/tmp/100%/kyc.db", "file:/tmp/100%25/kyc.db"},
		{"/tmp/é.db", "file:/tmp/%C3%A9.db"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, fileURI(tt.path), tt.path)
	}
	w := writerDSN("/tmp/kyc.db", 5*time.Second, false, false)
	require.Equal(t, "file:/tmp/kyc.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"+
		"&_pragma=foreign_keys(1)&_pragma=secure_delete(1)&_pragma=wal_autocheckpoint(8192)&_txlock=immediate", w)
	r := readerDSN("/tmp/kyc.db", 5*time.Second, false)
	require.Equal(t, "file:/tmp/kyc.db?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=query_only(1)", r)
	require.Equal(t, "file:/tmp/kyc.db?_pragma=busy_timeout(5000)", checkpointerDSN("/tmp/kyc.db", 5*time.Second, false))

	// Options.Exclusive: every connection names the unix-excl VFS.
	for _, dsn := range []string{
		writerDSN("/tmp/kyc.db", 5*time.Second, true, true),
		readerDSN("/tmp/kyc.db", 5*time.Second, true),
		checkpointerDSN("/tmp/kyc.db", 5*time.Second, true),
	} {
		require.True(t, strings.HasPrefix(dsn, "file:/tmp/kyc.db?vfs=unix-excl&_pragma=busy_timeout(5000)"), dsn)
	}
	require.Contains(t, writerDSN("/tmp/kyc.db", 5*time.Second, true, true), "synchronous(FULL)")
}

func TestOddPathsStayPaths(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "a b?c=d#e%20f")
	path := filepath.Join(dir, "kyc.db")
	require.NoError(t, mkdir(dir))
	s, err := Open(ctx, path, Options{})
	require.NoError(t, err)
	sub := verification.Subject{Identifier: strings.Repeat("a", 36)}
	require.NoError(t, s.CreateSubject(ctx, &sub))
	require.NoError(t, s.Close())
	require.FileExists(t, path, "the database is the file at exactly that path")
	s, err = Open(ctx, path, Options{})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.GetSubject(ctx, sub.ID)
	require.NoError(t, err)
}

func TestMapErr(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "kyc.db"), Options{})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.c.wconn.ExecContext(ctx, `INSERT INTO subjects (identifier) VALUES ('dup')`)
	require.NoError(t, err)
	_, uniqueErr := s.c.wconn.ExecContext(ctx, `INSERT INTO subjects (identifier) VALUES ('dup')`)
	require.Error(t, uniqueErr)
	_, syntaxErr := s.c.wconn.ExecContext(ctx, `SELEC 1`)
	require.Error(t, syntaxErr)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()

	tests := []struct {
		name string
		ctx  context.Context
		err  error
		is   error
	}{
		{"no rows", ctx, sql.ErrNoRows, verification.ErrNotFound},
		{"unique", ctx, uniqueErr, verification.ErrConflict},
		{"context", ctx, fmt.Errorf("x: %w", context.DeadlineExceeded), context.DeadlineExceeded},
		{"cancelled call", cancelled, syntaxErr, context.Canceled},
		{"finished transaction", ctx, sql.ErrTxDone, verification.ErrClosed},
		{"closed pool", ctx, sql.ErrConnDone, verification.ErrClosed},
		{"driver error", ctx, syntaxErr, syntaxErr},
	}
	for _, tt := range tests {
		got := s.c.mapErr(tt.ctx, "op", tt.err)
		require.ErrorIs(t, got, tt.is, tt.name)
		if !errors.Is(tt.is, context.Canceled) && !errors.Is(tt.is, context.DeadlineExceeded) {
			require.True(t, strings.HasPrefix(got.Error(), "sqlite: "), "%s: %q names the store", tt.name, got)
		}
	}
	require.Nil(t, s.c.mapErr(ctx, "op", nil))
	for _, kind := range []error{verification.ErrNotFound, verification.ErrConflict, verification.ErrClosed} {
		require.NotErrorIs(t, s.c.mapErr(ctx, "op", syntaxErr), kind, "a driver error is none of the domain kinds")
	}
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }

func TestBackgroundCheckpointer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "kyc.db"), Options{})
	require.NoError(t, err)
	defer s.Close()
	const rounds = 5
	for i := range rounds * checkpointEvery {
		st := verification.RequirementState{SubjectID: 1, Name: fmt.Sprint("r", i), Status: "pending"}
		require.NoError(t, s.PutRequirementState(ctx, st))
	}
	require.Eventually(t, func() bool { return s.c.ckptRuns.Load() >= 1 }, 5*time.Second, time.Millisecond,
		"the checkpointer runs every %d commits", checkpointEvery)
	require.LessOrEqual(t, s.c.ckptRuns.Load(), uint64(rounds))
}
