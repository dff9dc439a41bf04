package verification_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestMaintenanceDryRun leaves work for the jobs that count their due work
// and checks that a dry run counts what the run then does, changes
// nothing, and lists the other jobs as not counted.
func TestMaintenanceDryRun(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	b := docSetup(t, verification.Options{ApplicationTTL: day, ImageRetention: 30 * day, UploadTTL: day})
	ctx := b.ctx
	st := verificationtest.StoreOf(b.svc)
	admin := verification.AdminActor(1, nil)
	// application-expiry: an open application past its TTL.
	applicant := verificationtest.CreateSubject(t, b.svc)
	b.submitLevel1(t, applicant.ID)
	// retention: two reviewed passports, one of a subject under legal hold.
	reviewed, held := verificationtest.CreateSubject(t, b.svc), verificationtest.CreateSubject(t, b.svc)
	for _, id := range []int64{reviewed.ID, held.ID} {
		front, back := b.passport(t, id)
		b.answerPassport(t, id, front, back)
		_, err := b.svc.Review(ctx, admin, verification.ReviewParams{SubjectID: id, Requirement: "idDocument", Decision: verification.Approve})
		require.NoError(t, err)
	}
	_, err := b.svc.SetLegalHold(ctx, admin, held.ID, true)
	require.NoError(t, err)
	// upload-expiry: an upload never submitted, and one kept by the hold.
	verificationtest.Upload(t, b.svc, reviewed.ID, verification.SelfieType, verification.SelfieSide)
	verificationtest.Upload(t, b.svc, held.ID, verification.SelfieType, verification.SelfieSide)
	// deletion-sweep: a tombstone left by a crash.
	require.NoError(t, st.AddBlobDeletion(ctx, verification.BlobDeletion{ID: "crashed", SubjectID: applicant.ID, Key: "0123456789abcdef0123456789abcdef", CreatedAt: b.svc.Now()}))
	b.clock.Advance(31 * day)
	r, err := b.svc.Maintenance(verification.MaintenanceOptions{})
	require.NoError(t, err)

	for range 2 { // twice: the first dry run changed nothing
		dues := r.DryRun(ctx)
		require.Len(t, dues, len(r.Jobs()))
		got := map[string]map[string]int{}
		for _, d := range dues {
			require.NoError(t, d.Err, d.Job)
			if d.Counted {
				got[d.Job] = d.Counts
			} else {
				assert.Nil(t, d.Counts, d.Job)
			}
		}
		assert.Equal(t, map[string]map[string]int{
			verification.JobApplicationExpiry: {"expired": 1},
			verification.JobRetention:         {"purged": 2, "held": 2, "deferred": 0},
			verification.JobUploadExpiry:      {"expired": 1},
			verification.JobDeletionSweep:     {"deleted": 1},
		}, got)
	}
	apps, err := st.ListApplications(ctx, verification.ApplicationFilter{SubjectID: applicant.ID, Limit: 10})
	require.NoError(t, err)
	require.Len(t, apps.Items, 1)
	assert.True(t, apps.Items[0].Status.Open(), "a dry run expires nothing")

	files, err := st.ListFiles(ctx, verification.FileFilter{SubjectID: reviewed.ID})
	require.NoError(t, err)
	for _, f := range files {
		assert.NotEmpty(t, f.BlobKey, "a dry run purges nothing")
	}

	for _, name := range []string{verification.JobApplicationExpiry, verification.JobRetention, verification.JobUploadExpiry, verification.JobDeletionSweep} {
		want, err := r.DryRunJob(ctx, name)
		require.NoError(t, err)
		rep, err := r.RunJob(ctx, name)
		require.NoError(t, err)
		require.NoError(t, rep.Err)
		assert.Equal(t, want.Counts, rep.Counts, "the run did what the dry run counted: %s", name)
		after, err := r.DryRunJob(ctx, name)
		require.NoError(t, err)
		for k, n := range after.Counts {
			if k != "held" {
				assert.Zero(t, n, "%s: nothing left to %s", name, k)
			}
		}
	}
	_, err = r.DryRunJob(ctx, "nope")
	require.ErrorIs(t, err, verification.ErrNotFound)
}
