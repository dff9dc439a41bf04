package verification

import (
	"context"
	"errors"
	"slices"
	"time"
)

// ClaimApplication assigns a submitted application to the admin actor for
// review, so that two reviewers do not work the same case: an application
// another admin holds is ErrConflict, one the actor already holds is
// returned unchanged, and one that is not submitted (or has expired) is
// ErrConflict (ErrExpired). The actor must be an admin; an application it
// may not see is ErrNotFound (see Application).
func (s *Service) ClaimApplication(ctx context.Context, actor Actor, id int64) (Application, error) {
	return s.claim(ctx, actor, id, true)
}

// A claim (and a release) is recorded in the audit trail in its own
// transaction (AuditApplicationClaimed, AuditApplicationReleased).
//
// ReleaseApplication gives back an application the admin actor holds, so
// that another reviewer can claim it. Releasing one that another admin
// holds is ErrConflict; releasing an unassigned one returns it unchanged.
func (s *Service) ReleaseApplication(ctx context.Context, actor Actor, id int64) (Application, error) {
	return s.claim(ctx, actor, id, false)
}

func (s *Service) claim(ctx context.Context, actor Actor, id int64, take bool) (Application, error) {
	op := "ClaimApplication"
	if !take {
		op = "ReleaseApplication"
	}
	if err := actor.may(op, reviewers...); err != nil {
		return Application{}, s.fail(op, err)
	}
	if id <= 0 {
		return Application{}, s.fail(op, invalid("applicationId", "must be a positive integer"))
	}
	me := actor.AdminID()
	var app Application
	err := s.inTx(ctx, op, func(ctx context.Context, tx Store) error {
		var err error
		if app, err = tx.GetApplication(ctx, id); err != nil {
			return err
		}
		if err := s.checkApplicationVisible(ctx, tx, actor, app); err != nil {
			return err
		}
		// The subject's lock orders this claim after any decision or
		// other claim on the same subject.
		if _, err := lockLive(ctx, tx, app.SubjectID); err != nil {
			return err
		}
		if app, err = tx.GetApplication(ctx, id); err != nil {
			return err
		}
		now := s.Now()
		switch {
		case app.AssignedTo != 0 && app.AssignedTo != me:
			return newErr(ErrConflict, "application %d is claimed by admin %d", app.ID, app.AssignedTo)
		case !take && app.AssignedTo == 0, take && app.AssignedTo == me:
			return nil
		case take && app.Status != ApplicationSubmitted:
			return newErr(ErrConflict, "application %d is %s, not submitted", app.ID, app.Status)
		case take && !app.ExpiresAt.After(now):
			return newErr(ErrExpired, "application %d has expired", app.ID)
		}
		if take {
			app.AssignedTo, app.ClaimedAt = me, now
		} else {
			app.AssignedTo, app.ClaimedAt = 0, time.Time{}
		}
		if err := tx.UpdateApplication(ctx, app); err != nil {
			return err
		}
		// The claim's audit entry, the transaction's last write.
		return s.AuditClaim(ctx, tx, actor, app, take)
	})
	if err != nil {
		return Application{}, err
	}
	return app, nil
}

// ClaimNext claims the oldest unassigned submitted application matching f
// that the admin actor may see (f.Statuses and f.Assignee are set by the
// Service; f.Levels, f.SubjectID and f.SubmittedBefore narrow the queue).
// An empty queue is ErrNotFound. When another reviewer claims the same one
// first, ClaimNext moves on to the next.
func (s *Service) ClaimNext(ctx context.Context, actor Actor, f ApplicationFilter) (Application, error) {
	if err := actor.may("ClaimNext", reviewers...); err != nil {
		return Application{}, s.fail("ClaimNext", err)
	}
	f.Statuses, f.Assignee, f.Desc, f.Offset, f.Limit = []ApplicationStatus{ApplicationSubmitted}, Unassigned, false, 0, 10
	f.ExpiresBefore = time.Time{}
	skipped := map[int64]bool{}
	for range 5 {
		page, err := s.Applications(ctx, actor, f)
		if err != nil {
			return Application{}, err
		}
		now := s.Now()
		for _, a := range page.Items {
			if skipped[a.ID] || !a.ExpiresAt.After(now) {
				continue
			}
			app, err := s.ClaimApplication(ctx, actor, a.ID)
			if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrExpired) {
				skipped[a.ID] = true
				continue
			}
			return app, err
		}
		if len(page.Items) < f.Limit {
			break
		}
		f.Offset += f.Limit
	}
	return Application{}, s.fail("ClaimNext", newErr(ErrNotFound, "no unassigned application awaits review"))
}

