package memory

import (
	"context"

	"github.com/openkyc/kyc/verification"
)

// AddReview implements verification.ReviewStore.
func (s *Store) AddReview(ctx context.Context, rv *verification.Review) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	rv.ID = int64(len(r.reviews)) + 1
	r.reviews = append(r.reviews, *rv)
	s.onUndo(func() { r.reviews = r.reviews[:len(r.reviews)-1] })
	return nil
}

// ListReviews implements verification.ReviewStore.
func (s *Store) ListReviews(ctx context.Context, subjectID int64) ([]verification.Review, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []verification.Review{}
	for _, rv := range s.root.reviews {
		if rv.SubjectID == subjectID {
			out = append(out, rv)
		}
	}
	return out, nil
}
