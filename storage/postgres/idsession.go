package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/verification"
)

// AddIDSession implements verification.IDSessionStore: ErrConflict for a
// used ID, ErrNotFound for an unknown subject.
func (s *Store) AddIDSession(ctx context.Context, sess verification.IDSession) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.q.Exec(ctx, s.sql(`
		INSERT INTO {{schema}}.id_sessions (id, subject_id, provider, status, created_at, front_file_id, back_file_id, face_file_id)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8
		 WHERE EXISTS (SELECT 1 FROM {{schema}}.subjects WHERE id = $2)
		ON CONFLICT (id) DO NOTHING`),
		sess.ID, sess.SubjectID, sess.Provider, sess.Status, tsIn(sess.CreatedAt), sess.FrontFileID, sess.BackFileID, sess.FaceFileID)
	if err != nil {
		return fail(ctx, "add id session", err)
	}
	if tag.RowsAffected() == 0 {
		return s.insertRefused(ctx, `SELECT EXISTS (SELECT 1 FROM {{schema}}.id_sessions WHERE id = $1)`, sess.ID, "id session", sess.SubjectID)
	}
	return nil
}

// ListIDSessions implements verification.IDSessionStore: newest CreatedAt
// first, then latest inserted first; a zero CreatedAt (NULL) sorts last.
func (s *Store) ListIDSessions(ctx context.Context, subjectID int64) ([]verification.IDSession, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.q.Query(ctx, s.sql(`
		SELECT id, subject_id, provider, status, created_at, front_file_id, back_file_id, face_file_id
		  FROM {{schema}}.id_sessions WHERE subject_id = $1
		 ORDER BY created_at DESC NULLS LAST, ord DESC`), subjectID)
	if err != nil {
		return nil, fail(ctx, "list id sessions", err)
	}
	out, err := collect(rows, func(row pgx.Row) (verification.IDSession, error) {
		var (
			x  verification.IDSession
			at pgtype.Timestamptz
		)
		err := row.Scan(&x.ID, &x.SubjectID, &x.Provider, &x.Status, &at, &x.FrontFileID, &x.BackFileID, &x.FaceFileID)
		x.CreatedAt = tsOut(at)
		return x, err
	})
	return out, fail(ctx, "list id sessions", err)
}

// UpdateIDSession implements verification.IDSessionStore.
func (s *Store) UpdateIDSession(ctx context.Context, sess verification.IDSession) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.q.Exec(ctx, s.sql(`
		UPDATE {{schema}}.id_sessions
		   SET provider = $2, status = $3, created_at = $4, front_file_id = $5, back_file_id = $6, face_file_id = $7
		 WHERE id = $1`),
		sess.ID, sess.Provider, sess.Status, tsIn(sess.CreatedAt), sess.FrontFileID, sess.BackFileID, sess.FaceFileID)
	if err != nil {
		return fail(ctx, "update id session", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("id session", sess.ID)
	}
	return nil
}
