package verification_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

const day = 24 * time.Hour

// validityLadder: Level 1 needs flag (90 days, warned 10 days before) and
// Level 2 needs idDocument (reviewed; the document's expiry, at most 365
// days, warned 30 days before) and note (never expires).
func validityLadder(t testing.TB) *levels.Ladder {
	t.Helper()
	l, err := levels.New([]levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{
			{Name: "flag", Type: levels.Boolean, ValidFor: levels.Duration(90 * day), ExpiryWarning: levels.Duration(10 * day)},
		}},
		{ID: 3, Name: "Level 2", Requirements: []levels.Requirement{
			{Name: "idDocument", Type: levels.Document, DocumentTypes: []string{"passport"}, Review: true,
				UseDocumentExpiry: true, ValidFor: levels.Duration(365 * day), ExpiryWarning: levels.Duration(30 * day)},
			{Name: "note", Type: levels.String},
		}},
	}, documents.Type{ID: 2, Name: "passport", Enabled: true, Sides: []string{"front", "back"}})
	require.NoError(t, err)
	return l
}

type validityBundle struct {
	ctx   context.Context
	svc   *verification.Service
	clock *verificationtest.Clock
	admin verification.Actor
}

func validitySetup(t *testing.T, opts ...verification.Options) *validityBundle {
	t.Helper()
	svc, clock := verificationtest.NewService(t, validityLadder(t), opts...)
	return &validityBundle{ctx: t.Context(), svc: svc, clock: clock, admin: verification.AdminActor(4, nil)}
}

// submitDocument uploads both sides and answers idDocument (pending review).
func (b *validityBundle) submitDocument(t *testing.T, subjectID int64) {
	t.Helper()
	front := verificationtest.Upload(t, b.svc, subjectID, "passport", "front")
	back := verificationtest.Upload(t, b.svc, subjectID, "passport", "back")
	answer, err := json.Marshal(levels.DocumentAnswer{Type: "passport", Files: map[string]string{"front": front.ID, "back": back.ID}})
	require.NoError(t, err)
	_, err = b.svc.Answer(b.ctx, subjectID, "idDocument", answer)
	require.NoError(t, err)
}

// level2 brings a new subject to Level 2, the document approved with until
// as the reviewer's date (zero: none).
func (b *validityBundle) level2(t *testing.T, until time.Time) verification.Subject {
	t.Helper()
	sub := verificationtest.CreateSubject(t, b.svc)
	_, err := b.svc.Answer(b.ctx, sub.ID, "flag", json.RawMessage(`true`))
	require.NoError(t, err)
	_, err = b.svc.Answer(b.ctx, sub.ID, "note", json.RawMessage(`"hello"`))
	require.NoError(t, err)
	b.submitDocument(t, sub.ID)
	_, err = b.svc.Review(b.ctx, b.admin, verification.ReviewParams{SubjectID: sub.ID, Requirement: "idDocument", Decision: verification.Approve, ValidUntil: until})
	require.NoError(t, err)
	verificationtest.RequireLevel(t, b.svc, sub.ID, 3)
	return sub
}

func (b *validityBundle) state(t *testing.T, subjectID int64, name string) verification.RequirementState {
	t.Helper()
	list, err := b.svc.RequirementStates(b.ctx, verification.SystemActor(), subjectID)
	require.NoError(t, err)
	for _, st := range list {
		if st.Name == name {
			return st
		}
	}
	return verification.RequirementState{SubjectID: subjectID, Name: name, Status: levels.Missing}
}

