package verification_test

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/fake"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

type providerBundle struct {
	svc   *verification.Service
	clock *verificationtest.Clock
	fake  *fake.Provider
	store verification.Store
}

// flakyMedia wraps the fake provider so its media calls fail a number of
// times first (an outage).
type flakyMedia struct {
	*fake.Provider
	failures atomic.Int32
	err      error
}

func (f *flakyMedia) ListMedia(ctx context.Context, id string) ([]providers.Media, error) {
	if f.failures.Add(-1) >= 0 {
		return nil, f.err
	}
	return f.Provider.ListMedia(ctx, id)
}

func newFake(t testing.TB) *fake.Provider {
	t.Helper()
	p, err := fake.New(fake.Config{Secret: "s3cret", BaseURL: "http://127.0.0.1/fake"})
	require.NoError(t, err)
	return p
}

func setupProviders(t testing.TB, p providers.Provider) *providerBundle {
	t.Helper()
	if p == nil {
		p = newFake(t)
	}
	b := &providerBundle{store: nil}
	svc, clock := verificationtest.NewService(t, verificationtest.SeedLadder(t), verification.Options{
		Providers:     []verification.ProviderConfig{{Provider: p, Requirements: []string{"idDocument"}}},
		MediaAttempts: 3, MediaBackoff: time.Minute,
	})
	b.svc, b.clock, b.store = svc, clock, verificationtest.StoreOf(svc)
	switch x := p.(type) {
	case *fake.Provider:
		b.fake = x
	case *flakyMedia:
		b.fake = x.Provider
	}
	return b
}

func decision(sub verification.Subject, session, key string, o providers.Outcome, at time.Time) providers.Decision {
	return providers.Decision{Provider: fake.Name, EventKey: key, SessionID: session, SubjectRef: sub.Identifier,
		Outcome: o, Final: o.Final(), OccurredAt: at, Reason: "reason " + string(o),
		Document: providers.DocumentFacts{Type: "PASSPORT", Country: "EE", Number: "B0123", ValidUntil: time.Date(2031, 5, 1, 0, 0, 0, 0, time.UTC)}}
}

