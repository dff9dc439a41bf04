package verification_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// appBundle is the fixture of the application and wizard tests: a Service
// on the seed ladder over the memory store, with a settable clock.
type appBundle struct {
	svc   *verification.Service
	clock *verificationtest.Clock
	ctx   context.Context
}

func appSetup(t *testing.T, opts ...verification.Options) *appBundle {
	t.Helper()
	svc, clock := verificationtest.NewService(t, verificationtest.SeedLadder(t), opts...)
	return &appBundle{svc: svc, clock: clock, ctx: context.Background()}
}

// answerLevel1 answers every Level 1 requirement; emailCode stays pending.
func (b *appBundle) answerLevel1(t *testing.T, id int64) {
	t.Helper()
	for name, answer := range map[string]string{"isBusiness": `false`, "nationality": `"NL"`, "emailCode": `"123456"`} {
		_, err := b.svc.Answer(b.ctx, id, name, raw(answer))
		require.NoError(t, err, name)
	}
}

// submitLevel1 walks a fresh subject's wizard to a submitted Level 1
// application.
func (b *appBundle) submitLevel1(t *testing.T, id int64) verification.Application {
	t.Helper()
	step, err := b.svc.InitWizard(b.ctx, id)
	require.NoError(t, err)
	require.NotEqual(t, verification.StageDone, step.Stage)
	b.answerLevel1(t, id)
	step, err = b.svc.InitWizard(b.ctx, id)
	require.NoError(t, err)
	require.Equal(t, verification.StageDone, step.Stage)
	require.Equal(t, verification.ApplicationSubmitted, step.Application.Status)
	return step.Application
}

// reachLevel1 takes a fresh subject to level ID 2 through an approved
// application.
func (b *appBundle) reachLevel1(t *testing.T, id int64) {
	t.Helper()
	app := b.submitLevel1(t, id)
	_, err := b.svc.DecideApplication(b.ctx, verification.AdminActor(1, nil), verification.DecideApplicationParams{ApplicationID: app.ID, Decision: verification.Approve})
	require.NoError(t, err)
	verificationtest.RequireLevel(t, b.svc, id, 2)
}

// documentsStep takes a fresh subject to level ID 2 and opens its Level 2
// wizard, which stands at the documents step.
func (b *appBundle) documentsStep(t *testing.T, id int64) verification.WizardStep {
	t.Helper()
	b.reachLevel1(t, id)
	step, err := b.svc.InitWizard(b.ctx, id)
	require.NoError(t, err)
	require.NotEqual(t, verification.StageDone, step.Stage)
	require.Equal(t, "idDocument", step.Requirement)
	return step
}

func (b *appBundle) passport(t *testing.T, id int64) (front, back verification.File) {
	t.Helper()
	return verificationtest.Upload(t, b.svc, id, "passport", "front"), verificationtest.Upload(t, b.svc, id, "passport", "back")
}

func (b *appBundle) answerAMLD5(t *testing.T, id int64) {
	t.Helper()
	_, err := b.svc.Answer(b.ctx, id, "AMLD5Questions", raw(`{"Question1":"answer1","Question2":"answer2"}`))
	require.NoError(t, err)
}

func (b *appBundle) applications(t *testing.T, id int64) []verification.Application {
	t.Helper()
	page, err := b.svc.Applications(b.ctx, verification.SystemActor(), verification.ApplicationFilter{SubjectID: id, Limit: 100})
	apps := page.Items
	require.NoError(t, err)
	return apps
}

func (b *appBundle) state(t *testing.T, id int64, name string) verification.RequirementState {
	t.Helper()
	st, err := verificationtest.StoreOf(b.svc).GetRequirementState(b.ctx, id, name)
	require.NoError(t, err)
	return st
}

func (b *appBundle) file(t *testing.T, id string) verification.File {
	t.Helper()
	f, err := verificationtest.StoreOf(b.svc).GetFile(b.ctx, id)
	require.NoError(t, err)
	return f
}

