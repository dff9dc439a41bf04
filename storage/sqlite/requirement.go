package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/openkyc/kyc/verification"
)

func scanState(row scanner) (verification.RequirementState, error) {
	var (
		st        verification.RequirementState
		answer    []byte
		final     int64
		updatedAt int64
	)
	if err := row.Scan(&st.SubjectID, &st.Name, &st.Status, &answer, &st.Reason, &final, &st.Attempts, &updatedAt); err != nil {
		return st, err
	}
	if len(answer) > 0 {
		st.Answer = json.RawMessage(answer)
	}
	st.Final = final != 0
	st.UpdatedAt = fromMicros(updatedAt)
	return st, nil
}

// ListRequirementStates implements verification.RequirementStore.
func (s *Store) ListRequirementStates(ctx context.Context, subjectID int64) ([]verification.RequirementState, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.conn(ctx).query(stStateList, subjectID)
	return collect(ctx, s.c, "list requirement states", rows, err, scanState)
}

// GetRequirementState implements verification.RequirementStore.
func (s *Store) GetRequirementState(ctx context.Context, subjectID int64, name string) (verification.RequirementState, error) {
	if err := s.check(ctx); err != nil {
		return verification.RequirementState{}, err
	}
	st, err := scanState(s.conn(ctx).queryRow(stStateGet, subjectID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return verification.RequirementState{}, notFound("requirement state", name)
	}
	return st, s.c.mapErr(ctx, "get requirement state", err)
}

// PutRequirementState implements verification.RequirementStore.
func (s *Store) PutRequirementState(ctx context.Context, st verification.RequirementState) error {
	return s.write(ctx, func(tx *Store) error {
		_, err := tx.conn(ctx).exec(stStatePut, st.SubjectID, st.Name, string(st.Status),
			rawOrNil(st.Answer), st.Reason, boolInt(st.Final), st.Attempts, micros(st.UpdatedAt))
		return s.c.mapErr(ctx, "put requirement state", err)
	})
}
