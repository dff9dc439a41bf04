package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/storage/postgres"
	"github.com/openkyc/kyc/verification"
)

// backend opens a fresh, empty store of one kind.
type backend struct {
	name string
	open func(tb testing.TB) verification.Store
}

// backends are memory, SQLite, and PostgreSQL when
// OPENKYC_TEST_POSTGRES_DSN is set (each PostgreSQL store in its own random
// schema, dropped at cleanup unless OPENKYC_BENCH_KEEP_SCHEMA is set, to
// look at the data or the query plans afterwards). OPENKYC_BENCH_STORES,
// when set, keeps only the stores it names (e.g. "sqlite,postgres").
func backends(tb testing.TB) []backend {
	bs := []backend{
		{"memory", func(testing.TB) verification.Store { return memory.New() }},
		{"sqlite", newSQLiteStore},
	}
	if os.Getenv("OPENKYC_TEST_POSTGRES_DSN") != "" {
		bs = append(bs, backend{"postgres", newPostgresStore})
	} else {
		tb.Log("PostgreSQL skipped: set OPENKYC_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'")
	}
	if only := os.Getenv("OPENKYC_BENCH_STORES"); only != "" {
		var keep []backend
		for _, b := range bs {
			if containsWord(only, b.name) {
				keep = append(keep, b)
			}
		}
		bs = keep
	}
	return bs
}

func containsWord(list, w string) bool {
	for _, x := range splitList(list) {
		if x == w {
			return true
		}
	}
	return false
}

func splitList(s string) []string {
	var out []string
	cur := ""
	for _, r := range s + "," {
		if r == ',' || r == ' ' {
			if cur != "" {
				out = append(out, cur)
			}
			cur = ""
			continue
		}
		cur += string(r)
	}
	return out
}

func newPostgresStore(tb testing.TB) verification.Store {
	tb.Helper()
	dsn := os.Getenv("OPENKYC_TEST_POSTGRES_DSN")
	if dsn == "" {
		tb.Skip("set OPENKYC_TEST_POSTGRES_DSN to run against PostgreSQL")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "bench_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
	require.NoError(tb, err)
	pgSchemas.Store(verification.Store(s), schema)
	tb.Cleanup(func() {
		_ = s.Close()
		if os.Getenv("OPENKYC_BENCH_KEEP_SCHEMA") != "" {
			tb.Logf("PostgreSQL schema %s kept (OPENKYC_BENCH_KEEP_SCHEMA): drop it by hand", schema)
			return
		}
		pool, err := pgxpool.New(context.Background(), dsn)
		if err != nil {
			tb.Logf("dropping schema %s: %v", schema, err)
			return
		}
		defer pool.Close()
		if _, err := pool.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Logf("dropping schema %s: %v", schema, err)
		}
	})
	return s
}

// pgSchemas maps each PostgreSQL store of newPostgresStore to its schema.
var pgSchemas sync.Map

// analyze refreshes the planner statistics of a PostgreSQL store's tables
// after a bulk load, as autovacuum would in production a minute later (the
// test server here runs with autovacuum off, and a never-analysed table
// gets plans that are orders of magnitude off: a tag-scoped grant page took
// 60 ms instead of 2 ms). Other stores: nothing to do.
func analyze(tb testing.TB, store verification.Store) {
	tb.Helper()
	conn, schema, ok := pgConn(tb, store)
	if !ok {
		return
	}
	ctx := context.Background()
	defer func() { _ = conn.Close(ctx) }()
	for _, t := range pgTables(tb, conn, schema) {
		_, err := conn.Exec(ctx, "ANALYZE "+pgx.Identifier{schema, t}.Sanitize())
		require.NoError(tb, err)
	}
}
