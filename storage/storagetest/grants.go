package storagetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// RunGrants checks verification.GrantStore.
func RunGrants(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "AddAssignsIncreasingIDsAndRoundTrips", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		want := []verification.Grant{
			{SubjectID: alice.ID, Level: verification.LevelRef{ID: 1, Name: "Level 1"}, Reason: "created", CreatedAt: at(0)},
			{SubjectID: bob.ID, Level: verification.LevelRef{ID: 1, Name: "Level 1"}, Reason: "created", CreatedAt: at(1)},
			{SubjectID: alice.ID, Level: verification.LevelRef{ID: 3, Name: "Level 3"}, Previous: &verification.LevelRef{ID: 1, Name: "Level 1"}, Reason: "Application: 838", CreatedAt: at(2)},
			{SubjectID: alice.ID, Level: verification.LevelRef{ID: 2, Name: "Level 2"}, Previous: &verification.LevelRef{ID: 3, Name: "Level 3"}, Reason: "manual downgrade: documents expired", AdminID: 11, CreatedAt: at(2)},
		}
		var prev int64
		for i := range want {
			require.NoError(t, s.AddGrant(ctx, &want[i]))
			require.Positive(t, want[i].ID, "AddGrant must set a positive ID on the grant it is given")
			require.Greater(t, want[i].ID, prev, "AddGrant must assign IDs increasing in insertion order")
			prev = want[i].ID
		}
		for i, w := range want {
			got, err := s.GetGrant(ctx, w.ID)
			require.NoError(t, err, "GetGrant(%d)", w.ID)
			requireGrant(t, w, got, fmt.Sprintf("GetGrant of grant #%d", i+1))
		}
		got, err := s.GetGrant(ctx, want[0].ID)
		require.NoError(t, err)
		require.Nil(t, got.Previous, "a grant added without a previous level must come back with Previous nil")
		require.Zero(t, got.AdminID, "an automatic grant (AdminID 0) must come back with AdminID 0")
	})

	test(t, newStore, "ReturnsCopies", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		prev := &verification.LevelRef{ID: 1, Name: "Level 1"}
		g := verification.Grant{SubjectID: sub.ID, Level: verification.LevelRef{ID: 2, Name: "Level 2"}, Previous: prev, Reason: "created", CreatedAt: at(0)}
		require.NoError(t, s.AddGrant(ctx, &g))
		prev.Name = "changed-after-add"
		got, err := s.GetGrant(ctx, g.ID)
		require.NoError(t, err)
		require.NotNil(t, got.Previous)
		require.Equal(t, "Level 1", got.Previous.Name, "the store must not keep the caller's Previous pointer")
		got.Previous.Name = "changed-after-get"
		page, err := s.ListGrants(ctx, verification.GrantFilter{Limit: 10})
		require.NoError(t, err)
		require.Len(t, page.Items, 1)
		require.Equal(t, "Level 1", page.Items[0].Previous.Name, "GetGrant must return a copy of Previous")
		page.Items[0].Previous.Name = "changed-after-list"
		got, err = s.GetGrant(ctx, g.ID)
		require.NoError(t, err)
		require.Equal(t, "Level 1", got.Previous.Name, "ListGrants must return copies of Previous")
	})

	test(t, newStore, "GetNotFound", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		g := addGrant(t, s, sub.ID, 0, 1, 0)
		for _, id := range []int64{g.ID + 1000, 0, -1} {
			_, err := s.GetGrant(ctx, id)
			require.ErrorIs(t, err, verification.ErrNotFound, "GetGrant(%d)", id)
		}
	})

	test(t, newStore, "ListGrants", func(t *testing.T, s verification.Store) {
		fx := seedGrants(t, s)
		a, b, c := fx.a.ID, fx.b.ID, fx.c.ID
		filters := []verification.GrantFilter{
			// Order, limit and offset.
			{Limit: 100},
			{Limit: 100, Desc: true},
			{Limit: 0},
			{Limit: 0, Desc: true, Offset: 3},
			{Limit: 3},
			{Limit: 3, Offset: 3},
			{Limit: 3, Offset: 3, Desc: true},
			{Limit: 5, Offset: 8},
			{Limit: 5, Offset: 8, Desc: true},
			{Limit: 5, Offset: 9},
			{Limit: 5, Offset: 10},
			{Limit: 5, Offset: 11},
			{Limit: 5, Offset: 1000, Desc: true},
			// SubjectID.
			{SubjectID: a, Limit: 100},
			{SubjectID: a, Limit: 100, Desc: true},
			{SubjectID: a, Limit: 2, Offset: 1},
			{SubjectID: a, Limit: 2, Offset: 1, Desc: true},
			{SubjectID: a, Limit: 0},
			{SubjectID: a, Limit: 5, Offset: 4},
			{SubjectID: b, Limit: 100},
			{SubjectID: c + 1000, Limit: 100},
			{SubjectID: c + 1000, Limit: 0},
			// Tags.
			{Tags: []string{"eu"}, Limit: 100},
			{Tags: []string{"eu", "vip"}, Limit: 100},
			{Tags: []string{"vip", "us"}, Limit: 100, Desc: true},
			{Tags: []string{"eu"}, Limit: 2, Offset: 1, Desc: true},
			{Tags: []string{"us"}, Limit: 0},
			{Tags: []string{"EU"}, Limit: 100},
			{Tags: []string{"nobody"}, Limit: 100},
			{Tags: []string{}, Limit: 100},
			{Tags: []string{}, Limit: 0},
			// SubjectID and Tags together.
			{SubjectID: a, Tags: []string{"eu"}, Limit: 100},
			{SubjectID: a, Tags: []string{"eu"}, Limit: 1, Offset: 1, Desc: true},
			{SubjectID: b, Tags: []string{"eu"}, Limit: 100},
			{SubjectID: c, Tags: []string{"eu", "us", "vip"}, Limit: 100},
		}
		for _, f := range filters {
			fx.check(t, s, f)
		}
	})

	test(t, newStore, "ListGrantsPaging", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		fx := seedGrants(t, s)
		for _, base := range []verification.GrantFilter{{}, {Desc: true}, {SubjectID: fx.a.ID}, {Tags: []string{"eu", "us"}, Desc: true}} {
			wantTotal, want := fx.expect(verification.GrantFilter{SubjectID: base.SubjectID, Tags: base.Tags, Desc: base.Desc, Limit: 1000})
			for _, limit := range []int{1, 3, 4, 100} {
				var all []verification.Grant
				f := base
				f.Limit = limit
				for f.Offset = 0; f.Offset < wantTotal+limit; f.Offset += limit {
					page, err := s.ListGrants(ctx, f)
					require.NoError(t, err, "ListGrants(%+v)", f)
					require.Equal(t, wantTotal, page.Total, "ListGrants(%+v): Total must be the same on every page", f)
					all = append(all, page.Items...)
				}
				require.Equal(t, grantIDs(want), grantIDs(all), "paging through ListGrants(%+v) with limit %d must give every matching grant exactly once, in order", base, limit)
			}
		}
	})

	test(t, newStore, "ListGrantsTagsFollowCurrentTags", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		fx := seedGrants(t, s)
		// c gains "eu", a loses every tag, b gets "eu" beside "us".
		for _, upd := range []struct {
			sub  *verification.Subject
			tags []string
		}{{&fx.c, []string{"eu"}}, {&fx.a, nil}, {&fx.b, []string{"eu", "us"}}} {
			upd.sub.Tags = upd.tags
			upd.sub.UpdatedAt = at(500)
			require.NoError(t, s.UpdateSubject(ctx, *upd.sub))
			fx.subjects[upd.sub.ID] = *upd.sub
		}
		for _, f := range []verification.GrantFilter{
			{Tags: []string{"eu"}, Limit: 100},
			{Tags: []string{"vip"}, Limit: 100},
			{Tags: []string{"us", "eu"}, Limit: 100, Desc: true},
			{SubjectID: fx.a.ID, Tags: []string{"eu", "vip"}, Limit: 100},
			{SubjectID: fx.c.ID, Tags: []string{"eu"}, Limit: 100},
		} {
			fx.check(t, s, f)
		}
	})

	test(t, newStore, "CancelledContext", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		g := addGrant(t, s, sub.ID, 0, 1, 0)
		dead := cancelledContext(t)
		ng := verification.Grant{SubjectID: sub.ID, Level: verification.LevelRef{ID: 2, Name: "Level 2"}, Previous: &verification.LevelRef{ID: 1, Name: "Level 1"}, Reason: "created", CreatedAt: at(1)}
		require.ErrorIs(t, s.AddGrant(dead, &ng), context.Canceled, "AddGrant with a cancelled context")
		page, err := s.ListGrants(ctx, verification.GrantFilter{Limit: 10})
		require.NoError(t, err)
		require.Equal(t, 1, page.Total, "AddGrant with a cancelled context must not write")
		_, err = s.GetGrant(dead, g.ID)
		require.ErrorIs(t, err, context.Canceled, "GetGrant with a cancelled context")
		_, err = s.ListGrants(dead, verification.GrantFilter{Limit: 10})
		require.ErrorIs(t, err, context.Canceled, "ListGrants with a cancelled context")
	})
}

