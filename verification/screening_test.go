package verification_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/screening"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// fakeList is a Screener and ListVersioner over a map from a lower-case
// full name to its hits; it counts the screens and can be taken down.
type fakeList struct {
	mu      sync.Mutex
	version string
	hits    map[string][]screening.Hit
	calls   int
	down    bool
	queries []screening.Query
}

func (f *fakeList) Screen(ctx context.Context, q screening.Query) (screening.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return screening.Result{}, fmt.Errorf("%w: list service down", screening.ErrUnavailable)
	}
	f.calls++
	f.queries = append(f.queries, q)
	return screening.Result{Hits: append([]screening.Hit(nil), f.hits[strings.ToLower(q.FullName)]...), ListVersion: f.version}, nil
}

func (f *fakeList) ListVersion(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return "", fmt.Errorf("%w: list service down", screening.ErrUnavailable)
	}
	return f.version, nil
}

func (f *fakeList) set(fn func(f *fakeList)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeList) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func screeningLadder(t testing.TB) *levels.Ladder {
	t.Helper()
	l, err := levels.New([]levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{
			{Name: "fullName", Type: levels.String},
			{Name: "birthDate", Type: levels.String, Rule: "datetime=2006-01-02"},
			{Name: "nationality", Type: levels.Choice, Choices: map[string]string{"German": "DE", "Dutch": "NL"}},
			{Name: "sanctions", Type: levels.Screening, RescreenInterval: levels.Duration(30 * day),
				Screening: &levels.ScreeningSources{Name: "fullName", BirthDate: "birthDate", Nationality: "nationality"}},
		}},
		{ID: 3, Name: "Level 2", Requirements: []levels.Requirement{{Name: "note", Type: levels.String}}},
	})
	require.NoError(t, err)
	return l
}

type screenBundle struct {
	ctx   context.Context
	svc   *verification.Service
	clock *verificationtest.Clock
	list  *fakeList
	admin verification.Actor
}

func screenSetup(t *testing.T, downgrade bool) *screenBundle {
	t.Helper()
	list := &fakeList{version: "v1", hits: map[string][]screening.Hit{
		"ivan petrov": {{List: "us_ofac", EntityID: "123", Name: "PETROV, Ivan", Score: 0.97, Programmes: []string{"SDGT"}}},
	}}
	svc, clock := verificationtest.NewService(t, screeningLadder(t), verification.Options{Screener: list, DowngradeOnExpiry: downgrade})
	return &screenBundle{ctx: t.Context(), svc: svc, clock: clock, list: list, admin: verification.AdminActor(9, nil)}
}

// answer gives the three answers the screening reads.
func (b *screenBundle) answer(t *testing.T, name string) verification.Subject {
	t.Helper()
	sub := verificationtest.CreateSubject(t, b.svc)
	for req, v := range map[string]string{"fullName": name, "birthDate": "1970-03-14", "nationality": "DE"} {
		_, err := b.svc.Answer(b.ctx, sub.ID, req, json.RawMessage(`"`+v+`"`))
		require.NoError(t, err)
	}
	return sub
}

func (b *screenBundle) state(t *testing.T, subjectID int64) verification.RequirementState {
	t.Helper()
	list, err := b.svc.RequirementStates(b.ctx, verification.SystemActor(), subjectID)
	require.NoError(t, err)
	for _, st := range list {
		if st.Name == "sanctions" {
			return st
		}
	}
	return verification.RequirementState{Status: levels.Missing}
}

func (b *screenBundle) run(t *testing.T) verification.ScreeningReport {
	t.Helper()
	rep, err := b.svc.RunScreening(b.ctx)
	require.NoError(t, err)
	return rep
}

func lastEvent(t *testing.T, svc *verification.Service, subjectID int64, typ verification.EventType) verification.Payload {
	t.Helper()
	evs, err := svc.Events(context.Background(), verification.SystemActor(), verification.EventFilter{SubjectID: subjectID})
	require.NoError(t, err)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type == typ {
			p, err := verification.DecodePayload(evs[i])
			require.NoError(t, err)
			return p
		}
	}
	t.Fatalf("subject %d has no %s event", subjectID, typ)
	return nil
}

