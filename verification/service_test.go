package verification_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

type testBundle struct {
	svc   *verification.Service
	clock *verificationtest.Clock
	ctx   context.Context
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	svc, clock := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	return &testBundle{svc: svc, clock: clock, ctx: context.Background()}
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// reachLevel1 answers and approves every Level 1 requirement.
func (b *testBundle) reachLevel1(t *testing.T, id int64) {
	t.Helper()
	_, err := b.svc.Answer(b.ctx, id, "isBusiness", raw(`false`))
	require.NoError(t, err)
	_, err = b.svc.Answer(b.ctx, id, "nationality", raw(`"NL"`))
	require.NoError(t, err)
	_, err = b.svc.Answer(b.ctx, id, "emailCode", raw(`"123456"`))
	require.NoError(t, err)
	_, err = b.svc.Review(b.ctx, verification.AdminActor(7, nil), verification.ReviewParams{SubjectID: id, Requirement: "emailCode", Decision: verification.Approve})
	require.NoError(t, err)
}

func TestNewSubjectStartsAtFirstLevel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := verificationtest.CreateSubject(t, b.svc, "eu", "eu", "vip")
	assert.Positive(t, sub.ID)
	assert.Equal(t, []string{"eu", "vip"}, sub.Tags)
	verificationtest.RequireLevel(t, b.svc, sub.ID, 1)
	page, err := b.svc.Grants(b.ctx, verification.SystemActor(), verification.GrantFilter{SubjectID: sub.ID, Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 1, page.Total)
	g := page.Items[0]
	assert.Equal(t, verification.ReasonCreated, g.Reason)
	assert.Nil(t, g.Previous)
	assert.Zero(t, g.AdminID)
	assert.Equal(t, verification.LevelRef{ID: 1, Name: "Level 0"}, g.Level)
	assert.Equal(t, verificationtest.Start, g.CreatedAt)
	verificationtest.RequireEvents(t, b.svc, sub.ID, verification.EventSubjectCreated, verification.EventLevelGranted)
}

func TestCreateSubjectIdentifierRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ok := verificationtest.Identifier()
	_, err := b.svc.CreateSubject(b.ctx, verification.CreateSubjectParams{Identifier: ok})
	require.NoError(t, err)
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'a'
	}
	tests := []struct {
		name string
		id   string
		kind error
		code verification.Code
	}{
		{"too short", "abc", verification.ErrInvalid, verification.CodeIdentifierMalformed},
		{"35 chars", "a2345678901234567890123456789012345", verification.ErrInvalid, verification.CodeIdentifierMalformed},
		{"256 chars", string(long), verification.ErrInvalid, verification.CodeIdentifierMalformed},
		{"dash", "a234567890123456789012345678901234-6", verification.ErrInvalid, verification.CodeIdentifierMalformed},
		{"non-ascii", "ä23456789012345678901234567890123456", verification.ErrInvalid, verification.CodeIdentifierMalformed},
		{"taken", ok, verification.ErrConflict, verification.CodeIdentifierInUse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.svc.CreateSubject(b.ctx, verification.CreateSubjectParams{Identifier: tc.id})
			require.ErrorIs(t, err, tc.kind)
			var e *verification.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.code, e.Code)
			assert.Equal(t, "identifier", e.Field)
		})
	}
	_, err = b.svc.CreateSubject(b.ctx, verification.CreateSubjectParams{Identifier: verificationtest.Identifier(), Tags: []string{" eu"}})
	require.ErrorIs(t, err, verification.ErrInvalid)
	page, err := b.svc.Grants(b.ctx, verification.SystemActor(), verification.GrantFilter{Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, 1, page.Total, "refused creations write nothing")
}