// countEvents counts the subject's outbox events of type typ.
func countEvents(t *testing.T, svc *verification.Service, subjectID int64, typ verification.EventType) int {
	t.Helper()
	evs, err := verificationtest.StoreOf(svc).ListEvents(context.Background(), verification.EventFilter{SubjectID: subjectID})
	require.NoError(t, err)
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// subjectSnapshot is everything a refused call must leave unchanged.
type subjectSnapshot struct {
	Subject verification.Subject
	Apps    []verification.Application
	States  []verification.RequirementState
	Files   []verification.File
	Events  int
	Grants  int
}

// testingT is what snapshot needs of a *testing.T or a *rapid.T.
type testingT interface {
	require.TestingT
	Helper()
}

func snapshot(t testingT, svc *verification.Service, id int64) subjectSnapshot {
	t.Helper()
	return snapshotStore(t, verificationtest.StoreOf(svc), id)
}

func snapshotStore(t testingT, st verification.Store, id int64) subjectSnapshot {
	t.Helper()
	ctx := context.Background()
	sub, err := st.GetSubject(ctx, id)
	require.NoError(t, err)
	page, err := st.ListApplications(ctx, verification.ApplicationFilter{SubjectID: id, Limit: 1000})
	apps := page.Items
	require.NoError(t, err)
	states, err := st.ListRequirementStates(ctx, id)
	require.NoError(t, err)
	files, err := st.ListFiles(ctx, verification.FileFilter{SubjectID: id})
	require.NoError(t, err)
	evs, err := st.ListEvents(ctx, verification.EventFilter{SubjectID: id})
	require.NoError(t, err)
	grants, err := st.ListGrants(ctx, verification.GrantFilter{SubjectID: id})
	require.NoError(t, err)
	return subjectSnapshot{Subject: sub, Apps: apps, States: states, Files: files, Events: len(evs), Grants: grants.Total}
}

func TestWizardWalksSeedLadder(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	ctx := b.ctx
	sub := verificationtest.CreateSubject(t, b.svc)

	// Level 0 -> Level 1: only answers are needed.
	step, err := b.svc.InitWizard(ctx, sub.ID)
	require.NoError(t, err)
	assert.NotEqual(t, verification.StageDone, step.Stage)
	assert.Equal(t, verification.StageAnswers, step.Stage)
	assert.False(t, step.Done())
	assert.Nil(t, step.Types)
	assert.Empty(t, step.Requirement)
	require.NotEmpty(t, step.UUID)
	assert.Equal(t, step.UUID, step.Application.UUID)
	assert.Equal(t, 2, step.Application.Level)
	assert.Equal(t, verification.ApplicationDraft, step.Application.Status)
	assert.Equal(t, verificationtest.Start, step.Application.CreatedAt)
	assert.Equal(t, verificationtest.Start.Add(verification.DefaultApplicationTTL), step.Application.ExpiresAt)
	first := step.UUID

	pr, err := b.svc.PendingRequest(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.PendingStatusNoRequest, pr.Status, "a draft is not pending review")

	b.clock.Advance(time.Minute)
	b.answerLevel1(t, sub.ID)
	step, err = b.svc.InitWizard(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.StageDone, step.Stage)
	assert.True(t, step.Done())
	assert.Equal(t, verification.StageDone, step.Stage)
	assert.Equal(t, first, step.UUID, "the wizard resumes its application")
	assert.Equal(t, verification.ApplicationSubmitted, step.Application.Status)
	assert.Equal(t, verificationtest.Start.Add(time.Minute), step.Application.SubmittedAt)
	app1 := step.Application

	pr, err = b.svc.PendingRequest(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.PendingStatusPending, pr.Status)
	assert.False(t, pr.Verified)
	assert.Equal(t, app1, pr.Application)
	assert.Equal(t, sub.ID, pr.Subject.ID)

	b.clock.Advance(time.Hour)
	decided, err := b.svc.DecideApplication(ctx, verification.AdminActor(42, nil), verification.DecideApplicationParams{ApplicationID: app1.ID, Decision: verification.Approve})
	require.NoError(t, err)
	assert.Equal(t, verification.ApplicationApproved, decided.Status)
	assert.Equal(t, int64(42), decided.DecidedBy)
	assert.Equal(t, b.svc.Now(), decided.DecidedAt)
	verificationtest.RequireLevel(t, b.svc, sub.ID, 2)
	page, err := b.svc.Grants(ctx, verification.SystemActor(), verification.GrantFilter{SubjectID: sub.ID, Limit: 10, Desc: true})
	require.NoError(t, err)
	require.Equal(t, 2, page.Total)
	g := page.Items[0]
	assert.Equal(t, fmt.Sprintf("Application: %d", app1.ID), g.Reason)
	assert.Equal(t, verification.ReasonApplication(app1.ID), g.Reason)
	assert.Equal(t, int64(42), g.AdminID)
	assert.Equal(t, verification.LevelRef{ID: 2, Name: "Level 1"}, g.Level)
	assert.Equal(t, &verification.LevelRef{ID: 1, Name: "Level 0"}, g.Previous)
	for _, name := range []string{"isBusiness", "nationality", "emailCode"} {
		assert.Equal(t, levels.Approved, b.state(t, sub.ID, name).Status, name)
	}
	pr, err = b.svc.PendingRequest(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.PendingStatusNoRequest, pr.Status)

	// Level 1 -> Level 2: a documents step.
	step, err = b.svc.InitWizard(ctx, sub.ID)
	require.NoError(t, err)
	assert.NotEqual(t, verification.StageDone, step.Stage)
	assert.Equal(t, verification.StageDocuments, step.Stage)
	assert.Equal(t, "idDocument", step.Requirement)
	assert.NotEqual(t, first, step.UUID, "a new application for the next level")
	assert.Equal(t, 3, step.Application.Level)
	require.Len(t, step.Types, 1)
	assert.Equal(t, 2, step.Types[0].ID)
	assert.Equal(t, "passport", step.Types[0].Name)
	assert.Equal(t, "Passport", step.Types[0].Description)
	assert.True(t, step.Types[0].Enabled)
	assert.Equal(t, []string{"front", "back"}, step.Types[0].Sides)
	second := step.UUID

	front, back := b.passport(t, sub.ID)
	b.answerAMLD5(t, sub.ID)
	b.clock.Advance(time.Minute)
	step, err = b.svc.RunWizard(ctx, verification.RunWizardParams{SubjectID: sub.ID, UUID: second, DocumentType: 2, Files: []string{front.ID, back.ID}})
	require.NoError(t, err)
	assert.Equal(t, verification.StageDone, step.Stage, "verificationFlag is host-set and not needed to submit")
	assert.True(t, step.Done())
	assert.Equal(t, second, step.UUID)
	assert.Nil(t, step.Types)
	app2 := step.Application
	assert.Equal(t, verification.ApplicationSubmitted, app2.Status)
	require.Len(t, app2.Steps, 1)
	assert.Equal(t, verification.Step{Requirement: "idDocument", DocumentType: 2, Files: []string{front.ID, back.ID}, At: b.svc.Now()}, app2.Steps[0])
	assert.Equal(t, levels.Pending, b.file(t, front.ID).Status)
	assert.Equal(t, levels.Pending, b.file(t, back.ID).Status)
	assert.JSONEq(t, fmt.Sprintf(`{"type":"passport","files":{"front":%q,"back":%q}}`, front.ID, back.ID), string(b.state(t, sub.ID, "idDocument").Answer))
	verificationtest.RequireStatus(t, b.svc, sub.ID, map[string]levels.Status{"idDocument": levels.Pending, "verificationFlag": levels.Missing})

	decided, err = b.svc.DecideApplication(ctx, verification.AdminActor(7, nil), verification.DecideApplicationParams{ApplicationID: app2.ID, Decision: verification.Approve})
	require.NoError(t, err)
	assert.Equal(t, verification.ApplicationApproved, decided.Status)
	verificationtest.RequireLevel(t, b.svc, sub.ID, 3)
	page, err = b.svc.Grants(ctx, verification.SystemActor(), verification.GrantFilter{SubjectID: sub.ID, Limit: 10, Desc: true})
	require.NoError(t, err)
	require.Equal(t, 3, page.Total)
	assert.Equal(t, verification.LevelRef{ID: 3, Name: "Level 2"}, page.Items[0].Level)
	assert.Equal(t, &verification.LevelRef{ID: 2, Name: "Level 1"}, page.Items[0].Previous)
	assert.Equal(t, verification.ReasonApplication(app2.ID), page.Items[0].Reason)
	assert.Equal(t, int64(7), page.Items[0].AdminID)
	assert.Equal(t, levels.Approved, b.file(t, front.ID).Status)
	assert.Equal(t, levels.Approved, b.file(t, back.ID).Status)
	sess, err := b.svc.LatestIDSession(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.ProviderManual, sess.Provider)
	assert.Equal(t, front.ID, sess.FrontFileID)
	assert.Equal(t, back.ID, sess.BackFileID)

	// Nothing is left: 202 at once, without an application.
	step, err = b.svc.InitWizard(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.StageDone, step.Stage)
	assert.True(t, step.Done())
	assert.Empty(t, step.UUID)
	assert.Equal(t, verification.StageDone, step.Stage)
	assert.Zero(t, step.Application)
	pr, err = b.svc.PendingRequest(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.PendingStatusVerified, pr.Status)
	assert.True(t, pr.Verified)
	assert.Zero(t, pr.Application)

	assert.Len(t, b.applications(t, sub.ID), 2)
	for typ, n := range map[verification.EventType]int{
		verification.EventApplicationStarted:   2,
		verification.EventApplicationSubmitted: 2,
		verification.EventApplicationApproved:  2,
		verification.EventLevelGranted:         3,
	} {
		assert.Equal(t, n, countEvents(t, b.svc, sub.ID, typ), typ)
	}
}

func TestWizardDocumentsBeforeAnswers(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	step := b.documentsStep(t, sub.ID)
	front, back := b.passport(t, sub.ID)
	next, err := b.svc.RunWizard(b.ctx, verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{front.ID, back.ID}})
	require.NoError(t, err)
	assert.NotEqual(t, verification.StageDone, next.Stage, "AMLD5Questions is still unanswered")
	assert.Equal(t, verification.StageAnswers, next.Stage)
	assert.Nil(t, next.Types)
	assert.Equal(t, verification.ApplicationDraft, next.Application.Status)
	require.Len(t, next.Application.Steps, 1)

	b.answerAMLD5(t, sub.ID)
	done, err := b.svc.InitWizard(b.ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.StageDone, done.Stage)
	assert.Equal(t, step.UUID, done.UUID)
	assert.Equal(t, verification.ApplicationSubmitted, done.Application.Status)
	assert.Len(t, done.Application.Steps, 1)
}

