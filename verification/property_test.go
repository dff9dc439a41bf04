package verification_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// memBlobs is a BlobStore in memory: the property test uploads thousands
// of files and needs no fsync.
type memBlobs struct {
	mu    sync.Mutex
	blobs map[string][]byte
}

func (m *memBlobs) Put(_ context.Context, owner string, r io.Reader, limit int64) (documents.Blob, error) {
	if limit <= 0 {
		limit = documents.DefaultMaxFileSize
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return documents.Blob{}, err
	}
	if int64(len(b)) > limit {
		return documents.Blob{}, documents.ErrTooLarge
	}
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := hex.EncodeToString(k[:])
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[key] = b
	sum := sha256.Sum256(b)
	return documents.Blob{Key: key, Owner: owner, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}, nil
}

func (m *memBlobs) Open(_ context.Context, key string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[key]
	if !ok {
		return nil, documents.ErrBlobNotFound
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memBlobs) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blobs, key)
	return nil
}

// expectedKinds are the refusals a random operation may meet; anything
// else (ErrInternal above all) fails the property.
var expectedKinds = []error{
	verification.ErrNotFound, verification.ErrConflict, verification.ErrInvalid, verification.ErrForbidden,
	verification.ErrDeleted, verification.ErrPendingDocument, verification.ErrAttemptsExhausted,
	verification.ErrRejectedFinal, verification.ErrExpired, verification.ErrUnsupportedMedia,
}

// world is one run of the property: a Service, its subjects and the ids the
// operations produced so far (to pick existing or random ones).
type world struct {
	svc      *verification.Service
	store    verification.Store
	clock    *verificationtest.Clock
	ladder   *levels.Ladder
	ctx      context.Context
	subjects []int64
	files    []verification.File
	wizards  []verification.Application // as InitWizard returned them
}

func (w *world) expect(t *rapid.T, op string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, verification.ErrInternal) {
		t.Fatalf("%s: internal error: %v", op, err)
	}
	var e *verification.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error is not a *verification.Error: %v", op, err)
	}
	for _, k := range expectedKinds {
		if errors.Is(err, k) {
			return
		}
	}
	t.Fatalf("%s: unexpected error: %v", op, err)
}

func (w *world) subject(t *rapid.T) int64 { return rapid.SampledFrom(w.subjects).Draw(t, "subject") }

// rarely is true about one time in ten.
func rarely(t *rapid.T, label string) bool { return rapid.IntRange(0, 9).Draw(t, label) == 9 }

// fileFor draws a file for the subject's side: mostly the subject's latest
// upload of that side, rarely any known file or an unknown id.
func (w *world) fileFor(t *rapid.T, subjectID int64, side, label string) string {
	switch {
	case len(w.files) == 0 || rarely(t, label+"Unknown"):
		return "no-such-file"
	case rarely(t, label+"Any"):
		return rapid.SampledFrom(w.files).Draw(t, label).ID
	}
	for i := len(w.files) - 1; i >= 0; i-- {
		if f := w.files[i]; f.SubjectID == subjectID && f.DocumentType == "passport" && f.Side == side {
			return f.ID
		}
	}
	return rapid.SampledFrom(w.files).Draw(t, label).ID
}

func (w *world) decision(t *rapid.T) (verification.Decision, string) {
	if rapid.Bool().Draw(t, "approve") {
		return verification.Approve, ""
	}
	return verification.Reject, "not good enough"
}

