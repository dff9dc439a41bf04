package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lazyTx is InTx's transaction. It begins with the transaction's first
// statement, in the same batch (pgx.Batch.BeginTx), instead of in a round
// trip of its own before it (pgx's BeginTx waits for BEGIN's answer); a
// transaction that runs no statement never begins. Once begun it is the
// pgx.Tx that batch returned, on a connection it holds from the pool until
// Commit or Rollback. Writes queued with atCommit go out with COMMIT, in
// the same batch. It is the querier of the transaction's Store, used by one
// goroutine at a time, like pgx.Tx.
type lazyTx struct {
	pool *pgxpool.Pool
	c    *pgxpool.Conn // the connection, from the first statement on
	tx   pgx.Tx        // nil until the first statement
	err  error         // why the transaction could not begin
	done bool          // committed or rolled back
	// queued are the writes of atCommit not sent yet.
	queued []*pgx.QueuedQuery
}

// txOptions are InTx's transactions'.
var txOptions = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}

// first sends b's queries as the transaction's first batch, behind the
// query that begins it, and returns their results (BEGIN's already read).
func (t *lazyTx) first(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	full := &pgx.Batch{}
	full.BeginTx(txOptions)
	full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
	// When no connection comes or BEGIN fails, every later call and
	// Commit fail with the reason, as pgx's BeginTx would have failed InTx
	// before its callback; the batch's other results fail too.
	c, err := t.pool.Acquire(ctx)
	if err != nil {
		t.err = err
		return pgx.FailedBatchResults(full, err)
	}
	t.c = c
	br := c.SendBatch(ctx, full)
	t.tx = br.Tx()
	if _, err := br.Exec(); err != nil {
		t.err = err
	}
	return br
}

// one sends one query as the transaction's first batch.
func (t *lazyTx) one(ctx context.Context, sql string, args []any) pgx.BatchResults {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	return t.first(ctx, b)
}

// atCommit queues qs to go out with COMMIT. Each query's Fn reads its
// result (and turns its error into the store's); the first error is the
// one Commit returns, after PostgreSQL skipped the rest and COMMIT. A call
// made after atCommit sends the queued writes first.
func (t *lazyTx) atCommit(qs ...*pgx.QueuedQuery) { t.queued = append(t.queued, qs...) }

// sendQueued sends the writes of atCommit ahead of another call; their
// error fails the transaction (that call, every later one and Commit).
func (t *lazyTx) sendQueued(ctx context.Context) {
	if len(t.queued) == 0 || t.done {
		return
	}
	b := &pgx.Batch{QueuedQueries: t.queued}
	t.queued = nil
	if err := readBatch(ctx, "write", t.send(ctx, b), b.QueuedQueries); err != nil && t.err == nil {
		t.err = storeError{err}
	}
}

// send sends b on the transaction: as its first batch when nothing ran yet.
func (t *lazyTx) send(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if t.started() {
		return t.begun().SendBatch(ctx, b)
	}
	return t.first(ctx, b)
}

// readBatch reads br's results with qs's Fns, in order (each reads its
// query's result and returns the store's error for it), and closes br. It
// returns the first error, as the failed query's Fn gave it, or closing
// br's, as op's.
func readBatch(ctx context.Context, op string, br pgx.BatchResults, qs []*pgx.QueuedQuery) error {
	for _, q := range qs {
		if err := q.Fn(br); err != nil {
			_ = br.Close()
			return err
		}
	}
	return fail(ctx, op, br.Close())
}

// storeError is the error of a write queued with atCommit, already in the
// store's terms (fail's), which InTx returns from Commit as it is.
type storeError struct{ err error }

// Error implements error.
func (e storeError) Error() string { return e.err.Error() }

// Unwrap returns the store's error.
func (e storeError) Unwrap() error { return e.err }