func TestSubjectLookupAndDeletion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	got, err := b.svc.SubjectByIdentifier(b.ctx, verification.SystemActor(), sub.Identifier)
	require.NoError(t, err)
	assert.Equal(t, sub.ID, got.ID)

	_, err = b.svc.SubjectByIdentifier(b.ctx, verification.SystemActor(), verificationtest.Identifier())
	require.ErrorIs(t, err, verification.ErrNotFound)
	assertCode(t, err, verification.CodeIdentifierNotLinked)
	_, err = b.svc.SubjectByIdentifier(b.ctx, verification.SystemActor(), "short")
	assertCode(t, err, verification.CodeIdentifierMalformed)
	_, err = b.svc.Subject(b.ctx, verification.SystemActor(), 999)
	assertCode(t, err, verification.CodeUserDeleted)

	require.NoError(t, b.svc.DeleteSubject(b.ctx, verification.SystemActor(), sub.ID))
	for name, call := range map[string]func() error{
		"Subject": func() error { _, err := b.svc.Subject(b.ctx, verification.SystemActor(), sub.ID); return err },
		"ByIdent": func() error {
			_, err := b.svc.SubjectByIdentifier(b.ctx, verification.SystemActor(), sub.Identifier)
			return err
		},
		"Status": func() error { _, err := b.svc.Status(b.ctx, sub.ID, 0); return err },
		"Answer": func() error { _, err := b.svc.Answer(b.ctx, sub.ID, "isBusiness", raw(`true`)); return err },
		"SetTags": func() error {
			_, err := b.svc.SetTags(b.ctx, verification.SystemActor(), sub.ID, []string{"x"})
			return err
		},
		"Delete": func() error { return b.svc.DeleteSubject(b.ctx, verification.SystemActor(), sub.ID) },
		"GrantLevel": func() error {
			_, err := b.svc.GrantLevel(b.ctx, verification.AdminActor(1, nil), verification.GrantLevelParams{SubjectID: sub.ID, Level: 2, Reason: "x"})
			return err
		},
	} {
		err := call()
		require.ErrorIs(t, err, verification.ErrDeleted, name)
		assertCode(t, err, verification.CodeUserDeleted)
	}
	// The identifier stays taken: deleted subjects keep their history.
	_, err = b.svc.CreateSubject(b.ctx, verification.CreateSubjectParams{Identifier: sub.Identifier})
	assertCode(t, err, verification.CodeIdentifierInUse)
}

func assertCode(t *testing.T, err error, code verification.Code) {
	t.Helper()
	var e *verification.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, code, e.Code)
}

func TestAnswerValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	tests := []struct {
		req, answer string
		kind        error
		field       string
	}{
		{"nosuch", `true`, verification.ErrInvalid, "requirement"},
		{"isBusiness", `"yes"`, verification.ErrInvalid, "answer"},
		{"emailCode", `"12345"`, verification.ErrInvalid, "answer"},
		{"nationality", `"FR"`, verification.ErrInvalid, "answer"},
		{"AMLD5Questions", `{"Question1":"answer1"}`, verification.ErrInvalid, "answer.Question2"},
		{"idDocument", `{"type":"passport","files":{"front":"f1"}}`, verification.ErrInvalid, "answer.files.back"},
		{"idDocument", `{"type":"passport","files":{"front":"f1","back":"f2"}}`, verification.ErrNotFound, "answer.files."},
		{"verificationFlag", `true`, verification.ErrForbidden, ""},
	}
	for _, tc := range tests {
		t.Run(tc.req+" "+tc.answer, func(t *testing.T) {
			t.Parallel()
			_, err := b.svc.Answer(b.ctx, sub.ID, tc.req, raw(tc.answer))
			require.ErrorIs(t, err, tc.kind)
			var e *verification.Error
			require.ErrorAs(t, err, &e)
			assert.Contains(t, e.Field, tc.field)
		})
	}
	t.Run("too large", func(t *testing.T) {
		t.Parallel()
		big := make([]byte, verification.MaxAnswerBytes+1)
		_, err := b.svc.Answer(b.ctx, sub.ID, "emailCode", big)
		require.ErrorIs(t, err, verification.ErrInvalid)
	})
}

func TestAnswerRefusalsWriteNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	_, err := b.svc.Answer(b.ctx, sub.ID, "nationality", raw(`"XX"`))
	require.Error(t, err)
	states, err := b.svc.RequirementStates(b.ctx, verification.SystemActor(), sub.ID)
	require.NoError(t, err)
	assert.Empty(t, states)
	verificationtest.RequireEvents(t, b.svc, sub.ID, verification.EventSubjectCreated, verification.EventLevelGranted)
}