func TestScreeningNeedsAScreener(t *testing.T) {
	t.Parallel()
	_, err := verification.New(screeningLadder(t), verificationtest.StoreOf(mustService(t)), verification.Options{})
	require.ErrorIs(t, err, verification.ErrInvalid)
}

func mustService(t *testing.T) *verification.Service {
	svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	return svc
}

// TestScreeningClear: the answers queue the screen (no screener call on the
// request path); the job screens, approves and grants the level.
func TestScreeningClear(t *testing.T) {
	t.Parallel()
	b := screenSetup(t, false)
	sub := b.answer(t, "Anna Schmidt")
	require.Zero(t, b.list.count(), "answering never calls the screener")
	st := b.state(t, sub.ID)
	require.Equal(t, levels.Pending, st.Status, "queued")
	require.True(t, b.svc.Now().Equal(st.ValidUntil), "due now")
	verificationtest.RequireLevel(t, b.svc, sub.ID, 1)

	rep := b.run(t)
	require.Equal(t, verification.ScreeningReport{Screened: 1, Cleared: 1, ListVersion: "v1"}, rep)
	st = b.state(t, sub.ID)
	require.Equal(t, levels.Approved, st.Status)
	require.True(t, b.svc.Now().Add(30*day).Equal(st.ValidUntil), "next screen in one interval")
	rec, ok := verification.DecodeScreening(st)
	require.True(t, ok)
	require.Equal(t, verification.ScreeningQuery{FullName: "Anna Schmidt", BirthDate: "1970-03-14", Country: "DE"}, rec.Query)
	require.Equal(t, "v1", rec.ListVersion)
	verificationtest.RequireLevel(t, b.svc, sub.ID, 2)
	p := lastEvent(t, b.svc, sub.ID, verification.EventScreeningCleared).(*verification.ScreeningClearedPayload)
	require.Equal(t, "sanctions", p.Requirement)
	require.Zero(t, p.Dismissed)
	require.Equal(t, time.Date(1970, 3, 14, 0, 0, 0, 0, time.UTC), b.list.queries[0].BirthDate)

	// Nothing due: the next run screens nobody; one interval later, again.
	require.Equal(t, verification.ScreeningReport{ListVersion: "v1"}, b.run(t))
	b.clock.Advance(30 * day)
	require.Equal(t, verification.ScreeningReport{Screened: 1, ListVersion: "v1"}, b.run(t), "a re-screen that stays clear")
	verificationtest.RequireLevel(t, b.svc, sub.ID, 2)

	// The subject can neither answer nor have the host set the screening.
	_, err := b.svc.Answer(b.ctx, sub.ID, "sanctions", json.RawMessage(`true`))
	require.ErrorIs(t, err, verification.ErrForbidden)
	_, err = b.svc.SetRequirement(b.ctx, b.admin, verification.SetRequirementParams{SubjectID: sub.ID, Requirement: "sanctions"})
	require.ErrorIs(t, err, verification.ErrForbidden)
}