func TestInitWizardResumes(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	first, err := b.svc.InitWizard(b.ctx, sub.ID)
	require.NoError(t, err)
	b.clock.Advance(time.Hour)
	again, err := b.svc.InitWizard(b.ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.Len(t, b.applications(t, sub.ID), 1)
	assert.Equal(t, 1, countEvents(t, b.svc, sub.ID, verification.EventApplicationStarted))

	// A submitted application is resumed too (202, same uuid).
	b.answerLevel1(t, sub.ID)
	submitted, err := b.svc.InitWizard(b.ctx, sub.ID)
	require.NoError(t, err)
	again, err = b.svc.InitWizard(b.ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, submitted, again)
	assert.Equal(t, first.UUID, again.UUID)
	assert.Len(t, b.applications(t, sub.ID), 1)
	assert.Equal(t, 1, countEvents(t, b.svc, sub.ID, verification.EventApplicationSubmitted))
}

func TestInitWizardConcurrentCreatesOneApplication(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	steps := make([]verification.WizardStep, 8)
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i := range steps {
		wg.Go(func() { steps[i], errs[i] = b.svc.InitWizard(b.ctx, sub.ID) })
	}
	wg.Wait()
	for i := range steps {
		require.NoError(t, errs[i])
		assert.Equal(t, steps[0], steps[i])
	}
	apps := b.applications(t, sub.ID)
	require.Len(t, apps, 1)
	assert.Equal(t, steps[0].UUID, apps[0].UUID)
	assert.Equal(t, 1, countEvents(t, b.svc, sub.ID, verification.EventApplicationStarted))
}

func TestInitWizardRefusals(t *testing.T) {
	t.Parallel()
	b := appSetup(t)

	t.Run("final rejection", func(t *testing.T) {
		t.Parallel()
		sub := verificationtest.CreateSubject(t, b.svc)
		b.answerLevel1(t, sub.ID)
		_, err := b.svc.Review(b.ctx, verification.AdminActor(1, nil), verification.ReviewParams{SubjectID: sub.ID, Requirement: "emailCode", Decision: verification.Reject, Reason: "fraud", Final: true})
		require.NoError(t, err)
		before := snapshot(t, b.svc, sub.ID)
		_, err = b.svc.InitWizard(b.ctx, sub.ID)
		require.ErrorIs(t, err, verification.ErrRejectedFinal)
		assert.Equal(t, before, snapshot(t, b.svc, sub.ID), "no application is created")
	})
	t.Run("deleted subject", func(t *testing.T) {
		t.Parallel()
		sub := verificationtest.CreateSubject(t, b.svc)
		require.NoError(t, b.svc.DeleteSubject(b.ctx, verification.SystemActor(), sub.ID))
		_, err := b.svc.InitWizard(b.ctx, sub.ID)
		require.ErrorIs(t, err, verification.ErrDeleted)
		assert.Empty(t, b.applications(t, sub.ID))
	})
	t.Run("unknown subject", func(t *testing.T) {
		t.Parallel()
		_, err := b.svc.InitWizard(b.ctx, 424242)
		require.ErrorIs(t, err, verification.ErrDeleted)
		assertCode(t, err, verification.CodeUserDeleted)
	})
}

func TestInitWizardAtTopLevelByAdminGrant(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	_, err := b.svc.GrantLevel(b.ctx, verification.AdminActor(1, nil), verification.GrantLevelParams{SubjectID: sub.ID, Level: 3, Reason: "manual KYC"})
	require.NoError(t, err)
	step, err := b.svc.InitWizard(b.ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.StageDone, step.Stage)
	assert.Empty(t, step.UUID)
	assert.Empty(t, b.applications(t, sub.ID))
	pr, err := b.svc.PendingRequest(b.ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.PendingStatusVerified, pr.Status)
}

func TestRunWizardRefusalsChangeNothing(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	step := b.documentsStep(t, sub.ID)
	front, back := b.passport(t, sub.ID)

	other := verificationtest.CreateSubject(t, b.svc)
	otherStep := b.documentsStep(t, other.ID)
	otherFront := verificationtest.Upload(t, b.svc, other.ID, "passport", "front")

	run := func(uuid string, typ int, files ...string) verification.RunWizardParams {
		return verification.RunWizardParams{SubjectID: sub.ID, UUID: uuid, DocumentType: typ, Files: files}
	}
	tests := []struct {
		name  string
		p     verification.RunWizardParams
		kind  error
		field string
	}{
		{"unknown uuid", run("no-such-wizard", 2, front.ID, back.ID), verification.ErrNotFound, "uuid"},
		{"another subject's uuid", run(otherStep.UUID, 2, front.ID, back.ID), verification.ErrNotFound, "uuid"},
		{"type not accepted", run(step.UUID, 99, front.ID, back.ID), verification.ErrInvalid, "documents.type"},
		{"too few files", run(step.UUID, 2, front.ID), verification.ErrInvalid, "documents.files"},
		{"too many files", run(step.UUID, 2, front.ID, back.ID, back.ID), verification.ErrInvalid, "documents.files"},
		{"foreign file", run(step.UUID, 2, otherFront.ID, back.ID), verification.ErrNotFound, "answer.files.front"},
		{"unknown file", run(step.UUID, 2, front.ID, "id-999999"), verification.ErrNotFound, "answer.files.back"},
		{"sides swapped", run(step.UUID, 2, back.ID, front.ID), verification.ErrInvalid, "answer.files."},
		{"same file twice", run(step.UUID, 2, front.ID, front.ID), verification.ErrInvalid, "answer.files.back"},
		{"empty uuid", run("", 2, front.ID, back.ID), verification.ErrInvalid, "uuid"},
		{"long uuid", run(string(make([]byte, 65)), 2, front.ID, back.ID), verification.ErrInvalid, "uuid"},
		{"type 0", run(step.UUID, 0, front.ID, back.ID), verification.ErrInvalid, "documents.type"},
		{"negative type", run(step.UUID, -2, front.ID, back.ID), verification.ErrInvalid, "documents.type"},
		{"no files", run(step.UUID, 2), verification.ErrInvalid, "documents.files"},
		{"empty file id", run(step.UUID, 2, front.ID, ""), verification.ErrInvalid, "documents.files[1]"},
		{"no subject", verification.RunWizardParams{UUID: step.UUID, DocumentType: 2, Files: []string{front.ID, back.ID}}, verification.ErrInvalid, "subjectId"},
	}
	before := snapshot(t, b.svc, sub.ID)
	otherBefore := snapshot(t, b.svc, other.ID)
	var unknownMsg string
	for _, tc := range tests {
		_, err := b.svc.RunWizard(b.ctx, tc.p)
		require.ErrorIs(t, err, tc.kind, tc.name)
		var e *verification.Error
		require.ErrorAs(t, err, &e, tc.name)
		assert.Contains(t, e.Field, tc.field, tc.name)
		switch tc.name {
		case "unknown uuid":
			unknownMsg = e.Error()
		case "another subject's uuid":
			assert.Equal(t, unknownMsg, e.Error(), "a foreign wizard looks exactly like an unknown one")
		}
		require.Equal(t, before, snapshot(t, b.svc, sub.ID), tc.name)
		require.Equal(t, otherBefore, snapshot(t, b.svc, other.ID), tc.name)
	}

	// The wizard still works afterwards.
	b.answerAMLD5(t, sub.ID)
	done, err := b.svc.RunWizard(b.ctx, run(step.UUID, 2, front.ID, back.ID))
	require.NoError(t, err)
	assert.Equal(t, verification.StageDone, done.Stage)
}

func TestRunWizardOnDeletedSubject(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	step := b.documentsStep(t, sub.ID)
	front, back := b.passport(t, sub.ID)
	require.NoError(t, b.svc.DeleteSubject(b.ctx, verification.SystemActor(), sub.ID))
	before := snapshot(t, b.svc, sub.ID)
	_, err := b.svc.RunWizard(b.ctx, verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{front.ID, back.ID}})
	require.ErrorIs(t, err, verification.ErrDeleted)
	assert.Equal(t, before, snapshot(t, b.svc, sub.ID))
}