func TestWholePathToTopLevel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := b.ctx
	sub := verificationtest.CreateSubject(t, b.svc)
	verificationtest.RequireStatus(t, b.svc, sub.ID, map[string]levels.Status{
		"isBusiness": levels.Missing, "emailCode": levels.Missing, "nationality": levels.Missing,
		"AMLD5Questions": levels.Missing, "idDocument": levels.Missing, "verificationFlag": levels.Missing,
	})

	b.clock.Advance(time.Minute)
	st, err := b.svc.Answer(ctx, sub.ID, "isBusiness", raw(`true`))
	require.NoError(t, err)
	assert.Equal(t, levels.Approved, st.Status)
	assert.Equal(t, 1, st.Attempts)
	_, err = b.svc.Answer(ctx, sub.ID, "nationality", raw(`"DE"`))
	require.NoError(t, err)
	st, err = b.svc.Answer(ctx, sub.ID, "emailCode", raw(`"123456"`))
	require.NoError(t, err)
	assert.Equal(t, levels.Pending, st.Status)
	verificationtest.RequireLevel(t, b.svc, sub.ID, 1)

	// A pending answer cannot be replaced while it awaits review.
	_, err = b.svc.Answer(ctx, sub.ID, "emailCode", raw(`"654321"`))
	require.ErrorIs(t, err, verification.ErrConflict)

	// The host confirms the email code: level 1 is earned and granted.
	b.clock.Advance(time.Minute)
	_, err = b.svc.SetRequirement(ctx, verification.HostActor(), verification.SetRequirementParams{SubjectID: sub.ID, Requirement: "emailCode"})
	require.NoError(t, err)
	verificationtest.RequireLevel(t, b.svc, sub.ID, 2)

	_, err = b.svc.Answer(ctx, sub.ID, "AMLD5Questions", raw(`{"Question1":"answer1","Question2":"answer3"}`))
	require.NoError(t, err)
	_, err = b.svc.SetRequirement(ctx, verification.AdminActor(3, nil), verification.SetRequirementParams{SubjectID: sub.ID, Requirement: "verificationFlag", Value: raw(`true`)})
	require.NoError(t, err)
	front := verificationtest.Upload(t, b.svc, sub.ID, "passport", "front")
	back := verificationtest.Upload(t, b.svc, sub.ID, "passport", "back")
	passport := func(front, back verification.File) json.RawMessage {
		return raw(fmt.Sprintf(`{"type":"passport","files":{"front":%q,"back":%q}}`, front.ID, back.ID))
	}
	_, err = b.svc.Answer(ctx, sub.ID, "idDocument", passport(front, back))
	require.NoError(t, err)
	verificationtest.RequireStatus(t, b.svc, sub.ID, map[string]levels.Status{"idDocument": levels.Pending})

	b.clock.Advance(time.Minute)
	_, err = b.svc.Review(ctx, verification.AdminActor(9, nil), verification.ReviewParams{SubjectID: sub.ID, Requirement: "idDocument", Decision: verification.Reject, Reason: "blurry"})
	require.NoError(t, err)
	verificationtest.RequireStatus(t, b.svc, sub.ID, map[string]levels.Status{"idDocument": levels.Rejected})
	_, err = b.svc.Answer(ctx, sub.ID, "idDocument", passport(front, back))
	require.ErrorIs(t, err, verification.ErrConflict, "rejected files cannot be submitted again")
	front = verificationtest.Upload(t, b.svc, sub.ID, "passport", "front")
	back = verificationtest.Upload(t, b.svc, sub.ID, "passport", "back")
	_, err = b.svc.Answer(ctx, sub.ID, "idDocument", passport(front, back))
	require.NoError(t, err)
	_, err = b.svc.Review(ctx, verification.AdminActor(9, nil), verification.ReviewParams{SubjectID: sub.ID, Requirement: "idDocument", Decision: verification.Approve, Reason: "documents ok"})
	require.NoError(t, err)

	verificationtest.RequireStatus(t, b.svc, sub.ID, nil)
	verificationtest.RequireLevel(t, b.svc, sub.ID, 3)

	page, err := b.svc.Grants(ctx, verification.SystemActor(), verification.GrantFilter{SubjectID: sub.ID, Limit: 10, Desc: true})
	require.NoError(t, err)
	require.Equal(t, 3, page.Total)
	top := page.Items[0]
	assert.Equal(t, verification.LevelRef{ID: 3, Name: "Level 2"}, top.Level)
	assert.Equal(t, &verification.LevelRef{ID: 2, Name: "Level 1"}, top.Previous)
	assert.Equal(t, "documents ok", top.Reason)
	assert.Equal(t, int64(9), top.AdminID)
	mid := page.Items[1]
	assert.Equal(t, "Review: emailCode", mid.Reason)
	assert.Zero(t, mid.AdminID, "the host's own code check has no admin")
	assert.Equal(t, verificationtest.Start.Add(2*time.Minute), mid.CreatedAt)

	reviews, err := b.svc.Reviews(ctx, verification.SystemActor(), sub.ID)
	require.NoError(t, err)
	require.Len(t, reviews, 4)
	assert.Equal(t, verification.Reject, reviews[2].Decision)
	assert.Equal(t, "blurry", reviews[2].Reason)

	got, err := b.svc.Grant(ctx, verification.SystemActor(), top.ID)
	require.NoError(t, err)
	assert.Equal(t, top, got)
}