// answer mostly fills in the form of the subject's next level: every open
// (missing or rejected) requirement up to it, with valid answers, documents
// with the subject's latest passport. Sometimes it answers one requirement,
// rarely with an invalid answer or a requirement the subject may not answer.
func (w *world) answer(t *rapid.T) {
	id := w.subject(t)
	sub, err := w.store.GetSubject(w.ctx, id)
	require.NoError(t, err)
	target := w.ladder.Top().ID
	if next, ok := w.ladder.Next(sub.Level); ok {
		target = next.ID
	}
	res, err := w.svc.Status(w.ctx, id, target)
	require.NoError(t, err)
	var open []string
	for _, o := range res.Outstanding {
		if o.Status != levels.Pending && o.Name != "verificationFlag" {
			open = append(open, o.Name)
		}
	}
	if len(open) == 0 || rarely(t, "singleAnswer") {
		open = []string{rapid.SampledFrom([]string{"isBusiness", "emailCode", "nationality", "AMLD5Questions", "idDocument", "verificationFlag"}).Draw(t, "requirement")}
	}
	for _, name := range open {
		var answer string
		switch name {
		case "idDocument":
			answer = fmt.Sprintf(`{"type":"passport","files":{"front":%q,"back":%q}}`, w.fileFor(t, id, "front", "front"), w.fileFor(t, id, "back", "back"))
		default:
			options := map[string][]string{
				"isBusiness":       {`true`, `false`, `"yes"`},
				"emailCode":        {`"123456"`, `"654321"`, `"12345"`},
				"nationality":      {`"NL"`, `"DE"`, `"FR"`},
				"AMLD5Questions":   {`{"Question1":"answer1","Question2":"answer3"}`, `{"Question1":"answer2","Question2":"answer2"}`, `{"Question1":"answer1"}`},
				"verificationFlag": {`true`},
			}[name]
			answer = options[0]
			if rarely(t, "otherAnswer") {
				answer = rapid.SampledFrom(options).Draw(t, "answer")
			}
		}
		_, err = w.svc.Answer(w.ctx, id, name, raw(answer))
		w.expect(t, "Answer "+name, err)
	}
}

// upload uploads, mostly, a passport (front and back) for a subject;
// rarely a selfie, a side that does not exist or content that is refused.
func (w *world) upload(t *rapid.T) {
	id := w.subject(t)
	kinds := [][2]string{{"passport", "front"}, {"passport", "back"}}
	if rarely(t, "oddUpload") {
		kinds = [][2]string{rapid.SampledFrom([][2]string{{"passport", "front"}, {verification.SelfieType, verification.SelfieSide}, {"passport", "face"}}).Draw(t, "typeSide")}
	}
	for _, kind := range kinds {
		body := verificationtest.JPEG(64)
		if rarely(t, "badContent") {
			body = []byte("GIF89a not a jpeg")
		}
		f, err := w.svc.Upload(w.ctx, verification.UploadParams{SubjectID: id, DocumentType: kind[0], Side: kind[1], Body: bytes.NewReader(body)})
		w.expect(t, "Upload", err)
		if err == nil {
			w.files = append(w.files, f)
		}
	}
}

func (w *world) initWizard(t *rapid.T) {
	id := w.subject(t)
	step, err := w.svc.InitWizard(w.ctx, id)
	w.expect(t, "InitWizard", err)
	if err != nil {
		return
	}
	if step.UUID == "" {
		sub, err := w.svc.Subject(w.ctx, verification.SystemActor(), id)
		require.NoError(t, err)
		res, err := w.svc.Status(w.ctx, id, 0)
		require.NoError(t, err)
		if sub.Level != w.ladder.Top().ID && !res.Verified() {
			t.Fatalf("InitWizard: done without an application for subject %d at level %d with %v outstanding", id, sub.Level, res.Outstanding)
		}
		return
	}
	w.wizards = append(w.wizards, step.Application)
}

