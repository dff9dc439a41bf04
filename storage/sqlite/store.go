package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/openkyc/kyc/verification"
)

// DefaultBusyTimeout is how long a connection waits for a lock held by
// another connection (another process, or another Store on the same file)
// before giving up, when Options.BusyTimeout is zero.
const DefaultBusyTimeout = 5 * time.Second

// Options configure Open. The zero value is usable.
type Options struct {
	// TablePrefix is prepended to every table, index and trigger name, so
	// that the store's tables can live in the host's own database file next
	// to its tables (e.g. "kyc_"). It must match [a-z_][a-z0-9_]* (or be
	// empty) and must not start with "sqlite_".
	TablePrefix string
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection; zero means DefaultBusyTimeout. Within one Store writers
	// never wait on each other's locks (they share one connection), so this
	// matters only when several processes or Stores share the file.
	BusyTimeout time.Duration
	// MaxReadConns caps the read pool; zero means max(4, GOMAXPROCS). As
	// many connections again are kept for the read routes' one-statement
	// reads (ReadStore's methods).
	MaxReadConns int
	// SynchronousFull sets PRAGMA synchronous=FULL instead of NORMAL: every
	// commit is fsynced, so a power loss cannot roll back acknowledged
	// transactions. With NORMAL (the default) a crash of the process never
	// loses a commit, but a power loss or OS crash may roll back the last
	// few; commits are much cheaper.
	SynchronousFull bool
	// SkipMigrate makes Open check the schema instead of migrating it: it
	// fails with ErrSchemaOutdated unless Migrate (run by the operator, e.g.
	// in a deploy step) has applied every migration this version embeds.
	SkipMigrate bool
	// Exclusive gives this process the database file for as long as the
	// store is open (SQLite's unix-excl VFS): other processes cannot open
	// it, and their attempts fail once their busy timeout runs out (Open
	// with ErrLocked). In exchange the WAL index lives in this process's
	// memory instead of the -shm file, so a read transaction takes no file
	// locks (nor does a commit): a read route's request costs 13-33% less
	// CPU (bench/RESULTS.md, section 20). Leave it off when another
	// process opens the file while the store is open: the openkyc command,
	// a second server, the sqlite3 shell, a backup or replication tool
	// that reads the WAL. Open every Store of one process on the same file
	// with the same setting. Unix only.
	Exclusive bool
}

var prefixRE = regexp.MustCompile(`^([a-z_][a-z0-9_]*)?$`)

// maxPrefixLen bounds TablePrefix (identifiers stay readable).
const maxPrefixLen = 32

func (o Options) validate() error {
	switch {
	case len(o.TablePrefix) > maxPrefixLen:
		return fmt.Errorf("sqlite: TablePrefix %q is longer than %d characters", o.TablePrefix, maxPrefixLen)
	case !prefixRE.MatchString(o.TablePrefix):
		return fmt.Errorf("sqlite: TablePrefix %q must be lowercase letters, digits and underscores, not starting with a digit", o.TablePrefix)
	case strings.HasPrefix(o.TablePrefix, "sqlite_"):
		return fmt.Errorf("sqlite: TablePrefix %q: names starting with sqlite_ are reserved by SQLite", o.TablePrefix)
	case o.BusyTimeout < 0:
		return errors.New("sqlite: BusyTimeout must not be negative")
	case o.MaxReadConns < 0:
		return errors.New("sqlite: MaxReadConns must not be negative")
	case o.Exclusive && runtime.GOOS == "windows":
		return errors.New("sqlite: Exclusive needs a Unix system (SQLite's unix-excl VFS)")
	}
	return nil
}

// Store is the SQLite verification.Store. It is safe for concurrent use.
// The Store passed to an InTx callback is bound to that transaction and must
// not be used after the callback returns.
type Store struct {
	c  *core
	tx *txn // nil outside a transaction
}

var _ verification.Store = (*Store)(nil)

