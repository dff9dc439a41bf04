package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"time"

	"github.com/openkyc/kyc/verification"
)

// pinnedStmts are the statements of the one-statement reads, prepared on
// every pinned connection.
var pinnedStmts = [...]stmtID{
	stSubjectStatuses, stAppOpen, stSubjectGrantsAsc, stSubjectGrantsDesc,
	stSubjectOpenApps, stIDVerification, stSubjectProgress,
	stSubjectByIdentifier, // GetSubjectByIdentifier (an API key's subject)
}

// pinnedConn is a read connection kept out of the pool with pinnedStmts
// prepared on its driver connection (the other entries of ds are nil).
//
// The statements are the driver's own, run through sql.Conn.Raw: a
// one-row indexed read is short enough that database/sql's layer around
// it (its Rows with their locks, the argument conversion, convertAssign
// per column) cost 5-11% of a read route's instructions (bench/RESULTS.md,
// "Pinned reads on the driver"). Raw keeps database/sql's rule that the
// driver connection is used by one caller at a time and only inside the
// callback: pinned runs the whole read in it, rows included.
type pinnedConn struct {
	cn *sql.Conn
	ds [numStmts]driver.Stmt
}

func (p *pinnedConn) close() error {
	err := p.cn.Raw(func(any) error {
		var errs []error
		for _, st := range p.ds {
			if st != nil {
				errs = append(errs, st.Close())
			}
		}
		return errors.Join(errs...)
	})
	return errors.Join(err, p.cn.Close())
}

// openPinned takes n connections out of the read pool and prepares
// pinnedStmts on each.
func (c *core) openPinned(ctx context.Context, n int) error {
	c.pinned = make(chan *pinnedConn, n)
	for range n {
		cn, err := c.reader.Conn(ctx)
		if err != nil {
			return err
		}
		p := &pinnedConn{cn: cn}
		c.pinnedAll = append(c.pinnedAll, p)
		err = cn.Raw(func(dc any) error {
			pc, ok := dc.(driver.ConnPrepareContext)
			if !ok {
				return fmt.Errorf("driver connection %T cannot prepare with a context", dc)
			}
			for _, id := range pinnedStmts {
				st, err := pc.PrepareContext(ctx, withPrefix(stmtSQL[id], c.prefix))
				if err != nil {
					return fmt.Errorf("preparing statement %d: %w", id, err)
				}
				if _, ok := st.(driver.StmtQueryContext); !ok {
					_ = st.Close()
					return fmt.Errorf("driver statement %T cannot query with a context", st)
				}
				p.ds[id] = st
			}
			return nil
		})
		if err != nil {
			return err
		}
		c.pinned <- p
	}
	return nil
}

// pinned runs fn, a read of one short statement over an index (one of
// pinnedStmts), where it runs best: in the transaction, or outside one on
// a pinned connection, inside its sql.Conn.Raw callback.
//
// Waiting for the pinned connection honours ctx's cancellation and
// deadline, but the statement then runs with context.WithoutCancel(ctx):
// with a cancellable context the driver (interruptOnDone) would start a
// goroutine per statement to watch it, and database/sql another
// (Rows.awaitDone): 8 allocations and about a fifth of the status route's
// time in process (bench/RESULTS.md section 8). The trade-off: a read
// already running when ctx ends is not interrupted and finishes first;
// that is bounded, because every pinned statement reads a handful of rows
// through an index (the grant history's page is capped by its limit), and
// ctx is checked again once the connection is taken. Pinned connections
// rather than the pool's: database/sql's wait for a pooled connection and
// its statement share one context, so a pool read cannot keep the first
// without the second.
func (s *Store) pinned(ctx context.Context, fn func(cn conn) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if s.tx != nil {
		return fn(s.conn(ctx))
	}
	var p *pinnedConn
	select {
	case p = <-s.c.pinned:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.c.done:
		return fmt.Errorf("sqlite: %w", verification.ErrClosed)
	}
	defer s.c.release(p)
	if err := s.check(ctx); err != nil { // select chooses at random among ready cases
		return err
	}
	return p.cn.Raw(func(any) error {
		return fn(conn{c: s.c, p: p, ctx: context.WithoutCancel(ctx)})
	})
}

// release gives back a pinned connection.
func (c *core) release(p *pinnedConn) { c.pinned <- p }

