package storagetest

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// RunReads checks verification.ReadStore: the one-statement reads of the
// read routes agree with the general reads they replace.
func RunReads(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "GetSubjectStatuses", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		_, err := s.GetSubjectStatuses(ctx, 1<<40)
		require.ErrorIs(t, err, verification.ErrNotFound, "GetSubjectStatuses of an unknown subject")

		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		got, err := s.GetSubjectStatuses(ctx, alice.ID)
		require.NoError(t, err)
		require.Equal(t, verification.SubjectStatuses{ID: alice.ID, States: levels.States{}}, got,
			"a subject without states: its ID, level 0, live, and a non-nil empty States")
		require.NotNil(t, got.States, "States must be non-nil for a subject without states")

		states := map[string]levels.Status{
			"email": levels.Approved, "idDocument": levels.Pending, "phone": levels.Rejected, "selfie": levels.Missing,
			// Names a store might take for separators or multi-byte text.
			"12:a,b=c;pp": levels.Approved, "größe ünd ß": levels.Pending, `quo"te'|x`: levels.Rejected,
		}
		final := []string{"phone", `quo"te'|x`}
		for name, st := range states {
			require.NoError(t, s.PutRequirementState(ctx, verification.RequirementState{
				SubjectID: alice.ID, Name: name, Status: st, Answer: []byte(`"x"`), Reason: "r", Attempts: 1, UpdatedAt: at(1),
				Final: slices.Contains(final, name),
			}))
		}
		require.NoError(t, s.PutRequirementState(ctx, verification.RequirementState{SubjectID: bob.ID, Name: "email", Status: levels.Rejected, UpdatedAt: at(1)}))
		alice.Level, alice.UpdatedAt = 2, at(2)
		require.NoError(t, s.UpdateSubject(ctx, alice))
		got, err = s.GetSubjectStatuses(ctx, alice.ID)
		require.NoError(t, err)
		require.ElementsMatch(t, final, got.Final, "Final names the states marked final")
		got.Final = nil
		require.Equal(t, verification.SubjectStatuses{ID: alice.ID, Level: 2, States: levels.States(states)}, got,
			"the subject's level and exactly its own states' statuses")

		requireProgress(t, s, alice.ID)
		require.NoError(t, s.CreateApplication(ctx, &verification.Application{UUID: uuid(9), SubjectID: alice.ID, Level: 2,
			Status: verification.ApplicationDraft, CreatedAt: at(2), ExpiresAt: at(60)}))
		requireProgress(t, s, alice.ID)
		_, err = s.GetSubjectProgress(ctx, 1<<40)
		require.ErrorIs(t, err, verification.ErrNotFound, "GetSubjectProgress of an unknown subject")
		_, err = s.GetSubjectProgressByIdentifier(ctx, "nobody-has-this-identifier")
		require.ErrorIs(t, err, verification.ErrNotFound, "GetSubjectProgressByIdentifier of an unknown identifier")
		_, err = s.GetSubjectProgressByIdentifier(cancelledContext(t), "alice")
		require.Error(t, err, "GetSubjectProgressByIdentifier with a cancelled context")

		list, err := s.ListRequirementStates(ctx, alice.ID)
		require.NoError(t, err)
		fromList := levels.States{}
		for _, st := range list {
			fromList[st.Name] = st.Status
		}
		require.Equal(t, fromList, got.States, "GetSubjectStatuses must agree with ListRequirementStates")

		bob.DeletedAt, bob.RedactedAt, bob.UpdatedAt = at(3), at(3), at(3)
		require.NoError(t, s.UpdateSubject(ctx, bob))
		requireProgress(t, s, bob.ID) // deleted: by ID and by identifier alike
		got, err = s.GetSubjectStatuses(ctx, bob.ID)
		require.NoError(t, err, "a deleted subject is returned, not ErrNotFound")
		require.Equal(t, verification.SubjectStatuses{ID: bob.ID, Deleted: true, Redacted: true, States: levels.States{"email": levels.Rejected}}, got)

		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			require.NoError(t, tx.PutRequirementState(ctx, verification.RequirementState{SubjectID: alice.ID, Name: "selfie", Status: levels.Approved, UpdatedAt: at(4)}))
			in, err := tx.GetSubjectStatuses(ctx, alice.ID)
			require.NoError(t, err)
			require.Equal(t, levels.Approved, in.States["selfie"], "inside InTx, GetSubjectStatuses sees the transaction's own writes")
			return nil
		}))

		_, err = s.GetSubjectStatuses(cancelledContext(t), alice.ID)
		require.Error(t, err, "GetSubjectStatuses with a cancelled context")
	})

	test(t, newStore, "OpenApplications", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice", "eu")
		bob := newSubject(t, s, "bob")
		carol := newSubject(t, s, "carol", "eu", "us")
		got, err := s.ListOpenApplications(ctx, alice.ID)
		require.NoError(t, err)
		require.Empty(t, got, "no applications: empty, not an error")

		apps := []verification.Application{
			{UUID: uuid(1), SubjectID: alice.ID, Level: 1, Status: verification.ApplicationApproved, CreatedAt: at(0), ExpiresAt: at(60), DecidedAt: at(5), DecidedBy: 3},
			{UUID: uuid(2), SubjectID: alice.ID, Level: 2, Status: verification.ApplicationSubmitted, CreatedAt: at(1), ExpiresAt: at(61), SubmittedAt: at(2),
				Steps: []verification.Step{{Requirement: "idDocument", DocumentType: 1, Files: []string{"f1", "f2"}, At: at(2)}}},
			{UUID: uuid(3), SubjectID: bob.ID, Level: 1, Status: verification.ApplicationDraft, CreatedAt: at(2), ExpiresAt: at(62)},
			{UUID: uuid(4), SubjectID: alice.ID, Level: 2, Status: verification.ApplicationExpired, CreatedAt: at(3), ExpiresAt: at(63)},
			{UUID: uuid(5), SubjectID: alice.ID, Level: 3, Status: verification.ApplicationDraft, CreatedAt: at(4), ExpiresAt: at(64)},
			{UUID: uuid(6), SubjectID: alice.ID, Level: 3, Status: verification.ApplicationRejected, CreatedAt: at(5), ExpiresAt: at(65), DecidedAt: at(6)},
		}
		for i := range apps {
			require.NoError(t, s.CreateApplication(ctx, &apps[i]))
		}
		got, err = s.ListOpenApplications(ctx, alice.ID)
		require.NoError(t, err)
		require.Len(t, got, 2, "alice's draft and submitted applications only")
		requireApp(t, apps[4], got[0], "ListOpenApplications, newest first: the draft")
		requireApp(t, apps[1], got[1], "ListOpenApplications, then the submitted one")

		page, err := s.ListApplications(ctx, verification.ApplicationFilter{
			SubjectID: alice.ID, Statuses: []verification.ApplicationStatus{verification.ApplicationDraft, verification.ApplicationSubmitted},
			Limit: verification.MaxPageSize, Desc: true,
		})
		require.NoError(t, err)
		require.Len(t, page.Items, len(got), "ListOpenApplications must agree with ListApplications")
		for i := range got {
			requireApp(t, page.Items[i], got[i], "ListOpenApplications vs ListApplications")
		}

		requireProgress(t, s, alice.ID)
		requireProgress(t, s, carol.ID)
		gotSub, withSub, err := s.GetOpenApplications(ctx, alice.ID)
		require.NoError(t, err)
		wantSub, err := s.GetSubject(ctx, alice.ID)
		require.NoError(t, err)
		requireSubject(t, wantSub, gotSub, "GetOpenApplications' subject")
		require.Len(t, withSub, len(got), "GetOpenApplications must agree with ListOpenApplications")
		for i := range got {
			requireApp(t, got[i], withSub[i], "GetOpenApplications vs ListOpenApplications")
		}
		gotSub, withSub, err = s.GetOpenApplications(ctx, carol.ID)
		require.NoError(t, err)
		require.Equal(t, carol.ID, gotSub.ID)
		require.Equal(t, carol.Tags, gotSub.Tags)
		require.NotNil(t, withSub, "a subject without open applications: empty, not nil")
		require.Empty(t, withSub)
		_, _, err = s.GetOpenApplications(ctx, 1<<40)
		require.ErrorIs(t, err, verification.ErrNotFound, "GetOpenApplications of an unknown subject")

		apps[4].Status = verification.ApplicationExpired
		require.NoError(t, s.UpdateApplication(ctx, apps[4]))
		got, err = s.ListOpenApplications(ctx, alice.ID)
		require.NoError(t, err)
		require.Len(t, got, 1, "an application that is no longer open drops out")
		require.Equal(t, apps[1].ID, got[0].ID)

		_, err = s.ListOpenApplications(cancelledContext(t), alice.ID)
		require.Error(t, err, "ListOpenApplications with a cancelled context")
	})

	test(t, newStore, "ListSubjectGrants", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		_, err := s.ListSubjectGrants(ctx, verification.GrantFilter{SubjectID: 1 << 40, Limit: 10})
		require.ErrorIs(t, err, verification.ErrNotFound, "ListSubjectGrants of an unknown subject")
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		got, err := s.ListSubjectGrants(ctx, verification.GrantFilter{SubjectID: alice.ID, Limit: 10})
		require.NoError(t, err)
		require.False(t, got.Deleted)
		require.Zero(t, got.Page.Total)
		require.Empty(t, got.Page.Items)
		for i := range 5 {
			addGrant(t, s, alice.ID, i, i+1, 2*i)
			addGrant(t, s, bob.ID, i, i+1, 2*i+1)
		}
		for _, desc := range []bool{false, true} {
			for _, limit := range []int{0, 1, 2, 10} {
				for _, offset := range []int{0, 1, 4, 5, 9} {
					f := verification.GrantFilter{SubjectID: alice.ID, Limit: limit, Offset: offset, Desc: desc}
					want, err := s.ListGrants(ctx, f)
					require.NoError(t, err)
					got, err := s.ListSubjectGrants(ctx, f)
					require.NoError(t, err)
					require.False(t, got.Deleted)
					require.Equal(t, want.Total, got.Page.Total, "total, %+v", f)
					require.Len(t, got.Page.Items, len(want.Items), "page, %+v", f)
					for i := range want.Items {
						require.Equal(t, want.Items[i], got.Page.Items[i], "ListSubjectGrants must agree with ListGrants, %+v", f)
					}
				}
			}
		}
		alice.DeletedAt, alice.UpdatedAt = at(20), at(20)
		require.NoError(t, s.UpdateSubject(ctx, alice))
		got, err = s.ListSubjectGrants(ctx, verification.GrantFilter{SubjectID: alice.ID, Limit: 2, Desc: true})
		require.NoError(t, err, "a deleted subject is returned with Deleted set, not ErrNotFound")
		require.True(t, got.Deleted)
		require.Equal(t, 5, got.Page.Total)
		_, err = s.ListSubjectGrants(cancelledContext(t), verification.GrantFilter{SubjectID: bob.ID, Limit: 2})
		require.Error(t, err, "ListSubjectGrants with a cancelled context")
	})

	test(t, newStore, "GetIDVerification", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		_, err := s.GetIDVerification(ctx, 1<<40)
		require.ErrorIs(t, err, verification.ErrNotFound, "GetIDVerification of an unknown subject")
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		got, err := s.GetIDVerification(ctx, alice.ID)
		require.NoError(t, err)
		require.Equal(t, verification.SubjectIDVerification{}, got, "no session: not found, nothing else set")

		erased := newFile(alice.ID, "file-erased", "passport", "front", levels.Approved, 1, 2)
		erased.BlobKey = ""
		for _, f := range []verification.File{
			newFile(alice.ID, "file-front", "passport", "front", levels.Approved, 1, 2),
			erased,
			newFile(bob.ID, "file-bobs", "selfie", "face", levels.Approved, 1, 2),
			newFile(alice.ID, "file-old", "passport", "front", levels.Approved, 1, 2),
		} {
			require.NoError(t, s.CreateFile(ctx, f))
		}
		sessions := []verification.IDSession{
			{ID: "sess-old", SubjectID: alice.ID, Provider: "manual", Status: verification.IDSessionApproved, CreatedAt: at(1), FrontFileID: "file-old"},
			{ID: "sess-tie-1", SubjectID: alice.ID, Provider: "manual", Status: verification.IDSessionApproved, CreatedAt: at(5), FrontFileID: "file-old"},
			{ID: "sess-new", SubjectID: alice.ID, Provider: "fake", Status: verification.IDSessionApproved, CreatedAt: at(5),
				FrontFileID: "file-front", BackFileID: "file-erased", FaceFileID: "file-bobs"},
			{ID: "sess-pending", SubjectID: alice.ID, Provider: "fake", Status: "pending", CreatedAt: at(9), FrontFileID: "file-front"},
			{ID: "sess-bob", SubjectID: bob.ID, Provider: "fake", Status: verification.IDSessionApproved, CreatedAt: at(10), FaceFileID: "file-bobs"},
		}
		for _, x := range sessions {
			require.NoError(t, s.AddIDSession(ctx, x))
		}
		got, err = s.GetIDVerification(ctx, alice.ID)
		require.NoError(t, err)
		require.True(t, got.Found)
		require.False(t, got.Deleted)
		require.Equal(t, sessions[2], got.Session, "the newest approved session, the later one of two with the same CreatedAt")
		require.True(t, got.Front, "a file of the subject with its bytes")
		require.False(t, got.Back, "an erased file (no BlobKey)")
		require.False(t, got.Face, "another subject's file")

		list, err := s.ListIDSessions(ctx, alice.ID)
		require.NoError(t, err)
		i := slices.IndexFunc(list, func(x verification.IDSession) bool { return x.Status == verification.IDSessionApproved })
		require.Equal(t, list[i], got.Session, "GetIDVerification must agree with ListIDSessions")

		got, err = s.GetIDVerification(ctx, bob.ID)
		require.NoError(t, err)
		require.Equal(t, sessions[4], got.Session)
		require.True(t, got.Face)
		require.False(t, got.Front, "no front file named")
		bob.DeletedAt, bob.UpdatedAt = at(20), at(20)
		require.NoError(t, s.UpdateSubject(ctx, bob))
		got, err = s.GetIDVerification(ctx, bob.ID)
		require.NoError(t, err)
		require.True(t, got.Deleted)
		_, err = s.GetIDVerification(cancelledContext(t), alice.ID)
		require.Error(t, err, "GetIDVerification with a cancelled context")
	})
}

