package verification_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestInitWizardResumeWritesNothing: once the application is open, a resume
// (InitWizard's read-only path) answers what the transaction would, and
// changes nothing: the same step, or the same refusal.
func TestInitWizardResumeWritesNothing(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		// before runs before the first InitWizard, after between it and
		// the resume.
		before, after func(t *testing.T, b *appBundle, id int64)
		err           error
	}{
		{"next step", nil, nil, nil},
		{"awaiting review", func(t *testing.T, b *appBundle, id int64) { b.answerLevel1(t, id) }, nil, nil},
		{"final rejection", nil, func(t *testing.T, b *appBundle, id int64) {
			_, err := b.svc.Answer(b.ctx, id, "emailCode", raw(`"123456"`))
			require.NoError(t, err)
			_, err = b.svc.Review(b.ctx, verification.AdminActor(1, nil), verification.ReviewParams{
				SubjectID: id, Requirement: "emailCode", Decision: verification.Reject, Reason: "fraud", Final: true,
			})
			require.NoError(t, err)
		}, verification.ErrRejectedFinal},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := appSetup(t)
			sub := verificationtest.CreateSubject(t, b.svc)
			if c.before != nil {
				c.before(t, b, sub.ID)
			}
			first, err := b.svc.InitWizard(b.ctx, sub.ID)
			require.NoError(t, err)
			require.NotEmpty(t, first.UUID)
			if c.after != nil {
				c.after(t, b, sub.ID)
			}
			before := snapshot(t, b.svc, sub.ID)
			again, err := b.svc.InitWizard(b.ctx, sub.ID)
			if c.err != nil {
				require.ErrorIs(t, err, c.err)
			} else {
				require.NoError(t, err)
				assert.Equal(t, first, again, "a resume answers the same step")
			}
			assert.Equal(t, before, snapshot(t, b.svc, sub.ID), "a resume writes nothing")
		})
	}
}

// TestInitWizardByIdentifier: the wizard by the subject's identifier answers
// what InitWizard answers by its ID, on the write path (the application
// opened) and the read path (a resume) alike, with the subject's ID in the
// step; and it refuses what SubjectByIdentifier refuses, with the same codes.
func TestInitWizardByIdentifier(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)

	opened, err := b.svc.InitWizardByIdentifier(b.ctx, sub.Identifier)
	require.NoError(t, err)
	require.NotEmpty(t, opened.UUID, "the first call opens the application")
	assert.Equal(t, sub.ID, opened.SubjectID)
	assert.Len(t, b.applications(t, sub.ID), 1)
	byID, err := b.svc.InitWizard(b.ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, opened, byID, "by identifier and by ID: the same step")
	again, err := b.svc.InitWizardByIdentifier(b.ctx, sub.Identifier)
	require.NoError(t, err)
	assert.Equal(t, opened, again, "a resume answers the same step")
	assert.Len(t, b.applications(t, sub.ID), 1, "a resume opens nothing")

	for _, c := range []struct {
		name, identifier string
		code             verification.Code
	}{
		{"malformed", "not an identifier!", verification.CodeIdentifierMalformed},
		{"empty", "", verification.CodeIdentifierMalformed},
		{"not linked", verificationtest.Identifier(), verification.CodeIdentifierNotLinked},
	} {
		_, err := b.svc.InitWizardByIdentifier(b.ctx, c.identifier)
		assertCode(t, err, c.code)
		_, viaLookup := b.svc.SubjectByIdentifier(b.ctx, verification.HostActor(), c.identifier)
		assertCode(t, viaLookup, c.code)
	}

	gone := verificationtest.CreateSubject(t, b.svc)
	require.NoError(t, b.svc.DeleteSubject(b.ctx, verification.SystemActor(), gone.ID))
	_, err = b.svc.InitWizardByIdentifier(b.ctx, gone.Identifier)
	require.ErrorIs(t, err, verification.ErrDeleted)
	assertCode(t, err, verification.CodeUserDeleted)
	assert.Empty(t, b.applications(t, gone.ID))
}
