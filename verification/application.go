package verification

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
)

// WizardStage is where a subject's wizard stands: what its next step asks
// for. How a stage is named on the wire (seed 001's "workflow" class names
// and its 200/202 codes) is the HTTP adapter's business.
type WizardStage string

// The wizard's stages.
const (
	// StageDocuments: the next step uploads a document (WizardStep.Types
	// lists the accepted document types).
	StageDocuments WizardStage = "documents"
	// StageAnswers: no document is missing but other requirements still
	// need answers; the client answers them, then calls the wizard again.
	StageAnswers WizardStage = "answers"
	// StageDone: nothing is left; the application is submitted for review
	// (or the subject is fully verified).
	StageDone WizardStage = "done"
)

// WizardStep is where a subject's wizard stands (seed 001).
type WizardStep struct {
	// Stage is what the next step asks for (StageDone when nothing is left).
	Stage WizardStage
	// UUID identifies the wizard (its application); empty for a fully
	// verified subject that never needed one.
	UUID string
	// Requirement is the document requirement the next step answers.
	Requirement string
	// Types lists the document types the next step accepts (nil when done
	// or when only non-document answers are missing).
	Types []documents.Type
	// Application is the wizard's application (zero when UUID is empty).
	Application Application
}

// Done reports whether nothing is left to do (Stage is StageDone).
func (w WizardStep) Done() bool { return w.Stage == StageDone }

// InitWizard starts, or resumes, the subject's application for the level
// above its current one and reports the next step. A subject with nothing
// outstanding gets StageDone at once; so does one whose application already
// awaits review. An application whose steps are all done is submitted here.
func (s *Service) InitWizard(ctx context.Context, subjectID int64) (WizardStep, error) {
	var step WizardStep
	err := s.inTx(ctx, "InitWizard", func(ctx context.Context, tx Store) error {
		sub, err := lockLive(ctx, tx, subjectID)
		if err != nil {
			return err
		}
		now := s.Now()
		// An application past its expiry that ExpireDue has not reached yet
		// is expired here, so the new one does not inherit its pending
		// answers (which ExpireDue would later reset under it).
		if err := s.expireStale(ctx, tx, &sub, now); err != nil {
			return err
		}
		app, found, err := s.openApplication(ctx, tx, sub.ID, now)
		if err != nil {
			return err
		}
		if found && app.Status == ApplicationDraft && s.ladder.Position(app.Level) <= s.ladder.Position(sub.Level) {
			// An admin granted the draft's level meanwhile: the draft is
			// superseded (its answers stay as they are) and a new one starts.
			app.Status = ApplicationExpired
			if err := tx.UpdateApplication(ctx, app); err != nil {
				return err
			}
			if err := s.emit(ctx, tx, &sub, now, &ApplicationExpiredPayload{ApplicationID: app.ID, Level: app.Level, Reason: ExpiredSuperseded}); err != nil {
				return err
			}
			found = false
		}
		if !found {
			next, ok := s.ladder.Next(sub.Level)
			st, _, err := states(ctx, tx, sub.ID)
			if err != nil {
				return err
			}
			if !ok || s.ladder.Evaluate(st, 0).Verified() {
				step = WizardStep{Stage: StageDone}
				return nil
			}
			app = Application{UUID: s.newID(), SubjectID: sub.ID, Level: next.ID, Status: ApplicationDraft, CreatedAt: now, ExpiresAt: now.Add(s.ttl)}
			if err := tx.CreateApplication(ctx, &app); err != nil {
				return err
			}
			if err := s.emit(ctx, tx, &sub, now, &ApplicationStartedPayload{ApplicationID: app.ID, Level: app.Level}); err != nil {
				return err
			}
		}
		step, err = s.advance(ctx, tx, &sub, &app, now)
		return err
	})
	return step, err
}

