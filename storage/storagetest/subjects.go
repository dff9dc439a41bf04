package storagetest

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// RunSubjects checks verification.SubjectStore.
func RunSubjects(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "CreateAssignsIncreasingIDs", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		var prev int64
		for i, name := range []string{"alice", "bob", "carol", "dave"} {
			sub := verification.Subject{Identifier: ident(name), CreatedAt: at(i), UpdatedAt: at(i)}
			require.NoError(t, s.CreateSubject(ctx, &sub), "CreateSubject(%s)", name)
			require.Positive(t, sub.ID, "CreateSubject must set a positive ID on the subject it is given")
			require.Greater(t, sub.ID, prev, "CreateSubject must assign increasing IDs: subject #%d got ID %d after %d", i+1, sub.ID, prev)
			prev = sub.ID
		}
	})

	test(t, newStore, "RoundTrip", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		want := verification.Subject{
			Identifier: ident("alice"),
			Tags:       []string{"eu", "vip"},
			Level:      3,
			DeletedAt:  at(30),
			LegalHold:  true,
			RedactedAt: at(40),
			EventSeq:   17,
			CreatedAt:  at(0),
			UpdatedAt:  at(50),
		}
		require.NoError(t, s.CreateSubject(ctx, &want))
		got, err := s.GetSubject(ctx, want.ID)
		require.NoError(t, err, "GetSubject of a subject just created")
		requireSubject(t, want, got, "GetSubject")
		got, err = s.GetSubjectByIdentifier(ctx, want.Identifier)
		require.NoError(t, err, "GetSubjectByIdentifier of a subject just created")
		requireSubject(t, want, got, "GetSubjectByIdentifier")
		got, err = s.LockSubject(ctx, want.ID)
		require.NoError(t, err, "LockSubject outside a transaction must behave like GetSubject")
		requireSubject(t, want, got, "LockSubject outside a transaction")
	})

	test(t, newStore, "ZeroValuesRoundTrip", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		want := verification.Subject{Identifier: ident("alice"), CreatedAt: at(0), UpdatedAt: at(0)}
		require.NoError(t, s.CreateSubject(ctx, &want))
		got, err := s.GetSubject(ctx, want.ID)
		require.NoError(t, err)
		require.True(t, got.DeletedAt.IsZero(), "an unset DeletedAt must come back as the zero time.Time, got %v", got.DeletedAt)
		require.True(t, got.RedactedAt.IsZero(), "an unset RedactedAt must come back as the zero time.Time, got %v", got.RedactedAt)
		require.False(t, got.Deleted())
		require.False(t, got.LegalHold)
		require.Zero(t, got.Level)
		require.Empty(t, got.Tags)
		requireSubject(t, want, got, "GetSubject")
	})

	test(t, newStore, "EmptyTagsAreNoTags", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		for name, tags := range map[string][]string{"nilTags": nil, "emptyTags": {}} {
			sub := verification.Subject{Identifier: ident(name), Tags: tags, CreatedAt: at(0), UpdatedAt: at(0)}
			require.NoError(t, s.CreateSubject(ctx, &sub), name)
			got, err := s.GetSubject(ctx, sub.ID)
			require.NoError(t, err, name)
			require.Empty(t, got.Tags, "%s: a subject created without tags must come back without tags", name)
		}
	})

	test(t, newStore, "DuplicateIdentifierConflicts", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		first := newSubject(t, s, "alice", "eu")
		dup := verification.Subject{Identifier: first.Identifier, Tags: []string{"us"}, Level: 7, CreatedAt: at(5), UpdatedAt: at(5)}
		err := s.CreateSubject(ctx, &dup)
		require.ErrorIs(t, err, verification.ErrConflict, "CreateSubject with an identifier already used must fail with ErrConflict")
		got, err := s.GetSubjectByIdentifier(ctx, first.Identifier)
		require.NoError(t, err)
		requireSubject(t, first, got, "the first subject after a conflicting create")
		next := newSubject(t, s, "bob")
		require.Greater(t, next.ID, first.ID, "a create after a conflict must still get an increasing ID")
	})

	test(t, newStore, "DeletedIdentifierStillConflicts", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		sub.DeletedAt = at(10)
		sub.UpdatedAt = at(10)
		require.NoError(t, s.UpdateSubject(ctx, sub))
		again := verification.Subject{Identifier: sub.Identifier, CreatedAt: at(20), UpdatedAt: at(20)}
		require.ErrorIs(t, s.CreateSubject(ctx, &again), verification.ErrConflict,
			"the identifier of a deleted subject stays used: CreateSubject must fail with ErrConflict")
	})

	test(t, newStore, "NotFound", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		for _, id := range []int64{sub.ID + 1000, 0, -1} {
			_, err := s.GetSubject(ctx, id)
			require.ErrorIs(t, err, verification.ErrNotFound, "GetSubject(%d)", id)
			_, err = s.LockSubject(ctx, id)
			require.ErrorIs(t, err, verification.ErrNotFound, "LockSubject(%d)", id)
		}
		_, err := s.GetSubjectByIdentifier(ctx, ident("nobody"))
		require.ErrorIs(t, err, verification.ErrNotFound, "GetSubjectByIdentifier of an unknown identifier")
		_, err = s.GetSubjectByIdentifier(ctx, "")
		require.ErrorIs(t, err, verification.ErrNotFound, "GetSubjectByIdentifier(\"\")")
	})

	test(t, newStore, "IdentifierIsExactMatch", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		for _, other := range []string{
			strings.ToUpper(sub.Identifier),
			sub.Identifier[:len(sub.Identifier)-1],
			sub.Identifier + "0",
			" " + sub.Identifier,
			"alice%",
		} {
			_, err := s.GetSubjectByIdentifier(ctx, other)
			require.ErrorIs(t, err, verification.ErrNotFound,
				"GetSubjectByIdentifier(%q) must not find %q: identifiers match exactly (case-sensitive, no prefix or pattern match)", other, sub.Identifier)
		}
	})

	test(t, newStore, "UpdateReplacesFields", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice", "eu")
		upd := sub
		upd.Tags = []string{"uk", "vip"}
		upd.Level = 2
		upd.DeletedAt = at(10)
		upd.LegalHold = true
		upd.RedactedAt = at(11)
		upd.EventSeq = 5
		upd.UpdatedAt = at(12)
		require.NoError(t, s.UpdateSubject(ctx, upd))
		got, err := s.GetSubject(ctx, sub.ID)
		require.NoError(t, err)
		requireSubject(t, upd, got, "GetSubject after UpdateSubject")

		// Back to zero values: times, tags, flags.
		cleared := sub
		cleared.Tags = nil
		cleared.UpdatedAt = at(13)
		require.NoError(t, s.UpdateSubject(ctx, cleared))
		got, err = s.GetSubject(ctx, sub.ID)
		require.NoError(t, err)
		require.True(t, got.DeletedAt.IsZero(), "UpdateSubject with a zero DeletedAt must clear it, got %v", got.DeletedAt)
		require.True(t, got.RedactedAt.IsZero(), "UpdateSubject with a zero RedactedAt must clear it, got %v", got.RedactedAt)
		requireSubject(t, cleared, got, "GetSubject after clearing fields")
	})

	test(t, newStore, "UpdateKeepsIdentifierAndCreatedAt", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		upd := sub
		upd.Identifier = ident("mallory")
		upd.CreatedAt = at(99)
		upd.Level = 1
		upd.UpdatedAt = at(5)
		require.NoError(t, s.UpdateSubject(ctx, upd))
		got, err := s.GetSubject(ctx, sub.ID)
		require.NoError(t, err)
		want := upd
		want.Identifier, want.CreatedAt = sub.Identifier, sub.CreatedAt
		requireSubject(t, want, got, "UpdateSubject must keep Identifier and CreatedAt and replace the rest")
		_, err = s.GetSubjectByIdentifier(ctx, ident("mallory"))
		require.ErrorIs(t, err, verification.ErrNotFound, "UpdateSubject must not change the identifier lookup")
		got, err = s.GetSubjectByIdentifier(ctx, sub.Identifier)
		require.NoError(t, err)
		requireSubject(t, want, got, "GetSubjectByIdentifier after UpdateSubject")
	})

	test(t, newStore, "UpdateUnknownIsNotFound", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		ghost := verification.Subject{ID: sub.ID + 1000, Identifier: ident("ghost"), CreatedAt: at(0), UpdatedAt: at(0)}
		require.ErrorIs(t, s.UpdateSubject(ctx, ghost), verification.ErrNotFound, "UpdateSubject of an unknown ID")
		_, err := s.GetSubject(ctx, ghost.ID)
		require.ErrorIs(t, err, verification.ErrNotFound, "UpdateSubject of an unknown ID must not create it")
		_, err = s.GetSubjectByIdentifier(ctx, ghost.Identifier)
		require.ErrorIs(t, err, verification.ErrNotFound, "UpdateSubject of an unknown ID must not create it")
	})

	test(t, newStore, "ReturnsCopies", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		tags := []string{"eu", "vip"}
		sub := verification.Subject{Identifier: ident("alice"), Tags: tags, CreatedAt: at(0), UpdatedAt: at(0)}
		require.NoError(t, s.CreateSubject(ctx, &sub))
		tags[0] = "changed-after-create"
		got, err := s.GetSubject(ctx, sub.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"eu", "vip"}, got.Tags, "the store must not keep the caller's Tags slice")

		got.Tags[1] = "changed-after-get"
		again, err := s.GetSubject(ctx, sub.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"eu", "vip"}, again.Tags, "GetSubject must return a copy of Tags")

		upd := again
		upd.Tags = []string{"uk"}
		require.NoError(t, s.UpdateSubject(ctx, upd))
		upd.Tags[0] = "changed-after-update"
		got, err = s.GetSubjectByIdentifier(ctx, sub.Identifier)
		require.NoError(t, err)
		require.Equal(t, []string{"uk"}, got.Tags, "UpdateSubject must not keep the caller's Tags slice")
	})

	test(t, newStore, "LockSubject", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice", "eu")
		err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			got, err := tx.LockSubject(ctx, sub.ID)
			require.NoError(t, err, "LockSubject inside a transaction")
			requireSubject(t, sub, got, "LockSubject inside a transaction")
			_, err = tx.LockSubject(ctx, sub.ID+1000)
			require.ErrorIs(t, err, verification.ErrNotFound, "LockSubject of an unknown ID inside a transaction")
			return nil
		})
		require.NoError(t, err)
	})

	test(t, newStore, "Isolation", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice", "eu")
		bob := newSubject(t, s, "bob", "us")
		upd := alice
		upd.Tags = []string{"uk"}
		upd.Level = 5
		upd.DeletedAt = at(3)
		upd.UpdatedAt = at(3)
		require.NoError(t, s.UpdateSubject(ctx, upd))
		got, err := s.GetSubject(ctx, bob.ID)
		require.NoError(t, err)
		requireSubject(t, bob, got, "updating one subject must not change another")
		got, err = s.GetSubjectByIdentifier(ctx, bob.Identifier)
		require.NoError(t, err)
		requireSubject(t, bob, got, "updating one subject must not change another")
	})

	test(t, newStore, "CancelledContext", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		dead := cancelledContext(t)

		created := verification.Subject{Identifier: ident("bob"), CreatedAt: at(0), UpdatedAt: at(0)}
		require.ErrorIs(t, s.CreateSubject(dead, &created), context.Canceled, "CreateSubject with a cancelled context")
		_, err := s.GetSubjectByIdentifier(ctx, created.Identifier)
		require.ErrorIs(t, err, verification.ErrNotFound, "CreateSubject with a cancelled context must not write")

		upd := sub
		upd.Level = 9
		require.ErrorIs(t, s.UpdateSubject(dead, upd), context.Canceled, "UpdateSubject with a cancelled context")
		got, err := s.GetSubject(ctx, sub.ID)
		require.NoError(t, err)
		requireSubject(t, sub, got, "UpdateSubject with a cancelled context must not write")

		_, err = s.GetSubject(dead, sub.ID)
		require.ErrorIs(t, err, context.Canceled, "GetSubject with a cancelled context")
		_, err = s.GetSubjectByIdentifier(dead, sub.Identifier)
		require.ErrorIs(t, err, context.Canceled, "GetSubjectByIdentifier with a cancelled context")
		_, err = s.LockSubject(dead, sub.ID)
		require.ErrorIs(t, err, context.Canceled, "LockSubject with a cancelled context")
	})
}