// rowSet is what the store's reads iterate: *sql.Rows, or driverRows on a
// pinned connection.
type rowSet interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// driverQuery runs the pinned statement id with args on p's driver
// connection; call it only inside pinned's callback.
func (p *pinnedConn) query(ctx context.Context, id stmtID, args []any) (*driverRows, error) {
	st := p.ds[id]
	if st == nil {
		return nil, fmt.Errorf("statement %d is not prepared on pinned connections", id)
	}
	var named [4]driver.NamedValue
	nv := named[:0]
	for i, a := range args {
		v, err := driverValue(a)
		if err != nil {
			return nil, err
		}
		nv = append(nv, driver.NamedValue{Ordinal: i + 1, Value: v})
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, nv)
	if err != nil {
		return nil, err
	}
	return &driverRows{rows: rows, vals: make([]driver.Value, len(rows.Columns()))}, nil
}

// driverValue converts one argument of the store's statements to a
// driver.Value.
func driverValue(a any) (driver.Value, error) {
	switch v := a.(type) {
	case nil, int64, float64, bool, []byte, string, time.Time:
		return v, nil
	case int:
		return int64(v), nil
	default:
		return nil, fmt.Errorf("unsupported argument type %T", a)
	}
}

// driverRows iterates a driver's rows with *sql.Rows's methods, for the
// destination types the store scans into.
type driverRows struct {
	rows   driver.Rows
	vals   []driver.Value
	err    error
	closed bool
}

// Next reads the next row; false at the end or on an error (see Err).
func (r *driverRows) Next() bool {
	if r.closed {
		return false
	}
	if err := r.rows.Next(r.vals); err != nil {
		if err != io.EOF {
			r.err = err
		}
		_ = r.Close()
		return false
	}
	return true
}

// Err is the error that ended the iteration, if any.
func (r *driverRows) Err() error { return r.err }

// Close releases the rows; closing twice is harmless.
func (r *driverRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if err := r.rows.Close(); err != nil && r.err == nil {
		r.err = err
	}
	return r.err
}

// Scan copies the current row into dest, as *sql.Rows does for these
// types: *int64, *int, *bool, *string, sql.Scanner (sql.NullString,
// sql.NullInt64) and pointers to named string and integer types. A NULL
// into a plain type is an error, as there.
func (r *driverRows) Scan(dest ...any) error {
	if len(dest) != len(r.vals) {
		return fmt.Errorf("sql: expected %d destination arguments in Scan, not %d", len(r.vals), len(dest))
	}
	for i, d := range dest {
		if err := assign(d, r.vals[i]); err != nil {
			return fmt.Errorf("sql: Scan error on column index %d: %w", i, err)
		}
	}
	return nil
}

// assign stores src, a value from the driver, in dest.
func assign(dest any, src driver.Value) error {
	switch d := dest.(type) {
	case sql.Scanner:
		return d.Scan(src)
	case *int64:
		v, ok := src.(int64)
		if !ok {
			return fmt.Errorf("converting %T to int64", src)
		}
		*d = v
	case *int:
		v, ok := src.(int64)
		if !ok {
			return fmt.Errorf("converting %T to int", src)
		}
		*d = int(v)
	case *bool:
		v, ok := src.(int64)
		if !ok || (v != 0 && v != 1) {
			return fmt.Errorf("converting %T %v to bool", src, src)
		}
		*d = v == 1
	case *string:
		switch v := src.(type) {
		case string:
			*d = v
		case []byte:
			*d = string(v)
		default:
			return fmt.Errorf("converting %T to string", src)
		}
	default:
		return assignKind(dest, src)
	}
	return nil
}

// assignKind stores src in dest, a pointer to a named string or integer
// type (verification.ApplicationStatus, levels.Status, ...).
func assignKind(dest any, src driver.Value) error {
	rv := reflect.ValueOf(dest)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("unsupported Scan destination %T", dest)
	}
	e := rv.Elem()
	switch e.Kind() {
	case reflect.String:
		var v string
		if err := assign(&v, src); err != nil {
			return err
		}
		e.SetString(v)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v, ok := src.(int64)
		if !ok || e.OverflowInt(v) {
			return fmt.Errorf("converting %T %v to %s", src, src, e.Type())
		}
		e.SetInt(v)
	default:
		return fmt.Errorf("unsupported Scan destination %T", dest)
	}
	return nil
}

// driverRow is queryRow's single row on a pinned connection: Scan reads
// the first row and closes, sql.ErrNoRows when there is none, as *sql.Row.
type driverRow struct {
	rows *driverRows
	err  error
}

// Scan scans the first row into dest.
func (r driverRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	return r.rows.Close()
}
