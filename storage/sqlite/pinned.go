package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"reflect"
	"time"

	"github.com/openkyc/kyc/verification"
)

// pinnedStmts are the statements of the one-statement reads, prepared on
// every pinned connection.
var pinnedStmts = [...]stmtID{
	stSubjectStatuses, stAppOpen, stSubjectGrantsAsc, stSubjectGrantsDesc,
	stSubjectOpenApps, stIDVerification, stSubjectProgress, stSubjectProgressByIdentifier,
	stSubjectByIdentifier, // GetSubjectByIdentifier (an API key's subject)
}

// openPinned opens n pinned connections to uri, each waiting up to busy
// for a lock, and prepares pinnedStmts on each.
//
// A pinned connection is a liteConn: it runs on SQLite's C API rather than
// through database/sql and the driver, whose layers cost three times a
// one-row indexed read.
func (c *core) openPinned(uri string, busy time.Duration, n int) error {
	c.pinned = make(chan *liteConn, n)
	for range n {
		lc, err := openLite(uri, busy)
		if err != nil {
			return err
		}
		c.pinnedAll = append(c.pinnedAll, lc)
		for _, id := range pinnedStmts {
			if err := lc.prepare(id, withPrefix(stmtSQL[id], c.prefix)); err != nil {
				return fmt.Errorf("preparing statement %d: %w", id, err)
			}
		}
		c.pinned <- lc
	}
	return nil
}

// pinned runs fn, a read of one short statement over an index (one of
// pinnedStmts), where it runs best: in the transaction, or outside one on
// a pinned connection (see openPinned).
//
// Waiting for the pinned connection honours ctx's cancellation and
// deadline, but the statement itself is not interrupted when ctx ends,
// nor is a wait for a lock inside it (the busy timeout bounds that; in WAL
// mode a reader waits rarely, as while a connection recovers the log):
// the C API has no context, and watching one would take a goroutine per
// statement, which cost about a fifth of the status route's time when
// these reads still went through the driver (bench/RESULTS.md section 8).
// That is bounded, because every pinned statement reads a handful of rows
// through an index (the grant history's page is capped by its limit), and
// ctx is checked again once the connection is taken.
func (s *Store) pinned(ctx context.Context, fn func(cn conn) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if s.tx != nil {
		return fn(s.conn(ctx))
	}
	var p *liteConn
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
	return fn(conn{c: s.c, p: p, ctx: ctx})
}

// release gives back a pinned connection.
func (c *core) release(p *liteConn) { c.pinned <- p }

// rowSet is what the store's reads iterate: *sql.Rows, or liteRows on a
// pinned connection.
type rowSet interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
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

// firstRow is queryRow's single row on a pinned connection: Scan reads
// the first row and closes, sql.ErrNoRows when there is none, as *sql.Row.
type firstRow struct {
	rows rowSet
	err  error
}

// Scan scans the first row into dest.
func (r firstRow) Scan(dest ...any) error {
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