func TestRejectionRetryFinalAndAttemptCap(t *testing.T) {
	t.Parallel()
	ladder, err := levels.New([]levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{
			{Name: "code", Type: levels.String, Rule: "required,len=3", Review: true, MaxAttempts: 2},
		}},
	})
	require.NoError(t, err)
	svc, _ := verificationtest.NewService(t, ladder)
	ctx := context.Background()
	sub := verificationtest.CreateSubject(t, svc)
	reject := func(final bool) {
		t.Helper()
		_, err := svc.Review(ctx, verification.AdminActor(1, nil), verification.ReviewParams{SubjectID: sub.ID, Requirement: "code", Decision: verification.Reject, Reason: "wrong", Final: final})
		require.NoError(t, err)
	}

	_, err = svc.Answer(ctx, sub.ID, "code", raw(`"abc"`))
	require.NoError(t, err)
	reject(false)
	_, err = svc.Answer(ctx, sub.ID, "code", raw(`"abd"`))
	require.NoError(t, err)
	reject(false)
	_, err = svc.Answer(ctx, sub.ID, "code", raw(`"abe"`))
	require.ErrorIs(t, err, verification.ErrAttemptsExhausted)

	_, err = svc.ResetRequirement(ctx, verification.AdminActor(5, nil), sub.ID, "code", false)
	require.NoError(t, err)
	_, err = svc.Answer(ctx, sub.ID, "code", raw(`"abf"`))
	require.NoError(t, err)
	reject(true)
	_, err = svc.Answer(ctx, sub.ID, "code", raw(`"abg"`))
	require.ErrorIs(t, err, verification.ErrRejectedFinal)

	// Reviewing something not pending is a conflict.
	_, err = svc.Review(ctx, verification.AdminActor(1, nil), verification.ReviewParams{SubjectID: sub.ID, Requirement: "code", Decision: verification.Approve})
	require.ErrorIs(t, err, verification.ErrConflict)
}

func TestReviewParamsValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	tests := []struct {
		name  string
		p     verification.ReviewParams
		field string
	}{
		{"no subject", verification.ReviewParams{Requirement: "emailCode", Decision: verification.Approve}, "subjectId"},
		{"bad decision", verification.ReviewParams{SubjectID: sub.ID, Requirement: "emailCode", Decision: "maybe"}, "decision"},
		{"reject without reason", verification.ReviewParams{SubjectID: sub.ID, Requirement: "emailCode", Decision: verification.Reject}, "reason"},
		{"final approval", verification.ReviewParams{SubjectID: sub.ID, Requirement: "emailCode", Decision: verification.Approve, Final: true}, "final"},
		{"unknown requirement", verification.ReviewParams{SubjectID: sub.ID, Requirement: "nope", Decision: verification.Approve}, "requirement"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.svc.Review(b.ctx, verification.AdminActor(1, nil), tc.p)
			require.ErrorIs(t, err, verification.ErrInvalid)
			var e *verification.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.field, e.Field)
		})
	}
}

