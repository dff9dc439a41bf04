package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/verification"
)

const stateCols = `subject_id, name, status, answer, reason, final, attempts, updated_at, valid_until, warned_at`

func scanState(row pgx.Row) (verification.RequirementState, error) {
	var (
		st      verification.RequirementState
		updated pgtype.Timestamptz
		until   pgtype.Timestamptz
		warned  pgtype.Timestamptz
	)
	err := row.Scan(&st.SubjectID, &st.Name, &st.Status, &st.Answer, &st.Reason, &st.Final, &st.Attempts, &updated, &until, &warned)
	st.UpdatedAt, st.ValidUntil, st.WarnedAt = tsOut(updated), tsOut(until), tsOut(warned)
	return st, err
}

// jsonIn stores a JSON document in a json column (which keeps its bytes as
// given, unlike jsonb); nil and empty are NULL.
func jsonIn(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// ListRequirementStates implements verification.RequirementStore.
func (s *Store) ListRequirementStates(ctx context.Context, subjectID int64) ([]verification.RequirementState, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.q.Query(ctx, s.sql(listStatesSQL), subjectID)
	return listedStates(ctx, rows, err)
}

// listStatesSQL is a subject's requirement states (argument: its ID) in
// name order (the column's COLLATE "C" compares byte-wise, as the contract
// asks).
const listStatesSQL = `SELECT ` + stateCols + ` FROM {{schema}}.requirement_states WHERE subject_id = $1 ORDER BY name`

// listedStates reads listStatesSQL's rows.
func listedStates(ctx context.Context, rows pgx.Rows, err error) ([]verification.RequirementState, error) {
	if err != nil {
		return nil, fail(ctx, "list requirement states", err)
	}
	out, err := collect(rows, scanState)
	return out, fail(ctx, "list requirement states", err)
}

var _ verification.SubjectStatesLocker = (*Store)(nil)

// LockSubjectStates implements verification.SubjectStatesLocker: inside a
// transaction, LockSubject's and ListRequirementStates' statements sent as
// one batch, so in one round trip. They stay two statements on purpose:
// under READ COMMITTED each statement reads from a snapshot taken when it
// starts, so the states are read once the subject's lock is granted and
// include everything the transaction that held the lock before committed.
// One statement joining the states to the locked subject would read them
// from the snapshot taken before it waited for the lock (PostgreSQL
// re-reads only the locked row), losing a concurrent answer's state.
// Outside a transaction it is LockSubject (a plain read) and
// ListRequirementStates.
func (s *Store) LockSubjectStates(ctx context.Context, id int64) (verification.Subject, []verification.RequirementState, error) {
	if s.tx == nil {
		sub, err := s.LockSubject(ctx, id)
		if err != nil {
			return verification.Subject{}, nil, err
		}
		states, err := s.ListRequirementStates(ctx, id)
		return sub, states, err
	}
	if err := s.begin(ctx); err != nil {
		return verification.Subject{}, nil, err
	}
	b := &pgx.Batch{}
	b.Queue(s.sql(lockSubjectSQL), id)
	b.Queue(s.sql(listStatesSQL), id)
	br := s.q.SendBatch(ctx, b)
	sub, err := lockedSubject(ctx, br.QueryRow(), id)
	var states []verification.RequirementState
	if err == nil {
		rows, qerr := br.Query()
		states, err = listedStates(ctx, rows, qerr)
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fail(ctx, "lock subject states", cerr)
	}
	if err != nil {
		return verification.Subject{}, nil, err
	}
	return sub, states, nil
}

// GetRequirementState implements verification.RequirementStore.
func (s *Store) GetRequirementState(ctx context.Context, subjectID int64, name string) (verification.RequirementState, error) {
	if err := s.begin(ctx); err != nil {
		return verification.RequirementState{}, err
	}
	st, err := scanState(s.q.QueryRow(ctx, s.sql(`SELECT `+stateCols+` FROM {{schema}}.requirement_states WHERE subject_id = $1 AND name = $2`), subjectID, name))
	if noRows(err) {
		return verification.RequirementState{}, notFound("requirement state", name)
	}
	return st, fail(ctx, "get requirement state", err)
}

// PutRequirementState implements verification.RequirementStore.
func (s *Store) PutRequirementState(ctx context.Context, st verification.RequirementState) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	_, err := s.q.Exec(ctx, s.sql(`
		INSERT INTO {{schema}}.requirement_states (`+stateCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (subject_id, name) DO UPDATE
		   SET status = EXCLUDED.status, answer = EXCLUDED.answer, reason = EXCLUDED.reason,
		       final = EXCLUDED.final, attempts = EXCLUDED.attempts, updated_at = EXCLUDED.updated_at,
		       valid_until = EXCLUDED.valid_until, warned_at = EXCLUDED.warned_at`),
		st.SubjectID, st.Name, st.Status, jsonIn(st.Answer), st.Reason, st.Final, st.Attempts, tsIn(st.UpdatedAt), tsIn(st.ValidUntil), tsIn(st.WarnedAt))
	return fail(ctx, "put requirement state", err)
}

// dueSQL lists the due states of one requirement: a range of the partial
// index requirement_states_due_idx (valid_until IS NOT NULL names it) after
// the cursor, warned_at filtered from the index's included column.
const dueSQL = `SELECT ` + stateCols + ` FROM {{schema}}.requirement_states
	WHERE name = $1 AND valid_until IS NOT NULL AND valid_until <= $2 AND (valid_until, subject_id) > ($3, $4)
	  AND ($5::boolean IS FALSE OR warned_at IS NULL)
	ORDER BY valid_until, subject_id LIMIT $6`

// dueArgs returns dueSQL's arguments for f.
func dueArgs(f verification.DueFilter) []any {
	return []any{f.Name, tsIn(f.Before), pgtype.Timestamptz{Time: f.AfterValidUntil, Valid: true}, f.AfterSubjectID, f.Unwarned, f.Limit}
}

// ListDueRequirementStates implements verification.RequirementStore.
func (s *Store) ListDueRequirementStates(ctx context.Context, f verification.DueFilter) ([]verification.RequirementState, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Before.IsZero() {
		return []verification.RequirementState{}, nil
	}
	rows, err := s.q.Query(ctx, s.sql(dueSQL), dueArgs(f)...)
	if err != nil {
		return nil, fail(ctx, "list due requirement states", err)
	}
	out, err := collect(rows, scanState)
	return out, fail(ctx, "list due requirement states", err)
}

// collect scans every row with scan into a non-nil slice.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