// requireProgress checks GetSubjectProgress against GetSubjectStatuses and
// ListOpenApplications, and GetSubjectProgressByIdentifier against it.
func requireProgress(t *testing.T, s verification.Store, id int64) {
	t.Helper()
	ctx := t.Context()
	st, err := s.GetSubjectStatuses(ctx, id)
	require.NoError(t, err)
	apps, err := s.ListOpenApplications(ctx, id)
	require.NoError(t, err)
	got, err := s.GetSubjectProgress(ctx, id)
	require.NoError(t, err)
	final := got.Final
	require.ElementsMatch(t, st.Final, got.Final, "GetSubjectProgress' Final must agree with GetSubjectStatuses")
	st.Final, got.Final = nil, nil
	require.Equal(t, st, got.SubjectStatuses, "GetSubjectProgress must agree with GetSubjectStatuses")
	require.NotNil(t, got.Open, "Open is empty, not nil, when there is none")
	require.Len(t, got.Open, len(apps), "GetSubjectProgress must agree with ListOpenApplications")
	for i := range apps {
		requireApp(t, apps[i], got.Open[i], "GetSubjectProgress vs ListOpenApplications")
	}

	sub, err := s.GetSubject(ctx, id)
	require.NoError(t, err)
	byIdent, err := s.GetSubjectProgressByIdentifier(ctx, sub.Identifier)
	require.NoError(t, err)
	require.ElementsMatch(t, final, byIdent.Final, "GetSubjectProgressByIdentifier's Final must agree with GetSubjectProgress")
	byIdent.Final = nil
	require.Equal(t, got.SubjectStatuses, byIdent.SubjectStatuses, "GetSubjectProgressByIdentifier must agree with GetSubjectProgress, its ID included")
	require.Len(t, byIdent.Open, len(got.Open), "GetSubjectProgressByIdentifier must agree with GetSubjectProgress")
	for i := range got.Open {
		requireApp(t, got.Open[i], byIdent.Open[i], "GetSubjectProgressByIdentifier vs GetSubjectProgress")
	}
}