// openApplication returns the subject's open application that has not
// expired by now.
func (s *Service) openApplication(ctx context.Context, tx Store, subjectID int64, now time.Time) (Application, bool, error) {
	apps, err := tx.ListApplications(ctx, ApplicationFilter{SubjectID: subjectID, Statuses: []ApplicationStatus{ApplicationDraft, ApplicationSubmitted}, Limit: 10, Desc: true})
	if err != nil {
		return Application{}, false, err
	}
	for _, a := range apps.Items {
		if a.ExpiresAt.After(now) {
			return a, true, nil
		}
	}
	return Application{}, false, nil
}

// expireStale expires the subject's open applications whose ExpiresAt is
// not after now (inside tx, the subject locked).
func (s *Service) expireStale(ctx context.Context, tx Store, sub *Subject, now time.Time) error {
	stale, err := tx.ListApplications(ctx, ApplicationFilter{
		SubjectID: sub.ID, Statuses: []ApplicationStatus{ApplicationDraft, ApplicationSubmitted}, ExpiresBefore: now.Add(time.Microsecond), Limit: MaxListLimit,
	})
	if err != nil {
		return err
	}
	for _, app := range stale.Items {
		if err := s.expire(ctx, tx, sub, app, now); err != nil {
			return err
		}
	}
	return nil
}

// expire marks an open application expired, turns the requirements it left
// pending back into missing ones and emits application.expired (inside tx,
// sub locked).
func (s *Service) expire(ctx context.Context, tx Store, sub *Subject, app Application, now time.Time) error {
	app.Status = ApplicationExpired
	if err := tx.UpdateApplication(ctx, app); err != nil {
		return err
	}
	if err := s.reopenPending(ctx, tx, app.SubjectID, app.Level, now); err != nil {
		return err
	}
	return s.emit(ctx, tx, sub, now, &ApplicationExpiredPayload{ApplicationID: app.ID, Level: app.Level, Reason: ExpiredTTL})
}

// advance computes the application's next step; a draft with nothing left
// to do is submitted for review.
func (s *Service) advance(ctx context.Context, tx Store, sub *Subject, app *Application, now time.Time) (WizardStep, error) {
	step := WizardStep{UUID: app.UUID, Application: *app}
	if app.Status != ApplicationDraft {
		step.Stage = StageDone
		return step, nil
	}
	_, full, err := states(ctx, tx, sub.ID)
	if err != nil {
		return step, err
	}
	answersMissing := false
	for _, req := range s.ladder.RequirementsUpTo(app.Level) {
		if !req.AnsweredByUser() {
			continue
		}
		st := full[req.Name]
		switch {
		case st.Status == levels.Rejected && st.Final:
			return step, newErr(ErrRejectedFinal, "requirement %s was rejected with a final decision", req.Name)
		case st.Status == levels.Approved || st.Status == levels.Pending:
			continue
		case req.Kind == levels.Document:
			step.Stage, step.Requirement = StageDocuments, req.Name
			for _, t := range req.AcceptedTypes() {
				if t.Enabled {
					step.Types = append(step.Types, t)
				}
			}
			return step, nil
		default:
			answersMissing = true
		}
	}
	if answersMissing {
		step.Stage = StageAnswers
		return step, nil
	}
	app.Status, app.SubmittedAt = ApplicationSubmitted, now
	if err := tx.UpdateApplication(ctx, *app); err != nil {
		return step, err
	}
	if err := s.emit(ctx, tx, sub, now, &ApplicationSubmittedPayload{ApplicationID: app.ID, Level: app.Level}); err != nil {
		return step, err
	}
	step.Application = *app
	step.Stage = StageDone
	return step, nil
}

// RunWizardParams are the inputs of RunWizard (seed 001's POST body).
type RunWizardParams struct {
	SubjectID int64
	// UUID is the wizard's uuid from InitWizard.
	UUID string
	// DocumentType is the wire id of the document type (seed 001's documents.type).
	DocumentType int
	// Files are file ids from Upload, one per side of the type, in the
	// order of the type's sides.
	Files []string
}

