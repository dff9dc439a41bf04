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
