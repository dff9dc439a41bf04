package storagetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// RunIDSessions checks verification.IDSessionStore.
func RunIDSessions(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "AddListRoundTrip", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		want := verification.IDSession{
			ID: "sess-1", SubjectID: sub.ID, Provider: "veriff", Status: "approved", CreatedAt: at(1),
			FrontFileID: "file-front", BackFileID: "", FaceFileID: "file-face",
		}
		require.NoError(t, s.AddIDSession(ctx, want))
		got, err := s.ListIDSessions(ctx, sub.ID)
		require.NoError(t, err)
		require.Equal(t, []verification.IDSession{want}, got, "ListIDSessions must return the session as written (empty BackFileID included)")
	})

	test(t, newStore, "DuplicateIDConflicts", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		first := newSession(alice.ID, "sess-1", 1)
		require.NoError(t, s.AddIDSession(ctx, first))
		dup := newSession(bob.ID, "sess-1", 2)
		dup.Provider = "manual"
		require.ErrorIs(t, s.AddIDSession(ctx, dup), verification.ErrConflict, "AddIDSession with an ID already used (by any subject) must fail with ErrConflict")
		got, err := s.ListIDSessions(ctx, alice.ID)
		require.NoError(t, err)
		require.Equal(t, []verification.IDSession{first}, got, "a conflicting AddIDSession must not change the existing session")
		got, err = s.ListIDSessions(ctx, bob.ID)
		require.NoError(t, err)
		require.Empty(t, got, "a conflicting AddIDSession must not insert anything")
	})

	test(t, newStore, "ListNewestFirst", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		// The ties at base+3m are inserted s6, s4, s8: neither ID order matches
		// insertion order, so a store breaking ties by ID fails.
		for _, x := range []struct {
			id      string
			created int
		}{{"s9", 1}, {"s6", 3}, {"s7", 2}, {"s4", 3}, {"s5", 0}, {"s8", 3}} {
			require.NoError(t, s.AddIDSession(ctx, newSession(sub.ID, x.id, x.created)))
		}
		got, err := s.ListIDSessions(ctx, sub.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"s8", "s4", "s6", "s7", "s9", "s5"}, sessionIDs(got),
			"ListIDSessions must list newest CreatedAt first, and among equal CreatedAt the last inserted first")
	})

	test(t, newStore, "Update", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		first := newSession(alice.ID, "sess-1", 1)
		second := newSession(alice.ID, "sess-2", 2)
		require.NoError(t, s.AddIDSession(ctx, first))
		require.NoError(t, s.AddIDSession(ctx, second))

		upd := verification.IDSession{
			ID: "sess-1",
			// SubjectID must be ignored.
			SubjectID: bob.ID,
			Provider:  "manual", Status: "declined", CreatedAt: at(3),
			FrontFileID: "f-front-2", BackFileID: "f-back-2", FaceFileID: "",
		}
		require.NoError(t, s.UpdateIDSession(ctx, upd))
		want := upd
		want.SubjectID = alice.ID
		got, err := s.ListIDSessions(ctx, alice.ID)
		require.NoError(t, err)
		require.Equal(t, []verification.IDSession{want, second}, got,
			"UpdateIDSession must replace every field but ID and SubjectID (CreatedAt included, which reorders the list)")
		got, err = s.ListIDSessions(ctx, bob.ID)
		require.NoError(t, err)
		require.Empty(t, got, "UpdateIDSession must not move the session to another subject")

		ghost := newSession(alice.ID, "sess-3", 4)
		require.ErrorIs(t, s.UpdateIDSession(ctx, ghost), verification.ErrNotFound, "UpdateIDSession of an unknown ID")
		got, err = s.ListIDSessions(ctx, alice.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"sess-1", "sess-2"}, sessionIDs(got), "UpdateIDSession of an unknown ID must not create it")
	})

	test(t, newStore, "Isolation", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		a1, b1, a2 := newSession(alice.ID, "a1", 1), newSession(bob.ID, "b1", 2), newSession(alice.ID, "a2", 3)
		for _, x := range []verification.IDSession{a1, b1, a2} {
			require.NoError(t, s.AddIDSession(ctx, x))
		}
		got, err := s.ListIDSessions(ctx, alice.ID)
		require.NoError(t, err)
		require.Equal(t, []verification.IDSession{a2, a1}, got, "ListIDSessions must list only the subject's sessions")
		got, err = s.ListIDSessions(ctx, bob.ID)
		require.NoError(t, err)
		require.Equal(t, []verification.IDSession{b1}, got, "ListIDSessions must list only the subject's sessions")
		got, err = s.ListIDSessions(ctx, bob.ID+1000)
		require.NoError(t, err, "ListIDSessions of an unknown subject is empty, not an error")
		require.Empty(t, got)
	})

	test(t, newStore, "CancelledContext", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		sess := newSession(sub.ID, "sess-1", 1)
		require.NoError(t, s.AddIDSession(ctx, sess))
		dead := cancelledContext(t)
		require.ErrorIs(t, s.AddIDSession(dead, newSession(sub.ID, "sess-2", 2)), context.Canceled, "AddIDSession with a cancelled context")
		upd := sess
		upd.Status = "declined"
		require.ErrorIs(t, s.UpdateIDSession(dead, upd), context.Canceled, "UpdateIDSession with a cancelled context")
		got, err := s.ListIDSessions(ctx, sub.ID)
		require.NoError(t, err)
		require.Equal(t, []verification.IDSession{sess}, got, "AddIDSession and UpdateIDSession with a cancelled context must not write")
		_, err = s.ListIDSessions(dead, sub.ID)
		require.ErrorIs(t, err, context.Canceled, "ListIDSessions with a cancelled context")
	})
}

// newSession returns an approved veriff session created at base+created minutes.
func newSession(subjectID int64, id string, created int) verification.IDSession {
	return verification.IDSession{
		ID: id, SubjectID: subjectID, Provider: "veriff", Status: "approved", CreatedAt: at(created),
		FrontFileID: id + "-front", BackFileID: id + "-back", FaceFileID: id + "-face",
	}
}