// txn is the state of one transaction on the writer.
type txn struct {
	done atomic.Bool
}

// core is what every Store of one Open shares.
type core struct {
	prefix string
	// writer has exactly one connection, which wconn holds for the store's
	// lifetime; wsem (capacity 1) is held by the transaction using it. The
	// store runs BEGIN IMMEDIATE / COMMIT / ROLLBACK on wconn itself rather
	// than through database/sql's Tx, whose per-transaction and per-query
	// goroutines (watching the context) cost more than the statements.
	writer *sql.DB
	wconn  *sql.Conn
	wsem   chan struct{}
	done   chan struct{} // closed by Close
	reader *sql.DB       // the read pool, query_only
	// w are prepared on wconn, r on the read pool; so are wIn and rIn
	// (indexed by kind and IN-list length).
	w, r     [numStmts]*sql.Stmt
	wIn, rIn [numInKinds][maxPreparedIn + 1]*sql.Stmt
	// begin, commit and rollback are prepared on wconn.
	begin, commit, rollback *sql.Stmt
	// pinned holds the idle connections of pinnedAll, taken out of the read
	// pool for the one-statement reads (see Store.pinned).
	pinned    chan *liteConn
	pinnedAll []*liteConn

	// Background checkpoints (see checkpoint.go).
	ckpt     *sql.DB
	commits  atomic.Uint64
	ckptRuns atomic.Uint64 // background checkpoints done (for tests)
	kick     chan struct{}
	stopCkpt chan struct{}
	ckptDone chan struct{}

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating it if needed) the SQLite database at path and brings
// its schema up to date (with Options.SkipMigrate it only checks it: see
// Migrate). It fails with ErrSchemaTooNew if the database was
// written by a newer version of this package. path is a file path, not a DSN:
// the store builds its own connection strings. Close the Store when done.
//
// Open fails with an error matching ErrLocked when the database stays
// locked by another process for the whole busy timeout: one whose store is
// Exclusive holds it, and an Exclusive Open here needs every other process
// to have let go of the file.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	s, err := open(ctx, path, opts)
	if err != nil && errCode(err)&0xff == sqlite3.SQLITE_BUSY {
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	}
	return s, err
}

// ErrLocked is Open's error when the database stayed locked by another
// process for the whole busy timeout, as it is while a process has it
// open with Options.Exclusive.
var ErrLocked = errors.New("sqlite: the database is locked by another process")

