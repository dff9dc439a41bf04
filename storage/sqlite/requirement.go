package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

var _ verification.SubjectStatesLocker = (*Store)(nil)

func scanState(row scanner) (verification.RequirementState, error) {
	var (
		st        verification.RequirementState
		answer    []byte
		final     int64
		updatedAt int64
		until     int64
		warned    int64
	)
	if err := row.Scan(&st.SubjectID, &st.Name, &st.Status, &answer, &st.Reason, &final, &st.Attempts, &updatedAt, &until, &warned); err != nil {
		return st, err
	}
	st.ValidUntil, st.WarnedAt = fromMicros(until), fromMicros(warned)
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

// LockSubjectStates implements verification.SubjectStatesLocker: the
// subject (LockSubject: a plain read, the writer is exclusive) and its
// states in one statement, a join that repeats the subject's columns in
// every state's row. The subject is scanned from the first row only; the
// later rows' copies go to a scratch buffer.
func (s *Store) LockSubjectStates(ctx context.Context, id int64) (verification.Subject, []verification.RequirementState, error) {
	if err := s.check(ctx); err != nil {
		return verification.Subject{}, nil, err
	}
	rows, err := s.conn(ctx).query(stSubjectStates, id)
	if err != nil {
		return verification.Subject{}, nil, s.c.mapErr(ctx, "lock subject states", err)
	}
	defer rows.Close()
	var (
		sub     verification.Subject
		list    = []verification.RequirementState{}
		found   bool
		scratch sql.RawBytes
		ss      subjectScan
		rs      stateScan
		dest    = make([]any, 0, 20)
	)
	for rows.Next() {
		dest = dest[:0]
		if !found {
			dest = ss.dest(dest)
		} else {
			for range 10 {
				dest = append(dest, &scratch)
			}
		}
		dest = rs.dest(dest)
		if err := rows.Scan(dest...); err != nil {
			return verification.Subject{}, nil, s.c.mapErr(ctx, "lock subject states", err)
		}
		if !found {
			found = true
			if sub, err = ss.subject(); err != nil {
				return verification.Subject{}, nil, s.c.mapErr(ctx, "lock subject states", err)
			}
		}
		if rs.name.Valid {
			list = append(list, rs.state())
		}
	}
	if err := rows.Err(); err != nil {
		return verification.Subject{}, nil, s.c.mapErr(ctx, "lock subject states", err)
	}
	if !found {
		return verification.Subject{}, nil, notFound("subject", id)
	}
	return sub, list, nil
}

// stateScan receives a state's columns (stateCols) from a LEFT JOIN, where
// they may all be NULL.
type stateScan struct {
	subjectID, final, attempts, updatedAt, until, warned sql.NullInt64
	name, status, reason                                 sql.NullString
	answer                                               []byte
}

func (r *stateScan) dest(dest []any) []any {
	return append(dest, &r.subjectID, &r.name, &r.status, &r.answer, &r.reason, &r.final, &r.attempts, &r.updatedAt, &r.until, &r.warned)
}

func (r *stateScan) state() verification.RequirementState {
	st := verification.RequirementState{
		SubjectID: r.subjectID.Int64, Name: r.name.String, Status: levels.Status(r.status.String), Reason: r.reason.String,
		Final: r.final.Int64 != 0, Attempts: int(r.attempts.Int64), UpdatedAt: fromMicros(r.updatedAt.Int64),
		ValidUntil: fromMicros(r.until.Int64), WarnedAt: fromMicros(r.warned.Int64),
	}
	if len(r.answer) > 0 {
		st.Answer = json.RawMessage(r.answer)
	}
	return st
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
			rawOrNil(st.Answer), st.Reason, boolInt(st.Final), st.Attempts, micros(st.UpdatedAt), micros(st.ValidUntil), micros(st.WarnedAt))
		return s.c.mapErr(ctx, "put requirement state", err)
	})
}

// ListDueRequirementStates implements verification.RequirementStore.
func (s *Store) ListDueRequirementStates(ctx context.Context, f verification.DueFilter) ([]verification.RequirementState, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Before.IsZero() {
		return []verification.RequirementState{}, nil
	}
	id := stStateDue
	if f.Unwarned {
		id = stStateDueUnwarned
	}
	rows, err := s.conn(ctx).query(id, f.Name, micros(f.Before), micros(f.AfterValidUntil), f.AfterSubjectID, f.Limit)
	return collect(ctx, s.c, "list due requirement states", rows, err, scanState)
}
