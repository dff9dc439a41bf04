package storagetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// RunReviews checks verification.ReviewStore.
func RunReviews(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "AddAssignsIncreasingIDsAndRoundTrips", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		want := []verification.Review{
			{SubjectID: sub.ID, Requirement: "emailCode", Decision: verification.Reject, Reason: "wrong code", Final: true, AdminID: 7, CreatedAt: at(1)},
			{SubjectID: sub.ID, Requirement: "emailCode", Decision: verification.Approve, CreatedAt: at(2)},
			{SubjectID: sub.ID, Requirement: "idDocument", Decision: verification.Approve, AdminID: 9, CreatedAt: at(2)},
		}
		var prev int64
		for i := range want {
			require.NoError(t, s.AddReview(ctx, &want[i]))
			require.Positive(t, want[i].ID, "AddReview must set a positive ID on the review it is given")
			require.Greater(t, want[i].ID, prev, "AddReview must assign increasing IDs")
			prev = want[i].ID
		}
		got, err := s.ListReviews(ctx, sub.ID)
		require.NoError(t, err)
		require.Equal(t, want, got, "ListReviews must return every review as written (AdminID 0 included), in ID order")
	})

	test(t, newStore, "ListInIDOrderAndIsolation", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		var wantAlice, wantBob []verification.Review
		// Interleave the two subjects; CreatedAt goes backwards so that a
		// store ordering by time instead of ID fails.
		for i := range 6 {
			r := verification.Review{SubjectID: alice.ID, Requirement: "emailCode", Decision: verification.Approve, AdminID: int64(i), CreatedAt: at(100 - i)}
			if i%2 == 1 {
				r.SubjectID = bob.ID
				r.Decision = verification.Reject
				r.Reason = "blurry"
			}
			require.NoError(t, s.AddReview(ctx, &r))
			if r.SubjectID == alice.ID {
				wantAlice = append(wantAlice, r)
			} else {
				wantBob = append(wantBob, r)
			}
		}
		got, err := s.ListReviews(ctx, alice.ID)
		require.NoError(t, err)
		require.Equal(t, wantAlice, got, "ListReviews must return only the subject's reviews, in ID order")
		got, err = s.ListReviews(ctx, bob.ID)
		require.NoError(t, err)
		require.Equal(t, wantBob, got, "ListReviews must return only the subject's reviews, in ID order")
	})

	test(t, newStore, "ListEmpty", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		got, err := s.ListReviews(ctx, sub.ID)
		require.NoError(t, err, "ListReviews of a subject without reviews is not an error")
		require.Empty(t, got)
		got, err = s.ListReviews(ctx, sub.ID+1000)
		require.NoError(t, err, "ListReviews of an unknown subject is empty, not an error")
		require.Empty(t, got)
	})

	test(t, newStore, "CancelledContext", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		dead := cancelledContext(t)
		r := verification.Review{SubjectID: sub.ID, Requirement: "emailCode", Decision: verification.Approve, CreatedAt: at(1)}
		require.ErrorIs(t, s.AddReview(dead, &r), context.Canceled, "AddReview with a cancelled context")
		got, err := s.ListReviews(ctx, sub.ID)
		require.NoError(t, err)
		require.Empty(t, got, "AddReview with a cancelled context must not write")
		_, err = s.ListReviews(dead, sub.ID)
		require.ErrorIs(t, err, context.Canceled, "ListReviews with a cancelled context")
	})
}