// Files lists the subject's document files (metadata only; erased and
// purged images are left out), oldest first, as actor sees the subject
// (ER709 for one it may not see).
func (s *Service) Files(ctx context.Context, actor Actor, subjectID int64) ([]File, error) {
	if _, err := s.Subject(ctx, actor, subjectID); err != nil {
		return nil, err
	}
	list, err := s.store.ListFiles(ctx, FileFilter{SubjectID: subjectID})
	if err != nil {
		return nil, s.fail("Files", err)
	}
	out := []File{}
	for _, f := range list {
		if f.BlobKey != "" {
			out = append(out, f)
		}
	}
	return out, nil
}

// IDSessions lists the subject's identity-verification sessions (provider
// decisions and manual checks), newest first, as actor sees the subject.
func (s *Service) IDSessions(ctx context.Context, actor Actor, subjectID int64) ([]IDSession, error) {
	if _, err := s.Subject(ctx, actor, subjectID); err != nil {
		return nil, err
	}
	list, err := s.store.ListIDSessions(ctx, subjectID)
	if list == nil && err == nil {
		list = []IDSession{}
	}
	return list, s.fail("IDSessions", err)
}

// TimelineKind says what a TimelineEntry records.
type TimelineKind string

// The kinds of timeline entry.
const (
	// TimelineGrant: a level change (Grant is set).
	TimelineGrant TimelineKind = "grant"
	// TimelineReview: a review decision on a requirement (Review is set).
	TimelineReview TimelineKind = "review"
	// TimelineApplication: an application started, was submitted, claimed
	// or decided (Application is set; What says which).
	TimelineApplication TimelineKind = "application"
	// TimelineIdentity: an identity-verification session, a provider's or
	// a reviewer's decision (IDSession is set).
	TimelineIdentity TimelineKind = "identity"
	// TimelineAudit: an entry of the audit trail about the subject, such
	// as a document view or a claim (Audit is set; What is its action).
	TimelineAudit TimelineKind = "audit"
)

// TimelineEntry is one dated fact of a subject's history.
type TimelineEntry struct {
	// At is when it happened.
	At time.Time
	// Kind says which record it comes from.
	Kind TimelineKind
	// What names the fact: the application's step ("started",
	// "submitted", "claimed", "approved", "rejected", "expired"), the
	// review's decision, the session's status, "granted" for a grant.
	What string
	// AdminID is the admin who acted (0 when none did).
	AdminID int64
	// Grant is set for TimelineGrant.
	Grant *Grant
	// Review is set for TimelineReview.
	Review *Review
	// Application is set for TimelineApplication.
	Application *Application
	// IDSession is set for TimelineIdentity.
	IDSession *IDSession
	// Audit is set for TimelineAudit.
	Audit *AuditEntry
}