// runWizardParams draws a RunWizard call: mostly an open wizard, by its
// subject, with the subject's latest front and back (uploaded on the spot
// when it has no unsubmitted pair); rarely anything else.
func (w *world) runWizardParams(t *rapid.T) verification.RunWizardParams {
	p := verification.RunWizardParams{SubjectID: w.subject(t), UUID: "no-such-wizard", DocumentType: 2}
	page, err := w.store.ListApplications(w.ctx, verification.ApplicationFilter{Statuses: []verification.ApplicationStatus{verification.ApplicationDraft}, Limit: verification.MaxPageSize})
	drafts := page.Items
	require.NoError(t, err)
	var docDrafts []verification.Application // drafts for the top level: a documents step
	for _, a := range drafts {
		if a.Level == w.ladder.Top().ID {
			docDrafts = append(docDrafts, a)
		}
	}
	switch {
	case len(docDrafts) > 0 && !rarely(t, "notDocDraft"):
		app := rapid.SampledFrom(docDrafts).Draw(t, "wizard")
		p.UUID, p.SubjectID = app.UUID, app.SubjectID
	case len(drafts) > 0 && rarely(t, "draft"):
		app := rapid.SampledFrom(drafts).Draw(t, "wizard")
		p.UUID, p.SubjectID = app.UUID, app.SubjectID
	case len(w.wizards) > 0 && rarely(t, "anyWizard"):
		app := rapid.SampledFrom(w.wizards).Draw(t, "wizard")
		p.UUID, p.SubjectID = app.UUID, app.SubjectID
	case !rarely(t, "unknownWizard"):
		// The client starts (or resumes) its wizard first.
		step, err := w.svc.InitWizard(w.ctx, p.SubjectID)
		w.expect(t, "InitWizard for RunWizard", err)
		if err == nil && step.UUID != "" {
			w.wizards = append(w.wizards, step.Application)
			p.UUID = step.UUID
		}
	}
	if rarely(t, "foreignWizard") {
		p.SubjectID = w.subject(t)
	}
	if !w.hasFresh(t, p.SubjectID) && !rarely(t, "noUpload") {
		for _, side := range []string{"front", "back"} {
			f, err := w.svc.Upload(w.ctx, verification.UploadParams{SubjectID: p.SubjectID, DocumentType: "passport", Side: side, Body: bytes.NewReader(verificationtest.JPEG(64))})
			w.expect(t, "Upload for RunWizard", err)
			if err == nil {
				w.files = append(w.files, f)
			}
		}
	}
	if rarely(t, "otherType") {
		p.DocumentType = 3
	}
	p.Files = []string{w.fileFor(t, p.SubjectID, "front", "front"), w.fileFor(t, p.SubjectID, "back", "back")}
	if rarely(t, "oneFile") {
		p.Files = p.Files[:1]
	}
	return p
}

// hasFresh reports whether the subject's latest passport front and back
// are both unsubmitted.
func (w *world) hasFresh(t *rapid.T, subjectID int64) bool {
	for _, side := range []string{"front", "back"} {
		files, err := w.store.ListFiles(w.ctx, verification.FileFilter{SubjectID: subjectID, DocumentType: "passport", Side: side})
		require.NoError(t, err)
		if len(files) == 0 || files[len(files)-1].Status != levels.Missing {
			return false
		}
	}
	return true
}

func (w *world) runWizard(t *rapid.T) {
	p := w.runWizardParams(t)
	first, err := w.svc.RunWizard(w.ctx, p)
	w.expect(t, "RunWizard", err)
	// A retried request gets the same answer and records nothing more.
	before := snapshotStore(t, w.store, p.SubjectID)
	again, err2 := w.svc.RunWizard(w.ctx, p)
	w.expect(t, "RunWizard repeat", err2)
	if !sameOutcome(first, err, again, err2) {
		t.Fatalf("RunWizard repeat differs: first %+v, %v; repeat %+v, %v", first, err, again, err2)
	}
	if after := snapshotStore(t, w.store, p.SubjectID); !reflect.DeepEqual(before, after) {
		t.Fatalf("RunWizard repeat changed state:\nbefore %+v\nafter  %+v", before, after)
	}
}