// TestValidUntilSources: which date an approval records, reviewer's date
// vs provider's document date vs validFor.
func TestValidUntilSources(t *testing.T) {
	t.Parallel()
	b := validitySetup(t)
	t0 := verificationtest.Start
	tests := []struct {
		name    string
		req     string
		v       verification.Validity
		want    time.Time
		invalid bool
	}{
		{"validFor alone", "flag", verification.Validity{}, t0.Add(90 * day), false},
		{"document date ignored without useDocumentExpiry", "flag", verification.Validity{DocumentExpiry: t0.Add(10 * day)}, t0.Add(90 * day), false},
		{"reviewer date wins over validFor", "flag", verification.Validity{Until: t0.Add(400 * day)}, t0.Add(400 * day), false},
		{"reviewer date wins over the document's", "idDocument", verification.Validity{Until: t0.Add(20 * day), DocumentExpiry: t0.Add(200 * day)}, t0.Add(20 * day), false},
		{"provider date before validFor's end", "idDocument", verification.Validity{DocumentExpiry: t0.Add(200 * day)}, t0.Add(200 * day), false},
		{"validFor's end before the provider date", "idDocument", verification.Validity{DocumentExpiry: t0.Add(800 * day)}, t0.Add(365 * day), false},
		{"validFor when the document date is unknown", "idDocument", verification.Validity{}, t0.Add(365 * day), false},
		{"never", "note", verification.Validity{}, time.Time{}, false},
		{"reviewer date in the past", "flag", verification.Validity{Until: t0.Add(-day)}, time.Time{}, true},
		{"expired document", "idDocument", verification.Validity{DocumentExpiry: t0}, time.Time{}, true},
		{"unknown requirement", "nope", verification.Validity{}, time.Time{}, true},
	}
	for _, tc := range tests {
		got, err := b.svc.ValidUntil(tc.req, t0, tc.v)
		if tc.invalid {
			require.ErrorIs(t, err, verification.ErrInvalid, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		require.True(t, tc.want.Equal(got), "%s: got %v, want %v", tc.name, got, tc.want)
	}
}

// TestApprovalRecordsValidUntil goes through the approval paths.
func TestApprovalRecordsValidUntil(t *testing.T) {
	t.Parallel()
	b := validitySetup(t)
	t0 := verificationtest.Start

	sub := b.level2(t, t0.Add(100*day))
	require.True(t, t0.Add(90*day).Equal(b.state(t, sub.ID, "flag").ValidUntil), "an answer without review: validFor")
	require.True(t, t0.Add(100*day).Equal(b.state(t, sub.ID, "idDocument").ValidUntil), "the reviewer's date")
	require.True(t, b.state(t, sub.ID, "note").ValidUntil.IsZero(), "no validity")

	other := b.level2(t, time.Time{})
	require.True(t, t0.Add(365*day).Equal(b.state(t, other.ID, "idDocument").ValidUntil), "no reviewer date: validFor")

	// Refusals write nothing.
	third := verificationtest.CreateSubject(t, b.svc)
	b.submitDocument(t, third.ID)
	_, err := b.svc.Review(b.ctx, b.admin, verification.ReviewParams{SubjectID: third.ID, Requirement: "idDocument", Decision: verification.Approve, ValidUntil: t0.Add(-time.Hour)})
	require.ErrorIs(t, err, verification.ErrInvalid)
	_, err = b.svc.Review(b.ctx, b.admin, verification.ReviewParams{SubjectID: third.ID, Requirement: "idDocument", Decision: verification.Reject, Reason: "blurry", ValidUntil: t0.Add(day)})
	require.ErrorIs(t, err, verification.ErrInvalid)
	require.Equal(t, levels.Pending, b.state(t, third.ID, "idDocument").Status)

	// A rejection carries no validity; a reset neither.
	_, err = b.svc.Review(b.ctx, b.admin, verification.ReviewParams{SubjectID: third.ID, Requirement: "idDocument", Decision: verification.Reject, Reason: "blurry"})
	require.NoError(t, err)
	require.True(t, b.state(t, third.ID, "idDocument").ValidUntil.IsZero())
	_, err = b.svc.ResetRequirement(b.ctx, b.admin, sub.ID, "flag", true)
	require.NoError(t, err)
	require.True(t, b.state(t, sub.ID, "flag").ValidUntil.IsZero())

	// SetRequirement takes a date too.
	st, err := b.svc.SetRequirement(b.ctx, b.admin, verification.SetRequirementParams{SubjectID: sub.ID, Requirement: "flag", Value: json.RawMessage(`true`), ValidUntil: t0.Add(7 * day)})
	require.NoError(t, err)
	require.True(t, t0.Add(7*day).Equal(st.ValidUntil))
	_, err = b.svc.SetRequirement(b.ctx, b.admin, verification.SetRequirementParams{SubjectID: sub.ID, Requirement: "flag", Status: levels.Pending, ValidUntil: t0.Add(7 * day)})
	require.ErrorIs(t, err, verification.ErrInvalid)
}

// TestExpireRequirementsClock drives the sweep with the clock: about to
// expire, expired, renewed before expiry, with and without downgrade.
func TestExpireRequirementsClock(t *testing.T) {
	t.Parallel()
	t0 := verificationtest.Start
	type step struct {
		at      time.Duration // after t0
		renew   time.Duration // when non-zero, renew flag until t0+renew first
		want    verification.ExpiryReport
		flag    levels.Status
		level   int
		event   verification.EventType // the last event, when set
		pending verification.PendingStatus
	}
	tests := []struct {
		name      string
		downgrade bool
		steps     []step
	}{
		{"not yet in the warning window", false, []step{
			{at: 79 * day, flag: levels.Approved, level: 3, event: verification.EventLevelGranted, pending: verification.PendingStatusVerified},
		}},
		{"about to expire: warned once", false, []step{
			{at: 80*day + time.Minute, want: verification.ExpiryReport{Warned: 1}, flag: levels.Approved, level: 3, event: verification.EventRequirementExpiring},
			{at: 85 * day, flag: levels.Approved, level: 3, event: verification.EventRequirementExpiring},
		}},
		{"expired without downgrade", false, []step{
			{at: 90*day + time.Minute, want: verification.ExpiryReport{Expired: 1}, flag: levels.Missing, level: 3, event: verification.EventRequirementExpired, pending: verification.PendingStatusVerified},
			{at: 91 * day, flag: levels.Missing, level: 3, event: verification.EventRequirementExpired},
		}},
		{"warned, then expired with downgrade", true, []step{
			{at: 81 * day, want: verification.ExpiryReport{Warned: 1}, flag: levels.Approved, level: 3},
			{at: 90 * day, want: verification.ExpiryReport{Expired: 1, Downgraded: 1}, flag: levels.Missing, level: 1, event: verification.EventLevelGranted, pending: verification.PendingStatusNoRequest},
		}},
		{"renewed before expiry", true, []step{
			{at: 81 * day, want: verification.ExpiryReport{Warned: 1}, flag: levels.Approved, level: 3},
			{at: 95 * day, renew: 200 * day, flag: levels.Approved, level: 3, event: verification.EventRequirementApproved},
			{at: 190*day + time.Second, want: verification.ExpiryReport{Warned: 1}, flag: levels.Approved, level: 3, event: verification.EventRequirementExpiring},
			{at: 200 * day, want: verification.ExpiryReport{Expired: 1, Downgraded: 1}, flag: levels.Missing, level: 1},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := validitySetup(t, verification.Options{DowngradeOnExpiry: tc.downgrade})
			sub := b.level2(t, t0.Add(5000*day))
			for i, s := range tc.steps {
				if s.renew != 0 {
					b.clock.Set(t0.Add(s.at - time.Hour))
					_, err := b.svc.SetRequirement(b.ctx, b.admin, verification.SetRequirementParams{SubjectID: sub.ID, Requirement: "flag", ValidUntil: t0.Add(s.renew)})
					require.NoError(t, err)
					st := b.state(t, sub.ID, "flag")
					require.True(t, st.WarnedAt.IsZero(), "a renewal is announced again")
				}
				b.clock.Set(t0.Add(s.at))
				rep, err := b.svc.ExpireRequirements(b.ctx)
				require.NoError(t, err)
				require.Equal(t, s.want, rep, "step %d", i)
				st := b.state(t, sub.ID, "flag")
				require.Equal(t, s.flag, st.Status, "step %d", i)
				if s.flag == levels.Missing {
					require.Equal(t, verification.ReasonExpired, st.Reason)
					require.Zero(t, st.Attempts, "the expiry is not an attempt")
					require.Empty(t, st.Answer)
					verificationtest.RequireStatus(t, b.svc, sub.ID, map[string]levels.Status{"flag": levels.Missing})
				}
				verificationtest.RequireLevel(t, b.svc, sub.ID, s.level)
				if s.event != "" {
					evs, err := b.svc.Events(b.ctx, verification.SystemActor(), verification.EventFilter{SubjectID: sub.ID})
					require.NoError(t, err)
					last := evs[len(evs)-1]
					require.Equal(t, s.event, last.Type, "step %d", i)
					p, err := verification.DecodePayload(last)
					require.NoError(t, err)
					switch p := p.(type) {
					case *verification.LevelGrantedPayload:
						if rep.Downgraded > 0 {
							require.Equal(t, verification.ExpiredGrantReason("flag"), p.Reason)
							require.Zero(t, p.AdminID)
						}
					case *verification.RequirementExpiredPayload:
						require.Equal(t, "flag", p.Requirement)
						require.True(t, t0.Add(90*day).Equal(p.ValidUntil))
					case *verification.RequirementExpiringPayload:
						require.Equal(t, "flag", p.Requirement)
					}
				}
				if s.pending != "" {
					pr, err := b.svc.PendingRequest(b.ctx, sub.ID)
					require.NoError(t, err)
					require.Equal(t, s.pending, pr.Status, "step %d", i)
				}
			}
			if tc.downgrade && tc.steps[len(tc.steps)-1].level == 1 {
				page, err := b.svc.Grants(b.ctx, b.admin, verification.GrantFilter{SubjectID: sub.ID, Limit: 10, Desc: true})
				require.NoError(t, err)
				g := page.Items[0]
				require.Equal(t, verification.ExpiredGrantReason("flag"), g.Reason)
				require.Equal(t, 1, g.Level.ID)
				require.Equal(t, 3, g.Previous.ID)
				require.Zero(t, g.AdminID)
			}
		})
	}
}

// TestExpireDocumentReleasesFiles: an expired document answer releases its
// files, and the subject may answer again.
func TestExpireDocumentReleasesFiles(t *testing.T) {
	t.Parallel()
	b := validitySetup(t)
	t0 := verificationtest.Start
	sub := b.level2(t, t0.Add(40*day))
	b.clock.Set(t0.Add(40 * day))
	rep, err := b.svc.ExpireRequirements(b.ctx)
	require.NoError(t, err)
	require.Equal(t, verification.ExpiryReport{Expired: 1}, rep)
	require.Equal(t, levels.Missing, b.state(t, sub.ID, "idDocument").Status)
	b.submitDocument(t, sub.ID)
	require.Equal(t, levels.Pending, b.state(t, sub.ID, "idDocument").Status)
}

// TestExpireSkipsDeletedSubjects: a deleted subject's due state leaves the
// index without an event.
func TestExpireSkipsDeletedSubjects(t *testing.T) {
	t.Parallel()
	b := validitySetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	_, err := b.svc.Answer(b.ctx, sub.ID, "flag", json.RawMessage(`true`))
	require.NoError(t, err)
	require.NoError(t, b.svc.DeleteSubject(b.ctx, b.admin, sub.ID))
	b.clock.Advance(100 * day)
	rep, err := b.svc.ExpireRequirements(b.ctx)
	require.NoError(t, err)
	require.Equal(t, verification.ExpiryReport{}, rep)
	due, err := verificationtest.StoreOf(b.svc).ListDueRequirementStates(b.ctx, verification.DueFilter{Name: "flag", Before: b.svc.Now(), Limit: 10})
	require.NoError(t, err)
	require.Empty(t, due)
}