// RunWizard records the documents of the wizard's current step (answering
// its document requirement) and returns the next step; after the last step
// the application is submitted for review (StageDone). Repeating the step
// just recorded (same type and files) changes nothing and returns the same
// answer, so a retried or duplicated request records one step. A wizard of
// another subject, or an unknown one, is ErrNotFound; a finished one, or one
// whose current step needs no document, ErrConflict; an expired one
// ErrExpired (also for a repeat). A refused call changes nothing.
func (s *Service) RunWizard(ctx context.Context, p RunWizardParams) (WizardStep, error) {
	var err error
	switch {
	case p.SubjectID <= 0:
		err = invalid("subjectId", "must be a positive integer")
	case p.UUID == "" || len(p.UUID) > 64:
		err = invalid("uuid", "is required")
	case p.DocumentType <= 0:
		err = invalid("documents.type", "must be a positive integer")
	case len(p.Files) == 0 || len(p.Files) > 8:
		err = invalid("documents.files", "must list one file id per side")
	}
	for i, f := range p.Files {
		if err == nil && (f == "" || len(f) > 128) {
			err = invalid(fmt.Sprintf("documents.files[%d]", i), "must be a file id")
		}
	}
	if err != nil {
		return WizardStep{}, s.fail("RunWizard", err)
	}
	var step WizardStep
	err = s.inTx(ctx, "RunWizard", func(ctx context.Context, tx Store) error {
		sub, err := lockLive(ctx, tx, p.SubjectID)
		if err != nil {
			return err
		}
		app, err := tx.GetApplicationByUUID(ctx, p.UUID)
		if errors.Is(err, ErrNotFound) || err == nil && app.SubjectID != sub.ID {
			e := newErr(ErrNotFound, "wizard not found")
			e.Field = "uuid"
			return e
		}
		if err != nil {
			return err
		}
		now := s.Now()
		switch {
		case app.Status == ApplicationExpired || app.Status.Open() && !app.ExpiresAt.After(now):
			// Expired, whether or not ExpireDue has marked it yet.
			return newErr(ErrExpired, "the wizard has expired; start a new one")
		case !app.Status.Open():
			return newErr(ErrConflict, "the wizard is finished (%s)", app.Status)
		}
		if n := len(app.Steps); n > 0 && app.Steps[n-1].DocumentType == p.DocumentType && slices.Equal(app.Steps[n-1].Files, p.Files) {
			// A repeat of the step just recorded: the same answer as the
			// first call (the application is still open).
			step, err = s.advance(ctx, tx, &sub, &app, now)
			return err
		}
		if app.Status != ApplicationDraft {
			return newErr(ErrConflict, "the wizard is finished (%s)", app.Status)
		}
		cur, err := s.advance(ctx, tx, &sub, &app, now)
		if err != nil {
			return err
		}
		if cur.Requirement == "" {
			// No document step is open. When nothing at all is left, advance
			// has just submitted the draft; returning the error rolls that
			// back too, so the call changes nothing and a duplicate of it
			// gets the same answer (InitWizard submits).
			if cur.Done() {
				return newErr(ErrConflict, "no document is expected: every step is done; call the wizard again to submit")
			}
			return newErr(ErrConflict, "no document is expected; answer the remaining requirements")
		}
		req, _ := s.ladder.Requirement(cur.Requirement)
		var typ documents.Type
		ok := false
		for _, t := range cur.Types {
			if t.ID == p.DocumentType {
				typ, ok = t, true
			}
		}
		if !ok {
			return invalid("documents.type", "document type %d is not accepted by this step", p.DocumentType)
		}
		if len(p.Files) != len(typ.Sides) {
			return invalid("documents.files", "%s needs %d files (%v), got %d", typ.Name, len(typ.Sides), typ.Sides, len(p.Files))
		}
		files := make(map[string]string, len(typ.Sides))
		for i, side := range typ.Sides {
			files[side] = p.Files[i]
		}
		answer, err := jsonAnswer(levels.DocumentAnswer{Type: typ.Name, Files: files})
		if err != nil {
			return err
		}
		if _, err := s.answerTx(ctx, tx, &sub, req, answer); err != nil {
			return err
		}
		app.Steps = append(app.Steps, Step{Requirement: req.Name, DocumentType: typ.ID, Files: slices.Clone(p.Files), At: now})
		if err := tx.UpdateApplication(ctx, app); err != nil {
			return err
		}
		step, err = s.advance(ctx, tx, &sub, &app, now)
		return err
	})
	return step, err
}

