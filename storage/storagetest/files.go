package storagetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// RunFiles checks verification.FileStore.
func RunFiles(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "CreateGetRoundTrip", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		want := []verification.File{
			newFile(sub.ID, "file-1", "passport", "front", levels.Pending, 0, 0),
			{
				ID: "file-2", SubjectID: sub.ID, BlobKey: "blobs/ab/cd/file-2", ContentType: "application/pdf",
				Size: 5_000_000_000, SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
				DocumentType: "id_card", Side: "back", Status: levels.Rejected, Reason: "glare",
				CreatedAt: at(1), DecidedAt: at(2),
			},
		}
		for _, f := range want {
			require.NoError(t, s.CreateFile(ctx, f), "CreateFile(%s)", f.ID)
		}
		for _, w := range want {
			got, err := s.GetFile(ctx, w.ID)
			require.NoError(t, err, "GetFile(%s)", w.ID)
			require.Equal(t, w, got, "GetFile(%s): the file read back differs from the one written (Size is an int64; times UTC, microseconds)", w.ID)
		}
		got, err := s.GetFile(ctx, "file-1")
		require.NoError(t, err)
		require.True(t, got.DecidedAt.IsZero(), "an unset DecidedAt must come back as the zero time.Time, got %v", got.DecidedAt)
	})

	test(t, newStore, "DuplicateIDConflicts", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		first := newFile(alice.ID, "file-1", "passport", "front", levels.Pending, 0, 0)
		require.NoError(t, s.CreateFile(ctx, first))
		dup := newFile(bob.ID, "file-1", "id_card", "back", levels.Approved, 1, 2)
		require.ErrorIs(t, s.CreateFile(ctx, dup), verification.ErrConflict, "CreateFile with an ID already used (by any subject) must fail with ErrConflict")
		got, err := s.GetFile(ctx, "file-1")
		require.NoError(t, err)
		require.Equal(t, first, got, "a conflicting CreateFile must not change the existing file")
		list, err := s.ListFiles(ctx, verification.FileFilter{SubjectID: bob.ID})
		require.NoError(t, err)
		require.Empty(t, list, "a conflicting CreateFile must not insert anything")
	})

	test(t, newStore, "NotFound", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		f := newFile(sub.ID, "file-1", "passport", "front", levels.Pending, 0, 0)
		require.NoError(t, s.CreateFile(ctx, f))
		for _, id := range []string{"file-2", "FILE-1", "file-", ""} {
			_, err := s.GetFile(ctx, id)
			require.ErrorIs(t, err, verification.ErrNotFound, "GetFile(%q)", id)
			ghost := f
			ghost.ID = id
			require.ErrorIs(t, s.UpdateFile(ctx, ghost), verification.ErrNotFound, "UpdateFile(%q)", id)
			require.ErrorIs(t, s.DeleteFile(ctx, id), verification.ErrNotFound, "DeleteFile(%q)", id)
		}
		list, err := s.ListFiles(ctx, verification.FileFilter{})
		require.NoError(t, err)
		require.Equal(t, []string{"file-1"}, fileIDs(list), "UpdateFile of an unknown ID must not create it")
	})

	test(t, newStore, "UpdateReplacesFields", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		f := newFile(alice.ID, "file-1", "passport", "front", levels.Pending, 0, 0)
		require.NoError(t, s.CreateFile(ctx, f))
		upd := verification.File{
			ID: "file-1",
			// These two must be ignored.
			SubjectID: bob.ID, CreatedAt: at(99),
			BlobKey: "", ContentType: "image/png", Size: 1, SHA256: "00",
			DocumentType: "driving_license", Side: "back", Status: levels.Approved, Reason: "fine", DecidedAt: at(5),
		}
		require.NoError(t, s.UpdateFile(ctx, upd))
		want := upd
		want.SubjectID, want.CreatedAt = f.SubjectID, f.CreatedAt
		got, err := s.GetFile(ctx, "file-1")
		require.NoError(t, err)
		require.Equal(t, want, got, "UpdateFile must replace every field but ID, SubjectID and CreatedAt")
		list, err := s.ListFiles(ctx, verification.FileFilter{SubjectID: bob.ID})
		require.NoError(t, err)
		require.Empty(t, list, "UpdateFile must not move the file to another subject")

		require.NoError(t, s.UpdateFile(ctx, f))
		got, err = s.GetFile(ctx, "file-1")
		require.NoError(t, err)
		require.True(t, got.DecidedAt.IsZero(), "UpdateFile with a zero DecidedAt must clear it, got %v", got.DecidedAt)
		require.Equal(t, f, got, "UpdateFile back to the original values")
	})

	test(t, newStore, "Delete", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		f1 := newFile(sub.ID, "file-1", "passport", "front", levels.Pending, 0, 0)
		f2 := newFile(sub.ID, "file-2", "passport", "back", levels.Pending, 1, 0)
		require.NoError(t, s.CreateFile(ctx, f1))
		require.NoError(t, s.CreateFile(ctx, f2))
		require.NoError(t, s.DeleteFile(ctx, "file-1"))
		_, err := s.GetFile(ctx, "file-1")
		require.ErrorIs(t, err, verification.ErrNotFound, "GetFile of a deleted file")
		require.ErrorIs(t, s.DeleteFile(ctx, "file-1"), verification.ErrNotFound, "DeleteFile of a deleted file")
		require.ErrorIs(t, s.UpdateFile(ctx, f1), verification.ErrNotFound, "UpdateFile of a deleted file")
		list, err := s.ListFiles(ctx, verification.FileFilter{SubjectID: sub.ID})
		require.NoError(t, err)
		require.Equal(t, []string{"file-2"}, fileIDs(list), "ListFiles after DeleteFile")
		got, err := s.GetFile(ctx, "file-2")
		require.NoError(t, err)
		require.Equal(t, f2, got, "DeleteFile must not touch other files")
	})

	test(t, newStore, "ReturnsCopies", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		f := newFile(sub.ID, "file-1", "passport", "front", levels.Pending, 0, 0)
		require.NoError(t, s.CreateFile(ctx, f))
		list, err := s.ListFiles(ctx, verification.FileFilter{})
		require.NoError(t, err)
		require.Len(t, list, 1)
		list[0].Status = levels.Approved
		got, err := s.GetFile(ctx, "file-1")
		require.NoError(t, err)
		require.Equal(t, f, got, "ListFiles must return copies")
	})

	test(t, newStore, "List", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		// Created out of order; three share CreatedAt at(2) so that ID breaks the tie.
		files := []verification.File{
			newFile(alice.ID, "f-c", "passport", "front", levels.Pending, 2, 0),
			newFile(alice.ID, "f-a", "passport", "back", levels.Approved, 2, 10),
			newFile(alice.ID, "f-b", "id_card", "front", levels.Rejected, 1, 20),
			newFile(bob.ID, "f-e", "passport", "front", levels.Approved, 3, 5),
			newFile(alice.ID, "f-d", "selfie", "face", levels.Pending, 2, 0),
			newFile(bob.ID, "f-f", "passport", "back", levels.Rejected, 0, 30),
		}
		for _, f := range files {
			require.NoError(t, s.CreateFile(ctx, f))
		}
		byID := map[string]verification.File{}
		for _, f := range files {
			byID[f.ID] = f
		}
		for _, c := range []struct {
			f    verification.FileFilter
			desc string
			want []string
		}{
			{verification.FileFilter{}, "no filter", []string{"f-f", "f-b", "f-a", "f-c", "f-d", "f-e"}},
			{verification.FileFilter{SubjectID: alice.ID}, "alice", []string{"f-b", "f-a", "f-c", "f-d"}},
			{verification.FileFilter{SubjectID: bob.ID}, "bob", []string{"f-f", "f-e"}},
			{verification.FileFilter{SubjectID: bob.ID + 1000}, "unknown subject", []string{}},
			{verification.FileFilter{DocumentType: "passport"}, "passport", []string{"f-f", "f-a", "f-c", "f-e"}},
			{verification.FileFilter{DocumentType: "Passport"}, "Passport (exact match)", []string{}},
			{verification.FileFilter{Side: "front"}, "front", []string{"f-b", "f-c", "f-e"}},
			{verification.FileFilter{Status: levels.Approved}, "approved", []string{"f-a", "f-e"}},
			{verification.FileFilter{Status: levels.Pending}, "pending", []string{"f-c", "f-d"}},
			{verification.FileFilter{DecidedBefore: at(20)}, "decided before base+20m (strict; undecided never match)", []string{"f-a", "f-e"}},
			{verification.FileFilter{DecidedBefore: at(21)}, "decided before base+21m", []string{"f-b", "f-a", "f-e"}},
			{verification.FileFilter{DecidedBefore: at(1000)}, "decided before base+1000m (undecided never match)", []string{"f-f", "f-b", "f-a", "f-e"}},
			{verification.FileFilter{DecidedBefore: at(5)}, "decided before base+5m", []string{}},
			{verification.FileFilter{SubjectID: alice.ID, DocumentType: "passport", Side: "back"}, "alice, passport, back", []string{"f-a"}},
			{verification.FileFilter{SubjectID: alice.ID, Status: levels.Pending, Side: "face"}, "alice, pending, face", []string{"f-d"}},
			{verification.FileFilter{Status: levels.Rejected, DecidedBefore: at(25)}, "rejected, decided before base+25m", []string{"f-b"}},
			{verification.FileFilter{SubjectID: bob.ID, DocumentType: "id_card"}, "bob, id_card", []string{}},
			{verification.FileFilter{BlobKeys: []string{"blobs/f-e", "blobs/f-b", "blobs/nope"}}, "two blob keys and an unknown one", []string{"f-b", "f-e"}},
			{verification.FileFilter{BlobKeys: []string{"blobs/F-E", "f-e", "blobs/f-"}}, "blob keys match exactly", []string{}},
			{verification.FileFilter{BlobKeys: []string{}}, "an empty non-nil BlobKeys matches nothing", []string{}},
			{verification.FileFilter{BlobKeys: []string{"blobs/f-a", "blobs/f-e"}, SubjectID: bob.ID}, "blob keys and bob", []string{"f-e"}},
		} {
			got, err := s.ListFiles(ctx, c.f)
			require.NoError(t, err, "ListFiles(%s)", c.desc)
			require.Equal(t, c.want, fileIDs(got), "ListFiles(%s): the IDs, ordered by CreatedAt then ID", c.desc)
			for _, g := range got {
				require.Equal(t, byID[g.ID], g, "ListFiles(%s): file %s", c.desc, g.ID)
			}
		}
	})

	test(t, newStore, "CancelledContext", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		f := newFile(sub.ID, "file-1", "passport", "front", levels.Pending, 0, 0)
		require.NoError(t, s.CreateFile(ctx, f))
		dead := cancelledContext(t)

		require.ErrorIs(t, s.CreateFile(dead, newFile(sub.ID, "file-2", "passport", "back", levels.Pending, 0, 0)), context.Canceled, "CreateFile with a cancelled context")
		_, err := s.GetFile(ctx, "file-2")
		require.ErrorIs(t, err, verification.ErrNotFound, "CreateFile with a cancelled context must not write")

		upd := f
		upd.Status = levels.Approved
		require.ErrorIs(t, s.UpdateFile(dead, upd), context.Canceled, "UpdateFile with a cancelled context")
		require.ErrorIs(t, s.DeleteFile(dead, f.ID), context.Canceled, "DeleteFile with a cancelled context")
		got, err := s.GetFile(ctx, f.ID)
		require.NoError(t, err, "DeleteFile with a cancelled context must not delete")
		require.Equal(t, f, got, "UpdateFile with a cancelled context must not write")

		_, err = s.GetFile(dead, f.ID)
		require.ErrorIs(t, err, context.Canceled, "GetFile with a cancelled context")
		_, err = s.ListFiles(dead, verification.FileFilter{})
		require.ErrorIs(t, err, context.Canceled, "ListFiles with a cancelled context")
	})
}

// newFile returns a file created at base+created minutes and, unless decided
// is 0, decided at base+decided minutes.
func newFile(subjectID int64, id, docType, side string, status levels.Status, created, decided int) verification.File {
	f := verification.File{
		ID: id, SubjectID: subjectID, BlobKey: "blobs/" + id, ContentType: "image/jpeg",
		Size: int64(1000 + len(id)), SHA256: fmt.Sprintf("%064x", len(id)),
		DocumentType: docType, Side: side, Status: status, CreatedAt: at(created),
	}
	if decided != 0 {
		f.DecidedAt = at(decided)
	}
	return f
}
