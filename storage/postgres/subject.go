package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/verification"
)

const subjectCols = `id, identifier, tags, level, deleted_at, legal_hold, redacted_at, event_seq, created_at, updated_at`

func scanSubject(row pgx.Row) (verification.Subject, error) {
	var (
		s                                  verification.Subject
		deleted, redacted, created, update pgtype.Timestamptz
	)
	err := row.Scan(&s.ID, &s.Identifier, &s.Tags, &s.Level, &deleted, &s.LegalHold, &redacted, &s.EventSeq, &created, &update)
	s.DeletedAt, s.RedactedAt, s.CreatedAt, s.UpdatedAt = tsOut(deleted), tsOut(redacted), tsOut(created), tsOut(update)
	return s, err
}

// CreateSubject implements verification.SubjectStore. The identifier clash
// is detected with ON CONFLICT DO NOTHING, so it does not abort a
// surrounding transaction.
func (s *Store) CreateSubject(ctx context.Context, sub *verification.Subject) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	var id int64
	err := s.q.QueryRow(ctx, s.sql(`
		INSERT INTO {{schema}}.subjects (identifier, tags, level, deleted_at, legal_hold, redacted_at, event_seq, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (identifier) DO NOTHING
		RETURNING id`),
		sub.Identifier, sub.Tags, sub.Level, tsIn(sub.DeletedAt), sub.LegalHold, tsIn(sub.RedactedAt), sub.EventSeq,
		tsIn(sub.CreatedAt), tsIn(sub.UpdatedAt)).Scan(&id)
	if noRows(err) {
		return conflict("subject identifier", "")
	}
	if err != nil {
		return fail(ctx, "create subject", err)
	}
	sub.ID = id
	return nil
}

// GetSubject implements verification.SubjectStore.
func (s *Store) GetSubject(ctx context.Context, id int64) (verification.Subject, error) {
	if err := s.begin(ctx); err != nil {
		return verification.Subject{}, err
	}
	sub, err := scanSubject(s.q.QueryRow(ctx, s.sql(`SELECT `+subjectCols+` FROM {{schema}}.subjects WHERE id = $1`), id))
	if noRows(err) {
		return verification.Subject{}, notFound("subject", id)
	}
	return sub, fail(ctx, "get subject", err)
}

// GetSubjectByIdentifier implements verification.SubjectStore.
func (s *Store) GetSubjectByIdentifier(ctx context.Context, identifier string) (verification.Subject, error) {
	if err := s.begin(ctx); err != nil {
		return verification.Subject{}, err
	}
	sub, err := scanSubject(s.q.QueryRow(ctx, s.sql(`SELECT `+subjectCols+` FROM {{schema}}.subjects WHERE identifier = $1`), identifier))
	if noRows(err) {
		return verification.Subject{}, notFound("subject", "by identifier")
	}
	return sub, fail(ctx, "get subject by identifier", err)
}

// LockSubject implements verification.SubjectStore. Inside InTx it reads
// the row with SELECT ... FOR NO KEY UPDATE: the lock UPDATE itself takes,
// which makes concurrent transitions on one subject wait for each other (in
// any process) but, unlike FOR UPDATE, does not block other transactions
// inserting rows that reference the subject (their foreign-key checks take
// KEY SHARE). Under READ COMMITTED the statements after the lock see
// everything the previous holder committed.
func (s *Store) LockSubject(ctx context.Context, id int64) (verification.Subject, error) {
	if s.tx == nil {
		return s.GetSubject(ctx, id)
	}
	if err := s.begin(ctx); err != nil {
		return verification.Subject{}, err
	}
	return lockedSubject(ctx, s.q.QueryRow(ctx, s.sql(lockSubjectSQL), id), id)
}

// lockSubjectSQL locks a subject's row for the transaction (argument: its
// ID) and returns it: FOR NO KEY UPDATE, so that rows referencing it can
// still be inserted meanwhile.
const lockSubjectSQL = `SELECT ` + subjectCols + ` FROM {{schema}}.subjects WHERE id = $1 FOR NO KEY UPDATE`

// lockedSubject reads lockSubjectSQL's row.
func lockedSubject(ctx context.Context, row pgx.Row, id int64) (verification.Subject, error) {
	sub, err := scanSubject(row)
	if noRows(err) {
		return verification.Subject{}, notFound("subject", id)
	}
	return sub, fail(ctx, "lock subject", err)
}

// updateSubjectSQL writes a subject's mutable columns (updateSubjectArgs).
const updateSubjectSQL = `
	UPDATE {{schema}}.subjects
	   SET tags = $2, level = $3, deleted_at = $4, legal_hold = $5, redacted_at = $6, event_seq = $7, updated_at = $8
	 WHERE id = $1`

// updateSubjectArgs are updateSubjectSQL's arguments for sub.
func updateSubjectArgs(sub verification.Subject) []any {
	return []any{sub.ID, sub.Tags, sub.Level, tsIn(sub.DeletedAt), sub.LegalHold, tsIn(sub.RedactedAt), sub.EventSeq, tsIn(sub.UpdatedAt)}
}

// UpdateSubject implements verification.SubjectStore. A change of tags is
// mirrored into subject_tags by a trigger in the same statement.
func (s *Store) UpdateSubject(ctx context.Context, sub verification.Subject) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.q.Exec(ctx, s.sql(updateSubjectSQL), updateSubjectArgs(sub)...)
	if err != nil {
		return fail(ctx, "update subject", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("subject", sub.ID)
	}
	return nil
}
