package sqlite

import (
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// liteConn is a read-only connection on SQLite's C API itself
// (modernc.org/sqlite/lib, the library the driver is built on), for the
// pinned reads (see Store.pinned).
//
// Why not the driver: a pinned read is one short indexed statement, and
// the driver's work around it cost three times the statement
// (bench/RESULTS.md section 21). It opens every connection with
// SQLITE_OPEN_FULLMUTEX, so each sqlite3_column_* call locks and unlocks
// the connection's recursive mutex; it asks each column's name and
// declared type on every query; and it boxes each value in a
// driver.Value. A liteConn is opened with SQLITE_OPEN_NOMUTEX, which is
// safe because it is used by one goroutine at a time (the pinned channel
// hands it out) and never after Close, and reads each column straight
// into its destination.
//
// It is not a general driver: it runs the statements prepared on it with
// integer and text arguments, and scans the destination types the store's
// reads use (see liteRows.Scan).
type liteConn struct {
	tls *libc.TLS
	db  uintptr
	// stmts are the prepared statements by id (0: not prepared), params
	// and cols their parameter and column counts (fixed by the text).
	stmts  [numStmts]uintptr
	params [numStmts]int
	cols   [numStmts]int32
}

// liteError is an error SQLite returned on a liteConn: its extended
// result code (Code, as sqlite.Error's) and message.
type liteError struct {
	code int
	msg  string
}

func (e *liteError) Error() string { return fmt.Sprintf("%s (%d)", e.msg, e.code) }

// Code is SQLite's extended result code.
func (e *liteError) Code() int { return e.code }

// openLite opens uri (a file: URI; vfs=unix-excl is honoured) read-write
// without creating it, waiting up to busy for a lock, and makes the
// connection query_only, as the read pool's: a write through it fails
// instead of competing with the writer.
func openLite(uri string, busy time.Duration) (_ *liteConn, err error) {
	c := &liteConn{tls: libc.NewTLS()}
	defer func() {
		if err != nil {
			_ = c.close()
		}
	}()
	curi, err := libc.CString(uri)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, curi)
	out := c.tls.Alloc(ptrSize)
	defer c.tls.Free(ptrSize)
	rc := sqlite3.Xsqlite3_open_v2(c.tls, curi, out,
		sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_URI|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	c.db = readPtr(out) // a handle even on failure, with the message
	if rc != sqlite3.SQLITE_OK {
		return nil, c.error(rc)
	}
	sqlite3.Xsqlite3_extended_result_codes(c.tls, c.db, 1)
	if rc := sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, int32(busy.Milliseconds())); rc != sqlite3.SQLITE_OK {
		return nil, c.error(rc)
	}
	if err := c.exec("PRAGMA query_only = 1"); err != nil {
		return nil, err
	}
	return c, nil
}

// ptrSize is the size of a C pointer.
const ptrSize = int(unsafe.Sizeof(uintptr(0)))

// readPtr reads the pointer SQLite stored at p (an out parameter
// allocated on the TLS).
func readPtr(p uintptr) uintptr {
	b := libc.GoBytes(p, ptrSize)
	if ptrSize == 4 {
		return uintptr(binary.NativeEndian.Uint32(b))
	}
	return uintptr(binary.NativeEndian.Uint64(b))
}

// error turns rc into a liteError with the connection's message.
func (c *liteConn) error(rc int32) error {
	msg := libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	if c.db != 0 {
		if ext := sqlite3.Xsqlite3_extended_errcode(c.tls, c.db); ext&0xff == rc&0xff {
			rc = ext
			if m := libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db)); m != msg {
				msg += ": " + m
			}
		}
	}
	return &liteError{code: int(rc), msg: msg}
}

// exec runs one statement that returns no rows.
func (c *liteConn) exec(text string) error {
	ctext, err := libc.CString(text)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.tls, ctext)
	if rc := sqlite3.Xsqlite3_exec(c.tls, c.db, ctext, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		return c.error(rc)
	}
	return nil
}