func TestGrantLevelManualAndHistoryListing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	eu := verificationtest.CreateSubject(t, b.svc, "eu")
	us := verificationtest.CreateSubject(t, b.svc, "us")
	b.clock.Advance(time.Hour)
	g, err := b.svc.GrantLevel(b.ctx, verification.AdminActor(4, nil), verification.GrantLevelParams{SubjectID: eu.ID, Level: 3, Reason: "manual KYC"})
	require.NoError(t, err)
	assert.Equal(t, "manual KYC", g.Reason)
	assert.Equal(t, &verification.LevelRef{ID: 1, Name: "Level 0"}, g.Previous)
	_, err = b.svc.GrantLevel(b.ctx, verification.AdminActor(4, nil), verification.GrantLevelParams{SubjectID: eu.ID, Level: 2, Reason: "downgrade after audit"})
	require.NoError(t, err)
	verificationtest.RequireLevel(t, b.svc, eu.ID, 2)
	_, err = b.svc.GrantLevel(b.ctx, verification.AdminActor(4, nil), verification.GrantLevelParams{SubjectID: eu.ID, Level: 2, Reason: "again"})
	require.ErrorIs(t, err, verification.ErrConflict)

	for _, tc := range []struct {
		name string
		p    verification.GrantLevelParams
	}{
		{"unknown level", verification.GrantLevelParams{SubjectID: eu.ID, Level: 42, Reason: "x"}},
		{"no reason", verification.GrantLevelParams{SubjectID: eu.ID, Level: 3}},
	} {
		_, err := b.svc.GrantLevel(b.ctx, verification.AdminActor(1, nil), tc.p)
		require.ErrorIs(t, err, verification.ErrInvalid, tc.name)
	}
	_, err = b.svc.GrantLevel(b.ctx, verification.HostActor(), verification.GrantLevelParams{SubjectID: eu.ID, Level: 3, Reason: "x"})
	require.ErrorIs(t, err, verification.ErrForbidden, "GrantLevel needs an admin actor")

	all, err := b.svc.Grants(b.ctx, verification.SystemActor(), verification.GrantFilter{Limit: 100})
	require.NoError(t, err)
	assert.Equal(t, 4, all.Total)
	for i := 1; i < len(all.Items); i++ {
		assert.Less(t, all.Items[i-1].ID, all.Items[i].ID)
		assert.False(t, all.Items[i].CreatedAt.Before(all.Items[i-1].CreatedAt), "grant order is createTime order")
	}
	scoped, err := b.svc.Grants(b.ctx, verification.AdminActor(1, []string{"eu"}), verification.GrantFilter{Limit: 100, Tags: []string{"ignored"}})
	require.NoError(t, err)
	assert.Equal(t, 3, scoped.Total)
	for _, g := range scoped.Items {
		assert.Equal(t, eu.ID, g.SubjectID)
	}
	hidden, err := b.svc.Grants(b.ctx, verification.AdminActor(1, []string{"eu"}), verification.GrantFilter{Limit: 100, SubjectID: us.ID})
	require.NoError(t, err)
	assert.Zero(t, hidden.Total)
	assert.NotNil(t, hidden.Items)

	usGrant, err := b.svc.Grants(b.ctx, verification.SystemActor(), verification.GrantFilter{SubjectID: us.ID, Limit: 1})
	require.NoError(t, err)
	_, err = b.svc.Grant(b.ctx, verification.AdminActor(1, []string{"eu"}), usGrant.Items[0].ID)
	require.ErrorIs(t, err, verification.ErrNotFound, "a tag-scoped admin does not see other clients' grants")
	_, err = b.svc.Grant(b.ctx, verification.SystemActor(), usGrant.Items[0].ID)
	require.NoError(t, err)
	_, err = b.svc.Grant(b.ctx, verification.SystemActor(), 9999)
	require.ErrorIs(t, err, verification.ErrNotFound)

	for _, f := range []verification.GrantFilter{{Limit: -1}, {Limit: verification.MaxPageSize + 1}, {Offset: -1}, {SubjectID: -3}} {
		_, err := b.svc.Grants(b.ctx, verification.SystemActor(), f)
		require.ErrorIs(t, err, verification.ErrInvalid, fmt.Sprintf("%+v", f))
	}
}

func TestConcurrentReviewsGrantOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	_, err := b.svc.Answer(b.ctx, sub.ID, "isBusiness", raw(`false`))
	require.NoError(t, err)
	_, err = b.svc.Answer(b.ctx, sub.ID, "nationality", raw(`"NL"`))
	require.NoError(t, err)
	_, err = b.svc.Answer(b.ctx, sub.ID, "emailCode", raw(`"123456"`))
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = b.svc.Review(b.ctx, verification.AdminActor(int64(i+1), nil), verification.ReviewParams{SubjectID: sub.ID, Requirement: "emailCode", Decision: verification.Approve})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, verification.ErrConflict)
		}
	}
	assert.Equal(t, 1, ok)
	page, err := b.svc.Grants(b.ctx, verification.SystemActor(), verification.GrantFilter{SubjectID: sub.ID})
	require.NoError(t, err)
	assert.Equal(t, 2, page.Total, "created + exactly one promotion")
}

// failingStore fails AddGrant, to prove a transition is all or nothing.
type failingStore struct {
	verification.Store
}

func (f failingStore) InTx(ctx context.Context, fn func(ctx context.Context, tx verification.Store) error) error {
	return f.Store.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		return fn(ctx, failingStore{tx})
	})
}

func (failingStore) AddGrant(context.Context, *verification.Grant) error {
	return errors.New("disk on fire: /var/lib/secret.db")
}

func TestTransitionIsAtomicAndInternalErrorsAreOpaque(t *testing.T) {
	t.Parallel()
	store := memory.New()
	ladder := verificationtest.SeedLadder(t)
	good, err := verification.New(ladder, store, verification.Options{})
	require.NoError(t, err)
	bad, err := verification.New(ladder, failingStore{store}, verification.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	sub := verificationtest.CreateSubject(t, good)
	_, err = bad.Answer(ctx, sub.ID, "isBusiness", raw(`true`))
	require.NoError(t, err, "no grant needed yet")
	_, err = bad.Answer(ctx, sub.ID, "nationality", raw(`"NL"`))
	require.NoError(t, err)
	_, err = bad.Answer(ctx, sub.ID, "emailCode", raw(`"123456"`))
	require.NoError(t, err)
	_, err = bad.SetRequirement(ctx, verification.HostActor(), verification.SetRequirementParams{SubjectID: sub.ID, Requirement: "emailCode"})
	require.ErrorIs(t, err, verification.ErrInternal)
	var e *verification.Error
	require.ErrorAs(t, err, &e)
	assert.NotContains(t, e.Message, "secret", "the client-facing message hides the cause")
	assert.Contains(t, e.Cause().Error(), "disk on fire")

	// Nothing of the failed transition was kept: the requirement is still pending.
	verificationtest.RequireStatus(t, good, sub.ID, map[string]levels.Status{
		"emailCode": levels.Pending, "AMLD5Questions": levels.Missing, "idDocument": levels.Missing, "verificationFlag": levels.Missing,
	})
	verificationtest.RequireLevel(t, good, sub.ID, 1)
	reviews, err := good.Reviews(ctx, verification.SystemActor(), sub.ID)
	require.NoError(t, err)
	assert.Empty(t, reviews)
}

func TestStatusTargets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	b.reachLevel1(t, sub.ID)
	res, err := b.svc.Status(b.ctx, sub.ID, 2)
	require.NoError(t, err)
	assert.True(t, res.Verified())
	assert.Equal(t, 2, res.Level.ID)
	res, err = b.svc.Status(b.ctx, sub.ID, 0)
	require.NoError(t, err)
	assert.Len(t, res.Outstanding, 3)
	_, err = b.svc.Status(b.ctx, sub.ID, 77)
	require.ErrorIs(t, err, verification.ErrInvalid)
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: verificationtest.Identifier()})
	require.ErrorIs(t, err, context.Canceled)
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	seen := map[verification.Code]bool{}
	for _, e := range verification.Catalog {
		require.False(t, seen[e.Code], "duplicate code %s", e.Code)
		seen[e.Code] = true
		assert.NotEmpty(t, e.Message, e.Code)
		assert.NotEmpty(t, e.Solution, e.Code)
		assert.Contains(t, verification.Sentinels, e.Sentinel, "%s carries a kind of the one list", e.Code)
		got, ok := e.Code.Entry()
		assert.True(t, ok)
		assert.Equal(t, e, got)
	}
	_, ok := verification.Code("ER700").Entry()
	assert.False(t, ok, "authentication codes belong to the HTTP adapter")
	kinds := map[error]bool{}
	for _, k := range verification.Sentinels {
		require.False(t, kinds[k], "duplicate kind %v", k)
		kinds[k] = true
	}
}