func open(ctx context.Context, path string, opts Options) (*Store, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: Open needs a file path (got %q); the store uses a writer and a read pool, which cannot share an in-memory database", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: resolving %q: %w", path, err)
	}
	if err := createPrivate(abs); err != nil {
		return nil, fmt.Errorf("sqlite: creating %s: %w", path, err)
	}
	busy := opts.BusyTimeout
	if busy == 0 {
		busy = DefaultBusyTimeout
	}
	readConns := opts.MaxReadConns
	if readConns == 0 {
		readConns = max(4, runtime.GOMAXPROCS(0))
	}
	c := &core{prefix: opts.TablePrefix}
	ok := false
	defer func() {
		if !ok {
			_ = c.closeDBs()
		}
	}()

	c.writer, err = sql.Open("sqlite", writerDSN(abs, busy, opts.SynchronousFull, opts.Exclusive))
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	c.writer.SetMaxOpenConns(1)
	c.writer.SetMaxIdleConns(1)
	c.writer.SetConnMaxLifetime(0)
	c.writer.SetConnMaxIdleTime(0)
	var mode string
	if err := c.writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return nil, fmt.Errorf("sqlite: opening %s: the database refused WAL mode (journal_mode is %q); the store needs WAL (a local file system)", path, mode)
	}
	if err := migrateOnOpen(ctx, c.writer, c.prefix, opts.SkipMigrate); err != nil {
		return nil, err
	}

	c.reader, err = sql.Open("sqlite", readerDSN(abs, busy, opts.Exclusive))
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	// readConns for the pool, as many again pinned (openPinned) besides it.
	c.reader.SetMaxOpenConns(readConns)
	c.reader.SetMaxIdleConns(readConns)
	c.reader.SetConnMaxLifetime(0)

	if c.wconn, err = c.writer.Conn(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	c.wsem = make(chan struct{}, 1)
	c.done = make(chan struct{})
	for _, st := range []struct {
		p    **sql.Stmt
		text string
	}{{&c.begin, "BEGIN IMMEDIATE"}, {&c.commit, "COMMIT"}, {&c.rollback, "ROLLBACK"}} {
		if *st.p, err = c.wconn.PrepareContext(ctx, st.text); err != nil {
			return nil, fmt.Errorf("sqlite: preparing %s: %w", st.text, err)
		}
	}
	for id, text := range stmtSQL {
		text = withPrefix(text, c.prefix)
		if c.w[id], err = c.wconn.PrepareContext(ctx, text); err != nil {
			return nil, fmt.Errorf("sqlite: preparing statement %d: %w", id, err)
		}
		if c.r[id], err = c.reader.PrepareContext(ctx, text); err != nil {
			return nil, fmt.Errorf("sqlite: preparing statement %d: %w", id, err)
		}
	}
	for kind := range numInKinds {
		for n := 1; n <= maxPreparedIn; n++ {
			text := withPrefix(inSQL(kind, n), c.prefix)
			if c.wIn[kind][n], err = c.wconn.PrepareContext(ctx, text); err != nil {
				return nil, fmt.Errorf("sqlite: preparing query %d/%d: %w", kind, n, err)
			}
			if c.rIn[kind][n], err = c.reader.PrepareContext(ctx, text); err != nil {
				return nil, fmt.Errorf("sqlite: preparing query %d/%d: %w", kind, n, err)
			}
		}
	}
	if err := c.openPinned(fileURIOf(abs, opts.Exclusive), busy, readConns); err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	if err := c.startCheckpointer(ctx, abs, busy, opts.Exclusive); err != nil {
		return nil, err
	}
	ok = true
	return &Store{c: c}, nil
}