func TestApplyProviderDecisionSequence(t *testing.T) {
	t.Parallel()
	b := setupProviders(t, nil)
	ctx := t.Context()
	sub := verificationtest.CreateSubject(t, b.svc)
	t0 := verificationtest.Start

	steps := []struct {
		name     string
		d        providers.Decision
		result   verification.ProviderResult
		outcome  providers.Outcome // the session's state afterwards
		req      levels.Status
		reqFinal bool
		event    verification.EventType // the provider event emitted, "" for none
	}{
		{"submitted", decision(sub, "sess-1", "k1", providers.OutcomeSubmitted, t0.Add(time.Minute)), verification.ProviderApplied, providers.OutcomeSubmitted, levels.Pending, false, verification.EventProviderDecisionApplied},
		{"approved", decision(sub, "sess-1", "k2", providers.OutcomeApproved, t0.Add(3*time.Minute)), verification.ProviderApplied, providers.OutcomeApproved, levels.Approved, false, verification.EventProviderDecisionApplied},
		{"duplicate approval", decision(sub, "sess-1", "k2", providers.OutcomeApproved, t0.Add(3*time.Minute)), verification.ProviderDuplicate, providers.OutcomeApproved, levels.Approved, false, ""},
		{"late submitted", decision(sub, "sess-1", "k0", providers.OutcomeSubmitted, t0), verification.ProviderStale, providers.OutcomeApproved, levels.Approved, false, verification.EventProviderDecisionStale},
		{"older decline", decision(sub, "sess-1", "k3", providers.OutcomeDeclined, t0.Add(2*time.Minute)), verification.ProviderStale, providers.OutcomeApproved, levels.Approved, false, verification.EventProviderDecisionStale},
		{"same-instant decline", decision(sub, "sess-1", "k4", providers.OutcomeDeclined, t0.Add(3*time.Minute)), verification.ProviderStale, providers.OutcomeApproved, levels.Approved, false, verification.EventProviderDecisionStale},
		{"newer final decline", decision(sub, "sess-1", "k5", providers.OutcomeDeclined, t0.Add(4*time.Minute)), verification.ProviderApplied, providers.OutcomeDeclined, levels.Rejected, true, verification.EventProviderDecisionApplied},
		{"newer resubmission", decision(sub, "sess-1", "k6", providers.OutcomeResubmissionRequested, t0.Add(5*time.Minute)), verification.ProviderApplied, providers.OutcomeResubmissionRequested, levels.Rejected, false, verification.EventProviderDecisionApplied},
	}
	var idSession string
	for _, st := range steps {
		before, err := b.svc.Events(ctx, verification.SystemActor(), verification.EventFilter{SubjectID: sub.ID})
		require.NoError(t, err)
		trail := auditLog(t, b.svc)
		rec, err := b.svc.ApplyProviderDecision(ctx, st.d)
		require.NoError(t, err, st.name)
		require.Equal(t, st.result, rec.Result, st.name)
		// An applied decision writes one audit entry; a stale or duplicate
		// one changes nothing and writes none.
		newTrail := auditLog(t, b.svc)[len(trail):]
		if st.result == verification.ProviderApplied {
			require.Len(t, newTrail, 1, "%s: one audit entry", st.name)
			e := newTrail[0]
			require.Equal(t, verification.AuditProviderDecision, e.Action, st.name)
			require.Equal(t, verification.ProviderActor(fake.Name), e.Actor, st.name)
			require.Equal(t, sub.ID, e.SubjectID, st.name)
			require.Equal(t, "sess-1", e.EntityID, st.name)
			require.Equal(t, string(st.d.Outcome), e.Summary["outcome"], st.name)
		} else {
			require.Empty(t, newTrail, "%s: no audit entry", st.name)
		}
		require.Equal(t, sub.ID, rec.SubjectID, st.name)
		if idSession == "" {
			idSession = rec.IDSessionID
		}
		require.Equal(t, idSession, rec.IDSessionID, "%s: one identity session per provider session", st.name)

		ps, err := b.store.GetProviderSession(ctx, fake.Name, "sess-1")
		require.NoError(t, err)
		require.Equal(t, st.outcome, ps.Outcome, st.name)
		state, err := b.store.GetRequirementState(ctx, sub.ID, "idDocument")
		require.NoError(t, err)
		require.Equal(t, st.req, state.Status, st.name)
		require.Equal(t, st.reqFinal, state.Final, st.name)

		after, err := b.svc.Events(ctx, verification.SystemActor(), verification.EventFilter{SubjectID: sub.ID})
		require.NoError(t, err)
		var got []verification.EventType
		for _, e := range after[len(before):] {
			if e.Type == verification.EventProviderDecisionApplied || e.Type == verification.EventProviderDecisionStale {
				got = append(got, e.Type)
				p, err := verification.DecodePayload(e)
				require.NoError(t, err)
				require.NotZero(t, p.(interface{ EventType() verification.EventType }).EventType())
			}
		}
		if st.event == "" {
			require.Empty(t, got, st.name)
		} else {
			require.Equal(t, []verification.EventType{st.event}, got, st.name)
		}
	}
	sessions, err := b.store.ListIDSessions(ctx, sub.ID)
	require.NoError(t, err)
	require.Len(t, sessions, 1)
	require.Equal(t, fake.Name, sessions[0].Provider)
	require.Equal(t, string(providers.OutcomeResubmissionRequested), sessions[0].Status)
	require.Equal(t, t0.Add(5*time.Minute), sessions[0].CreatedAt, "the identity session's date is the applied decision's time")

	evs, err := b.store.ListProviderEvents(ctx, verification.ProviderEventFilter{Provider: fake.Name, SessionID: "sess-1"})
	require.NoError(t, err)
	require.Len(t, evs, 7, "every distinct event is recorded once, duplicates not")

	ps, err := b.store.GetProviderSession(ctx, fake.Name, "sess-1")
	require.NoError(t, err)
	require.Equal(t, time.Date(2031, 5, 1, 0, 0, 0, 0, time.UTC), ps.Document.ValidUntil, "document facts are kept")

	// The approval earned no manual session and the level it reached stays.
	verificationtest.RequireLevel(t, b.svc, sub.ID, 1)
}

