package storagetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// RunApplications checks verification.ApplicationStore.
func RunApplications(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "CreateAssignsIncreasingIDsAndRoundTrips", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		want := []verification.Application{
			{
				UUID: uuid(1), SubjectID: sub.ID, Level: 1, Status: verification.ApplicationDraft,
				CreatedAt: at(0), ExpiresAt: at(24 * 60),
			},
			{
				UUID: uuid(2), SubjectID: sub.ID, Level: 2, Status: verification.ApplicationRejected,
				Steps: []verification.Step{
					{Requirement: "idDocument", DocumentType: 1, Files: []string{"file-front", "file-back"}, At: at(2)},
					{Requirement: "selfie", DocumentType: 4, At: at(3)},
				},
				Reason:    "document expired",
				CreatedAt: at(1), ExpiresAt: at(1 + 24*60), SubmittedAt: at(4), DecidedAt: at(5), DecidedBy: 7,
			},
			{UUID: uuid(3), SubjectID: sub.ID, Level: 3, Status: verification.ApplicationSubmitted, CreatedAt: at(6)},
		}
		var prev int64
		for i := range want {
			require.NoError(t, s.CreateApplication(ctx, &want[i]))
			require.Positive(t, want[i].ID, "CreateApplication must set a positive ID on the application it is given")
			require.Greater(t, want[i].ID, prev, "CreateApplication must assign increasing IDs")
			prev = want[i].ID
		}
		for i, w := range want {
			got, err := s.GetApplication(ctx, w.ID)
			require.NoError(t, err, "GetApplication(%d)", w.ID)
			requireApp(t, w, got, fmt.Sprintf("GetApplication of application #%d", i+1))
			got, err = s.GetApplicationByUUID(ctx, w.UUID)
			require.NoError(t, err, "GetApplicationByUUID(%s)", w.UUID)
			requireApp(t, w, got, fmt.Sprintf("GetApplicationByUUID of application #%d", i+1))
		}
		got, err := s.GetApplication(ctx, want[0].ID)
		require.NoError(t, err)
		require.Empty(t, got.Steps, "an application created without steps must come back without steps")
		for name, v := range map[string]time.Time{"SubmittedAt": got.SubmittedAt, "DecidedAt": got.DecidedAt} {
			require.True(t, v.IsZero(), "an unset %s must come back as the zero time.Time, got %v", name, v)
		}
		got, err = s.GetApplication(ctx, want[2].ID)
		require.NoError(t, err)
		require.True(t, got.ExpiresAt.IsZero(), "an unset ExpiresAt must come back as the zero time.Time, got %v", got.ExpiresAt)
		got, err = s.GetApplication(ctx, want[1].ID)
		require.NoError(t, err)
		require.Empty(t, got.Steps[1].Files, "a step without files must come back without files")
	})

	test(t, newStore, "UUIDConflict", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		first := verification.Application{UUID: uuid(1), SubjectID: alice.ID, Level: 1, Status: verification.ApplicationDraft, CreatedAt: at(0), ExpiresAt: at(60)}
		require.NoError(t, s.CreateApplication(ctx, &first))
		dup := verification.Application{UUID: uuid(1), SubjectID: bob.ID, Level: 2, Status: verification.ApplicationSubmitted, CreatedAt: at(1), ExpiresAt: at(61)}
		require.ErrorIs(t, s.CreateApplication(ctx, &dup), verification.ErrConflict, "CreateApplication with a UUID already used (by any subject) must fail with ErrConflict")
		got, err := s.GetApplicationByUUID(ctx, uuid(1))
		require.NoError(t, err)
		requireApp(t, first, got, "the first application after a conflicting create")
		page, err := s.ListApplications(ctx, verification.ApplicationFilter{})
		total := page.Total
		require.NoError(t, err)
		require.Equal(t, 1, total, "a conflicting CreateApplication must not insert anything")
	})

	test(t, newStore, "NotFound", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		a := verification.Application{UUID: uuid(1), SubjectID: sub.ID, Level: 1, Status: verification.ApplicationDraft, CreatedAt: at(0), ExpiresAt: at(60)}
		require.NoError(t, s.CreateApplication(ctx, &a))
		for _, id := range []int64{a.ID + 1000, 0, -1} {
			_, err := s.GetApplication(ctx, id)
			require.ErrorIs(t, err, verification.ErrNotFound, "GetApplication(%d)", id)
		}
		for _, u := range []string{uuid(2), ""} {
			_, err := s.GetApplicationByUUID(ctx, u)
			require.ErrorIs(t, err, verification.ErrNotFound, "GetApplicationByUUID(%q)", u)
		}
		ghost := a
		ghost.ID = a.ID + 1000
		ghost.UUID = uuid(3)
		require.ErrorIs(t, s.UpdateApplication(ctx, ghost), verification.ErrNotFound, "UpdateApplication of an unknown ID")
		_, err := s.GetApplication(ctx, ghost.ID)
		require.ErrorIs(t, err, verification.ErrNotFound, "UpdateApplication of an unknown ID must not create it")
		page, err := s.ListApplications(ctx, verification.ApplicationFilter{})
		total := page.Total
		require.NoError(t, err)
		require.Equal(t, 1, total, "UpdateApplication of an unknown ID must not create it")
	})

	test(t, newStore, "UpdateReplacesFields", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		a := verification.Application{UUID: uuid(1), SubjectID: alice.ID, Level: 1, Status: verification.ApplicationDraft, CreatedAt: at(0), ExpiresAt: at(60)}
		require.NoError(t, s.CreateApplication(ctx, &a))

		upd := verification.Application{
			ID: a.ID,
			// These three must be ignored.
			UUID: uuid(2), SubjectID: bob.ID, CreatedAt: at(99),
			Level: 2, Status: verification.ApplicationApproved,
			Steps: []verification.Step{
				{Requirement: "idDocument", DocumentType: 2, Files: []string{"f1"}, At: at(1)},
				{Requirement: "proofOfAddress", DocumentType: 3, Files: []string{"f2", "f3", "f4"}, At: at(2)},
			},
			Reason: "ok", ExpiresAt: at(120), SubmittedAt: at(3), DecidedAt: at(4), DecidedBy: 5,
		}
		require.NoError(t, s.UpdateApplication(ctx, upd))
		want := upd
		want.UUID, want.SubjectID, want.CreatedAt = a.UUID, a.SubjectID, a.CreatedAt
		got, err := s.GetApplication(ctx, a.ID)
		require.NoError(t, err)
		requireApp(t, want, got, "UpdateApplication must replace every field but ID, UUID, SubjectID and CreatedAt")
		got, err = s.GetApplicationByUUID(ctx, a.UUID)
		require.NoError(t, err, "UpdateApplication must keep the UUID lookup")
		requireApp(t, want, got, "GetApplicationByUUID after UpdateApplication")
		_, err = s.GetApplicationByUUID(ctx, uuid(2))
		require.ErrorIs(t, err, verification.ErrNotFound, "UpdateApplication must not change the UUID")
		page, err := s.ListApplications(ctx, verification.ApplicationFilter{SubjectID: bob.ID, Limit: 10})
		list, total := page.Items, page.Total
		require.NoError(t, err)
		require.Zero(t, total, "UpdateApplication must not move the application to another subject")
		require.Empty(t, list)

		// Back to zero values.
		cleared := a
		cleared.Status = verification.ApplicationExpired
		require.NoError(t, s.UpdateApplication(ctx, cleared))
		got, err = s.GetApplication(ctx, a.ID)
		require.NoError(t, err)
		require.Empty(t, got.Steps, "UpdateApplication with nil Steps must clear them")
		require.True(t, got.DecidedAt.IsZero(), "UpdateApplication with a zero DecidedAt must clear it, got %v", got.DecidedAt)
		requireApp(t, cleared, got, "GetApplication after clearing fields")
	})

	test(t, newStore, "ReturnsCopies", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		files := []string{"f1", "f2"}
		a := verification.Application{
			UUID: uuid(1), SubjectID: sub.ID, Level: 1, Status: verification.ApplicationDraft, CreatedAt: at(0), ExpiresAt: at(60),
			Steps: []verification.Step{{Requirement: "idDocument", DocumentType: 1, Files: files, At: at(1)}},
		}
		require.NoError(t, s.CreateApplication(ctx, &a))
		files[0] = "changed-after-create"
		a.Steps[0].Requirement = "changed-after-create"
		got, err := s.GetApplication(ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, "idDocument", got.Steps[0].Requirement, "the store must not keep the caller's Steps slice")
		require.Equal(t, []string{"f1", "f2"}, got.Steps[0].Files, "the store must not keep the caller's Files slice")

		got.Steps[0].Files[1] = "changed-after-get"
		got.Steps[0].Requirement = "changed-after-get"
		page, err := s.ListApplications(ctx, verification.ApplicationFilter{Limit: 10})
		list := page.Items
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, "idDocument", list[0].Steps[0].Requirement, "GetApplication must return a copy of Steps")
		require.Equal(t, []string{"f1", "f2"}, list[0].Steps[0].Files, "GetApplication must return a copy of Files")

		list[0].Steps[0].Files[0] = "changed-after-list"
		upd := list[0]
		upd.Steps = []verification.Step{{Requirement: "selfie", DocumentType: 4, Files: []string{"f9"}, At: at(2)}}
		require.NoError(t, s.UpdateApplication(ctx, upd))
		upd.Steps[0].Files[0] = "changed-after-update"
		got, err = s.GetApplicationByUUID(ctx, a.UUID)
		require.NoError(t, err)
		require.Equal(t, []string{"f9"}, got.Steps[0].Files, "UpdateApplication must not keep the caller's Files slice")
	})

	test(t, newStore, "List", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		seed := []struct {
			sub     verification.Subject
			status  verification.ApplicationStatus
			expires int
		}{
			{alice, verification.ApplicationDraft, 100},
			{alice, verification.ApplicationSubmitted, 50},
			{bob, verification.ApplicationSubmitted, 60},
			{alice, verification.ApplicationApproved, 40},
			{bob, verification.ApplicationExpired, 10},
			{alice, verification.ApplicationRejected, 60},
			{bob, verification.ApplicationDraft, 60},
		}
		var all []verification.Application
		for i, x := range seed {
			a := verification.Application{
				UUID: uuid(i + 1), SubjectID: x.sub.ID, Level: 1, Status: x.status,
				// CreatedAt goes backwards so that a store ordering by time instead of ID fails.
				CreatedAt: at(-i), ExpiresAt: at(x.expires),
				Steps: []verification.Step{{Requirement: "idDocument", DocumentType: 1, Files: []string{fmt.Sprint("f", i)}, At: at(1)}},
			}
			require.NoError(t, s.CreateApplication(ctx, &a))
			all = append(all, a)
		}
		open := []verification.ApplicationStatus{verification.ApplicationDraft, verification.ApplicationSubmitted}
		for _, f := range []verification.ApplicationFilter{
			{Limit: 100},
			{Limit: 100, Desc: true},
			{Limit: 0},
			{Limit: 2, Offset: 2},
			{Limit: 2, Offset: 2, Desc: true},
			{Limit: 5, Offset: 5},
			{Limit: 5, Offset: 7},
			{Limit: 5, Offset: 100},
			{SubjectID: alice.ID, Limit: 100},
			{SubjectID: alice.ID, Limit: 100, Desc: true},
			{SubjectID: bob.ID, Limit: 1, Offset: 1},
			{SubjectID: bob.ID + 1000, Limit: 100},
			{Statuses: []verification.ApplicationStatus{}, Limit: 100},
			{Statuses: []verification.ApplicationStatus{verification.ApplicationSubmitted}, Limit: 100},
			{Statuses: open, Limit: 100, Desc: true},
			{Statuses: open, Limit: 0},
			{Statuses: []verification.ApplicationStatus{verification.ApplicationExpired}, SubjectID: alice.ID, Limit: 100},
			{ExpiresBefore: at(60), Limit: 100},
			{ExpiresBefore: at(61), Limit: 100},
			{ExpiresBefore: at(10), Limit: 100},
			{ExpiresBefore: at(60), Statuses: open, Limit: 100},
			{ExpiresBefore: at(61), Statuses: open, Limit: 100, Desc: true},
			{ExpiresBefore: at(61), SubjectID: bob.ID, Limit: 2, Offset: 1},
		} {
			what := fmt.Sprintf("ListApplications(%s)", describeAppFilter(f, alice.ID, bob.ID))
			wantTotal, want := expectApps(all, f)
			page, err := s.ListApplications(ctx, f)
			got, total := page.Items, page.Total
			require.NoError(t, err, what)
			require.Equal(t, wantTotal, total, "%s: total", what)
			require.Equal(t, appIDs(want), appIDs(got), "%s: the IDs of the items (ExpiresBefore is strict: an application expiring at the cut-off does not match)", what)
			for i := range want {
				requireApp(t, want[i], got[i], fmt.Sprintf("%s item %d", what, i))
			}
		}
	})

	test(t, newStore, "ListTagFilter", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice", "eu")
		bob := newSubject(t, s, "bob", "us", "vip")
		carol := newSubject(t, s, "carol")
		ids := map[int64]int64{}
		for i, sub := range []verification.Subject{alice, bob, carol} {
			a := verification.Application{UUID: uuid(i + 1), SubjectID: sub.ID, Level: 1, Status: verification.ApplicationSubmitted, CreatedAt: at(0), ExpiresAt: at(60)}
			require.NoError(t, s.CreateApplication(ctx, &a))
			ids[sub.ID] = a.ID
		}
		list := func(f verification.ApplicationFilter) []int64 {
			t.Helper()
			f.Limit = 100
			page, err := s.ListApplications(ctx, f)
			got, total := page.Items, page.Total
			require.NoError(t, err)
			require.Len(t, got, total, "total must count the tag-filtered applications (%+v)", f)
			return appIDs(got)
		}
		require.Equal(t, []int64{ids[alice.ID]}, list(verification.ApplicationFilter{Tags: []string{"eu"}}), "Tags [eu]")
		require.Equal(t, []int64{ids[alice.ID], ids[bob.ID]}, list(verification.ApplicationFilter{Tags: []string{"us", "eu", "vip"}}), "Tags [us eu vip]: each application once")
		require.Empty(t, list(verification.ApplicationFilter{Tags: []string{}}), "an empty non-nil Tags matches nothing")
		require.Empty(t, list(verification.ApplicationFilter{Tags: []string{"EU"}}), "tags compare exactly")
		require.Empty(t, list(verification.ApplicationFilter{Tags: []string{"vip"}, SubjectID: alice.ID}), "Tags and SubjectID combine")
		require.Len(t, list(verification.ApplicationFilter{}), 3, "nil Tags does not filter")
		require.Equal(t, []int64{ids[bob.ID]}, list(verification.ApplicationFilter{HasTag: "vip"}), "HasTag vip")
		require.Equal(t, []int64{ids[bob.ID]}, list(verification.ApplicationFilter{HasTag: "vip", Tags: []string{"us"}}), "HasTag within Tags")
		require.Empty(t, list(verification.ApplicationFilter{HasTag: "vip", Tags: []string{"eu"}}), "HasTag and Tags combine")
		require.Empty(t, list(verification.ApplicationFilter{HasTag: "VIP"}), "HasTag compares exactly")

		alice.Tags = []string{"us"}
		require.NoError(t, s.UpdateSubject(ctx, alice))
		require.Empty(t, list(verification.ApplicationFilter{Tags: []string{"eu"}}), "Tags follow the subject's current tags")
		require.Equal(t, []int64{ids[alice.ID], ids[bob.ID]}, list(verification.ApplicationFilter{Tags: []string{"us"}}))
	})

	test(t, newStore, "ClaimsAndQueueFilters", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		// claimed by admin 7 at level 1, submitted at 2; claimed by admin 8
		// at level 2, submitted at 3; unassigned at level 1, submitted at 4;
		// an unassigned draft (never submitted) at level 2.
		apps := []verification.Application{
			{UUID: uuid(1), SubjectID: alice.ID, Level: 1, Status: verification.ApplicationSubmitted, CreatedAt: at(0), ExpiresAt: at(60), SubmittedAt: at(2), AssignedTo: 7, ClaimedAt: at(5)},
			{UUID: uuid(2), SubjectID: bob.ID, Level: 2, Status: verification.ApplicationSubmitted, CreatedAt: at(1), ExpiresAt: at(60), SubmittedAt: at(3), AssignedTo: 8, ClaimedAt: at(6)},
			{UUID: uuid(3), SubjectID: alice.ID, Level: 1, Status: verification.ApplicationSubmitted, CreatedAt: at(2), ExpiresAt: at(60), SubmittedAt: at(4)},
			{UUID: uuid(4), SubjectID: bob.ID, Level: 2, Status: verification.ApplicationDraft, CreatedAt: at(3), ExpiresAt: at(60)},
		}
		for i := range apps {
			require.NoError(t, s.CreateApplication(ctx, &apps[i]))
			got, err := s.GetApplication(ctx, apps[i].ID)
			require.NoError(t, err)
			requireApp(t, apps[i], got, "an application created with a claim")
		}
		list := func(f verification.ApplicationFilter) []int64 {
			t.Helper()
			f.Limit = 100
			page, err := s.ListApplications(ctx, f)
			require.NoError(t, err)
			require.Len(t, page.Items, page.Total, "total must count the filtered applications (%+v)", f)
			return appIDs(page.Items)
		}
		id := func(i ...int) []int64 {
			out := []int64{}
			for _, n := range i {
				out = append(out, apps[n].ID)
			}
			return out
		}
		for _, c := range []struct {
			name string
			f    verification.ApplicationFilter
			want []int64
		}{
			{"Assignee 7", verification.ApplicationFilter{Assignee: 7}, id(0)},
			{"Assignee 9 (nobody's)", verification.ApplicationFilter{Assignee: 9}, id()},
			{"Unassigned", verification.ApplicationFilter{Assignee: verification.Unassigned}, id(2, 3)},
			{"Unassigned submitted", verification.ApplicationFilter{Assignee: verification.Unassigned, Statuses: []verification.ApplicationStatus{verification.ApplicationSubmitted}}, id(2)},
			{"Levels [1]", verification.ApplicationFilter{Levels: []int{1}}, id(0, 2)},
			{"Levels [2 5]", verification.ApplicationFilter{Levels: []int{2, 5}}, id(1, 3)},
			{"SubmittedBefore 4 (strict, a draft never matches)", verification.ApplicationFilter{SubmittedBefore: at(4)}, id(0, 1)},
			{"SubmittedBefore 100", verification.ApplicationFilter{SubmittedBefore: at(100)}, id(0, 1, 2)},
			{"Levels [1] Unassigned", verification.ApplicationFilter{Levels: []int{1}, Assignee: verification.Unassigned}, id(2)},
			{"Assignee 8 SubjectID alice", verification.ApplicationFilter{Assignee: 8, SubjectID: alice.ID}, id()},
		} {
			require.Equal(t, c.want, list(c.f), c.name)
		}

		// Release and claim again through UpdateApplication.
		upd := apps[0]
		upd.AssignedTo, upd.ClaimedAt = 0, time.Time{}
		require.NoError(t, s.UpdateApplication(ctx, upd))
		got, err := s.GetApplication(ctx, upd.ID)
		require.NoError(t, err)
		requireApp(t, upd, got, "an application whose claim was released")
		require.True(t, got.ClaimedAt.IsZero(), "a released claim's ClaimedAt must read back as the zero time")
		require.Equal(t, id(0, 2, 3), list(verification.ApplicationFilter{Assignee: verification.Unassigned}), "a released application is unassigned")
		upd.AssignedTo, upd.ClaimedAt = 9, at(7)
		require.NoError(t, s.UpdateApplication(ctx, upd))
		got, err = s.GetApplication(ctx, upd.ID)
		require.NoError(t, err)
		requireApp(t, upd, got, "an application claimed by UpdateApplication")
		require.Equal(t, id(0), list(verification.ApplicationFilter{Assignee: 9}))
	})

	test(t, newStore, "CancelledContext", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		a := verification.Application{UUID: uuid(1), SubjectID: sub.ID, Level: 1, Status: verification.ApplicationDraft, CreatedAt: at(0), ExpiresAt: at(60)}
		require.NoError(t, s.CreateApplication(ctx, &a))
		dead := cancelledContext(t)

		b := verification.Application{UUID: uuid(2), SubjectID: sub.ID, Level: 1, Status: verification.ApplicationDraft, CreatedAt: at(0), ExpiresAt: at(60)}
		require.ErrorIs(t, s.CreateApplication(dead, &b), context.Canceled, "CreateApplication with a cancelled context")
		_, err := s.GetApplicationByUUID(ctx, b.UUID)
		require.ErrorIs(t, err, verification.ErrNotFound, "CreateApplication with a cancelled context must not write")

		upd := a
		upd.Status = verification.ApplicationSubmitted
		require.ErrorIs(t, s.UpdateApplication(dead, upd), context.Canceled, "UpdateApplication with a cancelled context")
		got, err := s.GetApplication(ctx, a.ID)
		require.NoError(t, err)
		requireApp(t, a, got, "UpdateApplication with a cancelled context must not write")

		_, err = s.GetApplication(dead, a.ID)
		require.ErrorIs(t, err, context.Canceled, "GetApplication with a cancelled context")
		_, err = s.GetApplicationByUUID(dead, a.UUID)
		require.ErrorIs(t, err, context.Canceled, "GetApplicationByUUID with a cancelled context")
		_, err = s.ListApplications(dead, verification.ApplicationFilter{Limit: 10})
		require.ErrorIs(t, err, context.Canceled, "ListApplications with a cancelled context")
	})
}