// PendingStatus is seed 002's status of a subject's verification request.
type PendingStatus string

// Seed 002's statuses.
const (
	PendingStatusPending   PendingStatus = "pending"
	PendingStatusVerified  PendingStatus = "verified"
	PendingStatusNoRequest PendingStatus = "no_pending_request"
)

// PendingRequest is the answer of Service.PendingRequest (seed 002).
type PendingRequest struct {
	Status PendingStatus
	// Verified: the subject is at the top of the ladder.
	Verified bool
	// Application is the pending application (Status pending only).
	Application Application
	// Subject is the subject asked about.
	Subject Subject
}

// PendingRequest reports the subject's application awaiting review, or
// whether it is already verified (at the top level) or has no pending
// request. An application past its expiry is never reported pending, even
// before ExpireDue has run.
func (s *Service) PendingRequest(ctx context.Context, subjectID int64) (PendingRequest, error) {
	sub, err := s.subject(ctx, SystemActor(), subjectID, "PendingRequest")
	if err != nil {
		return PendingRequest{}, err
	}
	pr := PendingRequest{Subject: sub, Verified: sub.Level == s.ladder.Top().ID}
	app, found, err := s.openApplication(ctx, s.store, sub.ID, s.Now())
	if err != nil {
		return PendingRequest{}, s.fail("PendingRequest", err)
	}
	switch {
	case found && app.Status == ApplicationSubmitted:
		pr.Status, pr.Application = PendingStatusPending, app
	case pr.Verified:
		pr.Status = PendingStatusVerified
	default:
		pr.Status = PendingStatusNoRequest
	}
	return pr, nil
}

// Applications lists applications matching f (for reviewers) as actor sees
// them. The Service sets f.Tags from the actor: an admin with tags lists
// only the applications of subjects carrying one of them, and a
// f.SubjectID it may not see (or of a deleted subject) lists as empty; a
// user lists only its own.
func (s *Service) Applications(ctx context.Context, actor Actor, f ApplicationFilter) (Page[Application], error) {
	if err := actor.may("Applications", readers...); err != nil {
		return Page[Application]{}, s.fail("Applications", err)
	}
	switch {
	case f.Limit < 0 || f.Limit > MaxListLimit:
		return Page[Application]{}, s.fail("Applications", invalid("limit", "must be between 0 and %d", MaxListLimit))
	case f.Offset < 0:
		return Page[Application]{}, s.fail("Applications", invalid("offset", "must not be negative"))
	case f.SubjectID < 0:
		return Page[Application]{}, s.fail("Applications", invalid("clientId", "must be a positive integer"))
	}
	f.Tags = nil
	switch {
	case actor.Kind == ActorUser:
		if f.SubjectID != 0 && f.SubjectID != actor.SubjectID() {
			return Page[Application]{Items: []Application{}}, nil
		}
		f.SubjectID = actor.SubjectID()
	case actor.scoped():
		if f.SubjectID != 0 {
			if _, err := s.subject(ctx, actor, f.SubjectID, "Applications"); err != nil {
				if errors.Is(err, ErrDeleted) {
					return Page[Application]{Items: []Application{}}, nil
				}
				return Page[Application]{}, err
			}
		}
		f.Tags = append([]string{}, actor.Tags...)
	}
	page, err := s.store.ListApplications(ctx, f)
	if err != nil {
		return Page[Application]{}, s.fail("Applications", err)
	}
	if page.Items == nil {
		page.Items = []Application{}
	}
	return page, nil
}

// Application returns one application as actor sees it: one of a subject
// the actor may not see (for an admin with tags, also of a deleted subject)
// is ErrNotFound, exactly as an absent one.
func (s *Service) Application(ctx context.Context, actor Actor, id int64) (Application, error) {
	if err := actor.may("Application", readers...); err != nil {
		return Application{}, s.fail("Application", err)
	}
	if id <= 0 {
		return Application{}, s.fail("Application", invalid("applicationId", "must be a positive integer"))
	}
	a, err := s.store.GetApplication(ctx, id)
	if err != nil {
		return Application{}, s.fail("Application", err)
	}
	if err := s.checkApplicationVisible(ctx, s.store, actor, a); err != nil {
		return Application{}, s.fail("Application", err)
	}
	return a, nil
}