// grantFixture is ten grants of three subjects, interleaved:
// a (tags eu, vip) has 4, b (tag us) 3, c (no tags) 3.
type grantFixture struct {
	a, b, c  verification.Subject
	subjects map[int64]verification.Subject // current state, tags included
	all      []verification.Grant           // in insertion order
}

func seedGrants(t *testing.T, s verification.Store) *grantFixture {
	t.Helper()
	fx := &grantFixture{
		a: newSubject(t, s, "alice", "eu", "vip"),
		b: newSubject(t, s, "bob", "us"),
		c: newSubject(t, s, "carol"),
	}
	fx.subjects = map[int64]verification.Subject{fx.a.ID: fx.a, fx.b.ID: fx.b, fx.c.ID: fx.c}
	level := map[int64]int{}
	for i, sub := range []verification.Subject{fx.a, fx.b, fx.c, fx.a, fx.b, fx.a, fx.c, fx.a, fx.b, fx.c} {
		g := addGrant(t, s, sub.ID, level[sub.ID], level[sub.ID]+1, i)
		level[sub.ID]++
		fx.all = append(fx.all, g)
	}
	return fx
}

// expect is the reference model of ListGrants over the fixture.
func (fx *grantFixture) expect(f verification.GrantFilter) (int, []verification.Grant) {
	var match []verification.Grant
	for _, g := range fx.all {
		if f.SubjectID != 0 && g.SubjectID != f.SubjectID {
			continue
		}
		if f.Tags != nil && !fx.subjects[g.SubjectID].HasAnyTag(f.Tags) {
			continue
		}
		match = append(match, g)
	}
	if f.Desc {
		slices.Reverse(match)
	}
	lo := min(f.Offset, len(match))
	hi := min(lo+f.Limit, len(match))
	return len(match), match[lo:hi]
}

