package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/verification"
)

// AddReview implements verification.ReviewStore.
func (s *Store) AddReview(ctx context.Context, r *verification.Review) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	var id int64
	err := s.q.QueryRow(ctx, s.sql(`
		INSERT INTO {{schema}}.reviews (subject_id, requirement, decision, reason, final, admin_id, create_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		RETURNING id`),
		r.SubjectID, r.Requirement, r.Decision, r.Reason, r.Final, r.AdminID, tsIn(r.CreatedAt)).Scan(&id)
	if err != nil {
		return fail(ctx, "add review", err)
	}
	r.ID = id
	return nil
}

// ListReviews implements verification.ReviewStore.
func (s *Store) ListReviews(ctx context.Context, subjectID int64) ([]verification.Review, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.q.Query(ctx, s.sql(`
		SELECT id, subject_id, requirement, decision, reason, final, admin_id, create_time
		  FROM {{schema}}.reviews WHERE subject_id = $1 ORDER BY id`), subjectID)
	if err != nil {
		return nil, fail(ctx, "list reviews", err)
	}
	out, err := collect(rows, func(row pgx.Row) (verification.Review, error) {
		var (
			r  verification.Review
			at pgtype.Timestamptz
		)
		err := row.Scan(&r.ID, &r.SubjectID, &r.Requirement, &r.Decision, &r.Reason, &r.Final, &r.AdminID, &at)
		r.CreatedAt = tsOut(at)
		return r, err
	})
	return out, fail(ctx, "list reviews", err)
}