// TestScreeningFalsePositiveDismissal: a hit waits for a reviewer, who
// dismisses it; the same hit found again does not reopen, a new one does.
func TestScreeningFalsePositiveDismissal(t *testing.T) {
	t.Parallel()
	b := screenSetup(t, true)
	sub := b.answer(t, "Ivan Petrov")

	_, err := b.svc.Review(b.ctx, b.admin, verification.ReviewParams{SubjectID: sub.ID, Requirement: "sanctions", Decision: verification.Approve})
	require.ErrorIs(t, err, verification.ErrConflict, "nothing to review before the screen")

	require.Equal(t, verification.ScreeningReport{Screened: 1, Hits: 1, ListVersion: "v1"}, b.run(t))
	st := b.state(t, sub.ID)
	require.Equal(t, levels.Pending, st.Status)
	require.True(t, st.ValidUntil.IsZero(), "not due: it waits for a reviewer")
	rec, _ := verification.DecodeScreening(st)
	require.Len(t, rec.Hits, 1)
	require.Equal(t, "us_ofac/123", rec.Hits[0].Key)
	hit := lastEvent(t, b.svc, sub.ID, verification.EventScreeningHit).(*verification.ScreeningHitPayload)
	require.Equal(t, []string{"us_ofac/123"}, hit.Hits)
	verificationtest.RequireLevel(t, b.svc, sub.ID, 1)
	require.Equal(t, verification.ScreeningReport{ListVersion: "v1"}, b.run(t), "a pending review is not screened again")

	_, err = b.svc.Review(b.ctx, b.admin, verification.ReviewParams{SubjectID: sub.ID, Requirement: "sanctions", Decision: verification.Approve, ValidUntil: b.svc.Now().Add(day)})
	require.ErrorIs(t, err, verification.ErrInvalid, "a screening takes no date")
	st, err = b.svc.Review(b.ctx, b.admin, verification.ReviewParams{SubjectID: sub.ID, Requirement: "sanctions", Decision: verification.Approve, Reason: "different person: born 1950"})
	require.NoError(t, err)
	require.Equal(t, levels.Approved, st.Status)
	rec, _ = verification.DecodeScreening(st)
	require.Empty(t, rec.Hits)
	require.Equal(t, []string{"us_ofac/123"}, rec.Dismissed)
	cleared := lastEvent(t, b.svc, sub.ID, verification.EventScreeningCleared).(*verification.ScreeningClearedPayload)
	require.Equal(t, 1, cleared.Dismissed)
	verificationtest.RequireLevel(t, b.svc, sub.ID, 2)

	// The interval passes: the same hit stays dismissed.
	b.clock.Advance(31 * day)
	require.Equal(t, verification.ScreeningReport{Screened: 1, ListVersion: "v1"}, b.run(t))
	require.Equal(t, levels.Approved, b.state(t, sub.ID).Status)

	// A new list version adds an entry: every approved screening is
	// screened again at once, the new hit reopens and downgrades.
	b.list.set(func(f *fakeList) {
		f.version = "v2"
		f.hits["ivan petrov"] = append(f.hits["ivan petrov"], screening.Hit{List: "eu_fsf", EntityID: "77", Name: "Ivan PETROV", Score: 0.95})
	})
	rep := b.run(t)
	require.Equal(t, verification.ScreeningReport{Screened: 1, Hits: 1, ListVersion: "v2"}, rep)
	st = b.state(t, sub.ID)
	require.Equal(t, levels.Pending, st.Status)
	rec, _ = verification.DecodeScreening(st)
	require.Equal(t, []string{"eu_fsf/77"}, []string{rec.Hits[0].Key}, "only the new hit awaits review")
	verificationtest.RequireLevel(t, b.svc, sub.ID, 1)
	page, err := b.svc.Grants(b.ctx, b.admin, verification.GrantFilter{SubjectID: sub.ID, Limit: 1, Desc: true})
	require.NoError(t, err)
	require.Equal(t, verification.ReasonScreeningHit("sanctions"), page.Items[0].Reason)
	require.Zero(t, page.Items[0].AdminID)
}

// TestScreeningConfirmation: a reviewer confirms a hit: a final rejection.
func TestScreeningConfirmation(t *testing.T) {
	t.Parallel()
	b := screenSetup(t, false)
	sub := b.answer(t, "Ivan Petrov")
	b.run(t)
	st, err := b.svc.Review(b.ctx, b.admin, verification.ReviewParams{SubjectID: sub.ID, Requirement: "sanctions", Decision: verification.Reject, Reason: "listed person"})
	require.NoError(t, err)
	require.Equal(t, levels.Rejected, st.Status)
	require.True(t, st.Final, "a confirmed hit is final")
	require.True(t, st.ValidUntil.IsZero())
	verificationtest.RequireLevel(t, b.svc, sub.ID, 1)
	verificationtest.RequireStatus(t, b.svc, sub.ID, map[string]levels.Status{"sanctions": levels.Rejected, "note": levels.Missing})
	b.clock.Advance(60 * day)
	require.Equal(t, verification.ScreeningReport{ListVersion: "v1"}, b.run(t), "a confirmed hit is never screened again")
	reviews, err := b.svc.Reviews(b.ctx, b.admin, sub.ID)
	require.NoError(t, err)
	require.Equal(t, verification.Reject, reviews[len(reviews)-1].Decision)
}

