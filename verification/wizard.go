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
// for. How a stage is named on the wire (the wizard API's "workflow" class names
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

// WizardStep is where a subject's wizard stands (the wizard API).
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
	// SubjectID is the subject the step is for (the one
	// InitWizardByIdentifier found).
	SubjectID int64
}

// Done reports whether nothing is left to do (Stage is StageDone).
func (w WizardStep) Done() bool { return w.Stage == StageDone }

// Step is one recorded wizard step: the documents given for one requirement.
type Step struct {
	// Requirement names the document requirement the step answered.
	Requirement string
	// DocumentType is the wire id of the document type given.
	DocumentType int
	// Files are the file ids given, one per side in the type's side order.
	Files []string
	// At is when the step was recorded.
	At time.Time
}

// InitWizard starts, or resumes, the subject's application for the level
// above its current one and reports the next step. A subject with nothing
// outstanding gets StageDone at once; so does one whose application already
// awaits review. An application whose steps are all done is submitted here.
//
// A resume that changes nothing (the next step of a draft, an application
// awaiting review, a verified subject) reads on the store's read side and
// never takes the writer. Only when there is something to write (a stale
// application to expire, a superseded draft, a new application, a
// submission) does it open a transaction, which decides again from what it
// reads with the subject locked.
func (s *Service) InitWizard(ctx context.Context, subjectID int64) (_ WizardStep, err error) {
	defer endCall(s.call(&ctx, "InitWizard"), &err)
	p, err := s.store.GetSubjectProgress(ctx, subjectID)
	return s.initWizard(ctx, "InitWizard", p, err)
}

// InitWizardByIdentifier is InitWizard for the subject with the given
// external identifier, as a request made with an API key names it: ER707
// if the identifier is malformed, ER705 if no subject has it. It reads the
// subject and its progress in one round trip where SubjectByIdentifier
// then InitWizard would take two. The step's SubjectID is the subject's.
func (s *Service) InitWizardByIdentifier(ctx context.Context, identifier string) (_ WizardStep, err error) {
	const op = "InitWizardByIdentifier"
	defer endCall(s.call(&ctx, op), &err)
	if !ValidIdentifier(identifier) {
		return WizardStep{}, s.fail(op, coded(CodeIdentifierMalformed))
	}
	p, err := s.store.GetSubjectProgressByIdentifier(ctx, identifier)
	if errors.Is(err, ErrNotFound) {
		return WizardStep{}, s.fail(op, coded(CodeIdentifierNotLinked))
	}
	return s.initWizard(ctx, op, p, err)
}

