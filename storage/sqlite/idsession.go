package sqlite

import (
	"context"

	"github.com/openkyc/kyc/verification"
)

func scanSession(row scanner) (verification.IDSession, error) {
	var (
		x         verification.IDSession
		createdAt int64
	)
	err := row.Scan(&x.ID, &x.SubjectID, &x.Provider, &x.Status, &createdAt, &x.FrontFileID, &x.BackFileID, &x.FaceFileID)
	x.CreatedAt = fromMicros(createdAt)
	return x, err
}

// AddIDSession implements verification.IDSessionStore.
func (s *Store) AddIDSession(ctx context.Context, x verification.IDSession) error {
	return s.write(ctx, func(tx *Store) error {
		_, err := tx.conn(ctx).exec(stSessionInsert, x.ID, x.SubjectID, x.Provider, x.Status,
			micros(x.CreatedAt), x.FrontFileID, x.BackFileID, x.FaceFileID)
		return s.insertErr(ctx, "add id session", err, x.SubjectID)
	})
}

// ListIDSessions implements verification.IDSessionStore.
func (s *Store) ListIDSessions(ctx context.Context, subjectID int64) ([]verification.IDSession, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.conn(ctx).query(stSessionList, subjectID)
	return collect(ctx, s.c, "list id sessions", rows, err, scanSession)
}

// UpdateIDSession implements verification.IDSessionStore.
func (s *Store) UpdateIDSession(ctx context.Context, x verification.IDSession) error {
	return s.write(ctx, func(tx *Store) error {
		res, err := tx.conn(ctx).exec(stSessionUpdate, x.Provider, x.Status, micros(x.CreatedAt),
			x.FrontFileID, x.BackFileID, x.FaceFileID, x.ID)
		return s.rowsAffected(ctx, "update id session", res, err, "id session", x.ID)
	})
}
