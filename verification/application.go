package verification

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openkyc/kyc/levels"
)

// ApplicationStatus is where an application is in its lifecycle.
type ApplicationStatus string

// Application statuses: draft -> submitted -> approved | rejected, and any
// open one -> expired.
const (
	ApplicationDraft     ApplicationStatus = "draft"
	ApplicationSubmitted ApplicationStatus = "submitted"
	ApplicationApproved  ApplicationStatus = "approved"
	ApplicationRejected  ApplicationStatus = "rejected"
	ApplicationExpired   ApplicationStatus = "expired"
)

// Open reports whether an application in this status can still change.
func (s ApplicationStatus) Open() bool { return s == ApplicationDraft || s == ApplicationSubmitted }

// Application is one attempt by a subject to reach a level.
type Application struct {
	// ID is assigned by the store (positive, increasing).
	ID int64
	// UUID identifies the wizard walking through it (the wizard API).
	UUID string
	// SubjectID is the subject applying.
	SubjectID int64
	// Level is the target level's ID.
	Level int
	// Status is where the application is in its lifecycle.
	Status ApplicationStatus
	// Steps records the wizard steps done so far, in order.
	Steps []Step
	// Reason is the rejection reason.
	Reason string
	// CreatedAt is when the wizard started it.
	CreatedAt time.Time
	// ExpiresAt is when it expires if still open (CreatedAt +
	// Options.ApplicationTTL).
	ExpiresAt time.Time
	// SubmittedAt is when it was submitted for review; zero before.
	SubmittedAt time.Time
	// DecidedAt is when it was approved or rejected; zero before.
	DecidedAt time.Time
	// DecidedBy is the admin who approved or rejected it (0 if none).
	DecidedBy int64
	// AssignedTo is the admin who claimed the application for review (0:
	// unassigned). Two reviewers cannot hold the same application: see
	// Service.ClaimApplication.
	AssignedTo int64
	// ClaimedAt is when AssignedTo claimed it (zero when unassigned).
	ClaimedAt time.Time
}

// openApplication returns the newest of apps (a subject's open
// applications, newest first, as ReadStore.ListOpenApplications lists them)
// that has not expired by now.
func openApplication(apps []Application, now time.Time) (Application, bool) {
	for _, a := range apps {
		if a.ExpiresAt.After(now) {
			return a, true
		}
	}
	return Application{}, false
}

// expireStale expires those of apps (the subject's open applications,
// newest first) whose ExpiresAt is set and not after now, oldest first
// (inside tx, the subject locked).
func (s *Service) expireStale(ctx context.Context, tx Store, sub *Subject, apps []Application, now time.Time) error {
	for i := len(apps) - 1; i >= 0; i-- {
		if stale(apps[i], now) {
			if err := s.expire(ctx, tx, sub, apps[i], now); err != nil {
				return err
			}
		}
	}
	return nil
}

// stale reports whether an open application has expired by now (a zero
// ExpiresAt never expires).
func stale(a Application, now time.Time) bool {
	return !a.ExpiresAt.IsZero() && !a.ExpiresAt.After(now)
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

// PendingStatus is the pending request API's status of a subject's verification request.
type PendingStatus string

// the pending request API's statuses.
const (
	PendingStatusPending   PendingStatus = "pending"
	PendingStatusVerified  PendingStatus = "verified"
	PendingStatusNoRequest PendingStatus = "no_pending_request"
)

// PendingRequest is the answer of Service.PendingRequest (the pending request API).
type PendingRequest struct {
	// Status is pending, verified or no_pending_request.
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
	if subjectID <= 0 {
		return PendingRequest{}, s.fail("PendingRequest", invalid("clientId", "must be a positive integer"))
	}
	// One round trip: the subject with its open applications.
	sub, apps, err := s.store.GetOpenApplications(ctx, subjectID)
	if sub, err = s.live(SystemActor(), sub, err, "PendingRequest"); err != nil {
		return PendingRequest{}, err
	}
	pr := PendingRequest{Subject: sub, Verified: sub.Level == s.ladder.Top().ID}
	app, found := openApplication(apps, s.Now())
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
	case f.Limit < 0 || f.Limit > MaxPageSize:
		return Page[Application]{}, s.fail("Applications", invalid("limit", "must be between 0 and %d", MaxPageSize))
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
	// ApplicationID is the submitted application to decide.
	ApplicationID int64
	// Decision approves or rejects it.
	Decision Decision
	// Reason is required when rejecting; it reaches the subject.
	Reason string
}

// ReasonApplication is the reason of a grant made by approving an
// application (the verification history API: "Application: 838").
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
func (s *Service) DecideApplication(ctx context.Context, actor Actor, p DecideApplicationParams) (_ Application, err error) {
	defer endCall(s.call(&ctx, "DecideApplication"), &err)
	if err := actor.may("DecideApplication", reviewers...); err != nil {
		return Application{}, s.fail("DecideApplication", err)
	}
	adminID := actor.AdminID()
	err = checkDecision(p.Decision, p.Reason)
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
				if req.Type == levels.Screening && st.Status != levels.Approved {
					// A screening is decided by its screen and its reviewer,
					// never by an application's approval.
					return newErr(ErrConflict, "screening %s is %s, not approved; review its hits (or wait for its screen) first", req.Name, orMissing(st.Status))
				}
			}
		}
		reason := p.Reason
		if reason == "" {
			reason = ReasonApplication(app.ID)
		}
		for _, req := range s.ladder.RequirementsUpTo(app.Level) {
			st, ok := full[req.Name]
			if !ok || st.Status != levels.Pending || req.Type == levels.Screening {
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
		noteReview(tx, app)
		if err := s.emit(ctx, tx, &sub, now, ev); err != nil {
			return err
		}
		if p.Decision == Approve {
			why := grantArgs{reason: ReasonApplication(app.ID), userID: adminID}
			if s.ladder.Position(sub.Level) < s.ladder.Position(app.Level) {
				lvl, _ := s.ladder.Level(app.Level)
				if _, err := s.addGrant(ctx, tx, &sub, lvl, now, why); err != nil {
					return err
				}
			}
			if err := s.promote(ctx, tx, &sub, now, why); err != nil {
				return err
			}
		}
		// The audit entry is every transaction's last write: appends lock
		// the chain's head, and taking it last keeps one lock order.
		return s.audit(ctx, tx, actor, auditArgs{action: AuditApplicationDecided, subjectID: sub.ID, entity: AuditEntityApplication, entityID: itoa(app.ID),
			summary: map[string]string{"decision": string(p.Decision), "level": itoa(app.Level)}})
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
		if !ok || st.Status != levels.Pending || req.Type == levels.Screening {
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
