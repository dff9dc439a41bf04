package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openkyc/kyc/verification"
)

// DefaultSchema is the schema the store uses when Options.Schema is empty.
const DefaultSchema = "openkyc"

// Options configure a Store. The zero value is usable.
type Options struct {
	// Schema is the PostgreSQL schema every table, index, trigger and
	// function of the store lives in; it is created if missing. Empty means
	// DefaultSchema. It must be a lowercase identifier: a letter or
	// underscore, then letters, digits or underscores, at most 63 bytes,
	// not starting with "pg_".
	Schema string
	// SkipMigrate makes Open and New check the schema instead of migrating
	// it: they fail with ErrSchemaOutdated unless Migrate (run by the
	// operator, e.g. in a deploy step) has applied every migration this
	// version embeds. The application's role then needs no DDL privilege.
	SkipMigrate bool
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// validSchema returns an error matching verification.ErrInvalid unless name
// is an acceptable Options.Schema.
func validSchema(name string) error {
	if !schemaName.MatchString(name) || strings.HasPrefix(name, "pg_") {
		return fmt.Errorf("postgres: schema name %q must match [a-z_][a-z0-9_]* (at most 63 bytes, not pg_...): %w", name, verification.ErrInvalid)
	}
	return nil
}

// Store is the PostgreSQL verification.Store. It is safe for concurrent use
// and keeps no state in process memory beyond the pool and its settings,
// so any number of Stores, in any number of processes, can share one
// schema. The Store that InTx passes to its callback is bound to that
// transaction and must be used only inside the callback.
type Store struct {
	db *database
	q  querier
	tx *txState // nil outside a transaction
}

var _ verification.Store = (*Store)(nil)

// database is what every Store of one Open or New shares.
type database struct {
	pool   *pgxpool.Pool
	owned  bool // Close closes pool
	schema string
	quoted string // pgx.Identifier{schema}.Sanitize()
	closed atomic.Bool
	sql    sync.Map // query template -> query with the schema filled in
}

// txState is one running transaction.
type txState struct {
	done bool
}

// querier is what *pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Open connects to the database at dsn (a postgres:// URL or a key=value
// connection string; pool settings such as pool_max_conns go in it too),
// checks that the server answers, applies the store's migrations and
// returns the Store. A malformed DSN or an unreachable server fails here,
// not at the first request. Close closes the pool.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the DSN, password included: keep only its kind.
		return nil, errors.New("postgres: malformed DSN (expected postgres://user@host:port/db?... or key=value pairs)")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: create pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("postgres: connect to %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	s, err := newStore(ctx, pool, opts, true)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// New returns a Store over a pool the host already has, after applying the
// store's migrations. The store qualifies every name with its schema and
// never changes session settings (no search_path, no session locks), so
// the pool stays fit for the host's own queries. Close does not close pool.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, fmt.Errorf("postgres: nil pool: %w", verification.ErrInvalid)
	}
	return newStore(ctx, pool, opts, false)
}

func newStore(ctx context.Context, pool *pgxpool.Pool, opts Options, owned bool) (*Store, error) {
	if opts.Schema == "" {
		opts.Schema = DefaultSchema
	}
	if err := validSchema(opts.Schema); err != nil {
		return nil, err
	}
	if err := migrateOnOpen(ctx, pool, opts.Schema, opts.SkipMigrate); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	db := &database{pool: pool, owned: owned, schema: opts.Schema, quoted: pgx.Identifier{opts.Schema}.Sanitize()}
	return &Store{db: db, q: pool}, nil
}

// Schema returns the schema the store's tables live in.
func (s *Store) Schema() string { return s.db.schema }

// Close marks the store closed (later calls return an error matching
// verification.ErrClosed) and, if Open created the pool, closes it, which
// waits for connections in use to be released. Closing twice is harmless.
// Close on the Store passed to an InTx callback is refused.
func (s *Store) Close() error {
	if s.tx != nil {
		return errors.New("postgres: Close called on a transaction-bound store")
	}
	if s.db.closed.Swap(true) {
		return nil
	}
	if s.db.owned {
		s.db.pool.Close()
	}
	return nil
}

// sql returns the query template with the schema filled in (cached).
func (s *Store) sql(tmpl string) string {
	if q, ok := s.db.sql.Load(tmpl); ok {
		return q.(string)
	}
	q := strings.ReplaceAll(tmpl, schemaPlaceholder, s.db.quoted)
	s.db.sql.Store(tmpl, q)
	return q
}

var errTxDone = fmt.Errorf("postgres: transaction already finished: %w", verification.ErrClosed)

// begin checks the context and the store's state before a call.
func (s *Store) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.db.closed.Load() {
		return fmt.Errorf("postgres: %w", verification.ErrClosed)
	}
	if s.tx != nil && s.tx.done {
		return errTxDone
	}
	return nil
}

// InTx implements verification.Store with a READ COMMITTED transaction.
// Transitions serialise on their subject through LockSubject (a row lock),
// not through the isolation level. If fn returns an error or panics, the
// transaction rolls back (and the panic continues). tx.InTx runs inside the
// same transaction.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx verification.Store) error) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if s.tx != nil {
		return fn(ctx, s)
	}
	// BEGIN goes out with the first statement (see lazyTx).
	tx := &lazyTx{pool: s.db.pool}
	st := &txState{}
	defer func() {
		// Runs on error, panic and success alike; after Commit it is a no-op.
		// A context that is already cancelled would only close the connection,
		// which PostgreSQL also takes as a rollback.
		tx.Rollback(context.WithoutCancel(ctx))
		st.done = true
	}()
	if err := fn(ctx, &Store{db: s.db, q: tx, tx: st}); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		if se := (storeError{}); errors.As(err, &se) {
			return se.err // a write sent with COMMIT, in the store's terms
		}
		return fail(ctx, "commit", err)
	}
	return nil
}

// fail turns a driver error into the store's error contract: context errors
// pass through, unique violations are ErrConflict, missing rows and foreign
// keys ErrNotFound, a finished transaction ErrClosed, and anything else is
// wrapped with the operation's name.
func fail(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, verification.ErrNotFound)
	}
	if errors.Is(err, pgx.ErrTxClosed) {
		return errTxDone
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("postgres: %s: %s: %w", op, pgErr.ConstraintName, verification.ErrConflict)
		case "23503": // foreign_key_violation
			return fmt.Errorf("postgres: %s: %s: %w", op, pgErr.ConstraintName, verification.ErrNotFound)
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return fmt.Errorf("postgres: %s: concurrent update (%s): %w", op, pgErr.Code, verification.ErrConflict)
		}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

func notFound(what string, key any) error {
	return fmt.Errorf("postgres: %s %v: %w", what, key, verification.ErrNotFound)
}

func conflict(what string, key any) error {
	return fmt.Errorf("postgres: %s %v already exists: %w", what, key, verification.ErrConflict)
}

// tsIn stores t as timestamptz, the zero time as NULL.
func tsIn(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

// tsOut returns the stored time in UTC, NULL as the zero time.
func tsOut(v pgtype.Timestamptz) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return v.Time.UTC()
}

// noRows reports whether err says a query returned no row.
func noRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