func TestRunWizardWhenNoDocumentIsExpected(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	step, err := b.svc.InitWizard(b.ctx, sub.ID)
	require.NoError(t, err)
	front, back := b.passport(t, sub.ID)
	before := snapshot(t, b.svc, sub.ID)
	_, err = b.svc.RunWizard(b.ctx, verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{front.ID, back.ID}})
	require.ErrorIs(t, err, verification.ErrConflict, "the Level 1 wizard needs answers, not documents")
	assert.Equal(t, before, snapshot(t, b.svc, sub.ID))
}

func TestRunWizardFinishedIsConflict(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	step := b.documentsStep(t, sub.ID)
	front, back := b.passport(t, sub.ID)
	b.answerAMLD5(t, sub.ID)
	done, err := b.svc.RunWizard(b.ctx, verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{front.ID, back.ID}})
	require.NoError(t, err)
	require.Equal(t, verification.StageDone, done.Stage)

	check := func(t *testing.T) {
		t.Helper()
		f2, b2 := b.passport(t, sub.ID)
		before := snapshot(t, b.svc, sub.ID)
		_, err := b.svc.RunWizard(b.ctx, verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{f2.ID, b2.ID}})
		require.ErrorIs(t, err, verification.ErrConflict)
		assert.Equal(t, before, snapshot(t, b.svc, sub.ID))
	}
	// Front and back await review, so new uploads answer ER708 until the
	// application is decided; afterwards the finished wizard refuses them.
	_, err = b.svc.Upload(b.ctx, verification.UploadParams{SubjectID: sub.ID, DocumentType: "passport", Side: "front", Body: jpegReader(64)})
	require.ErrorIs(t, err, verification.ErrPendingDocument)

	_, err = b.svc.DecideApplication(b.ctx, verification.AdminActor(1, nil), verification.DecideApplicationParams{ApplicationID: done.Application.ID, Decision: verification.Reject, Reason: "glare"})
	require.NoError(t, err)
	check(t)
	verificationtest.RequireLevel(t, b.svc, sub.ID, 2)

	// Even a repeat of the step that submitted it: the wizard is over.
	before := snapshot(t, b.svc, sub.ID)
	_, err = b.svc.RunWizard(b.ctx, verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{front.ID, back.ID}})
	require.ErrorIs(t, err, verification.ErrConflict)
	assert.Equal(t, before, snapshot(t, b.svc, sub.ID))
}

func TestDecideApplicationApproveNeedsOpenAnswers(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	tests := []struct {
		name  string
		spoil func(t *testing.T, id int64)
	}{
		{"rejected by a review since", func(t *testing.T, id int64) {
			_, err := b.svc.Review(b.ctx, verification.AdminActor(2, nil), verification.ReviewParams{SubjectID: id, Requirement: "emailCode", Decision: verification.Reject, Reason: "wrong code"})
			require.NoError(t, err)
		}},
		{"reset since", func(t *testing.T, id int64) {
			_, err := b.svc.ResetRequirement(b.ctx, verification.AdminActor(2, nil), id, "nationality", true)
			require.NoError(t, err)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sub := verificationtest.CreateSubject(t, b.svc)
			app := b.submitLevel1(t, sub.ID)
			tc.spoil(t, sub.ID)
			before := snapshot(t, b.svc, sub.ID)
			_, err := b.svc.DecideApplication(b.ctx, verification.AdminActor(3, nil), verification.DecideApplicationParams{ApplicationID: app.ID, Decision: verification.Approve})
			require.ErrorIs(t, err, verification.ErrConflict)
			assert.Equal(t, before, snapshot(t, b.svc, sub.ID), "no level is granted")
			got, err := b.svc.DecideApplication(b.ctx, verification.AdminActor(3, nil), verification.DecideApplicationParams{ApplicationID: app.ID, Decision: verification.Reject, Reason: "answers changed"})
			require.NoError(t, err)
			assert.Equal(t, verification.ApplicationRejected, got.Status)
			verificationtest.RequireLevel(t, b.svc, sub.ID, 1)
		})
	}
}