// createPrivate creates the database's missing directories (mode 0700)
// and, if absent, the database file itself (mode 0600) before SQLite opens
// it: SQLite would create it 0644 (less the umask), and it gives the WAL
// and shared-memory files the database file's mode. Existing directories
// and files keep their modes (the host's choice).
func createPrivate(abs string) error {
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// writerDSN is the DSN of the writer connection. Every value is built here
// from validated numbers and constants, never from caller-supplied text:
// modernc.org/sqlite runs _pragma values as SQL.
func writerDSN(abs string, busy time.Duration, full, exclusive bool) string {
	sync := "NORMAL"
	if full {
		sync = "FULL"
	}
	return dsn(abs, busy, exclusive,
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous("+sync+")",
		"_pragma=foreign_keys(1)",
		"_pragma=secure_delete(1)",
		"_pragma=wal_autocheckpoint("+strconv.Itoa(writerAutoCheckpoint)+")",
		"_txlock=immediate",
	)
}

// readerDSN is the DSN of the read pool's connections: query_only, so a
// write through the pool fails instead of competing with the writer.
func readerDSN(abs string, busy time.Duration, exclusive bool) string {
	return dsn(abs, busy, exclusive, "_pragma=foreign_keys(1)", "_pragma=query_only(1)")
}

// fileURIOf is the file URI every connection of the store opens: the
// path and, for Options.Exclusive, SQLite's unix-excl VFS (every connection
// must name it). The pinned connections open it as it is (openLite).
func fileURIOf(abs string, exclusive bool) string {
	if exclusive {
		return fileURI(abs) + "?vfs=unix-excl"
	}
	return fileURI(abs)
}

// dsn is the driver's DSN of a connection: fileURIOf, the busy timeout,
// then params.
func dsn(abs string, busy time.Duration, exclusive bool, params ...string) string {
	var b strings.Builder
	u := fileURIOf(abs, exclusive)
	b.WriteString(u)
	if strings.Contains(u, "?") { // fileURI escapes a ? of the path
		b.WriteByte('&')
	} else {
		b.WriteByte('?')
	}
	b.WriteString("_pragma=busy_timeout(" + strconv.FormatInt(busy.Milliseconds(), 10) + ")")
	for _, p := range params {
		b.WriteByte('&')
		b.WriteString(p)
	}
	return b.String()
}

// fileURI turns an absolute path into an SQLite file: URI, escaping the
// characters a URI gives a meaning to (%, ? and #) and anything that is not
// printable ASCII.
func fileURI(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: file:/C:/dir/db
	}
	var b strings.Builder
	b.WriteString("file:")
	for i := 0; i < len(p); i++ {
		ch := p[i]
		if ch <= ' ' || ch >= 0x7f || ch == '%' || ch == '?' || ch == '#' {
			fmt.Fprintf(&b, "%%%02X", ch)
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// Close closes the store: it waits for the transaction in progress, if any,
// then releases every connection. Later calls return an error matching
// verification.ErrClosed. Closing twice is harmless. Do not call Close from
// inside an InTx callback: it would wait for its own transaction.
func (s *Store) Close() error {
	c := s.c
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		if c.done != nil {
			close(c.done)        // callers waiting for the writer give up
			c.wsem <- struct{}{} // wait for the transaction in progress; never released
			for range c.pinnedAll {
				<-c.pinned // and for the pinned reads in progress; never returned
			}
		}
		c.closeErr = c.closeDBs()
	})
	return c.closeErr
}

func (c *core) closeDBs() error {
	c.stopCheckpointer()
	var errs []error
	for _, p := range c.pinnedAll {
		errs = append(errs, p.close())
	}
	all := append(append(c.w[:], c.r[:]...), c.begin, c.commit, c.rollback)
	for kind := range numInKinds {
		all = append(append(all, c.wIn[kind][:]...), c.rIn[kind][:]...)
	}
	for _, st := range all {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if c.reader != nil {
		errs = append(errs, c.reader.Close())
	}
	if c.ckpt != nil {
		errs = append(errs, c.ckpt.Close())
	}
	if c.wconn != nil {
		errs = append(errs, c.wconn.Close())
	}
	if c.writer != nil {
		errs = append(errs, c.writer.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// SchemaVersion returns the number of the newest migration applied to the
// database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	return schemaVersion(ctx, s.c.reader, s.c.prefix)
}

var errTxDone = fmt.Errorf("sqlite: transaction already finished: %w", verification.ErrClosed)

// check returns the context's error, or ErrClosed for a closed store or a
// finished transaction.
func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.c.closed.Load() {
		return fmt.Errorf("sqlite: %w", verification.ErrClosed)
	}
	if s.tx != nil && s.tx.done.Load() {
		return errTxDone
	}
	return nil
}

// InTx implements verification.Store. The transaction runs on the store's
// single writer connection and starts with BEGIN IMMEDIATE, so it holds the
// database's write lock from its first statement: transactions of one Store
// run one after the other (waiting for the writer honours ctx), and a
// read-then-write transaction never fails with SQLITE_BUSY when it comes to
// write; another process or Store on the same file waits up to the busy
// timeout. A panic in fn rolls back and is re-raised; a nested InTx runs
// inline in the same transaction.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx verification.Store) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if s.tx != nil {
		return fn(ctx, s)
	}
	c := s.c
	if err := c.lockWriter(ctx); err != nil {
		return err
	}
	defer c.unlockWriter()
	if _, err := c.begin.ExecContext(ctx); err != nil {
		return c.mapErr(ctx, "begin", err)
	}
	t := &txn{}
	committed := false
	defer func() {
		t.done.Store(true)
		if !committed {
			// An error may have ended the transaction already; ROLLBACK
			// then fails harmlessly.
			_, _ = c.rollback.ExecContext(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(ctx, &Store{c: c, tx: t}); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t.done.Store(true)
	if _, err := c.commit.ExecContext(context.WithoutCancel(ctx)); err != nil {
		return c.mapErr(ctx, "commit", err)
	}
	committed = true
	c.committed()
	return nil
}

// lockWriter waits for the writer, or for ctx. It fails with ErrClosed once
// the store is closed.
func (c *core) lockWriter(ctx context.Context) error {
	select {
	case c.wsem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return fmt.Errorf("sqlite: %w", verification.ErrClosed)
	}
	if c.closed.Load() {
		<-c.wsem
		return fmt.Errorf("sqlite: %w", verification.ErrClosed)
	}
	return nil
}

func (c *core) unlockWriter() { <-c.wsem }

// write runs fn in the current transaction, or in a new one outside a
// transaction, so that every write (even a one-statement one) goes through
// the writer.
func (s *Store) write(ctx context.Context, fn func(tx *Store) error) error {
	if s.tx != nil {
		if err := s.check(ctx); err != nil {
			return err
		}
		return fn(s)
	}
	return s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		return fn(tx.(*Store))
	})
}

// querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn is where a call's statements run (the writer inside a transaction, a
// read snapshot on the pool, or the pool itself) and the context they run
// with.
type conn struct {
	c   *core
	q   querier
	rtx *sql.Tx // a read snapshot: prepared statements go through StmtContext
	st  *[numStmts]*sql.Stmt
	in  *[numInKinds][maxPreparedIn + 1]*sql.Stmt
	// p is the pinned connection a read runs on (see Store.pinned): its
	// statements run on SQLite's C API, q and st are unset.
	p   *liteConn
	ctx context.Context
}

// stmt returns the prepared statement id for this conn.
func (cn conn) stmt(id stmtID) *sql.Stmt {
	if cn.rtx != nil {
		return cn.rtx.StmtContext(cn.ctx, cn.st[id])
	}
	return cn.st[id]
}

func (cn conn) exec(id stmtID, args ...any) (sql.Result, error) {
	return cn.stmt(id).ExecContext(cn.ctx, args...)
}

func (cn conn) query(id stmtID, args ...any) (rowSet, error) {
	if cn.p != nil {
		rows, err := cn.p.query(id, args)
		if err != nil {
			return nil, err // not a nil *liteRows in the interface
		}
		return rows, nil
	}
	return cn.stmt(id).QueryContext(cn.ctx, args...)
}

func (cn conn) queryRow(id stmtID, args ...any) scanner {
	if cn.p != nil {
		rows, err := cn.query(id, args...)
		return firstRow{rows: rows, err: err}
	}
	return cn.stmt(id).QueryRowContext(cn.ctx, args...)
}

// queryIn runs the query of kind for an IN list of n values (the first n
// args).
func (cn conn) queryIn(kind inKind, n int, args ...any) (*sql.Rows, error) {
	if n > maxPreparedIn {
		return cn.querySQL(cn.sql(inSQL(kind, n)), args...)
	}
	st := cn.in[kind][n]
	if cn.rtx != nil {
		st = cn.rtx.StmtContext(cn.ctx, st)
	}
	return st.QueryContext(cn.ctx, args...)
}

func (cn conn) querySQL(text string, args ...any) (*sql.Rows, error) {
	return cn.q.QueryContext(cn.ctx, text, args...)
}

func (cn conn) queryRowSQL(text string, args ...any) *sql.Row {
	return cn.q.QueryRowContext(cn.ctx, text, args...)
}

// sql substitutes the table prefix into a dynamic query.
func (cn conn) sql(text string) string { return withPrefix(text, cn.c.prefix) }

// conn returns where a call made with ctx runs: the transaction, or the read
// pool.
//
// Inside a transaction the statements run with ctx's values but without its
// cancellation: the driver would otherwise start a goroutine per statement to
// watch ctx, a cost several times that of the statement itself. Every method
// checks ctx before it runs (check) and InTx checks it again before COMMIT;
// a statement inside the transaction never waits for a lock (the transaction
// holds the write lock already) and touches a handful of rows, so nothing is
// left for a cancellation to interrupt. Reads on the pool, which may be long
// listings, keep ctx.
func (s *Store) conn(ctx context.Context) conn {
	if s.tx != nil {
		return conn{c: s.c, q: s.c.wconn, st: &s.c.w, in: &s.c.wIn, ctx: context.WithoutCancel(ctx)}
	}
	return conn{c: s.c, q: s.c.reader, st: &s.c.r, in: &s.c.rIn, ctx: ctx}
}

// snapshot runs a multi-statement read in one consistent snapshot: the
// transaction's, or a read transaction on the pool.
func (s *Store) snapshot(ctx context.Context, op string, fn func(cn conn) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if s.tx != nil {
		return fn(s.conn(ctx))
	}
	rtx, err := s.c.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s.c.mapErr(ctx, op, err)
	}
	defer func() { _ = rtx.Rollback() }()
	return fn(conn{c: s.c, q: rtx, rtx: rtx, st: &s.c.r, in: &s.c.rIn, ctx: ctx})
}

// mapErr turns a database/sql or driver error into the store's errors:
// context errors as they are, ErrConflict for a uniqueness clash, ErrNotFound
// for no rows, ErrClosed for a closed store or finished transaction, and
// anything else wrapped with the operation's name.
func (c *core) mapErr(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlite: %s: %w", op, verification.ErrNotFound)
	case errors.Is(err, sql.ErrTxDone):
		return errTxDone
	case c.closed.Load(), errors.Is(err, sql.ErrConnDone):
		return fmt.Errorf("sqlite: %s: %w", op, verification.ErrClosed)
	}
	switch errCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("sqlite: %s: already exists: %w", op, verification.ErrConflict)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// errCode returns the extended SQLite result code of err, or 0.
func errCode(err error) int {
	var se interface{ Code() int } // *sqlite.Error, or *liteError on a pinned connection
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// notFound returns an error matching verification.ErrNotFound. Its message
// is built only if asked for: transitions look up absent rows routinely (a
// requirement never answered) and discard the error.
func notFound(what string, key any) error { return &notFoundError{what, key} }

type notFoundError struct {
	what string
	key  any
}

func (e *notFoundError) Error() string {
	return fmt.Sprintf("sqlite: %s %v: %v", e.what, e.key, verification.ErrNotFound)
}

func (e *notFoundError) Unwrap() error { return verification.ErrNotFound }

// ---- value encoding

// micros encodes a time as unix microseconds (UTC); the zero time is 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros decodes micros: 0 is the zero time, anything else a UTC time.
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// rawOrNil returns b for a BLOB column, nil (NULL) when empty.
func rawOrNil(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// collect scans every row with scan into a non-nil slice.
func collect[T any](ctx context.Context, c *core, op string, rows rowSet, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, c.mapErr(ctx, op, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, c.mapErr(ctx, op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, c.mapErr(ctx, op, err)
	}
	return out, nil
}

// rowsAffected returns notFound(what, key) when res changed no row.
func (s *Store) rowsAffected(ctx context.Context, op string, res sql.Result, err error, what string, key any) error {
	if err != nil {
		return s.c.mapErr(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.c.mapErr(ctx, op, err)
	}
	if n == 0 {
		return notFound(what, key)
	}
	return nil
}

// insertErr maps an insert's error: a missing subject (foreign key) is
// ErrNotFound, the rest as mapErr.
func (s *Store) insertErr(ctx context.Context, op string, err error, subjectID int64) error {
	if errCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return notFound("subject", subjectID)
	}
	return s.c.mapErr(ctx, op, err)
}
