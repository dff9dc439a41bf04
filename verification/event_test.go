package verification_test

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// jsonKeys returns the sorted keys of a JSON object.
func jsonKeys(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &m), string(b))
	return slices.Sorted(maps.Keys(m))
}

// TestTypedEvents walks every transition and checks every event: one
// payload struct per type (the same keys every time), the version, and the
// subject's sequence 1, 2, 3, ... without gaps.
func TestTypedEvents(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	admin := verification.AdminActor(4, nil)

	approved := verificationtest.CreateSubject(t, b.svc)
	b.reachLevel1(t, approved.ID) // started, submitted x3, approved, submitted, approved, granted
	_, err := b.svc.InitWizard(b.ctx, approved.ID)
	require.NoError(t, err)
	_, err = b.svc.GrantLevel(b.ctx, admin, verification.GrantLevelParams{SubjectID: approved.ID, Level: 3, Reason: "manual"})
	require.NoError(t, err)
	_, err = b.svc.InitWizard(b.ctx, approved.ID) // the Level 2 draft is superseded
	require.NoError(t, err)
	_, err = b.svc.ResetRequirement(b.ctx, admin, approved.ID, "emailCode", true)
	require.NoError(t, err)

	rejected := verificationtest.CreateSubject(t, b.svc)
	app := b.submitLevel1(t, rejected.ID)
	_, err = b.svc.DecideApplication(b.ctx, admin, verification.DecideApplicationParams{ApplicationID: app.ID, Decision: verification.Reject, Reason: "blurry"})
	require.NoError(t, err)

	expired := verificationtest.CreateSubject(t, b.svc)
	_, err = b.svc.InitWizard(b.ctx, expired.ID)
	require.NoError(t, err)
	b.clock.Advance(verification.DefaultApplicationTTL + time.Minute)
	n, err := b.svc.ExpireDue(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NoError(t, b.svc.DeleteSubject(b.ctx, admin, expired.ID))
	require.NoError(t, b.svc.Erase(b.ctx, admin, expired.ID))

	shapes := map[verification.EventType][]string{}
	for _, sub := range []verification.Subject{approved, rejected, expired} {
		evs, err := b.svc.Events(b.ctx, verification.SystemActor(), verification.EventFilter{SubjectID: sub.ID})
		require.NoError(t, err)
		for i, e := range evs {
			p, err := verification.DecodePayload(e)
			require.NoError(t, err, "%s: %s", e.Type, e.Data)
			require.Equal(t, e.Type, p.EventType())
			var h verification.EventHeader
			require.NoError(t, json.Unmarshal(e.Data, &h))
			assert.Equal(t, verification.PayloadVersion, h.Version, "%s", e.Type)
			assert.Equal(t, sub.ID, h.SubjectID, "%s", e.Type)
			assert.Equal(t, int64(i+1), h.SubjectSeq, "subject %d's event #%d (%s) is numbered in order, without gaps", sub.ID, i+1, e.Type)

			keys := jsonKeys(t, e.Data)
			if prev, ok := shapes[e.Type]; ok {
				assert.Equal(t, prev, keys, "%s is emitted with one shape", e.Type)
			}
			shapes[e.Type] = keys
		}
		got, err := b.svc.Subject(b.ctx, verification.SystemActor(), sub.ID)
		if err == nil {
			assert.Equal(t, int64(len(evs)), got.EventSeq, "the subject counts its events")
		}
	}
	for _, typ := range []verification.EventType{
		verification.EventSubjectCreated, verification.EventSubjectDeleted, verification.EventSubjectErased,
		verification.EventRequirementSubmitted, verification.EventRequirementApproved, verification.EventRequirementRejected,
		verification.EventRequirementReset, verification.EventLevelGranted, verification.EventApplicationStarted,
		verification.EventApplicationSubmitted, verification.EventApplicationApproved, verification.EventApplicationRejected,
		verification.EventApplicationExpired,
	} {
		assert.Contains(t, shapes, typ, "the walk emits %s", typ)
	}
	assert.Equal(t, []string{"adminId", "grantId", "level", "previousLevel", "reason", "subjectId", "subjectSeq", "version"}, shapes[verification.EventLevelGranted])

	_, err = verification.DecodePayload(verification.Event{Type: "no.such", Data: json.RawMessage(`{}`)})
	require.ErrorIs(t, err, verification.ErrInvalid)
	_, err = verification.DecodePayload(verification.Event{Type: verification.EventLevelGranted, Data: json.RawMessage(`[`)})
	require.ErrorIs(t, err, verification.ErrInvalid)
}

// TestDecodePayload reads a level.granted payload back into its struct.
func TestDecodePayload(t *testing.T) {
	t.Parallel()
	e := verification.Event{Type: verification.EventLevelGranted, Data: json.RawMessage(
		`{"version":1,"subjectId":7,"subjectSeq":3,"grantId":12,"level":3,"previousLevel":2,"reason":"Application: 5","adminId":4}`)}
	p, err := verification.DecodePayload(e)
	require.NoError(t, err)
	require.Equal(t, &verification.LevelGrantedPayload{
		EventHeader: verification.EventHeader{Version: 1, SubjectID: 7, SubjectSeq: 3},
		GrantID:     12, Level: 3, PreviousLevel: 2, Reason: "Application: 5", AdminID: 4,
	}, p)
}