func TestRunWizardSubmittedIsConflict(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	step := b.documentsStep(t, sub.ID)
	front, back := b.passport(t, sub.ID)
	b.answerAMLD5(t, sub.ID)
	// Spare files uploaded before the first ones are submitted.
	f2, b2 := b.passport(t, sub.ID)
	_, err := b.svc.RunWizard(b.ctx, verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{front.ID, back.ID}})
	require.NoError(t, err)
	before := snapshot(t, b.svc, sub.ID)
	_, err = b.svc.RunWizard(b.ctx, verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{f2.ID, b2.ID}})
	require.ErrorIs(t, err, verification.ErrConflict)
	assert.Equal(t, before, snapshot(t, b.svc, sub.ID))
}

func TestRunWizardExpired(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	step := b.documentsStep(t, sub.ID)
	front, back := b.passport(t, sub.ID)
	p := verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{front.ID, back.ID}}

	b.clock.Set(step.Application.ExpiresAt)
	before := snapshot(t, b.svc, sub.ID)
	_, err := b.svc.RunWizard(b.ctx, p)
	require.ErrorIs(t, err, verification.ErrExpired, "expired at ExpiresAt exactly")
	assert.Equal(t, before, snapshot(t, b.svc, sub.ID))

	b.clock.Set(step.Application.ExpiresAt.Add(-time.Microsecond))
	_, err = b.svc.RunWizard(b.ctx, p)
	require.NoError(t, err, "still open a microsecond before")

	// A repeat of the recorded step on an expired wizard is refused too,
	// before and after ExpireDue has marked it.
	b.clock.Advance(time.Hour)
	_, err = b.svc.RunWizard(b.ctx, p)
	require.ErrorIs(t, err, verification.ErrExpired)
	n, err := b.svc.ExpireDue(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	before = snapshot(t, b.svc, sub.ID)
	_, err = b.svc.RunWizard(b.ctx, p)
	require.ErrorIs(t, err, verification.ErrExpired, "a repeat on an expired wizard is not a success")
	assert.Equal(t, before, snapshot(t, b.svc, sub.ID))
	f2, b2 := b.passport(t, sub.ID)
	before = snapshot(t, b.svc, sub.ID)
	_, err = b.svc.RunWizard(b.ctx, verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{f2.ID, b2.ID}})
	require.ErrorIs(t, err, verification.ErrExpired)
	assert.Equal(t, before, snapshot(t, b.svc, sub.ID))
}

func TestRunWizardConcurrentDuplicatesRecordOneStep(t *testing.T) {
	t.Parallel()
	for _, answered := range []bool{false, true} {
		t.Run(fmt.Sprintf("AMLD5 answered %v", answered), func(t *testing.T) {
			t.Parallel()
			b := appSetup(t)
			sub := verificationtest.CreateSubject(t, b.svc)
			step := b.documentsStep(t, sub.ID)
			front, back := b.passport(t, sub.ID)
			if answered {
				b.answerAMLD5(t, sub.ID)
			}
			p := verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{front.ID, back.ID}}
			submittedBefore := countEvents(t, b.svc, sub.ID, verification.EventRequirementSubmitted)
			steps := make([]verification.WizardStep, 4)
			errs := make([]error, len(steps))
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range steps {
				wg.Go(func() {
					<-start
					steps[i], errs[i] = b.svc.RunWizard(b.ctx, p)
				})
			}
			close(start)
			wg.Wait()
			for i := range steps {
				require.NoError(t, errs[i])
				assert.Equal(t, steps[0], steps[i], "every duplicate gets the same answer")
			}
			apps := b.applications(t, sub.ID)
			require.Len(t, apps, 2)
			assert.Len(t, apps[1].Steps, 1, "one step recorded")
			st := b.state(t, sub.ID, "idDocument")
			assert.Equal(t, 1, st.Attempts)
			assert.Equal(t, levels.Pending, st.Status)
			assert.Equal(t, submittedBefore+1, countEvents(t, b.svc, sub.ID, verification.EventRequirementSubmitted), "one idDocument submission")
			if answered {
				assert.Equal(t, verification.StageDone, steps[0].Stage)
				assert.Equal(t, 2, countEvents(t, b.svc, sub.ID, verification.EventApplicationSubmitted))
			} else {
				assert.NotEqual(t, verification.StageDone, steps[0].Stage)
			}
		})
	}
}

func TestRunWizardSequentialRepeat(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	step := b.documentsStep(t, sub.ID)
	front, back := b.passport(t, sub.ID)
	p := verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{front.ID, back.ID}}
	first, err := b.svc.RunWizard(b.ctx, p)
	require.NoError(t, err)
	before := snapshot(t, b.svc, sub.ID)
	b.clock.Advance(time.Minute)
	again, err := b.svc.RunWizard(b.ctx, p)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.Equal(t, before, snapshot(t, b.svc, sub.ID), "a repeat records nothing")

	// Once the rest is answered, the repeat submits like InitWizard would.
	b.answerAMLD5(t, sub.ID)
	done, err := b.svc.RunWizard(b.ctx, p)
	require.NoError(t, err)
	assert.Equal(t, verification.StageDone, done.Stage)
	require.Len(t, done.Application.Steps, 1)
	assert.Equal(t, first.Application.Steps[0], done.Application.Steps[0], "the step keeps its first recording")
	// And repeating the final step returns the same final answer.
	again, err = b.svc.RunWizard(b.ctx, p)
	require.NoError(t, err)
	assert.Equal(t, done, again)
}

func TestApplicationTTL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ttl  time.Duration
		want time.Duration
	}{
		{"default", 0, 24 * time.Hour},
		{"custom", 2 * time.Hour, 2 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := appSetup(t, verification.Options{ApplicationTTL: tc.ttl})
			sub := verificationtest.CreateSubject(t, b.svc)
			app := b.submitLevel1(t, sub.ID)
			assert.Equal(t, app.CreatedAt.Add(tc.want), app.ExpiresAt)

			b.clock.Set(app.ExpiresAt.Add(-time.Microsecond))
			pr, err := b.svc.PendingRequest(b.ctx, sub.ID)
			require.NoError(t, err)
			assert.Equal(t, verification.PendingStatusPending, pr.Status)
			assert.Equal(t, app.ExpiresAt, pr.Application.ExpiresAt)

			// Past ExpiresAt the application is never pending, even before ExpireDue.
			b.clock.Set(app.ExpiresAt)
			pr, err = b.svc.PendingRequest(b.ctx, sub.ID)
			require.NoError(t, err)
			assert.Equal(t, verification.PendingStatusNoRequest, pr.Status)
			assert.Zero(t, pr.Application)
			stored, err := b.svc.Application(b.ctx, verification.SystemActor(), app.ID)
			require.NoError(t, err)
			assert.Equal(t, verification.ApplicationSubmitted, stored.Status, "ExpireDue has not run yet")
		})
	}
}