// TestScreeningOutageAndErasure: an outage leaves everything as it was;
// erasure deletes the stored query and hits.
func TestScreeningOutageAndErasure(t *testing.T) {
	t.Parallel()
	b := screenSetup(t, false)
	sub := b.answer(t, "Ivan Petrov")
	b.list.set(func(f *fakeList) { f.down = true })
	_, err := b.svc.RunScreening(b.ctx)
	require.ErrorIs(t, err, screening.ErrUnavailable)
	require.Equal(t, levels.Pending, b.state(t, sub.ID).Status)
	b.list.set(func(f *fakeList) { f.down = false })
	require.Equal(t, 1, b.run(t).Hits)

	clear := b.answer(t, "Anna Schmidt")
	require.Equal(t, 1, b.run(t).Cleared)
	require.False(t, b.state(t, clear.ID).ValidUntil.IsZero())
	require.NoError(t, b.svc.Erase(b.ctx, b.admin, clear.ID))
	require.True(t, b.state(t, clear.ID).ValidUntil.IsZero(), "an erased subject is not screened again")
	require.Empty(t, b.state(t, clear.ID).Answer)

	require.NoError(t, b.svc.Erase(b.ctx, b.admin, sub.ID))
	st := b.state(t, sub.ID)
	require.Empty(t, st.Answer, "the stored query and hits are erased")
	_, ok := verification.DecodeScreening(st)
	require.False(t, ok)
	require.True(t, st.ValidUntil.IsZero(), "an erased subject is not screened again")
	b.clock.Advance(60 * day)
	calls := b.list.count()
	b.list.set(func(f *fakeList) { f.version = "v9" })
	b.run(t)
	require.Equal(t, calls, b.list.count())
}

// TestDiligenceJobs: the maintenance runner carries the expiry sweep and
// the screening when the Service needs them.
func TestDiligenceJobs(t *testing.T) {
	t.Parallel()
	b := screenSetup(t, false)
	sub := b.answer(t, "Anna Schmidt")
	r, err := b.svc.Maintenance(verification.MaintenanceOptions{})
	require.NoError(t, err)
	names := []string{}
	for _, j := range r.Jobs() {
		names = append(names, j.Name)
	}
	require.Contains(t, names, verification.JobScreening)
	require.NotContains(t, names, verification.JobRequirementExpiry, "nothing of this ladder expires")
	rep, err := r.RunJob(b.ctx, verification.JobScreening)
	require.NoError(t, err)
	require.NoError(t, rep.Err)
	require.Equal(t, map[string]int{"screened": 1, "cleared": 1, "hits": 0, "failed": 0}, rep.Counts)
	require.Equal(t, levels.Approved, b.state(t, sub.ID).Status)

	v := validitySetup(t)
	s := verificationtest.CreateSubject(t, v.svc)
	_, err = v.svc.Answer(v.ctx, s.ID, "flag", json.RawMessage(`true`))
	require.NoError(t, err)
	r, err = v.svc.Maintenance(verification.MaintenanceOptions{})
	require.NoError(t, err)
	v.clock.Advance(100 * day)
	rep, err = r.RunJob(v.ctx, verification.JobRequirementExpiry)
	require.NoError(t, err)
	require.NoError(t, rep.Err)
	require.Equal(t, map[string]int{"expired": 1, "warned": 0, "downgraded": 0}, rep.Counts)
	_, err = r.RunJob(v.ctx, verification.JobScreening)
	require.ErrorIs(t, err, verification.ErrNotFound, "no screener, no screening job")
}