func TestApplyProviderDecisionRefusals(t *testing.T) {
	t.Parallel()
	b := setupProviders(t, nil)
	ctx := t.Context()
	sub := verificationtest.CreateSubject(t, b.svc)
	good := decision(sub, "sess-1", "k1", providers.OutcomeApproved, verificationtest.Start)
	for _, tc := range []struct {
		name string
		edit func(d *providers.Decision)
	}{
		{"no event key", func(d *providers.Decision) { d.EventKey = "" }},
		{"no session", func(d *providers.Decision) { d.SessionID = "" }},
		{"unknown outcome", func(d *providers.Decision) { d.Outcome = "maybe" }},
		{"unconfigured provider", func(d *providers.Decision) { d.Provider = "veriff" }},
		{"long session id", func(d *providers.Decision) { d.SessionID = string(make([]byte, 300)) }},
	} {
		d := good
		tc.edit(&d)
		_, err := b.svc.ApplyProviderDecision(ctx, d)
		require.ErrorIs(t, err, verification.ErrInvalid, tc.name)
	}
	evs, err := b.store.ListProviderEvents(ctx, verification.ProviderEventFilter{})
	require.NoError(t, err)
	require.Empty(t, evs, "a refused decision records nothing")

	// Unknown and deleted subjects: recorded, unmatched, then duplicates.
	other := good
	other.SubjectRef, other.EventKey = verificationtest.Identifier(), "k-unknown"
	rec, err := b.svc.ApplyProviderDecision(ctx, other)
	require.NoError(t, err)
	require.Equal(t, verification.ProviderUnmatched, rec.Result)
	rec, err = b.svc.ApplyProviderDecision(ctx, other)
	require.NoError(t, err)
	require.Equal(t, verification.ProviderDuplicate, rec.Result)

	require.NoError(t, b.svc.DeleteSubject(ctx, verification.HostActor(), sub.ID))
	rec, err = b.svc.ApplyProviderDecision(ctx, good)
	require.NoError(t, err)
	require.Equal(t, verification.ProviderUnmatched, rec.Result, "a deleted subject's decision changes nothing")
}

func TestProviderMediaFetch(t *testing.T) {
	t.Parallel()
	flaky := &flakyMedia{Provider: newFake(t), err: &providers.CallError{Provider: fake.Name, Op: "GET media", Err: providers.ErrUnavailable}}
	flaky.failures.Store(1)
	b := setupProviders(t, flaky)
	ctx := t.Context()
	sub := verificationtest.CreateSubject(t, b.svc)

	sess, err := b.svc.StartProviderSession(ctx, verification.UserActor(sub.ID), verification.StartProviderSessionParams{SubjectID: sub.ID, Provider: fake.Name})
	require.NoError(t, err)
	require.NotEmpty(t, sess.URL)
	d, err := b.fake.Decide(sess.ID, providers.OutcomeApproved)
	require.NoError(t, err)
	d.SubjectRef = "" // the session the host started finds the subject
	rec, err := b.svc.ApplyProviderDecision(ctx, d)
	require.NoError(t, err)
	require.Equal(t, verification.ProviderApplied, rec.Result)
	require.Equal(t, sub.ID, rec.SubjectID)

	// First run: the provider is down; the fetch is retried later.
	rep, err := b.svc.FetchProviderMedia(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, verification.MediaReport{Retrying: 1}, rep)
	rep, err = b.svc.FetchProviderMedia(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, verification.MediaReport{}, rep, "not due before the backoff")
	b.clock.Advance(2 * time.Minute)
	rep, err = b.svc.FetchProviderMedia(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, verification.MediaReport{Fetched: 1}, rep)

	latest, err := b.svc.LatestIDSession(ctx, sub.ID)
	require.NoError(t, err)
	require.Equal(t, fake.Name, latest.Provider)
	require.Equal(t, verification.IDSessionApproved, latest.Status)
	for _, id := range []string{latest.FrontFileID, latest.BackFileID, latest.FaceFileID} {
		require.NotEmpty(t, id)
		f, rc, err := b.svc.OpenFile(ctx, verification.UserActor(sub.ID), id)
		require.NoError(t, err)
		body, err := io.ReadAll(rc)
		require.NoError(t, rc.Close())
		require.NoError(t, err)
		require.Equal(t, "image/png", f.ContentType)
		require.Equal(t, f.Size, int64(len(body)))
	}
	ps, err := b.store.GetProviderSession(ctx, fake.Name, sess.ID)
	require.NoError(t, err)
	require.Equal(t, verification.MediaFetched, ps.MediaStatus)
}