// initWizard is InitWizard from the subject's progress as read (p, err):
// the resume on the read side when it writes nothing, else the
// transaction. p.ID names the subject wherever the read succeeded, which
// is the only case that gets past resumeWizard.
func (s *Service) initWizard(ctx context.Context, op string, p SubjectProgress, err error) (WizardStep, error) {
	if step, ok, err := s.resumeWizard(p, err); err != nil || ok {
		if err != nil {
			return WizardStep{}, s.fail(op, err)
		}
		step.SubjectID = p.ID
		return step, nil
	}
	var step WizardStep
	err = s.inTx(ctx, op, func(ctx context.Context, tx Store) error {
		sub, err := lockLive(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		now := s.Now()
		apps, err := tx.ListOpenApplications(ctx, sub.ID)
		if err != nil {
			return err
		}
		// An application past its expiry that ExpireDue has not reached yet
		// is expired here, so the new one does not inherit its pending
		// answers (which ExpireDue would later reset under it).
		if err := s.expireStale(ctx, tx, &sub, apps, now); err != nil {
			return err
		}
		app, found := openApplication(apps, now)
		if found && s.superseded(sub.Level, app) {
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
			done := !ok
			if ok {
				st, err := tx.GetSubjectStatuses(ctx, sub.ID)
				if err != nil {
					return err
				}
				done = s.ladder.Evaluate(st.States, 0).Verified()
			}
			if done {
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
	if err != nil {
		return WizardStep{}, err
	}
	step.SubjectID = p.ID
	return step, nil
}

// resumeWizard is InitWizard without writes, from the subject's progress as
// read on the read side of the store (p, or the read's err): ok reports
// that step (or err) is InitWizard's answer; !ok that something is to be
// written, which InitWizard's transaction then does. Its reads are not one
// snapshot: a change that lands between them can only make it
// answer as InitWizard would have just before or just after that change,
// or hand over to the transaction, which re-reads everything under the
// subject's lock.
func (s *Service) resumeWizard(p SubjectProgress, err error) (step WizardStep, ok bool, _ error) {
	if errors.Is(err, ErrNotFound) || err == nil && (p.Deleted || p.Redacted) {
		return WizardStep{}, false, coded(CodeUserDeleted) // as liveSubject
	}
	if err != nil {
		return WizardStep{}, false, err
	}
	sub, apps, now := p.SubjectStatuses, p.Open, s.Now()
	for _, a := range apps {
		if stale(a, now) {
			return WizardStep{}, false, nil
		}
	}
	app, found := openApplication(apps, now)
	switch {
	case found && s.superseded(sub.Level, app):
		return WizardStep{}, false, nil
	case !found:
		if _, next := s.ladder.Next(sub.Level); next && !s.ladder.Evaluate(sub.States, 0).Verified() {
			return WizardStep{}, false, nil
		}
		return WizardStep{Stage: StageDone}, true, nil
	case app.Status != ApplicationDraft:
		return WizardStep{UUID: app.UUID, Application: app, Stage: StageDone}, true, nil
	}
	step, submit, err := s.nextStep(&app, sub)
	if err != nil {
		return WizardStep{}, true, err
	}
	return step, !submit, nil
}

// superseded reports whether app is a draft for a level the subject (at
// level) has reached meanwhile (an admin granted it).
func (s *Service) superseded(level int, app Application) bool {
	return app.Status == ApplicationDraft && s.ladder.Position(app.Level) <= s.ladder.Position(level)
}

// advance computes the application's next step; a draft with nothing left
// to do is submitted for review.
func (s *Service) advance(ctx context.Context, tx Store, sub *Subject, app *Application, now time.Time) (WizardStep, error) {
	if app.Status != ApplicationDraft {
		return WizardStep{UUID: app.UUID, Application: *app, Stage: StageDone}, nil
	}
	st, err := tx.GetSubjectStatuses(ctx, sub.ID)
	if err != nil {
		return WizardStep{UUID: app.UUID, Application: *app}, err
	}
	step, submit, err := s.nextStep(app, st)
	if err != nil || !submit {
		return step, err
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

// nextStep is the next step of a draft given the subject's states; submit
// reports that nothing is left, so the draft is to be submitted for review.
func (s *Service) nextStep(app *Application, sub SubjectStatuses) (step WizardStep, submit bool, err error) {
	step = WizardStep{UUID: app.UUID, Application: *app}
	answersMissing := false
	for _, req := range s.ladder.RequirementsUpTo(app.Level) {
		if !req.AnsweredByUser() {
			continue
		}
		status := sub.States[req.Name]
		switch {
		case status == levels.Rejected && slices.Contains(sub.Final, req.Name):
			return step, false, newErr(ErrRejectedFinal, "requirement %s was rejected with a final decision", req.Name)
		case status == levels.Approved || status == levels.Pending:
			continue
		case req.Type == levels.Document:
			step.Stage, step.Requirement = StageDocuments, req.Name
			for _, t := range req.AcceptedTypes() {
				if t.Enabled {
					step.Types = append(step.Types, t)
				}
			}
			return step, false, nil
		default:
			answersMissing = true
		}
	}
	if answersMissing {
		step.Stage = StageAnswers
		return step, false, nil
	}
	return step, true, nil
}

// RunWizardParams are the inputs of RunWizard (the wizard API's POST body).
type RunWizardParams struct {
	// SubjectID is the subject walking the wizard.
	SubjectID int64
	// UUID is the wizard's uuid from InitWizard.
	UUID string
	// DocumentType is the wire id of the document type (the verification history API's documents.type).
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
func (s *Service) RunWizard(ctx context.Context, p RunWizardParams) (_ WizardStep, err error) {
	defer endCall(s.call(&ctx, "RunWizard"), &err)
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
