package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// RunMaintenance checks what erasure and the maintenance jobs need of a
// store: tombstones (BlobDeletionStore), RedactSubject, UpdateEventData,
// DeleteDelivered and FileFilter.CreatedBefore.
func RunMaintenance(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "BlobDeletions", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice, bob := newSubject(t, s, "alice"), newSubject(t, s, "bob")
		ds := []verification.BlobDeletion{
			{ID: "d-3", SubjectID: alice.ID, Key: "blobs/a2", CreatedAt: at(2)},
			{ID: "d-1", SubjectID: alice.ID, Key: "blobs/a1", CreatedAt: at(1)},
			{ID: "d-2", SubjectID: bob.ID, Key: "", CreatedAt: at(1)},
		}
		for _, d := range ds {
			require.NoError(t, s.AddBlobDeletion(ctx, d), "AddBlobDeletion(%s)", d.ID)
		}
		require.ErrorIs(t, s.AddBlobDeletion(ctx, ds[0]), verification.ErrConflict, "a used ID is ErrConflict")
		all, err := s.ListBlobDeletions(ctx, verification.BlobDeletionFilter{})
		require.NoError(t, err)
		require.Equal(t, []verification.BlobDeletion{ds[1], ds[2], ds[0]}, all, "ordered by CreatedAt then ID, read back exactly")
		mine, err := s.ListBlobDeletions(ctx, verification.BlobDeletionFilter{SubjectID: alice.ID, Limit: 1})
		require.NoError(t, err)
		require.Equal(t, []verification.BlobDeletion{ds[1]}, mine, "SubjectID filters, Limit caps")
		require.NoError(t, s.DeleteBlobDeletion(ctx, "d-1"))
		require.NoError(t, s.DeleteBlobDeletion(ctx, "d-1"), "deleting an absent tombstone is not an error")
		// Rolled back with its transaction.
		boom := errors.New("boom")
		err = s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			if err := tx.AddBlobDeletion(ctx, verification.BlobDeletion{ID: "d-9", SubjectID: bob.ID, Key: "k", CreatedAt: at(9)}); err != nil {
				return err
			}
			if err := tx.DeleteBlobDeletion(ctx, "d-2"); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		all, err = s.ListBlobDeletions(ctx, verification.BlobDeletionFilter{})
		require.NoError(t, err)
		require.Equal(t, []verification.BlobDeletion{ds[2], ds[0]}, all, "a rolled-back transaction changes no tombstone")
		_, err = s.ListBlobDeletions(cancelledContext(t), verification.BlobDeletionFilter{})
		require.ErrorIs(t, err, context.Canceled)
	})

	test(t, newStore, "RedactSubject", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice, bob := newSubject(t, s, "alice"), newSubject(t, s, "bob")
		seed := func(sub verification.Subject, reason string) {
			t.Helper()
			require.NoError(t, s.AddReview(ctx, &verification.Review{SubjectID: sub.ID, Requirement: "fullName", Decision: verification.Reject, Reason: reason, CreatedAt: at(1)}))
			require.NoError(t, s.AddReview(ctx, &verification.Review{SubjectID: sub.ID, Requirement: "fullName", Decision: verification.Approve, Reason: "Application: 7", CreatedAt: at(2)}))
			g := verification.Grant{SubjectID: sub.ID, Level: verification.LevelRef{ID: 1, Name: levelName(1)}, Reason: reason, AdminID: 3, CreatedAt: at(3)}
			require.NoError(t, s.AddGrant(ctx, &g))
			require.NoError(t, s.PutRequirementState(ctx, verification.RequirementState{SubjectID: sub.ID, Name: "fullName", Status: levels.Rejected, Reason: reason, UpdatedAt: at(1)}))
			a := verification.Application{UUID: uuid(int(sub.ID)), SubjectID: sub.ID, Level: 2, Status: verification.ApplicationRejected, Reason: reason, CreatedAt: at(1)}
			require.NoError(t, s.CreateApplication(ctx, &a))
			f := newFile(sub.ID, "f-"+sub.Identifier[:5], "passport", "front", levels.Rejected, 1, 2)
			f.Reason = reason
			require.NoError(t, s.CreateFile(ctx, f))
		}
		seed(alice, "blurry photo of Alice Liddell")
		seed(bob, "blurry photo of Bob")
		digest := ident("erasedalice")
		require.NoError(t, s.RedactSubject(ctx, alice.ID, digest, []string{"Application: 7"}))

		got, err := s.GetSubject(ctx, alice.ID)
		require.NoError(t, err)
		require.Equal(t, digest, got.Identifier, "the identifier is replaced")
		_, err = s.GetSubjectByIdentifier(ctx, alice.Identifier)
		require.ErrorIs(t, err, verification.ErrNotFound, "the old identifier is gone")
		again := verification.Subject{Identifier: alice.Identifier, CreatedAt: at(5), UpdatedAt: at(5)}
		require.NoError(t, s.CreateSubject(ctx, &again), "the old identifier may onboard again")
		require.NotEqual(t, alice.ID, again.ID)

		check := func(sub verification.Subject, want string) {
			t.Helper()
			reviews, err := s.ListReviews(ctx, sub.ID)
			require.NoError(t, err)
			require.Len(t, reviews, 2)
			require.Equal(t, want, reviews[0].Reason, "review reason of subject %d", sub.ID)
			require.Equal(t, "Application: 7", reviews[1].Reason, "a kept reason stays")
			require.Equal(t, verification.Reject, reviews[0].Decision, "the decision stays")
			grants, err := s.ListGrants(ctx, verification.GrantFilter{SubjectID: sub.ID, Limit: 10})
			require.NoError(t, err)
			require.Len(t, grants.Items, 1)
			require.Equal(t, want, grants.Items[0].Reason, "grant reason")
			require.Equal(t, int64(3), grants.Items[0].AdminID, "the grant's facts stay")
			st, err := s.GetRequirementState(ctx, sub.ID, "fullName")
			require.NoError(t, err)
			require.Equal(t, want, st.Reason, "state reason")
			apps, err := s.ListApplications(ctx, verification.ApplicationFilter{SubjectID: sub.ID, Limit: 10})
			require.NoError(t, err)
			require.Len(t, apps.Items, 1)
			require.Equal(t, want, apps.Items[0].Reason, "application reason")
			files, err := s.ListFiles(ctx, verification.FileFilter{SubjectID: sub.ID})
			require.NoError(t, err)
			require.Len(t, files, 1)
			require.Equal(t, want, files[0].Reason, "file reason")
		}
		check(alice, "")
		check(bob, "blurry photo of Bob")

		require.ErrorIs(t, s.RedactSubject(ctx, bob.ID, alice.Identifier, nil), verification.ErrConflict, "an identifier in use is ErrConflict")
		require.ErrorIs(t, s.RedactSubject(ctx, 987654, ident("erasednobody"), nil), verification.ErrNotFound)
	})

	test(t, newStore, "UpdateEventData", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		e1, e2 := newEvent(alice.ID, "ev-1", 1), newEvent(alice.ID, "ev-2", 2)
		require.NoError(t, s.AddEvent(ctx, &e1))
		require.NoError(t, s.AddEvent(ctx, &e2))
		require.NoError(t, s.UpdateEventData(ctx, "ev-1", json.RawMessage(`{"reason": ""}`)))
		evs, err := s.ListEvents(ctx, verification.EventFilter{SubjectID: alice.ID})
		require.NoError(t, err)
		require.Len(t, evs, 2)
		requireJSON(t, json.RawMessage(`{"reason": ""}`), evs[0].Data, "the updated event")
		require.Equal(t, e1.Seq, evs[0].Seq, "the Seq stays")
		requireJSON(t, e2.Data, evs[1].Data, "the other event")
		require.ErrorIs(t, s.UpdateEventData(ctx, "ev-404", json.RawMessage(`{}`)), verification.ErrNotFound)
	})

	test(t, newStore, "DeleteDelivered", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		ob := requireOutbox(t, s)
		require.NoError(t, ob.RegisterSink(ctx, "crm"))
		alice, bob := newSubject(t, s, "alice"), newSubject(t, s, "bob")
		addOutboxEvent(t, s, alice.ID, "ev-1", 1)
		addOutboxEvent(t, s, bob.ID, "ev-2", 1)
		addOutboxEvent(t, s, alice.ID, "ev-3", 2)
		claimed, err := ob.ClaimDeliveries(ctx, at(10), at(11), 10)
		require.NoError(t, err)
		require.Len(t, claimed, 2, "ev-1 and ev-2 (ev-3 waits for ev-1)")
		markDelivered(t, ob, claimed[0], at(10)) // ev-1
		markDelivered(t, ob, claimed[1], at(20)) // ev-2
		// ev-3 stays pending.

		n, err := ob.DeleteDelivered(ctx, at(10), 10)
		require.NoError(t, err)
		require.Zero(t, n, "strictly before")
		n, err = ob.DeleteDelivered(ctx, at(30), 1)
		require.NoError(t, err)
		require.Equal(t, 1, n, "limit caps")
		n, err = ob.DeleteDelivered(ctx, at(30), 10)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		page, err := ob.ListDeliveries(ctx, verification.DeliveryFilter{Limit: 10})
		require.NoError(t, err)
		require.Equal(t, []string{"ev-3/crm"}, deliveryKeys(page.Items), "the pending delivery stays")
		evs, err := s.ListEvents(ctx, verification.EventFilter{})
		require.NoError(t, err)
		require.Len(t, evs, 3, "the events stay")
		n, err = ob.DeleteDelivered(ctx, at(30), 0)
		require.NoError(t, err)
		require.Zero(t, n)
	})

	test(t, newStore, "FilesCreatedBefore", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		for _, f := range []verification.File{
			newFile(alice.ID, "f-1", "passport", "front", levels.Missing, 1, 0),
			newFile(alice.ID, "f-2", "passport", "back", levels.Missing, 5, 0),
			newFile(alice.ID, "f-3", "passport", "front", levels.Pending, 1, 0),
		} {
			require.NoError(t, s.CreateFile(ctx, f))
		}
		got, err := s.ListFiles(ctx, verification.FileFilter{Status: levels.Missing, CreatedBefore: at(5)})
		require.NoError(t, err)
		require.Equal(t, []string{"f-1"}, fileIDs(got), "strictly before, with the other filters")
		got, err = s.ListFiles(ctx, verification.FileFilter{CreatedBefore: at(6)})
		require.NoError(t, err)
		require.Equal(t, []string{"f-1", "f-3", "f-2"}, fileIDs(got))
	})
}