func TestProviderMediaGivesUp(t *testing.T) {
	t.Parallel()
	flaky := &flakyMedia{Provider: newFake(t), err: &providers.CallError{Provider: fake.Name, Op: "GET media", Err: providers.ErrRejected}}
	flaky.failures.Store(100)
	b := setupProviders(t, flaky)
	ctx := t.Context()
	sub := verificationtest.CreateSubject(t, b.svc)
	sess, err := b.svc.StartProviderSession(ctx, verification.HostActor(), verification.StartProviderSessionParams{SubjectID: sub.ID, Provider: fake.Name})
	require.NoError(t, err)
	d, err := b.fake.Decide(sess.ID, providers.OutcomeApproved)
	require.NoError(t, err)
	_, err = b.svc.ApplyProviderDecision(ctx, d)
	require.NoError(t, err)
	rep, err := b.svc.FetchProviderMedia(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, verification.MediaReport{Failed: 1}, rep, "a refusal is not retried")
	latest, err := b.svc.LatestIDSession(ctx, sub.ID)
	require.NoError(t, err)
	require.Empty(t, latest.FrontFileID, "the session stands without images")
}

// unavailable is a provider whose StartSession always fails.
type unavailable struct{ *fake.Provider }

func (unavailable) StartSession(context.Context, providers.StartParams) (providers.Session, error) {
	return providers.Session{}, &providers.CallError{Provider: fake.Name, Op: "POST", Err: providers.ErrUnavailable, Cause: errors.New("timeout")}
}

func TestStartProviderSession(t *testing.T) {
	t.Parallel()
	b := setupProviders(t, unavailable{newFake(t)})
	ctx := t.Context()
	sub := verificationtest.CreateSubject(t, b.svc)
	other := verificationtest.CreateSubject(t, b.svc)
	_, err := b.svc.StartProviderSession(ctx, verification.UserActor(sub.ID), verification.StartProviderSessionParams{SubjectID: sub.ID, Provider: fake.Name})
	require.ErrorIs(t, err, verification.ErrUnavailable)
	_, err = b.svc.StartProviderSession(ctx, verification.UserActor(sub.ID), verification.StartProviderSessionParams{SubjectID: sub.ID, Provider: "nope"})
	require.ErrorIs(t, err, verification.ErrNotFound)
	_, err = b.svc.StartProviderSession(ctx, verification.UserActor(sub.ID), verification.StartProviderSessionParams{SubjectID: other.ID, Provider: fake.Name})
	require.ErrorIs(t, err, verification.ErrDeleted, "a user starts sessions for itself only")
	_, err = b.svc.StartProviderSession(ctx, verification.ProviderActor("fake"), verification.StartProviderSessionParams{SubjectID: sub.ID, Provider: fake.Name})
	require.ErrorIs(t, err, verification.ErrForbidden)
}
