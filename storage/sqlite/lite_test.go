package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/openkyc/kyc/verification"
)

// liteDB creates a database at a new path with one table of one row (the
// values the scan cases read) through database/sql, and returns the path
// and the pool.
func liteDB(t *testing.T) (string, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lite.db")
	db, err := sql.Open("sqlite", fileURI(path))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.Exec(`CREATE TABLE v (i INTEGER, t TEXT, n INTEGER, b BLOB, r REAL, one INTEGER, two INTEGER, big INTEGER)`)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO v VALUES (?, ?, NULL, ?, 1.5, 1, 2, ?)`, -7, "ä\x00b", []byte{0, 0xff}, int64(1)<<62)
	require.NoError(t, err)
	return path, db
}

// openTestLite opens a liteConn on path, closed with the test.
func openTestLite(t *testing.T, path string) *liteConn {
	t.Helper()
	lc, err := openLite(fileURI(path), time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, lc.close()) })
	return lc
}

// TestLiteScan reads each column of the row through a liteConn and through
// database/sql, into the same kind of destination: where both succeed they
// must agree. liteRows.Scan is stricter than database/sql in one way, on
// purpose: it does not convert between an integer and text (the store's
// columns have one type each), so those cases are refusals on its side.
func TestLiteScan(t *testing.T) {
	t.Parallel()
	path, db := liteDB(t)
	lc := openTestLite(t, path)
	type named int
	cases := []struct {
		name, col string
		dest      func() any
		want      any
		err       bool // liteRows refuses
		sqlErr    bool // database/sql refuses
	}{
		{"int64", "i", func() any { return new(int64) }, int64(-7), false, false},
		{"int", "i", func() any { return new(int) }, -7, false, false},
		{"large int64", "big", func() any { return new(int64) }, int64(1) << 62, false, false},
		{"bool true", "one", func() any { return new(bool) }, true, false, false},
		{"bool out of range", "two", func() any { return new(bool) }, nil, true, true},
		{"text with a NUL and UTF-8", "t", func() any { return new(string) }, "ä\x00b", false, false},
		{"blob into string", "b", func() any { return new(string) }, "\x00\xff", false, false},
		{"named string", "t", func() any { return new(verification.ApplicationStatus) }, verification.ApplicationStatus("ä\x00b"), false, false},
		{"named int", "i", func() any { return new(named) }, named(-7), false, false},
		{"null string valid", "t", func() any { return new(sql.NullString) }, sql.NullString{String: "ä\x00b", Valid: true}, false, false},
		{"null string null", "n", func() any { return new(sql.NullString) }, sql.NullString{}, false, false},
		{"null int valid", "i", func() any { return new(sql.NullInt64) }, sql.NullInt64{Int64: -7, Valid: true}, false, false},
		{"null int null", "n", func() any { return new(sql.NullInt64) }, sql.NullInt64{}, false, false},
		{"another scanner", "r", func() any { return new(sql.NullFloat64) }, sql.NullFloat64{Float64: 1.5, Valid: true}, false, false},
		{"NULL into int64", "n", func() any { return new(int64) }, nil, true, true},
		{"NULL into string", "n", func() any { return new(string) }, nil, true, true},
		{"NULL into bool", "n", func() any { return new(bool) }, nil, true, true},
		{"real into int64", "r", func() any { return new(int64) }, nil, true, true},
		{"integer into string", "i", func() any { return new(string) }, nil, true, false},
		{"text into int64", "t", func() any { return new(int64) }, nil, true, true},
		{"integer into null string", "i", func() any { return new(sql.NullString) }, nil, true, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// not parallel: the cases share lc, which is one goroutine's at a time
			text := "SELECT " + tc.col + " FROM v"
			viaSQL := tc.dest()
			sqlErr := db.QueryRow(text).Scan(viaSQL)
			if tc.sqlErr {
				require.Error(t, sqlErr, "database/sql")
			} else {
				require.NoError(t, sqlErr, "database/sql")
			}

			id := stmtID(i % int(numStmts))
			require.NoError(t, lc.prepare(id, text))
			defer func() {
				require.Equal(t, int32(sqlite3.SQLITE_OK), sqlite3.Xsqlite3_finalize(lc.tls, lc.stmts[id]))
				lc.stmts[id] = 0
			}()
			rows, err := lc.query(id, nil)
			require.NoError(t, err)
			require.True(t, rows.Next())
			viaLite := tc.dest()
			err = rows.Scan(viaLite)
			require.NoError(t, rows.Close())
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, deref(viaLite))
			if !tc.sqlErr {
				assert.Equal(t, deref(viaSQL), deref(viaLite), "as database/sql scans it")
			}
		})
	}
}

// TestLiteQuery covers a liteConn's statements: arguments of each
// supported type, iteration to the end and closing early (the statement
// runs again after either), the argument checks, SQLite's errors with
// their codes, and query_only.
func TestLiteQuery(t *testing.T) {
	t.Parallel()
	path, _ := liteDB(t)
	lc := openTestLite(t, path)

	const echo, series, insert = stmtID(0), stmtID(1), stmtID(2)
	require.NoError(t, lc.prepare(echo, `SELECT ?1, ?2, ?3, ?4, ?5, ?6 IS NULL`))
	for range 3 {
		rows, err := lc.query(echo, []any{int64(-1) << 40, 7, "ä\x00b", true, false, nil})
		require.NoError(t, err)
		require.True(t, rows.Next())
		var (
			a    int64
			b    int
			c    string
			d, e bool
			null bool
		)
		require.NoError(t, rows.Scan(&a, &b, &c, &d, &e, &null))
		assert.Equal(t, []any{int64(-1) << 40, 7, "ä\x00b", true, false, true}, []any{a, b, c, d, e, null})
		assert.False(t, rows.Next(), "one row")
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close(), "closing twice is harmless")
	}

	require.NoError(t, lc.prepare(series, `WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < ?) SELECT x FROM s`))
	rows, err := lc.query(series, []any{5})
	require.NoError(t, err)
	var got []int64
	for rows.Next() {
		var x int64
		require.NoError(t, rows.Scan(&x))
		got = append(got, x)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []int64{1, 2, 3, 4, 5}, got)
	require.Error(t, rows.Scan(new(int64)), "Scan after the end")
	rows, err = lc.query(series, []any{3})
	require.NoError(t, err)
	require.True(t, rows.Next())
	require.NoError(t, rows.Close(), "closed after one of three rows")
	assert.False(t, rows.Next())
	rows, err = lc.query(series, []any{2})
	require.NoError(t, err, "the statement runs again after an early close")
	n := 0
	for rows.Next() {
		n++
	}
	assert.Equal(t, 2, n)

	_, err = lc.query(series, nil)
	require.ErrorContains(t, err, "takes 1 arguments, not 0")
	_, err = lc.query(series, []any{1.5})
	require.ErrorContains(t, err, "unsupported argument type float64")
	_, err = lc.query(stmtID(3), nil)
	require.ErrorContains(t, err, "not prepared")
	rows, err = lc.query(echo, []any{1, 2, 3, 4, 5, 6})
	require.NoError(t, err)
	require.True(t, rows.Next())
	require.ErrorContains(t, rows.Scan(new(int64)), "expected 6 destination arguments")
	require.NoError(t, rows.Close())

	err = lc.prepare(stmtID(3), `SELEKT 1`)
	require.ErrorContains(t, err, "syntax error")
	assert.Equal(t, sqlite3.SQLITE_ERROR, errCode(err))

	require.NoError(t, lc.prepare(insert, `INSERT INTO v (i) VALUES (?)`))
	rows, err = lc.query(insert, []any{1})
	require.NoError(t, err)
	require.False(t, rows.Next(), "query_only: the write fails")
	assert.Equal(t, sqlite3.SQLITE_READONLY, errCode(rows.Err()), "%v", rows.Err())
	require.ErrorContains(t, rows.Close(), "readonly")
}

// TestLiteOpen: a liteConn never creates the database, and says why it
// cannot open one.
func TestLiteOpen(t *testing.T) {
	t.Parallel()
	_, err := openLite(fileURI(filepath.Join(t.TempDir(), "missing.db")), time.Second)
	require.Error(t, err)
	assert.Equal(t, sqlite3.SQLITE_CANTOPEN, errCode(err)&0xff, "%v", err)
}

// TestPinnedStatementsStayPrepared runs every pinned read many times and
// requires that SQLite did not prepare a pinned statement again meanwhile:
// a re-prepare on every read (after sqlite3_clear_bindings, for one) parses
// the whole statement each time, several times the cost of the read. One
// re-prepare after the first commits is SQLite's (the schema cookie).
func TestPinnedStatementsStayPrepared(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "kyc.db"), Options{MaxReadConns: 1})
	require.NoError(t, err)
	defer s.Close()
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	sub := verification.Subject{Identifier: "alice", Level: 1, CreatedAt: now, UpdatedAt: now}
	require.NoError(t, s.CreateSubject(ctx, &sub))
	reads := func() {
		_, err := s.GetSubjectStatuses(ctx, sub.ID)
		require.NoError(t, err)
		_, err = s.ListOpenApplications(ctx, sub.ID)
		require.NoError(t, err)
		for _, desc := range []bool{false, true} {
			_, err = s.ListSubjectGrants(ctx, verification.GrantFilter{SubjectID: sub.ID, Limit: 10, Desc: desc})
			require.NoError(t, err)
		}
		_, _, err = s.GetOpenApplications(ctx, sub.ID)
		require.NoError(t, err)
		_, err = s.GetIDVerification(ctx, sub.ID)
		require.NoError(t, err)
		_, err = s.GetSubjectProgress(ctx, sub.ID)
		require.NoError(t, err)
		_, err = s.GetSubjectByIdentifier(ctx, "alice")
		require.NoError(t, err)
		_, err = s.GetSubjectProgressByIdentifier(ctx, "alice")
		require.NoError(t, err)
	}
	// status is statement id's count of op on the one pinned connection.
	status := func(id stmtID, op int32) int32 {
		p := <-s.c.pinned
		defer s.c.release(p)
		return sqlite3.Xsqlite3_stmt_status(p.tls, p.stmts[id], op, 0)
	}
	reads()
	before := map[stmtID]int32{}
	for _, id := range pinnedStmts {
		before[id] = status(id, sqlite3.SQLITE_STMTSTATUS_REPREPARE)
	}
	const n = 20
	for range n {
		reads()
	}
	for _, id := range pinnedStmts {
		assert.GreaterOrEqual(t, status(id, sqlite3.SQLITE_STMTSTATUS_RUN), int32(n), "statement %d ran", id)
		assert.Equal(t, before[id], status(id, sqlite3.SQLITE_STMTSTATUS_REPREPARE), "statement %d was prepared again", id)
	}
}