// check compares ListGrants(f) with the model.
func (fx *grantFixture) check(t *testing.T, s verification.Store, f verification.GrantFilter) {
	t.Helper()
	what := fmt.Sprintf("ListGrants(%s)", fx.describe(f))
	wantTotal, want := fx.expect(f)
	page, err := s.ListGrants(t.Context(), f)
	require.NoError(t, err, what)
	require.Equal(t, wantTotal, page.Total, "%s: Total", what)
	require.Equal(t, grantIDs(want), grantIDs(page.Items), "%s: the IDs of the items", what)
	for i := range want {
		requireGrant(t, want[i], page.Items[i], fmt.Sprintf("%s item %d", what, i))
	}
}

func (fx *grantFixture) describe(f verification.GrantFilter) string {
	client := fmt.Sprint(f.SubjectID)
	switch f.SubjectID {
	case fx.a.ID:
		client += " (alice: 4 grants)"
	case fx.b.ID:
		client += " (bob: 3 grants)"
	case fx.c.ID:
		client += " (carol: 3 grants)"
	case 0:
	default:
		client += " (no such subject)"
	}
	tags := "nil"
	if f.Tags != nil {
		tags = fmt.Sprintf("%q", f.Tags)
	}
	return fmt.Sprintf("SubjectID: %s, Tags: %s, Limit: %d, Offset: %d, Desc: %v; tags now alice %q, bob %q, carol %q",
		client, tags, f.Limit, f.Offset, f.Desc, fx.subjects[fx.a.ID].Tags, fx.subjects[fx.b.ID].Tags, fx.subjects[fx.c.ID].Tags)
}
