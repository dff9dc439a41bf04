package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// TestLazyTxBeginsWithTheFirstStatement makes each kind of first call
// (Exec, Query, QueryRow, SendBatch) write a row and then fails the
// transaction: the row must be gone, so BEGIN reached PostgreSQL before
// the statement it went out with. A second write after the first call runs
// on the begun transaction, and a transaction that ran nothing takes no
// connection from the pool.
func TestLazyTxBeginsWithTheFirstStatement(t *testing.T) {
	t.Parallel()
	s := openOwnPool(t, newSchema(t)) // its own pool: counts its connections
	ctx := ctxTimeout(t)
	exec(t, s, `CREATE TABLE {{schema}}.lazy (id int PRIMARY KEY)`)
	insert := s.sql(`INSERT INTO {{schema}}.lazy (id) VALUES ($1) RETURNING id`)
	first := map[string]func(q querier, id int) error{
		"Exec": func(q querier, id int) error {
			_, err := q.Exec(ctx, insert, id)
			return err
		},
		"Query": func(q querier, id int) error {
			rows, err := q.Query(ctx, insert, id)
			if err != nil {
				return err
			}
			defer rows.Close()
			require.True(t, rows.Next())
			rows.Close()
			return rows.Err()
		},
		"QueryRow": func(q querier, id int) error {
			var got int
			if err := q.QueryRow(ctx, insert, id).Scan(&got); err != nil {
				return err
			}
			require.Equal(t, id, got)
			return nil
		},
		"SendBatch": func(q querier, id int) error {
			b := &pgx.Batch{}
			b.Queue(insert, id)
			return q.SendBatch(ctx, b).Close()
		},
	}
	count := func() int {
		var n int
		require.NoError(t, s.db.pool.QueryRow(ctx, s.sql(`SELECT count(*) FROM {{schema}}.lazy`)).Scan(&n))
		return n
	}
	failed := errors.New("roll back")
	id := 0
	for name, call := range first {
		id += 2
		err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			q := tx.(*Store).q
			require.NoError(t, call(q, id), name)
			_, err := q.Exec(ctx, insert, id+1)
			require.NoError(t, err, "%s: a statement after the first", name)
			return failed
		})
		require.ErrorIs(t, err, failed)
		require.Zero(t, count(), "%s as the first statement ran inside the transaction", name)

		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			return call(tx.(*Store).q, id)
		}), name)
		require.Equal(t, 1, count(), "%s: committed", name)
		exec(t, s, `DELETE FROM {{schema}}.lazy`)
	}

	acquired := s.db.pool.Stat().AcquireCount()
	require.NoError(t, s.InTx(ctx, func(context.Context, verification.Store) error { return nil }))
	require.Equal(t, acquired, s.db.pool.Stat().AcquireCount(), "an empty transaction takes no connection")
}

// TestLazyTxCommitOfAFailedTransaction: a first statement that fails
// aborts the transaction, and a Commit after it reports that PostgreSQL
// rolled back (as pgx.Tx's does) instead of succeeding.
func TestLazyTxCommitOfAFailedTransaction(t *testing.T) {
	t.Parallel()
	s := openOwnPool(t, newSchema(t)) // its own pool: counts its connections
	ctx := ctxTimeout(t)
	exec(t, s, `CREATE TABLE {{schema}}.lazy (id int PRIMARY KEY)`)
	exec(t, s, `INSERT INTO {{schema}}.lazy (id) VALUES (1)`)
	err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		_, err := tx.(*Store).q.Exec(ctx, s.sql(`INSERT INTO {{schema}}.lazy (id) VALUES (1)`))
		require.Error(t, err, "a duplicate key")
		_, err = tx.(*Store).q.Exec(ctx, s.sql(`INSERT INTO {{schema}}.lazy (id) VALUES (2)`))
		require.Error(t, err, "the transaction is aborted")
		return nil // ignore it: Commit must not pretend
	})
	require.ErrorIs(t, err, pgx.ErrTxCommitRollback)
	var n int
	require.NoError(t, s.db.pool.QueryRow(ctx, s.sql(`SELECT count(*) FROM {{schema}}.lazy`)).Scan(&n))
	require.Equal(t, 1, n)
	require.Zero(t, s.db.pool.Stat().AcquiredConns(), "the connection went back to the pool")
}