func TestApplicationTTLNegativeRefused(t *testing.T) {
	t.Parallel()
	_, err := verification.New(verificationtest.SeedLadder(t), memory.New(), verification.Options{ApplicationTTL: -time.Second})
	require.ErrorIs(t, err, verification.ErrInvalid)
}

func TestExpireDue(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	ctx := b.ctx

	// Three subjects with submitted Level 1 applications, one with a draft
	// at the documents step holding pending files, one submitted later
	// that is not due yet.
	var submitted []verification.Application
	for range 3 {
		sub := verificationtest.CreateSubject(t, b.svc)
		submitted = append(submitted, b.submitLevel1(t, sub.ID))
	}
	docSub := verificationtest.CreateSubject(t, b.svc)
	docStep := b.documentsStep(t, docSub.ID)
	front, back := b.passport(t, docSub.ID)
	_, err := b.svc.RunWizard(ctx, verification.RunWizardParams{SubjectID: docSub.ID, UUID: docStep.UUID, DocumentType: 2, Files: []string{front.ID, back.ID}})
	require.NoError(t, err)

	b.clock.Advance(12 * time.Hour)
	late := verificationtest.CreateSubject(t, b.svc)
	lateApp := b.submitLevel1(t, late.ID)

	n, err := b.svc.ExpireDue(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing is due yet")

	b.clock.Set(verificationtest.Start.Add(24 * time.Hour))
	n, err = b.svc.ExpireDue(ctx)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	for _, app := range submitted {
		got, err := b.svc.Application(ctx, verification.SystemActor(), app.ID)
		require.NoError(t, err)
		assert.Equal(t, verification.ApplicationExpired, got.Status)
		assert.Equal(t, 1, countEvents(t, b.svc, app.SubjectID, verification.EventApplicationExpired))
		st := b.state(t, app.SubjectID, "emailCode")
		assert.Equal(t, levels.Missing, st.Status, "pending requirements become missing")
		assert.Nil(t, st.Answer)
		assert.Equal(t, 1, st.Attempts, "attempts are kept")
		assert.Equal(t, levels.Approved, b.state(t, app.SubjectID, "isBusiness").Status, "approved answers stay")
		pr, err := b.svc.PendingRequest(ctx, app.SubjectID)
		require.NoError(t, err)
		assert.Equal(t, verification.PendingStatusNoRequest, pr.Status)
	}
	docApp, err := b.svc.Application(ctx, verification.SystemActor(), docStep.Application.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.ApplicationExpired, docApp.Status)
	assert.Equal(t, levels.Missing, b.state(t, docSub.ID, "idDocument").Status)
	for _, id := range []string{front.ID, back.ID} {
		f := b.file(t, id)
		assert.Equal(t, levels.Rejected, f.Status)
		assert.Equal(t, "expired", f.Reason)
		assert.Equal(t, b.svc.Now(), f.DecidedAt)
	}
	// The sides are free again.
	verificationtest.Upload(t, b.svc, docSub.ID, "passport", "front")

	got, err := b.svc.Application(ctx, verification.SystemActor(), lateApp.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.ApplicationSubmitted, got.Status)
	assert.Zero(t, countEvents(t, b.svc, late.ID, verification.EventApplicationExpired))

	n, err = b.svc.ExpireDue(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "idempotent")
	for _, app := range submitted {
		assert.Equal(t, 1, countEvents(t, b.svc, app.SubjectID, verification.EventApplicationExpired))
	}

	// A new wizard starts afresh for an expired subject.
	step, err := b.svc.InitWizard(ctx, submitted[0].SubjectID)
	require.NoError(t, err)
	assert.NotEqual(t, submitted[0].UUID, step.UUID)
	assert.NotEqual(t, verification.StageDone, step.Stage)
	assert.Equal(t, verification.StageAnswers, step.Stage)
}

func TestExpireDueManyApplications(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	const subjects = 130 // more than one page of ExpireDue's listing
	for range subjects {
		sub := verificationtest.CreateSubject(t, b.svc)
		_, err := b.svc.InitWizard(b.ctx, sub.ID)
		require.NoError(t, err)
	}
	b.clock.Advance(25 * time.Hour)
	n, err := b.svc.ExpireDue(b.ctx)
	require.NoError(t, err)
	assert.Equal(t, subjects, n)
	page, err := b.svc.Applications(b.ctx, verification.SystemActor(), verification.ApplicationFilter{Statuses: []verification.ApplicationStatus{verification.ApplicationExpired}})
	total := page.Total
	require.NoError(t, err)
	assert.Equal(t, subjects, total)
}

// A wizard started after the previous application expired, but before
// ExpireDue ran, must not inherit the stale application's pending answers:
// the stale application is expired first.
func TestInitWizardExpiresStaleApplication(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	old := b.submitLevel1(t, sub.ID)
	b.clock.Advance(25 * time.Hour)

	step, err := b.svc.InitWizard(b.ctx, sub.ID)
	require.NoError(t, err)
	assert.NotEqual(t, old.UUID, step.UUID)
	assert.NotEqual(t, verification.StageDone, step.Stage, "the expired emailCode answer must be given again")
	assert.Equal(t, verification.StageAnswers, step.Stage)
	stale, err := b.svc.Application(b.ctx, verification.SystemActor(), old.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.ApplicationExpired, stale.Status)
	assert.Equal(t, 1, countEvents(t, b.svc, sub.ID, verification.EventApplicationExpired))
	assert.Equal(t, levels.Missing, b.state(t, sub.ID, "emailCode").Status)

	n, err := b.svc.ExpireDue(b.ctx)
	require.NoError(t, err)
	assert.Zero(t, n)

	// The new application goes through normally.
	_, err = b.svc.Answer(b.ctx, sub.ID, "emailCode", raw(`"654321"`))
	require.NoError(t, err)
	step, err = b.svc.InitWizard(b.ctx, sub.ID)
	require.NoError(t, err)
	require.Equal(t, verification.StageDone, step.Stage)
	_, err = b.svc.DecideApplication(b.ctx, verification.AdminActor(1, nil), verification.DecideApplicationParams{ApplicationID: step.Application.ID, Decision: verification.Approve})
	require.NoError(t, err)
	verificationtest.RequireLevel(t, b.svc, sub.ID, 2)
	assert.Equal(t, levels.Approved, b.state(t, sub.ID, "emailCode").Status)
}

func TestDecideApplicationReject(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	step := b.documentsStep(t, sub.ID)
	front, back := b.passport(t, sub.ID)
	b.answerAMLD5(t, sub.ID)
	done, err := b.svc.RunWizard(b.ctx, verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{front.ID, back.ID}})
	require.NoError(t, err)

	b.clock.Advance(time.Hour)
	app, err := b.svc.DecideApplication(b.ctx, verification.AdminActor(5, nil), verification.DecideApplicationParams{ApplicationID: done.Application.ID, Decision: verification.Reject, Reason: "photo unreadable"})
	require.NoError(t, err)
	assert.Equal(t, verification.ApplicationRejected, app.Status)
	assert.Equal(t, "photo unreadable", app.Reason)
	assert.Equal(t, int64(5), app.DecidedBy)
	assert.Equal(t, b.svc.Now(), app.DecidedAt)
	stored, err := b.svc.Application(b.ctx, verification.SystemActor(), app.ID)
	require.NoError(t, err)
	assert.Equal(t, app, stored)

	st := b.state(t, sub.ID, "idDocument")
	assert.Equal(t, levels.Rejected, st.Status)
	assert.Equal(t, "photo unreadable", st.Reason)
	assert.False(t, st.Final)
	assert.Equal(t, levels.Approved, b.state(t, sub.ID, "AMLD5Questions").Status, "answers needing no review stay approved")
	for _, id := range []string{front.ID, back.ID} {
		f := b.file(t, id)
		assert.Equal(t, levels.Rejected, f.Status)
		assert.Equal(t, "photo unreadable", f.Reason)
	}
	verificationtest.RequireLevel(t, b.svc, sub.ID, 2)
	assert.Equal(t, 1, countEvents(t, b.svc, sub.ID, verification.EventApplicationRejected))
	assert.Equal(t, 1, countEvents(t, b.svc, sub.ID, verification.EventRequirementRejected))
	reviews, err := b.svc.Reviews(b.ctx, verification.SystemActor(), sub.ID)
	require.NoError(t, err)
	last := reviews[len(reviews)-1]
	assert.Equal(t, verification.Reject, last.Decision)
	assert.Equal(t, "idDocument", last.Requirement)
	assert.Equal(t, int64(5), last.AdminID)
	pr, err := b.svc.PendingRequest(b.ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.PendingStatusNoRequest, pr.Status)

	// The subject retries in a new application.
	retry, err := b.svc.InitWizard(b.ctx, sub.ID)
	require.NoError(t, err)
	assert.NotEqual(t, step.UUID, retry.UUID)
	assert.Equal(t, "idDocument", retry.Requirement)
	f2, b2 := b.passport(t, sub.ID)
	again, err := b.svc.RunWizard(b.ctx, verification.RunWizardParams{SubjectID: sub.ID, UUID: retry.UUID, DocumentType: 2, Files: []string{f2.ID, b2.ID}})
	require.NoError(t, err)
	assert.Equal(t, verification.StageDone, again.Stage)
	assert.Equal(t, 2, b.state(t, sub.ID, "idDocument").Attempts)
}