// prepare prepares text as statement id, to be run many times.
func (c *liteConn) prepare(id stmtID, text string) error {
	ctext, err := libc.CString(text)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.tls, ctext)
	out := c.tls.Alloc(ptrSize)
	defer c.tls.Free(ptrSize)
	if rc := sqlite3.Xsqlite3_prepare_v3(c.tls, c.db, ctext, -1, sqlite3.SQLITE_PREPARE_PERSISTENT, out, 0); rc != sqlite3.SQLITE_OK {
		return c.error(rc)
	}
	st := readPtr(out)
	if st == 0 {
		return errors.New("no statement in the text")
	}
	c.stmts[id] = st
	c.params[id] = int(sqlite3.Xsqlite3_bind_parameter_count(c.tls, st))
	c.cols[id] = sqlite3.Xsqlite3_column_count(c.tls, st)
	return nil
}

// close finalizes the statements and closes the connection.
func (c *liteConn) close() error {
	var errs []error
	for i, st := range c.stmts {
		if st != 0 {
			if rc := sqlite3.Xsqlite3_finalize(c.tls, st); rc != sqlite3.SQLITE_OK {
				errs = append(errs, c.error(rc))
			}
			c.stmts[i] = 0
		}
	}
	if c.db != 0 {
		if rc := sqlite3.Xsqlite3_close_v2(c.tls, c.db); rc != sqlite3.SQLITE_OK {
			errs = append(errs, c.error(rc))
		}
		c.db = 0
	}
	if c.tls != nil {
		c.tls.Close()
		c.tls = nil
	}
	return errors.Join(errs...)
}