// checkApplicationVisible answers ErrNotFound when actor may not see a's
// subject: another user's, or for an admin with tags, a subject without
// them or deleted.
func (s *Service) checkApplicationVisible(ctx context.Context, st SubjectStore, actor Actor, a Application) error {
	switch {
	case actor.Kind == ActorUser && a.SubjectID != actor.SubjectID():
		return newErr(ErrNotFound, "application %d not found", a.ID)
	case !actor.scoped():
		return nil
	}
	sub, err := st.GetSubject(ctx, a.SubjectID)
	if errors.Is(err, ErrNotFound) || err == nil && (sub.Deleted() || !actor.sees(sub)) {
		return newErr(ErrNotFound, "application %d not found", a.ID)
	}
	return err
}

// DecideApplicationParams are the inputs of DecideApplication.
type DecideApplicationParams struct {
	ApplicationID int64
	Decision      Decision
	// Reason is required when rejecting; it reaches the subject.
	Reason string
}

// ReasonApplication is the reason of a grant made by approving an
// application (seed 001: "Application: 838").
func ReasonApplication(id int64) string { return fmt.Sprintf("Application: %d", id) }

// DecideApplication approves or rejects a submitted application. Approval
// approves every pending requirement it covers and grants its level (reason
// "Application: <id>", userId the reviewer) unless the subject is already
// there or above; it is ErrConflict while a requirement the subject answers
// is neither pending nor approved (rejected by a review since the
// submission, say): reject the application then. Rejection rejects those
// requirements with the reason, so the subject can answer again in a new
// application. An application another admin has claimed (see
// ClaimApplication) is ErrConflict. The actor must be an admin; an
// application it may not see (see Application) is ErrNotFound.
func (s *Service) DecideApplication(ctx context.Context, actor Actor, p DecideApplicationParams) (Application, error) {
	if err := actor.may("DecideApplication", reviewers...); err != nil {
		return Application{}, s.fail("DecideApplication", err)
	}
	adminID := actor.AdminID()
	err := checkDecision(p.Decision, p.Reason)
	if p.ApplicationID <= 0 {
		err = invalid("applicationId", "must be a positive integer")
	}
	if err != nil {
		return Application{}, s.fail("DecideApplication", err)
	}
	var app Application
	err = s.inTx(ctx, "DecideApplication", func(ctx context.Context, tx Store) error {
		var err error
		if app, err = tx.GetApplication(ctx, p.ApplicationID); err != nil {
			return err
		}
		if err := s.checkApplicationVisible(ctx, tx, actor, app); err != nil {
			return err
		}
		sub, err := lockLive(ctx, tx, app.SubjectID)
		if err != nil {
			return err
		}
		if app, err = tx.GetApplication(ctx, p.ApplicationID); err != nil {
			return err
		}
		now := s.Now()
		switch {
		case app.Status == ApplicationExpired || app.Status.Open() && !app.ExpiresAt.After(now):
			return newErr(ErrExpired, "application %d has expired", app.ID)
		case app.Status != ApplicationSubmitted:
			return newErr(ErrConflict, "application %d is %s, not submitted", app.ID, app.Status)
		case app.AssignedTo != 0 && app.AssignedTo != adminID:
			return newErr(ErrConflict, "application %d is claimed by admin %d", app.ID, app.AssignedTo)
		}
		_, full, err := states(ctx, tx, sub.ID)
		if err != nil {
			return err
		}
		if p.Decision == Approve {
			// Approval vouches for the subject's answers; it cannot cover
			// one that was rejected (or reset) since the submission.
			for _, req := range s.ladder.RequirementsUpTo(app.Level) {
				st := full[req.Name]
				if req.AnsweredByUser() && st.Status != levels.Pending && st.Status != levels.Approved {
					return newErr(ErrConflict, "requirement %s is %s, not pending or approved; reject the application instead", req.Name, orMissing(st.Status))
				}
			}
		}
		reason := p.Reason
		if reason == "" {
			reason = ReasonApplication(app.ID)
		}
		for _, req := range s.ladder.RequirementsUpTo(app.Level) {
			st, ok := full[req.Name]
			if !ok || st.Status != levels.Pending {
				continue
			}
			if err := s.settle(ctx, tx, &sub, &st, verdict{requirement: req.Name, decision: p.Decision, reason: reason, adminID: adminID}, now); err != nil {
				return err
			}
		}
		app.Status, app.DecidedAt, app.DecidedBy, app.Reason = ApplicationApproved, now, adminID, ""
		var ev Payload = &ApplicationApprovedPayload{ApplicationID: app.ID, Level: app.Level, AdminID: adminID}
		if p.Decision == Reject {
			app.Status, app.Reason = ApplicationRejected, p.Reason
			ev = &ApplicationRejectedPayload{ApplicationID: app.ID, Level: app.Level, Reason: app.Reason, AdminID: adminID}
		}
		if err := tx.UpdateApplication(ctx, app); err != nil {
			return err
		}
		if err := s.emit(ctx, tx, &sub, now, ev); err != nil {
			return err
		}
		if p.Decision == Reject {
			return nil
		}
		why := grantArgs{reason: ReasonApplication(app.ID), userID: adminID}
		if s.ladder.Position(sub.Level) < s.ladder.Position(app.Level) {
			lvl, _ := s.ladder.Level(app.Level)
			if _, err := s.addGrant(ctx, tx, &sub, lvl, now, why); err != nil {
				return err
			}
		}
		return s.promote(ctx, tx, &sub, now, why)
	})
	return app, err
}

