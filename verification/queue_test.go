package verification_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

func TestClaimApplication(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	ann, bob := verification.AdminActor(1, nil), verification.AdminActor(2, nil)
	sub := verificationtest.CreateSubject(t, b.svc, "eu")
	app := b.submitLevel1(t, sub.ID)

	got, err := b.svc.ClaimApplication(b.ctx, ann, app.ID)
	require.NoError(t, err)
	require.Equal(t, int64(1), got.AssignedTo)
	require.Equal(t, b.clock.Now().UTC().Truncate(time.Microsecond), got.ClaimedAt)
	again, err := b.svc.ClaimApplication(b.ctx, ann, app.ID)
	require.NoError(t, err, "claiming one's own claim again is a no-op")
	require.Equal(t, got, again)

	_, err = b.svc.ClaimApplication(b.ctx, bob, app.ID)
	require.ErrorIs(t, err, verification.ErrConflict, "a claimed application cannot be claimed by another admin")
	_, err = b.svc.ReleaseApplication(b.ctx, bob, app.ID)
	require.ErrorIs(t, err, verification.ErrConflict, "only the holder releases")
	_, err = b.svc.DecideApplication(b.ctx, bob, verification.DecideApplicationParams{ApplicationID: app.ID, Decision: verification.Approve})
	require.ErrorIs(t, err, verification.ErrConflict, "another admin's claim blocks the decision")
	_, err = b.svc.ClaimApplication(b.ctx, verification.AdminActor(3, []string{"us"}), app.ID)
	require.ErrorIs(t, err, verification.ErrNotFound, "an admin without the subject's tags does not see it")
	_, err = b.svc.ClaimApplication(b.ctx, verification.HostActor(), app.ID)
	require.ErrorIs(t, err, verification.ErrForbidden)

	mine, err := b.svc.Applications(b.ctx, ann, verification.ApplicationFilter{Assignee: 1, Limit: 10})
	require.NoError(t, err)
	require.Len(t, mine.Items, 1)
	free, err := b.svc.Applications(b.ctx, ann, verification.ApplicationFilter{Assignee: verification.Unassigned, Limit: 10})
	require.NoError(t, err)
	require.Empty(t, free.Items)

	rel, err := b.svc.ReleaseApplication(b.ctx, ann, app.ID)
	require.NoError(t, err)
	require.Zero(t, rel.AssignedTo)
	require.True(t, rel.ClaimedAt.IsZero())
	_, err = b.svc.ClaimApplication(b.ctx, bob, app.ID)
	require.NoError(t, err, "a released application can be claimed by another admin")
	decided, err := b.svc.DecideApplication(b.ctx, bob, verification.DecideApplicationParams{ApplicationID: app.ID, Decision: verification.Approve})
	require.NoError(t, err)
	_, err = b.svc.ReleaseApplication(b.ctx, ann, decided.ID)
	require.ErrorIs(t, err, verification.ErrConflict)
	_, err = b.svc.ClaimApplication(b.ctx, bob, decided.ID)
	require.NoError(t, err, "the holder's claim stays on the decided application")
	_, err = b.svc.ClaimApplication(b.ctx, ann, decided.ID)
	require.ErrorIs(t, err, verification.ErrConflict)
}

func TestClaimNext(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	ann, bob := verification.AdminActor(1, nil), verification.AdminActor(2, []string{"eu"})
	us := verificationtest.CreateSubject(t, b.svc, "us")
	eu := verificationtest.CreateSubject(t, b.svc, "eu")
	first := b.submitLevel1(t, us.ID)
	second := b.submitLevel1(t, eu.ID)

	got, err := b.svc.ClaimNext(b.ctx, bob, verification.ApplicationFilter{})
	require.NoError(t, err)
	require.Equal(t, second.ID, got.ID, "a tag-scoped admin claims only what it sees")
	got, err = b.svc.ClaimNext(b.ctx, ann, verification.ApplicationFilter{})
	require.NoError(t, err)
	require.Equal(t, first.ID, got.ID, "the oldest unassigned application first")
	_, err = b.svc.ClaimNext(b.ctx, ann, verification.ApplicationFilter{})
	require.ErrorIs(t, err, verification.ErrNotFound, "an empty queue")
}

func TestTimelineAndLists(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	admin := verification.AdminActor(1, nil)
	sub := verificationtest.CreateSubject(t, b.svc, "eu")
	app := b.submitLevel1(t, sub.ID)
	b.clock.Advance(time.Minute)
	_, err := b.svc.ClaimApplication(b.ctx, admin, app.ID)
	require.NoError(t, err)
	b.clock.Advance(time.Minute)
	_, err = b.svc.DecideApplication(b.ctx, admin, verification.DecideApplicationParams{ApplicationID: app.ID, Decision: verification.Approve})
	require.NoError(t, err)

	tl, err := b.svc.Timeline(b.ctx, admin, sub.ID)
	require.NoError(t, err)
	var what []string
	for i, e := range tl {
		what = append(what, string(e.Kind)+":"+e.What)
		if i > 0 {
			require.False(t, e.At.Before(tl[i-1].At), "oldest first")
		}
	}
	require.Contains(t, what, "application:started")
	require.Contains(t, what, "application:submitted")
	require.Contains(t, what, "application:claimed")
	require.Contains(t, what, "application:approved")
	require.Contains(t, what, "grant:granted")
	require.Contains(t, what, "review:approved")
	require.Contains(t, what, "audit:application.claimed", "the claim's audit entry")
	require.Contains(t, what, "audit:application.decided")

	_, err = b.svc.Timeline(b.ctx, verification.AdminActor(2, []string{"us"}), sub.ID)
	require.ErrorIs(t, err, verification.ErrDeleted, "a subject the admin may not see answers ER709")

	front := verificationtest.Upload(t, b.svc, sub.ID, "passport", "front")
	files, err := b.svc.Files(b.ctx, admin, sub.ID)
	require.NoError(t, err)
	require.Len(t, files, 1)
	require.Equal(t, front.ID, files[0].ID)
	sessions, err := b.svc.IDSessions(b.ctx, admin, sub.ID)
	require.NoError(t, err)
	require.Empty(t, sessions)
}

func TestDeadLettersNeedAnUnscopedAdmin(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	_, err := b.svc.DeadLetters(b.ctx, verification.AdminActor(1, []string{"eu"}), "", 10, 0)
	require.ErrorIs(t, err, verification.ErrForbidden)
	page, err := b.svc.DeadLetters(b.ctx, verification.AdminActor(1, nil), "", 10, 0)
	require.NoError(t, err)
	require.Empty(t, page.Items)
	require.ErrorIs(t, b.svc.ReplayDelivery(b.ctx, verification.AdminActor(1, nil), "nope", "log"), verification.ErrNotFound)
	require.ErrorIs(t, b.svc.ReplayDelivery(b.ctx, verification.HostActor(), "nope", "log"), verification.ErrForbidden)
}