// query binds args to statement id and returns its rows; the statement is
// in use until the rows are closed.
func (c *liteConn) query(id stmtID, args []any) (*liteRows, error) {
	st := c.stmts[id]
	if st == 0 {
		return nil, fmt.Errorf("statement %d is not prepared on pinned connections", id)
	}
	if len(args) != c.params[id] {
		return nil, fmt.Errorf("statement %d takes %d arguments, not %d", id, c.params[id], len(args))
	}
	for i, a := range args {
		if err := c.bind(st, int32(i+1), a); err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	return &liteRows{c: c, st: st, n: c.cols[id]}, nil
}

// bind binds one argument: an integer, a string (copied by SQLite), a
// bool or nil.
func (c *liteConn) bind(st uintptr, i int32, a any) error {
	var rc int32
	switch v := a.(type) {
	case nil:
		rc = sqlite3.Xsqlite3_bind_null(c.tls, st, i)
	case int64:
		rc = sqlite3.Xsqlite3_bind_int64(c.tls, st, i, v)
	case int:
		rc = sqlite3.Xsqlite3_bind_int64(c.tls, st, i, int64(v))
	case bool:
		var n int64
		if v {
			n = 1
		}
		rc = sqlite3.Xsqlite3_bind_int64(c.tls, st, i, n)
	case string:
		p, err := libc.CString(v)
		if err != nil {
			return err
		}
		rc = sqlite3.Xsqlite3_bind_text(c.tls, st, i, p, int32(len(v)), sqlite3.SQLITE_TRANSIENT)
		libc.Xfree(c.tls, p)
	default:
		return fmt.Errorf("unsupported argument type %T", a)
	}
	if rc != sqlite3.SQLITE_OK {
		return c.error(rc)
	}
	return nil
}

// liteRows iterates a statement's rows on a liteConn with *sql.Rows's
// methods (rowSet).
type liteRows struct {
	c      *liteConn
	st     uintptr
	n      int32 // columns
	row    bool  // positioned on a row
	closed bool
	err    error
}

// Next steps to the next row; false at the end or on an error (see Err),
// and the rows are then closed.
func (r *liteRows) Next() bool {
	if r.closed {
		return false
	}
	switch rc := sqlite3.Xsqlite3_step(r.c.tls, r.st); rc {
	case sqlite3.SQLITE_ROW:
		r.row = true
		return true
	case sqlite3.SQLITE_DONE:
	default:
		r.err = r.c.error(rc)
	}
	_ = r.Close()
	return false
}

// Err is the error that ended the iteration, if any.
func (r *liteRows) Err() error { return r.err }

// Close resets the statement for its next use; closing twice is harmless.
func (r *liteRows) Close() error {
	if r.closed {
		return r.err
	}
	r.closed, r.row = true, false
	// reset repeats the error of a failed step, which Next has kept. The
	// bindings stay: query binds every parameter each time, and
	// sqlite3_clear_bindings marks a statement expired whenever one of its
	// parameters may steer its plan (SQLite's expmask), so that the next
	// step prepares it again: a parse, eight times the read itself.
	sqlite3.Xsqlite3_reset(r.c.tls, r.st)
	return r.err
}

// Scan copies the current row into dest, as *sql.Rows does for the types
// the store scans into: *int64, *int, *bool, *string, *sql.NullInt64 and
// *sql.NullString read the column directly; any other destination
// (another sql.Scanner, a pointer to a named string or integer type) goes
// through assign. A NULL into a plain type is an error, as there.
func (r *liteRows) Scan(dest ...any) error {
	if !r.row {
		return errors.New("sql: Scan called without calling Next")
	}
	if len(dest) != int(r.n) {
		return fmt.Errorf("sql: expected %d destination arguments in Scan, not %d", r.n, len(dest))
	}
	for i, d := range dest {
		if err := r.scan(int32(i), d); err != nil {
			return fmt.Errorf("sql: Scan error on column index %d: %w", i, err)
		}
	}
	return nil
}

func (r *liteRows) scan(i int32, dest any) error {
	tls, st := r.c.tls, r.st
	typ := sqlite3.Xsqlite3_column_type(tls, st, i)
	switch d := dest.(type) {
	case *int64:
		if typ != sqlite3.SQLITE_INTEGER {
			return fmt.Errorf("converting %s to int64", typeName(typ))
		}
		*d = sqlite3.Xsqlite3_column_int64(tls, st, i)
	case *int:
		if typ != sqlite3.SQLITE_INTEGER {
			return fmt.Errorf("converting %s to int", typeName(typ))
		}
		*d = int(sqlite3.Xsqlite3_column_int64(tls, st, i))
	case *bool:
		v := sqlite3.Xsqlite3_column_int64(tls, st, i)
		if typ != sqlite3.SQLITE_INTEGER || (v != 0 && v != 1) {
			return fmt.Errorf("converting %s %d to bool", typeName(typ), v)
		}
		*d = v == 1
	case *string:
		if typ != sqlite3.SQLITE_TEXT && typ != sqlite3.SQLITE_BLOB {
			return fmt.Errorf("converting %s to string", typeName(typ))
		}
		*d = r.text(i)
	case *sql.NullInt64:
		switch typ {
		case sqlite3.SQLITE_NULL:
			*d = sql.NullInt64{}
		case sqlite3.SQLITE_INTEGER:
			*d = sql.NullInt64{Int64: sqlite3.Xsqlite3_column_int64(tls, st, i), Valid: true}
		default:
			return fmt.Errorf("converting %s to int64", typeName(typ))
		}
	case *sql.NullString:
		switch typ {
		case sqlite3.SQLITE_NULL:
			*d = sql.NullString{}
		case sqlite3.SQLITE_TEXT, sqlite3.SQLITE_BLOB:
			*d = sql.NullString{String: r.text(i), Valid: true}
		default:
			return fmt.Errorf("converting %s to string", typeName(typ))
		}
	default:
		return assign(dest, r.value(i, typ))
	}
	return nil
}

// text copies column i's bytes (text or blob) into a string.
func (r *liteRows) text(i int32) string { return string(r.bytes(i)) }

// bytes is column i's bytes (text or blob) where SQLite holds them, valid
// until the next step or reset: callers copy them.
func (r *liteRows) bytes(i int32) []byte {
	p := sqlite3.Xsqlite3_column_blob(r.c.tls, r.st, i)
	n := sqlite3.Xsqlite3_column_bytes(r.c.tls, r.st, i)
	if p == 0 || n == 0 {
		return nil
	}
	return libc.GoBytes(p, int(n))
}

// value is column i as the driver would give it.
func (r *liteRows) value(i, typ int32) driver.Value {
	switch typ {
	case sqlite3.SQLITE_INTEGER:
		return sqlite3.Xsqlite3_column_int64(r.c.tls, r.st, i)
	case sqlite3.SQLITE_FLOAT:
		return sqlite3.Xsqlite3_column_double(r.c.tls, r.st, i)
	case sqlite3.SQLITE_TEXT:
		return r.text(i)
	case sqlite3.SQLITE_BLOB:
		return append([]byte{}, r.bytes(i)...) // an empty blob is not NULL
	default:
		return nil
	}
}

// typeName names a column's fundamental type for Scan's errors.
func typeName(typ int32) string {
	switch typ {
	case sqlite3.SQLITE_INTEGER:
		return "integer"
	case sqlite3.SQLITE_FLOAT:
		return "real"
	case sqlite3.SQLITE_TEXT:
		return "text"
	case sqlite3.SQLITE_BLOB:
		return "blob"
	default:
		return "NULL"
	}
}