// orMissing returns st, or missing for a requirement never answered.
func orMissing(st levels.Status) levels.Status {
	if st == "" {
		return levels.Missing
	}
	return st
}

// ExpireDue expires every open application whose ExpiresAt has passed,
// emitting application.expired for each; requirements it left pending
// become missing again (their files too), so nothing stays pending once
// expired. Run it from a periodic job; it returns how many it expired.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	now := s.Now()
	n := 0
	for {
		due, err := s.store.ListApplications(ctx, ApplicationFilter{
			Statuses: []ApplicationStatus{ApplicationDraft, ApplicationSubmitted}, ExpiresBefore: now.Add(time.Microsecond), Limit: 100,
		})
		if err != nil {
			return n, s.fail("ExpireDue", err)
		}
		if len(due.Items) == 0 {
			return n, nil
		}
		for _, a := range due.Items {
			expired := false
			err := s.inTx(ctx, "ExpireDue", func(ctx context.Context, tx Store) error {
				sub, err := tx.LockSubject(ctx, a.SubjectID)
				if err != nil {
					return err
				}
				app, err := tx.GetApplication(ctx, a.ID)
				if err != nil {
					return err
				}
				if !app.Status.Open() || app.ExpiresAt.After(now) {
					return nil // expired or decided meanwhile
				}
				expired = true
				return s.expire(ctx, tx, &sub, app, now)
			})
			if err != nil {
				return n, err
			}
			if expired {
				n++
			}
		}
	}
}

// reopenPending turns the pending requirements up to level back into
// missing ones (answers dropped, attempts kept) and their files too.
func (s *Service) reopenPending(ctx context.Context, tx Store, subjectID int64, level int, now time.Time) error {
	_, full, err := states(ctx, tx, subjectID)
	if err != nil {
		return err
	}
	for _, req := range s.ladder.RequirementsUpTo(level) {
		st, ok := full[req.Name]
		if !ok || st.Status != levels.Pending {
			continue
		}
		if err := s.releaseAnswer(ctx, tx, st, "expired", now); err != nil {
			return err
		}
		st.Status, st.Answer, st.UpdatedAt = levels.Missing, nil, now
		if err := tx.PutRequirementState(ctx, st); err != nil {
			return err
		}
	}
	return nil
}