func TestDefaultIDsAreUniqueAndTimeOrdered(t *testing.T) {
	t.Parallel()
	clock := verificationtest.NewClock(verificationtest.Start)
	svc, err := verification.New(verificationtest.SeedLadder(t), memory.New(), verification.Options{NowFunc: clock.Now})
	require.NoError(t, err)
	ctx := context.Background()
	var prev string
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		clock.Advance(time.Millisecond)
		sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: verificationtest.Identifier()})
		require.NoError(t, err)
		evs, err := svc.Events(ctx, verification.SystemActor(), verification.EventFilter{SubjectID: sub.ID})
		require.NoError(t, err)
		for _, e := range evs {
			requireUUIDv7(t, e.ID)
			u := uuid.MustParse(e.ID)
			sec, nsec := u.Time().UnixTime()
			require.Equal(t, clock.Now().UnixMilli(), time.Unix(sec, nsec).UnixMilli(), "the id's time is the injected clock's")
			require.False(t, seen[e.ID], "duplicate id %s", e.ID)
			seen[e.ID] = true
		}
		require.Greater(t, evs[0].ID, prev, "ids of later events sort later")
		prev = evs[len(evs)-1].ID
	}
}

// requireUUIDv7 asserts id is an RFC 9562 UUIDv7 in canonical form, as
// strict parsers (Java's UUID.fromString, PostgreSQL's uuid) want it.
func requireUUIDv7(t *testing.T, id string) {
	t.Helper()
	u, err := uuid.Parse(id)
	require.NoError(t, err, id)
	require.Equal(t, u.String(), id, "canonical 8-4-4-4-12 lower-case form")
	require.Equal(t, uuid.Version(7), u.Version(), id)
	require.Equal(t, uuid.RFC4122, u.Variant(), id)
}

// TestDefaultIDsOnTheWallClock: without NowFunc the ids are plain
// uuid.NewV7, increasing even within one millisecond.
func TestDefaultIDsOnTheWallClock(t *testing.T) {
	t.Parallel()
	store := memory.New()
	svc, err := verification.New(verificationtest.SeedLadder(t), store, verification.Options{})
	require.NoError(t, err)
	sub, err := svc.CreateSubject(context.Background(), verification.CreateSubjectParams{Identifier: verificationtest.Identifier()})
	require.NoError(t, err)
	app, err := svc.InitWizard(context.Background(), sub.ID)
	require.NoError(t, err)
	requireUUIDv7(t, app.UUID)
	evs, err := svc.Events(context.Background(), verification.SystemActor(), verification.EventFilter{SubjectID: sub.ID})
	require.NoError(t, err)
	require.Len(t, evs, 3)
	for i, e := range evs {
		requireUUIDv7(t, e.ID)
		if i > 0 {
			require.Greater(t, e.ID, evs[i-1].ID, "NewV7 ids increase")
		}
	}
}

func TestEnsureSubject(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ident := verificationtest.Identifier()
	first, err := b.svc.EnsureSubject(b.ctx, ident, []string{"eu"})
	require.NoError(t, err)
	assert.Equal(t, []string{"eu"}, first.Tags)
	verificationtest.RequireLevel(t, b.svc, first.ID, 1)
	again, err := b.svc.EnsureSubject(b.ctx, ident, []string{"us"})
	require.NoError(t, err)
	assert.Equal(t, first.ID, again.ID, "an existing subject is returned")
	assert.Equal(t, []string{"eu"}, again.Tags, "its tags are left as they are")
	verificationtest.RequireEvents(t, b.svc, first.ID, verification.EventSubjectCreated, verification.EventLevelGranted)

	_, err = b.svc.EnsureSubject(b.ctx, "short", nil)
	assertCode(t, err, verification.CodeIdentifierMalformed)
	_, err = b.svc.EnsureSubject(b.ctx, verificationtest.Identifier(), []string{" bad "})
	require.ErrorIs(t, err, verification.ErrInvalid)
	require.NoError(t, b.svc.DeleteSubject(b.ctx, verification.HostActor(), first.ID))
	_, err = b.svc.EnsureSubject(b.ctx, ident, nil)
	assertCode(t, err, verification.CodeUserDeleted)

	verificationtest.RaceEnsureSubject(t, b.svc)
}
