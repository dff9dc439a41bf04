package verification_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestActorVisibility checks the one visibility rule (verification.Actor)
// on every reader call: a subject the actor may not see looks absent.
func TestActorVisibility(t *testing.T) {
	t.Parallel()
	b := setup(t)
	eu := verificationtest.CreateSubject(t, b.svc, "eu")
	us := verificationtest.CreateSubject(t, b.svc, "us")
	euFile := verificationtest.Upload(t, b.svc, eu.ID, "passport", "front")
	euGrants, err := b.svc.Grants(b.ctx, verification.SystemActor(), verification.GrantFilter{SubjectID: eu.ID, Limit: 1})
	require.NoError(t, err)
	euGrant := euGrants.Items[0]

	tests := []struct {
		name  string
		actor verification.Actor
		sees  bool
	}{
		{"system", verification.SystemActor(), true},
		{"host", verification.HostActor(), true},
		{"provider", verification.ProviderActor("veriff"), true},
		{"admin without tags", verification.AdminActor(1, nil), true},
		{"admin with the tag", verification.AdminActor(1, []string{"eu", "fr"}), true},
		{"admin with another tag", verification.AdminActor(1, []string{"us"}), false},
		{"admin with no tags at all", verification.AdminActor(1, []string{}), false},
		{"the subject itself", verification.UserActor(eu.ID), true},
		{"another user", verification.UserActor(us.ID), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.svc.Subject(b.ctx, tc.actor, eu.ID)
			if tc.sees {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, verification.ErrDeleted, "an invisible subject answers as an unknown one (ER709)")
			}

			_, err = b.svc.Grant(b.ctx, tc.actor, euGrant.ID)
			if tc.sees {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, verification.ErrNotFound)
			}

			_, err = b.svc.File(b.ctx, tc.actor, euFile.ID)
			if tc.sees {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, verification.ErrNotFound)
			}

			page, err := b.svc.Grants(b.ctx, tc.actor, verification.GrantFilter{SubjectID: eu.ID, Limit: 10})
			require.NoError(t, err)
			assert.Equal(t, map[bool]int{true: 1, false: 0}[tc.sees], page.Total)
		})
	}
}

// TestActorKinds checks who may call what: reviewer decisions need an
// admin, subject management is not for users, and malformed actors are
// refused before anything is read.
func TestActorKinds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	review := verification.ReviewParams{SubjectID: sub.ID, Requirement: "emailCode", Decision: verification.Approve}

	for _, actor := range []verification.Actor{verification.HostActor(), verification.SystemActor(), verification.ProviderActor("veriff"), verification.UserActor(sub.ID)} {
		_, err := b.svc.Review(b.ctx, actor, review)
		require.ErrorIs(t, err, verification.ErrForbidden, "Review by %s", actor.Kind)
		_, err = b.svc.GrantLevel(b.ctx, actor, verification.GrantLevelParams{SubjectID: sub.ID, Level: 2, Reason: "x"})
		require.ErrorIs(t, err, verification.ErrForbidden, "GrantLevel by %s", actor.Kind)
	}
	require.ErrorIs(t, b.svc.DeleteSubject(b.ctx, verification.UserActor(sub.ID), sub.ID), verification.ErrForbidden)
	require.ErrorIs(t, b.svc.Erase(b.ctx, verification.ProviderActor("veriff"), sub.ID), verification.ErrForbidden)

	for _, bad := range []verification.Actor{{}, {Kind: "robot"}, {Kind: verification.ActorAdmin, ID: "alice"}, {Kind: verification.ActorUser}, {Kind: verification.ActorProvider}} {
		_, err := b.svc.Subject(b.ctx, bad, sub.ID)
		require.ErrorIs(t, err, verification.ErrInvalid, "actor %+v", bad)
	}

	assert.Equal(t, int64(7), verification.AdminActor(7, nil).AdminID())
	assert.Zero(t, verification.UserActor(7).AdminID())
	assert.Equal(t, int64(7), verification.UserActor(7).SubjectID())
	assert.Nil(t, verification.AdminActor(7, nil).Tags, "nil tags: sees every subject")
	assert.NotNil(t, verification.AdminActor(7, []string{}).Tags, "empty tags: sees none")
}