func TestDecideApplicationRefusals(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	ctx := b.ctx

	draftSub := verificationtest.CreateSubject(t, b.svc)
	draft, err := b.svc.InitWizard(ctx, draftSub.ID)
	require.NoError(t, err)

	decidedSub := verificationtest.CreateSubject(t, b.svc)
	decided := b.submitLevel1(t, decidedSub.ID)
	_, err = b.svc.DecideApplication(ctx, verification.AdminActor(1, nil), verification.DecideApplicationParams{ApplicationID: decided.ID, Decision: verification.Approve})
	require.NoError(t, err)

	rejectedSub := verificationtest.CreateSubject(t, b.svc)
	rejected := b.submitLevel1(t, rejectedSub.ID)
	_, err = b.svc.DecideApplication(ctx, verification.AdminActor(1, nil), verification.DecideApplicationParams{ApplicationID: rejected.ID, Decision: verification.Reject, Reason: "no"})
	require.NoError(t, err)

	openSub := verificationtest.CreateSubject(t, b.svc)
	open := b.submitLevel1(t, openSub.ID)

	// Expired: submitted long before the others.
	b.clock.Advance(-48 * time.Hour)
	expiredSub := verificationtest.CreateSubject(t, b.svc)
	expired := b.submitLevel1(t, expiredSub.ID)
	markedSub := verificationtest.CreateSubject(t, b.svc)
	marked := b.submitLevel1(t, markedSub.ID)
	b.clock.Advance(48 * time.Hour)
	require.NoError(t, verificationtest.StoreOf(b.svc).InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		a, err := tx.GetApplication(ctx, marked.ID)
		if err != nil {
			return err
		}
		a.Status = verification.ApplicationExpired
		return tx.UpdateApplication(ctx, a)
	}))

	deletedSub := verificationtest.CreateSubject(t, b.svc)
	deleted := b.submitLevel1(t, deletedSub.ID)
	require.NoError(t, b.svc.DeleteSubject(ctx, verification.SystemActor(), deletedSub.ID))

	approve := func(id int64) verification.DecideApplicationParams {
		return verification.DecideApplicationParams{ApplicationID: id, Decision: verification.Approve}
	}
	tests := []struct {
		name    string
		p       verification.DecideApplicationParams
		subject int64
		kind    error
		field   string
		actor   verification.Actor // zero: an admin without tags
	}{
		{"draft", approve(draft.Application.ID), draftSub.ID, verification.ErrConflict, "", verification.Actor{}},
		{"already approved", approve(decided.ID), decidedSub.ID, verification.ErrConflict, "", verification.Actor{}},
		{"already rejected", verification.DecideApplicationParams{ApplicationID: rejected.ID, Decision: verification.Reject, Reason: "again"}, rejectedSub.ID, verification.ErrConflict, "", verification.Actor{}},
		{"past ExpiresAt", approve(expired.ID), expiredSub.ID, verification.ErrExpired, "", verification.Actor{}},
		{"marked expired", approve(marked.ID), markedSub.ID, verification.ErrExpired, "", verification.Actor{}},
		{"deleted subject", approve(deleted.ID), deletedSub.ID, verification.ErrDeleted, "", verification.Actor{}},
		{"unknown id", approve(9999), openSub.ID, verification.ErrNotFound, "", verification.Actor{}},
		{"reject without reason", verification.DecideApplicationParams{ApplicationID: open.ID, Decision: verification.Reject}, openSub.ID, verification.ErrInvalid, "reason", verification.Actor{}},
		{"bad decision", verification.DecideApplicationParams{ApplicationID: open.ID, Decision: "maybe"}, openSub.ID, verification.ErrInvalid, "decision", verification.Actor{}},
		{"zero id", approve(0), openSub.ID, verification.ErrInvalid, "applicationId", verification.Actor{}},
		{"long reason", verification.DecideApplicationParams{ApplicationID: open.ID, Decision: verification.Reject, Reason: string(make([]byte, verification.MaxReasonLen+1))}, openSub.ID, verification.ErrInvalid, "reason", verification.Actor{}},
		{"not an admin", approve(open.ID), openSub.ID, verification.ErrForbidden, "", verification.HostActor()},
		{"subject outside the admin's tags", approve(open.ID), openSub.ID, verification.ErrNotFound, "", verification.AdminActor(3, []string{"nowhere"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, b.svc, tc.subject)
			actor := verification.AdminActor(3, nil)
			if tc.actor.Kind != "" {
				actor = tc.actor
			}
			_, err := b.svc.DecideApplication(ctx, actor, tc.p)
			require.ErrorIs(t, err, tc.kind)
			if tc.field != "" {
				var e *verification.Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, tc.field, e.Field)
			}
			assert.Equal(t, before, snapshot(t, b.svc, tc.subject))
		})
	}

	// The open one can still be decided.
	_, err = b.svc.DecideApplication(ctx, verification.AdminActor(3, nil), approve(open.ID))
	require.NoError(t, err)
}