// Timeline returns the subject's history, oldest first: its grants,
// review decisions, applications (started, submitted, claimed, decided)
// identity-verification sessions and, for an admin or the host, the audit
// trail's entries about the subject (document views, claims, every admin
// act), as actor sees the subject (ER709 for one it may not see). At most
// MaxPageSize of each kind: the newest, the first ones of the audit trail.
func (s *Service) Timeline(ctx context.Context, actor Actor, subjectID int64) ([]TimelineEntry, error) {
	if _, err := s.Subject(ctx, actor, subjectID); err != nil {
		return nil, err
	}
	var out []TimelineEntry
	grants, err := s.store.ListGrants(ctx, GrantFilter{SubjectID: subjectID, Limit: MaxPageSize, Desc: true})
	if err != nil {
		return nil, s.fail("Timeline", err)
	}
	for i := range grants.Items {
		g := grants.Items[i]
		out = append(out, TimelineEntry{At: g.CreatedAt, Kind: TimelineGrant, What: "granted", AdminID: g.AdminID, Grant: &g})
	}
	reviews, err := s.store.ListReviews(ctx, subjectID)
	if err != nil {
		return nil, s.fail("Timeline", err)
	}
	for i := range reviews {
		r := reviews[i]
		out = append(out, TimelineEntry{At: r.CreatedAt, Kind: TimelineReview, What: string(r.Decision), AdminID: r.AdminID, Review: &r})
	}
	apps, err := s.store.ListApplications(ctx, ApplicationFilter{SubjectID: subjectID, Limit: MaxPageSize, Desc: true})
	if err != nil {
		return nil, s.fail("Timeline", err)
	}
	for i := range apps.Items {
		a := apps.Items[i]
		out = append(out, TimelineEntry{At: a.CreatedAt, Kind: TimelineApplication, What: "started", Application: &a})
		if !a.SubmittedAt.IsZero() {
			out = append(out, TimelineEntry{At: a.SubmittedAt, Kind: TimelineApplication, What: "submitted", Application: &a})
		}
		if !a.ClaimedAt.IsZero() {
			out = append(out, TimelineEntry{At: a.ClaimedAt, Kind: TimelineApplication, What: "claimed", AdminID: a.AssignedTo, Application: &a})
		}
		if !a.DecidedAt.IsZero() {
			out = append(out, TimelineEntry{At: a.DecidedAt, Kind: TimelineApplication, What: string(a.Status), AdminID: a.DecidedBy, Application: &a})
		} else if a.Status == ApplicationExpired {
			out = append(out, TimelineEntry{At: a.ExpiresAt, Kind: TimelineApplication, What: string(a.Status), Application: &a})
		}
	}
	sessions, err := s.store.ListIDSessions(ctx, subjectID)
	if err != nil {
		return nil, s.fail("Timeline", err)
	}
	for i := range sessions {
		x := sessions[i]
		out = append(out, TimelineEntry{At: x.CreatedAt, Kind: TimelineIdentity, What: x.Status, IDSession: &x})
	}
	if actor.Kind == ActorAdmin || actor.Kind == ActorHost {
		entries, err := s.AuditEntries(ctx, actor, AuditFilter{SubjectID: subjectID, Limit: MaxPageSize})
		if err != nil {
			return nil, err
		}
		for i := range entries {
			e := entries[i]
			out = append(out, TimelineEntry{At: e.At, Kind: TimelineAudit, What: string(e.Action), AdminID: Actor{Kind: e.Actor.Kind, ID: e.Actor.ID}.AdminID(), Audit: &e})
		}
	}
	slices.SortStableFunc(out, func(a, b TimelineEntry) int { return a.At.Compare(b.At) })
	if out == nil {
		out = []TimelineEntry{}
	}
	return out, nil
}

// DeadLetters lists the dead-lettered deliveries (of one sink when sink is
// not empty), in the store's order. Deliveries span every subject, so only
// an admin without tag limits may list them (ErrForbidden otherwise).
func (s *Service) DeadLetters(ctx context.Context, actor Actor, sink string, limit, offset int) (Page[Delivery], error) {
	if err := s.operator(actor, "DeadLetters"); err != nil {
		return Page[Delivery]{}, err
	}
	switch {
	case limit < 0 || limit > MaxPageSize:
		return Page[Delivery]{}, s.fail("DeadLetters", invalid("limit", "must be between 0 and %d", MaxPageSize))
	case offset < 0:
		return Page[Delivery]{}, s.fail("DeadLetters", invalid("offset", "must not be negative"))
	}
	page, err := s.store.ListDeliveries(ctx, DeliveryFilter{Sink: sink, Status: DeliveryDead, Limit: limit, Offset: offset})
	if err != nil {
		return Page[Delivery]{}, s.fail("DeadLetters", err)
	}
	if page.Items == nil {
		page.Items = []Delivery{}
	}
	return page, nil
}

// ReplayDelivery puts the dead-lettered delivery of eventID to sink back in
// the queue with fresh attempts (see Dispatcher.Replay) and wakes the
// dispatcher through Options.OnEventsFunc. Only an admin without tag
// limits may replay (ErrForbidden otherwise).
func (s *Service) ReplayDelivery(ctx context.Context, actor Actor, eventID, sink string) error {
	if err := s.operator(actor, "ReplayDelivery"); err != nil {
		return err
	}
	if err := replayDelivery(ctx, s.store, s.Now(), actor, eventID, sink); err != nil {
		return s.fail("ReplayDelivery", err)
	}
	if s.onEvents != nil {
		s.onEvents()
	}
	return nil
}

// operator checks that actor is an admin without tag limits: the calls
// that span every subject (the delivery queue) need one.
func (s *Service) operator(actor Actor, op string) error {
	if err := actor.may(op, reviewers...); err != nil {
		return s.fail(op, err)
	}
	if actor.scoped() {
		return s.fail(op, newErr(ErrForbidden, "%s: an admin limited to tags may not see every subject's deliveries", op))
	}
	return nil
}
