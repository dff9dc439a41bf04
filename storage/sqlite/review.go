package sqlite

import (
	"context"

	"github.com/openkyc/kyc/verification"
)

func scanReview(row scanner) (verification.Review, error) {
	var (
		r          verification.Review
		final      int64
		createTime int64
	)
	if err := row.Scan(&r.ID, &r.SubjectID, &r.Requirement, &r.Decision, &r.Reason, &final, &r.AdminID, &createTime); err != nil {
		return r, err
	}
	r.Final = final != 0
	r.CreatedAt = fromMicros(createTime)
	return r, nil
}

// AddReview implements verification.ReviewStore.
func (s *Store) AddReview(ctx context.Context, r *verification.Review) error {
	var id int64
	err := s.write(ctx, func(tx *Store) error {
		res, err := tx.conn(ctx).exec(stReviewInsert, r.SubjectID, r.Requirement, string(r.Decision),
			r.Reason, boolInt(r.Final), r.AdminID, micros(r.CreatedAt))
		if err == nil {
			id, err = res.LastInsertId()
		}
		return s.c.mapErr(ctx, "add review", err)
	})
	if err != nil {
		return err
	}
	r.ID = id
	return nil
}

// ListReviews implements verification.ReviewStore.
func (s *Store) ListReviews(ctx context.Context, subjectID int64) ([]verification.Review, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.conn(ctx).query(stReviewList, subjectID)
	return collect(ctx, s.c, "list reviews", rows, err, scanReview)
}