func (w *world) runWizardConcurrently(t *rapid.T) {
	p := w.runWizardParams(t)
	steps := make([]verification.WizardStep, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range steps {
		wg.Go(func() { steps[i], errs[i] = w.svc.RunWizard(w.ctx, p) })
	}
	wg.Wait()
	for i := range errs {
		w.expect(t, "RunWizard concurrent", errs[i])
	}
	if !sameOutcome(steps[0], errs[0], steps[1], errs[1]) {
		t.Fatalf("concurrent duplicates differ: %+v, %v / %+v, %v", steps[0], errs[0], steps[1], errs[1])
	}
}

// sameOutcome reports whether two calls answered alike: the same step, or
// the same error.
func sameOutcome(a verification.WizardStep, errA error, b verification.WizardStep, errB error) bool {
	if errA != nil || errB != nil {
		return errA != nil && errB != nil && errA.Error() == errB.Error()
	}
	return reflect.DeepEqual(a, b)
}

func (w *world) review(t *rapid.T) {
	d, reason := w.decision(t)
	id := w.subject(t)
	p := verification.ReviewParams{SubjectID: id, Requirement: "isBusiness", Decision: d, Reason: reason}
	// Mostly a pending requirement of the subject.
	states, err := w.store.ListRequirementStates(w.ctx, id)
	require.NoError(t, err)
	var pending []string
	for _, s := range states {
		if s.Status == levels.Pending {
			pending = append(pending, s.Name)
		}
	}
	if len(pending) > 0 && !rarely(t, "notPending") {
		p.Requirement = rapid.SampledFrom(pending).Draw(t, "requirement")
	}
	if d == verification.Reject {
		p.Final = rarely(t, "final")
	}
	_, err = w.svc.Review(w.ctx, verification.AdminActor(11, nil), p)
	w.expect(t, "Review", err)
}

func (w *world) reviewFile(t *rapid.T) {
	d, reason := w.decision(t)
	id := "no-such-file"
	pending, err := w.store.ListFiles(w.ctx, verification.FileFilter{Status: levels.Pending})
	require.NoError(t, err)
	switch {
	case len(pending) > 0 && !rarely(t, "notPendingFile"):
		id = rapid.SampledFrom(pending).Draw(t, "file").ID
	case len(w.files) > 0 && !rarely(t, "unknownFile"):
		id = rapid.SampledFrom(w.files).Draw(t, "file").ID
	}
	_, err = w.svc.ReviewFile(w.ctx, verification.AdminActor(12, nil), verification.ReviewFileParams{FileID: id, Decision: d, Reason: reason})
	w.expect(t, "ReviewFile", err)
}

func (w *world) decideApplication(t *rapid.T) {
	id := int64(9999)
	page, err := w.store.ListApplications(w.ctx, verification.ApplicationFilter{Statuses: []verification.ApplicationStatus{verification.ApplicationSubmitted}, Limit: verification.MaxPageSize})
	submitted := page.Items
	require.NoError(t, err)
	switch {
	case len(submitted) > 0 && !rarely(t, "notSubmitted"):
		id = rapid.SampledFrom(submitted).Draw(t, "application").ID
	case len(w.wizards) > 0 && !rarely(t, "unknownApplication"):
		id = rapid.SampledFrom(w.wizards).Draw(t, "application").ID
	}
	d, reason := w.decision(t)
	app, err := w.svc.DecideApplication(w.ctx, verification.AdminActor(13, nil), verification.DecideApplicationParams{ApplicationID: id, Decision: d, Reason: reason})
	w.expect(t, "DecideApplication", err)
	if err != nil || d != verification.Approve {
		return
	}
	// An approved application leaves every requirement the subject answers
	// up to its level approved, and the subject at least at that level.
	for _, req := range w.ladder.RequirementsUpTo(app.Level) {
		st, err := w.store.GetRequirementState(w.ctx, app.SubjectID, req.Name)
		if req.AnsweredByUser() && (err != nil || st.Status != levels.Approved) {
			t.Fatalf("application %d approved with requirement %s %s (%v)", app.ID, req.Name, st.Status, err)
		}
	}
	sub, err := w.store.GetSubject(w.ctx, app.SubjectID)
	require.NoError(t, err)
	if w.ladder.Position(sub.Level) < w.ladder.Position(app.Level) {
		t.Fatalf("application %d for level %d approved, subject at level %d", app.ID, app.Level, sub.Level)
	}
}

func (w *world) advanceClock(t *rapid.T) {
	w.clock.Advance(rapid.SampledFrom([]time.Duration{time.Minute, time.Hour, 6 * time.Hour, 13 * time.Hour, 25 * time.Hour}).Draw(t, "advance"))
}

func (w *world) expireDue(t *rapid.T) {
	_, err := w.svc.ExpireDue(w.ctx)
	w.expect(t, "ExpireDue", err)
	now := w.svc.Now()
	page, err := w.store.ListApplications(w.ctx, verification.ApplicationFilter{Statuses: []verification.ApplicationStatus{verification.ApplicationDraft, verification.ApplicationSubmitted}, Limit: verification.MaxPageSize})
	open := page.Items
	require.NoError(t, err)
	for _, a := range open {
		if !a.ExpiresAt.After(now) {
			t.Fatalf("after ExpireDue, application %d is %s with ExpiresAt %v <= now %v", a.ID, a.Status, a.ExpiresAt, now)
		}
	}
	n, err := w.svc.ExpireDue(w.ctx)
	w.expect(t, "ExpireDue again", err)
	if n != 0 {
		t.Fatalf("a second ExpireDue expired %d more", n)
	}
}

func (w *world) grantLevel(t *rapid.T) {
	level := rapid.SampledFrom([]int{1, 2, 3}).Draw(t, "level")
	_, err := w.svc.GrantLevel(w.ctx, verification.AdminActor(14, nil), verification.GrantLevelParams{SubjectID: w.subject(t), Level: level, Reason: "admin decision"})
	w.expect(t, "GrantLevel", err)
}

func (w *world) setFlag(t *rapid.T) {
	p := verification.SetRequirementParams{SubjectID: w.subject(t), Requirement: "verificationFlag", Value: raw(`true`)}
	p.Status = rapid.SampledFrom([]levels.Status{levels.Approved, levels.Approved, levels.Pending, levels.Rejected}).Draw(t, "status")
	if p.Status == levels.Rejected {
		p.Reason = "flagged"
	}
	_, err := w.svc.SetRequirement(w.ctx, verification.AdminActor(15, nil), p)
	w.expect(t, "SetRequirement", err)
}

// check asserts the invariants over everything in the store.
func (w *world) check(t *rapid.T) {
	st := w.store
	now := w.svc.Now()
	for _, id := range w.subjects {
		sub, err := st.GetSubject(w.ctx, id)
		require.NoError(t, err)

		// At most one open application, and PendingRequest agrees with it.
		apps, err := st.ListApplications(w.ctx, verification.ApplicationFilter{SubjectID: id, Limit: verification.MaxPageSize})
		require.NoError(t, err)
		var open []verification.Application
		expired := 0
		for _, a := range apps.Items {
			if a.Status.Open() && a.ExpiresAt.After(now) {
				open = append(open, a)
			}
			if a.Status == verification.ApplicationExpired {
				expired++
			}
			if a.Status != verification.ApplicationDraft && a.Status != verification.ApplicationExpired && a.SubmittedAt.IsZero() {
				t.Fatalf("application %d is %s but was never submitted", a.ID, a.Status)
			}
			if (a.Status == verification.ApplicationApproved || a.Status == verification.ApplicationRejected) && a.DecidedBy == 0 {
				t.Fatalf("application %d is %s without a reviewer", a.ID, a.Status)
			}
		}
		if len(open) > 1 {
			t.Fatalf("subject %d has %d open applications: %+v", id, len(open), open)
		}
		if n := countEventsOf(t, st, id, verification.EventApplicationExpired); n != expired {
			t.Fatalf("subject %d: %d expired applications but %d application.expired events", id, expired, n)
		}
		pr, err := w.svc.PendingRequest(w.ctx, id)
		require.NoError(t, err)
		want := verification.PendingStatusNoRequest
		switch {
		case len(open) == 1 && open[0].Status == verification.ApplicationSubmitted:
			want = verification.PendingStatusPending
		case sub.Level == w.ladder.Top().ID:
			want = verification.PendingStatusVerified
		}
		if pr.Status != want {
			t.Fatalf("subject %d: PendingRequest %s, want %s", id, pr.Status, want)
		}

		// Grants are recorded transitions.
		page, err := st.ListGrants(w.ctx, verification.GrantFilter{SubjectID: id, Limit: verification.MaxPageSize})
		require.NoError(t, err)
		require.NotEmpty(t, page.Items)
		for i, g := range page.Items {
			if i == 0 {
				if g.Previous != nil {
					t.Fatalf("subject %d: first grant has previous level %+v", id, g.Previous)
				}
				continue
			}
			prev := page.Items[i-1]
			if g.Previous == nil || g.Previous.ID != prev.Level.ID || g.Previous.Name != prev.Level.Name {
				t.Fatalf("subject %d: grant %d has previous %+v, the grant before it is %+v", id, g.ID, g.Previous, prev.Level)
			}
			if g.Level.ID == prev.Level.ID {
				t.Fatalf("subject %d: grant %d does not change the level", id, g.ID)
			}
			if g.CreatedAt.Before(prev.CreatedAt) {
				t.Fatalf("subject %d: grant %d is older than the grant before it", id, g.ID)
			}
		}
		if last := page.Items[len(page.Items)-1]; last.Level.ID != sub.Level {
			t.Fatalf("subject %d is at level %d but its last grant is %+v", id, sub.Level, last.Level)
		}

		// Status is Evaluate over the stored states.
		states, err := st.ListRequirementStates(w.ctx, id)
		require.NoError(t, err)
		ls := levels.States{}
		pendingDoc := map[string]bool{}
		for _, s := range states {
			ls[s.Name] = s.Status
			req, ok := w.ladder.Requirement(s.Name)
			if ok && req.Type == levels.Document && s.Status == levels.Pending {
				doc, err := req.ParseDocument(s.Answer)
				require.NoError(t, err)
				for _, f := range doc.Files {
					pendingDoc[f] = true
				}
			}
		}
		res, err := w.svc.Status(w.ctx, id, 0)
		require.NoError(t, err)
		require.Equal(t, w.ladder.Evaluate(ls, 0), res)

		// A file is pending only as part of a pending answer, and a side
		// has at most one pending file (ER708).
		files, err := st.ListFiles(w.ctx, verification.FileFilter{SubjectID: id})
		require.NoError(t, err)
		sides := map[string]string{}
		for _, f := range files {
			if f.Status != levels.Pending {
				continue
			}
			if !pendingDoc[f.ID] {
				t.Fatalf("file %s is pending outside any pending answer", f.ID)
			}
			key := f.DocumentType + "/" + f.Side
			if other, dup := sides[key]; dup {
				t.Fatalf("subject %d has two pending %s files: %s and %s", id, key, other, f.ID)
			}
			sides[key] = f.ID
		}
	}
}

func countEventsOf(t *rapid.T, st verification.Store, id int64, typ verification.EventType) int {
	evs, err := st.ListEvents(context.Background(), verification.EventFilter{SubjectID: id})
	require.NoError(t, err)
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func TestPropertyApplicationsInvariants(t *testing.T) {
	t.Parallel()
	ladder := verificationtest.SeedLadder(t)
	rapid.Check(t, func(t *rapid.T) {
		clock := verificationtest.NewClock(verificationtest.Start)
		store := memory.New()
		svc, err := verification.New(ladder, store, verification.Options{
			NowFunc: clock.Now, NewIDFunc: verificationtest.SequentialIDs("p"), Blobs: &memBlobs{blobs: map[string][]byte{}},
		})
		require.NoError(t, err)
		w := &world{svc: svc, store: store, clock: clock, ladder: ladder, ctx: context.Background()}
		for range rapid.IntRange(2, 3).Draw(t, "subjects") {
			sub, err := svc.CreateSubject(w.ctx, verification.CreateSubjectParams{Identifier: verificationtest.Identifier()})
			require.NoError(t, err)
			w.subjects = append(w.subjects, sub.ID)
		}
		actions := map[string]func(*rapid.T){
			"answer":            w.answer,
			"upload":            w.upload,
			"initWizard":        w.initWizard,
			"runWizard":         w.runWizard,
			"runWizardConc":     w.runWizardConcurrently,
			"review":            w.review,
			"reviewFile":        w.reviewFile,
			"decideApplication": w.decideApplication,
			"advanceClock":      w.advanceClock,
			"expireDue":         w.expireDue,
			"grantLevel":        w.grantLevel,
			"setFlag":           w.setFlag,
		}
		// Names repeat to weigh the draw towards the operations that move
		// a subject along the ladder.
		names := []string{
			"answer", "answer", "answer", "upload", "upload", "initWizard", "initWizard",
			"runWizard", "runWizard", "runWizardConc", "review", "review", "reviewFile", "reviewFile",
			"decideApplication", "decideApplication", "advanceClock", "expireDue", "grantLevel", "setFlag",
		}
		for name := range actions {
			require.True(t, slices.Contains(names, name), name)
		}
		w.check(t)
		for range rapid.IntRange(10, 30).Draw(t, "steps") {
			name := rapid.SampledFrom(names).Draw(t, "action")
			actions[name](t)
			w.check(t)
		}
	})
}
