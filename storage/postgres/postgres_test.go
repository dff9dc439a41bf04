package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/storage/storagetest"
	"github.com/openkyc/kyc/verification"
)

// dsnEnv names the environment variable holding the test server's DSN.
const dsnEnv = "OPENKYC_TEST_POSTGRES_DSN"

// testDSN returns the test server's DSN, or skips the test.
func testDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		tb.Skipf("the PostgreSQL store's tests need a server: run them with "+
			"%s='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go test ./storage/postgres "+
			"(any database the user may create schemas in; every test works in its own schema and drops it)", dsnEnv)
	}
	return dsn
}

// shared is the pool most tests share (as a host's application would):
// each test gets its own schema on it, through New.
var shared struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error
}

func sharedPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	dsn := testDSN(tb)
	shared.once.Do(func() {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			shared.err = err
			return
		}
		cfg.MaxConns = 16
		shared.pool, shared.err = pgxpool.NewWithConfig(context.Background(), cfg)
		if shared.err == nil {
			shared.err = shared.pool.Ping(context.Background())
		}
	})
	require.NoError(tb, shared.err, "connect to the test server (%s)", dsnEnv)
	return shared.pool
}

// cleanups run after every test and benchmark (dropping schemas that
// outlive one test, such as the benchmarks' million grants).
var cleanups struct {
	sync.Mutex
	fns []func()
}

func atExit(fn func()) {
	cleanups.Lock()
	defer cleanups.Unlock()
	cleanups.fns = append(cleanups.fns, fn)
}

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(cleanups.fns) - 1; i >= 0; i-- {
		cleanups.fns[i]()
	}
	if shared.pool != nil {
		shared.pool.Close()
	}
	os.Exit(code)
}

// randomSchema returns a fresh schema name.
func randomSchema() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "kyctest_" + hex.EncodeToString(b[:])
}

// dropSchema drops schema and everything in it.
func dropSchema(tb testing.TB, pool *pgxpool.Pool, schema string) {
	_, err := pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	if err != nil {
		tb.Errorf("drop schema %s: %v", schema, err)
	}
}

// newSchema returns a fresh schema name, dropped when tb ends.
func newSchema(tb testing.TB) string {
	tb.Helper()
	pool := sharedPool(tb)
	schema := randomSchema()
	tb.Cleanup(func() { dropSchema(tb, pool, schema) })
	return schema
}

// openStore returns a Store in a fresh schema on the shared pool.
func openStore(tb testing.TB) *Store {
	tb.Helper()
	schema := newSchema(tb)
	s, err := New(context.Background(), sharedPool(tb), Options{Schema: schema})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// openOwnPool returns a Store on schema with a pool of its own (Open), as a
// second replica of an application would have.
func openOwnPool(tb testing.TB, schema string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), testDSN(tb), Options{Schema: schema})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// exec runs raw SQL in the store's schema ({{schema}} is filled in).
func exec(tb testing.TB, s *Store, sql string, args ...any) {
	tb.Helper()
	_, err := s.db.pool.Exec(context.Background(), s.sql(sql), args...)
	require.NoError(tb, err, sql)
}

func TestConformance(t *testing.T) {
	t.Parallel()
	testDSN(t)
	storagetest.Run(t, func(t *testing.T) verification.Store { return openStore(t) })
}

// ctxTimeout returns a context for one test step.
func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
