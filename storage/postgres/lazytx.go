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
// pgx.Tx that batch returned, which holds the pool's connection until
// Commit or Rollback. It is the querier of the transaction's Store, used
// by one goroutine at a time, like pgx.Tx.
type lazyTx struct {
	pool *pgxpool.Pool
	tx   pgx.Tx // nil until the first statement
	err  error  // why the transaction could not begin
	done bool   // committed or rolled back
}

// txOptions are InTx's transactions'.
var txOptions = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}

// first sends b's queries as the transaction's first batch, behind the
// query that begins it, and returns their results (BEGIN's already read).
func (t *lazyTx) first(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	full := &pgx.Batch{}
	full.BeginTx(txOptions)
	full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
	br := t.pool.SendBatch(ctx, full)
	t.tx = br.Tx()
	if _, err := br.Exec(); err != nil {
		// BEGIN failed (no connection, say): every later call and Commit
		// fail with its error, as pgx's BeginTx would have failed InTx
		// before its callback. The batch's other results fail too.
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

// Exec implements querier.
func (t *lazyTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
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
	if t.started() {
		return t.begun().SendBatch(ctx, b)
	}
	return t.first(ctx, b)
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

// Commit commits the transaction if it began; as pgx.Tx's, it fails with
// pgx.ErrTxCommitRollback when PostgreSQL rolled back instead (one of its
// statements had failed).
func (t *lazyTx) Commit(ctx context.Context) error {
	if t.done {
		return pgx.ErrTxClosed
	}
	t.done = true
	switch {
	case t.err != nil:
		if t.tx != nil {
			_ = t.tx.Rollback(ctx) // gives the connection back
		}
		return t.err
	case t.tx == nil:
		return nil // nothing ran, nothing to commit
	}
	return t.tx.Commit(ctx)
}

// Rollback rolls the transaction back if it began and is still open (a
// no-op after Commit).
func (t *lazyTx) Rollback(ctx context.Context) {
	t.done = true
	if t.tx != nil {
		_ = t.tx.Rollback(ctx)
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