func TestDecideApplicationWhenAlreadyAtLevel(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	app := b.submitLevel1(t, sub.ID)
	_, err := b.svc.GrantLevel(b.ctx, verification.AdminActor(9, nil), verification.GrantLevelParams{SubjectID: sub.ID, Level: 2, Reason: "manual"})
	require.NoError(t, err)
	_, err = b.svc.DecideApplication(b.ctx, verification.AdminActor(3, nil), verification.DecideApplicationParams{ApplicationID: app.ID, Decision: verification.Approve})
	require.NoError(t, err)
	page, err := b.svc.Grants(b.ctx, verification.SystemActor(), verification.GrantFilter{SubjectID: sub.ID, Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, 2, page.Total, "no second grant of the same level")
	assert.Equal(t, levels.Approved, b.state(t, sub.ID, "emailCode").Status)
}

func TestConcurrentDecideApplication(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	app := b.submitLevel1(t, sub.ID)
	errs := make([]error, 6)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			d := verification.DecideApplicationParams{ApplicationID: app.ID, Decision: verification.Approve}
			if i%2 == 1 {
				d.Decision, d.Reason = verification.Reject, "no"
			}
			_, errs[i] = b.svc.DecideApplication(b.ctx, verification.AdminActor(int64(i+1), nil), d)
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		require.ErrorIs(t, err, verification.ErrConflict)
	}
	assert.Equal(t, 1, ok)
	assert.Equal(t, 1, countEvents(t, b.svc, sub.ID, verification.EventApplicationApproved)+countEvents(t, b.svc, sub.ID, verification.EventApplicationRejected))
}

// A draft whose requirements were all answered outside the wizard has no
// documents step: RunWizard refuses without submitting (so a duplicate gets
// the same answer), and InitWizard submits.
func TestRunWizardOnCompleteDraftChangesNothing(t *testing.T) {
	t.Parallel()
	b := docSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc)
	step := b.documentsStep(t, sub.ID)
	b.answerAMLD5(t, sub.ID)
	front, back := b.passport(t, sub.ID)
	f2 := verificationtest.Upload(t, b.svc, sub.ID, "passport", "front")
	b.answerPassport(t, sub.ID, front, back)
	p := verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 2, Files: []string{f2.ID, back.ID}}
	before := snapshot(t, b.svc, sub.ID)
	for range 2 {
		_, err := b.svc.RunWizard(b.ctx, p)
		require.ErrorIs(t, err, verification.ErrConflict)
		require.Equal(t, before, snapshot(t, b.svc, sub.ID))
	}
	done, err := b.svc.InitWizard(b.ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.StageDone, done.Stage)
	assert.Equal(t, step.UUID, done.UUID)
	assert.Empty(t, done.Application.Steps)
}

func TestWizardOffersEnabledTypesOnly(t *testing.T) {
	t.Parallel()
	ladder, err := levels.New([]levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{
			{Name: "idDocument", Type: levels.Document, DocumentTypes: []string{"idCard", "passport"}, Review: true},
		}},
	},
		documents.Type{ID: 2, Name: "passport", Description: "Passport", Enabled: true, Sides: []string{"front", "back"}},
		documents.Type{ID: 4, Name: "idCard", Description: "ID card", Enabled: false, Sides: []string{"front"}},
	)
	require.NoError(t, err)
	svc, _ := verificationtest.NewService(t, ladder)
	ctx := context.Background()
	sub := verificationtest.CreateSubject(t, svc)
	step, err := svc.InitWizard(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.StageDocuments, step.Stage)
	require.Len(t, step.Types, 1)
	assert.Equal(t, "passport", step.Types[0].Name)

	front := verificationtest.Upload(t, svc, sub.ID, "passport", "front")
	before := snapshot(t, svc, sub.ID)
	_, err = svc.RunWizard(ctx, verification.RunWizardParams{SubjectID: sub.ID, UUID: step.UUID, DocumentType: 4, Files: []string{front.ID}})
	require.ErrorIs(t, err, verification.ErrInvalid)
	assert.Equal(t, before, snapshot(t, svc, sub.ID))
}

func TestInitWizardSupersedesDraftBelowTheSubjectsLevel(t *testing.T) {
	t.Parallel()
	svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	ctx := context.Background()
	sub := verificationtest.CreateSubject(t, svc)
	first, err := svc.InitWizard(ctx, sub.ID)
	require.NoError(t, err)
	require.NotEqual(t, verification.StageDone, first.Stage, "Level 1 answers are missing: a draft")
	_, err = svc.GrantLevel(ctx, verification.AdminActor(1, nil), verification.GrantLevelParams{SubjectID: sub.ID, Level: 2, Reason: "manual"})
	require.NoError(t, err)

	next, err := svc.InitWizard(ctx, sub.ID)
	require.NoError(t, err)
	require.NotEqual(t, first.UUID, next.UUID, "a new application for the next level")
	require.Equal(t, 3, next.Application.Level)
	old, err := verificationtest.StoreOf(svc).GetApplicationByUUID(ctx, first.UUID)
	require.NoError(t, err)
	require.Equal(t, verification.ApplicationExpired, old.Status)
}
