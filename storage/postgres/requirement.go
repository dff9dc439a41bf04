package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/verification"
)

const stateCols = `subject_id, name, status, answer, reason, final, attempts, updated_at`

func scanState(row pgx.Row) (verification.RequirementState, error) {
	var (
		st      verification.RequirementState
		updated pgtype.Timestamptz
	)
	err := row.Scan(&st.SubjectID, &st.Name, &st.Status, &st.Answer, &st.Reason, &st.Final, &st.Attempts, &updated)
	st.UpdatedAt = tsOut(updated)
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
	rows, err := s.q.Query(ctx, s.sql(`SELECT `+stateCols+` FROM {{schema}}.requirement_states WHERE subject_id = $1 ORDER BY name`), subjectID)
	if err != nil {
		return nil, fail(ctx, "list requirement states", err)
	}
	out, err := collect(rows, scanState)
	return out, fail(ctx, "list requirement states", err)
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
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (subject_id, name) DO UPDATE
		   SET status = EXCLUDED.status, answer = EXCLUDED.answer, reason = EXCLUDED.reason,
		       final = EXCLUDED.final, attempts = EXCLUDED.attempts, updated_at = EXCLUDED.updated_at`),
		st.SubjectID, st.Name, st.Status, jsonIn(st.Answer), st.Reason, st.Final, st.Attempts, tsIn(st.UpdatedAt))
	return fail(ctx, "put requirement state", err)
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