// uuid returns a well-formed, lower-case UUID (version 4 layout) numbered n,
// so that a store keeping UUIDs in a native uuid column passes too.
func uuid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// expectApps is the reference model of ListApplications.
func expectApps(all []verification.Application, f verification.ApplicationFilter) (int, []verification.Application) {
	var match []verification.Application
	for _, a := range all {
		if f.SubjectID != 0 && a.SubjectID != f.SubjectID ||
			len(f.Statuses) > 0 && !slices.Contains(f.Statuses, a.Status) ||
			!f.ExpiresBefore.IsZero() && !a.ExpiresAt.Before(f.ExpiresBefore) {
			continue
		}
		match = append(match, a)
	}
	if f.Desc {
		slices.Reverse(match)
	}
	lo := min(f.Offset, len(match))
	hi := min(lo+f.Limit, len(match))
	return len(match), match[lo:hi]
}

func describeAppFilter(f verification.ApplicationFilter, alice, bob int64) string {
	sub := fmt.Sprint(f.SubjectID)
	switch f.SubjectID {
	case alice:
		sub += " (alice)"
	case bob:
		sub += " (bob)"
	case 0:
	default:
		sub += " (no such subject)"
	}
	expires := "zero"
	if !f.ExpiresBefore.IsZero() {
		expires = fmt.Sprintf("base+%v", f.ExpiresBefore.Sub(base))
	}
	return fmt.Sprintf("SubjectID: %s, Statuses: %q, ExpiresBefore: %s, Limit: %d, Offset: %d, Desc: %v",
		sub, f.Statuses, expires, f.Limit, f.Offset, f.Desc)
}