// Exec implements querier.
func (t *lazyTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	t.sendQueued(ctx)
	if t.started() {
		return t.begun().Exec(ctx, sql, args...)
	}
	br := t.one(ctx, sql, args)
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// Query implements querier.
func (t *lazyTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	t.sendQueued(ctx)
	if t.started() {
		return t.begun().Query(ctx, sql, args...)
	}
	br := t.one(ctx, sql, args)
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return rows, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// QueryRow implements querier.
func (t *lazyTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	t.sendQueued(ctx)
	if t.started() {
		return t.begun().QueryRow(ctx, sql, args...)
	}
	rows, err := t.Query(ctx, sql, args...)
	if err != nil {
		return errRow{err}
	}
	return firstRow{rows}
}

// SendBatch implements querier.
func (t *lazyTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	t.sendQueued(ctx)
	return t.send(ctx, b)
}

// started reports whether the first statement went out (or the
// transaction ended before one did): every call then goes to begun.
func (t *lazyTx) started() bool { return t.tx != nil || t.err != nil || t.done }

// begun is the transaction once begun, or one that fails every call: with
// the reason it could not begin, or pgx.ErrTxClosed once it ended without
// beginning.
func (t *lazyTx) begun() pgx.Tx {
	switch {
	case t.err != nil:
		return failedTx{err: t.err}
	case t.tx != nil:
		return t.tx
	}
	return failedTx{err: pgx.ErrTxClosed}
}

// Commit commits the transaction if it began, with the writes of atCommit
// in the same batch (beginning it there if nothing ran before them); as
// pgx.Tx's, it fails with pgx.ErrTxCommitRollback when PostgreSQL rolled
// back instead (one of its statements had failed), and with a queued
// write's error when one failed.
func (t *lazyTx) Commit(ctx context.Context) error {
	if t.done {
		return pgx.ErrTxClosed
	}
	switch {
	case t.err != nil:
		t.Rollback(ctx)
		return t.err
	case len(t.queued) > 0:
		return t.commitQueued(ctx)
	case t.tx == nil:
		t.done = true
		return nil // nothing ran, nothing to commit
	}
	t.done = true
	err := t.tx.Commit(ctx)
	t.release()
	return err
}

// commitQueued sends the writes of atCommit and COMMIT as one batch.
func (t *lazyTx) commitQueued(ctx context.Context) error {
	b := &pgx.Batch{QueuedQueries: t.queued}
	t.queued = nil
	b.Queue("COMMIT").Fn = func(br pgx.BatchResults) error {
		tag, err := br.Exec()
		if err == nil && tag.String() == "ROLLBACK" {
			err = pgx.ErrTxCommitRollback
		}
		return fail(ctx, "commit", err)
	}
	err := readBatch(ctx, "commit", t.send(ctx, b), b.QueuedQueries)
	if err == nil && t.err != nil {
		err = t.err // BEGIN failed
	}
	if err != nil {
		t.Rollback(ctx) // a failed write left the transaction open
		return storeError{err}
	}
	// COMMIT ran on the connection, which is outside a transaction again:
	// pgx's Tx, which did not send it, must not roll back.
	t.done, t.tx = true, nil
	t.release()
	return nil
}

// Rollback rolls the transaction back if it began and is still open (a
// no-op after Commit), and gives the connection back.
func (t *lazyTx) Rollback(ctx context.Context) {
	t.done = true
	t.queued = nil
	if t.tx != nil {
		_ = t.tx.Rollback(ctx)
	}
	t.release()
}

// release gives the connection back to the pool (which discards one left
// inside a transaction or broken).
func (t *lazyTx) release() {
	if t.c != nil {
		t.c.Release()
		t.c = nil
	}
}

// batchRows are the rows of the first batch's query: closing them closes
// the batch, after which the transaction's connection takes the next
// statement.
type batchRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error // closing the batch failed
}

// Close implements pgx.Rows.
func (r *batchRows) Close() {
	r.Rows.Close()
	if err := r.br.Close(); err != nil && r.err == nil {
		r.err = err
	}
}

// Err implements pgx.Rows.
func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// firstRow is the first row of rows, as pgx.Conn.QueryRow gives it:
// ErrNoRows without one.
type firstRow struct{ rows pgx.Rows }

// Scan implements pgx.Row.
func (r firstRow) Scan(dest ...any) error {
	defer r.rows.Close()
	if !r.rows.Next() {
		r.rows.Close()
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// errRow is a pgx.Row that fails with err.
type errRow struct{ err error }

// Scan implements pgx.Row.
func (r errRow) Scan(...any) error { return r.err }

// failedTx is a transaction that did not begin: every call fails with err.
type failedTx struct {
	pgx.Tx
	err error
}

// Exec implements pgx.Tx.
func (f failedTx) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, f.err
}

// Query implements pgx.Tx.
func (f failedTx) Query(context.Context, string, ...any) (pgx.Rows, error) { return nil, f.err }

// QueryRow implements pgx.Tx.
func (f failedTx) QueryRow(context.Context, string, ...any) pgx.Row { return errRow{f.err} }

// SendBatch implements pgx.Tx.
func (f failedTx) SendBatch(_ context.Context, b *pgx.Batch) pgx.BatchResults {
	return pgx.FailedBatchResults(b, f.err)
}

var _ querier = (*lazyTx)(nil)
