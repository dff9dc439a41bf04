package verification_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestPropertySweepLeavesNoSubjectAboveEvaluate: whatever the approvals,
// renewals, rejections and clock moves (an admin's reset keeps the level by
// design, so it is not drawn), after ExpireRequirements (with
// DowngradeOnExpiry) no subject sits above the level Evaluate allows for
// its states, and no approved state is past its ValidUntil.
func TestPropertySweepLeavesNoSubjectAboveEvaluate(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		b := validitySetup(t, verification.Options{DowngradeOnExpiry: true})
		ladder := b.svc.Ladder()
		n := rapid.IntRange(1, 4).Draw(rt, "subjects")
		var subs []verification.Subject
		for range n {
			subs = append(subs, verificationtest.CreateSubject(t, b.svc))
		}
		steps := rapid.IntRange(1, 25).Draw(rt, "steps")
		for range steps {
			sub := subs[rapid.IntRange(0, n-1).Draw(rt, "subject")]
			switch rapid.IntRange(0, 6).Draw(rt, "action") {
			case 0:
				_, _ = b.svc.Answer(b.ctx, sub.ID, "flag", json.RawMessage(`true`))
			case 1:
				_, _ = b.svc.Answer(b.ctx, sub.ID, "note", json.RawMessage(`"x"`))
			case 2:
				if st := b.state(t, sub.ID, "idDocument"); st.Status == levels.Missing || st.Status == levels.Rejected {
					b.submitDocument(t, sub.ID)
				}
				var until time.Time
				if rapid.Bool().Draw(rt, "reviewer date") {
					until = b.svc.Now().Add(time.Duration(rapid.IntRange(1, 400).Draw(rt, "days")) * day)
				}
				_, _ = b.svc.Review(b.ctx, b.admin, verification.ReviewParams{SubjectID: sub.ID, Requirement: "idDocument", Decision: verification.Approve, ValidUntil: until})
			case 3:
				until := b.svc.Now().Add(time.Duration(rapid.IntRange(1, 200).Draw(rt, "renew days")) * day)
				_, _ = b.svc.SetRequirement(b.ctx, b.admin, verification.SetRequirementParams{SubjectID: sub.ID, Requirement: "flag", ValidUntil: until})
			case 4:
				_, _ = b.svc.Review(b.ctx, b.admin, verification.ReviewParams{SubjectID: sub.ID, Requirement: "idDocument", Decision: verification.Reject, Reason: "blurry"})
			case 5:
				b.clock.Advance(time.Duration(rapid.IntRange(0, 120).Draw(rt, "advance days")) * day)
			case 6:
				_, err := b.svc.ExpireRequirements(b.ctx)
				require.NoError(rt, err)
			}
		}
		_, err := b.svc.ExpireRequirements(b.ctx)
		require.NoError(rt, err)
		now := b.svc.Now()
		for _, sub := range subs {
			got, err := b.svc.Subject(b.ctx, verification.SystemActor(), sub.ID)
			require.NoError(rt, err)
			list, err := b.svc.RequirementStates(b.ctx, verification.SystemActor(), sub.ID)
			require.NoError(rt, err)
			st := levels.States{}
			for _, s := range list {
				st[s.Name] = s.Status
				if s.Status == levels.Approved && !s.ValidUntil.IsZero() {
					require.True(rt, s.ValidUntil.After(now), "subject %d: %s approved until %v, swept at %v", sub.ID, s.Name, s.ValidUntil, now)
				}
			}
			earned := ladder.Evaluate(st, 0).Level
			require.LessOrEqual(rt, ladder.Position(got.Level), ladder.Position(earned.ID),
				"subject %d sits at level %d, its states earn %d", sub.ID, got.Level, earned.ID)
		}
	})
}