// TestLazyTxThatCannotBegin: when the first statement finds no connection
// (the pool closed here), that call fails, every later one fails the same
// way, and InTx fails even if its callback ignored them, as it did when
// BEGIN ran before the callback.
func TestLazyTxThatCannotBegin(t *testing.T) {
	t.Parallel()
	s := openOwnPool(t, newSchema(t))
	ctx := ctxTimeout(t)
	var first, second error
	err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		s.db.pool.Close()
		q := tx.(*Store).q
		_, first = q.Exec(ctx, `SELECT 1`)
		var one int
		second = q.QueryRow(ctx, `SELECT 1`).Scan(&one)
		return nil // ignore them: InTx must not report success
	})
	require.Error(t, first)
	require.Error(t, second)
	require.Equal(t, first.Error(), second.Error(), "the reason it could not begin, every time")
	require.Error(t, err)
}

// TestLazyTxWritesAtCommit: writes queued with atCommit are not sent until
// the commit (another connection does not see them, nor does a rollback
// keep them), go out before any later call of the transaction, begin the
// transaction themselves when nothing ran before them, and fail the
// commit with their own error; every way ends with the connection back in
// the pool.
func TestLazyTxWritesAtCommit(t *testing.T) {
	t.Parallel()
	s := openOwnPool(t, newSchema(t)) // its own pool: counts its connections
	ctx := ctxTimeout(t)
	exec(t, s, `CREATE TABLE {{schema}}.lazy (id int PRIMARY KEY)`)
	insert := s.sql(`INSERT INTO {{schema}}.lazy (id) VALUES ($1)`)
	failed := errors.New("duplicate")
	queue := func(q querier, ids ...int) {
		for _, id := range ids {
			qq := &pgx.QueuedQuery{SQL: insert, Arguments: []any{id}}
			qq.Fn = func(br pgx.BatchResults) error {
				if _, err := br.Exec(); err != nil {
					return errors.Join(failed, err)
				}
				return nil
			}
			q.(*lazyTx).atCommit(qq)
		}
	}
	count := func() int {
		var n int
		require.NoError(t, s.db.pool.QueryRow(ctx, s.sql(`SELECT count(*) FROM {{schema}}.lazy`)).Scan(&n))
		return n
	}

	// Queued after a statement, sent with COMMIT.
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		q := tx.(*Store).q
		_, err := q.Exec(ctx, insert, 1)
		require.NoError(t, err)
		queue(q, 2, 3)
		require.Zero(t, count(), "nothing committed, the queued writes not even sent")
		return nil
	}))
	require.Equal(t, 3, count())

	// Queued before any statement: BEGIN, the writes and COMMIT in one batch.
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		queue(tx.(*Store).q, 4)
		return nil
	}))
	require.Equal(t, 4, count())

	// A call after them sends them first, inside the transaction.
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		q := tx.(*Store).q
		queue(q, 5)
		var n int
		require.NoError(t, q.QueryRow(ctx, s.sql(`SELECT count(*) FROM {{schema}}.lazy`)).Scan(&n))
		require.Equal(t, 5, n, "the queued write went out before the read")
		return nil
	}))
	require.Equal(t, 5, count())

	// A rollback drops them; a failing one fails the commit with its error
	// and nothing of the transaction stays.
	rollback := errors.New("roll back")
	require.ErrorIs(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		queue(tx.(*Store).q, 6)
		return rollback
	}), rollback)
	err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		q := tx.(*Store).q
		_, err := q.Exec(ctx, insert, 7)
		require.NoError(t, err)
		queue(q, 8, 1, 9) // 1 is taken
		return nil
	})
	require.ErrorIs(t, err, failed)
	require.Equal(t, 5, count(), "neither the rolled back nor the failed transaction left a row")
	require.Zero(t, s.db.pool.Stat().AcquiredConns(), "the connection went back to the pool")

	// The connection is healthy for the next transaction.
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		queue(tx.(*Store).q, 10)
		return nil
	}))
	require.Equal(t, 6, count())
}
