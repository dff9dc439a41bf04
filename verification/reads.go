package verification

import (
	"context"
	"errors"

	"github.com/openkyc/kyc/levels"
)

// ReadStore holds the narrow reads of the read routes (part of Store): each
// answers in one statement what a route would otherwise assemble from
// several calls, selecting only the columns the route needs.
type ReadStore interface {
	// GetSubjectStatuses returns the subject's level and liveness with the
	// status (and Final mark) of each of its requirement states, in one
	// round trip. A
	// deleted subject is returned with Deleted set; ErrNotFound when no
	// subject has the ID. States is non-nil (empty for a subject with no
	// state).
	GetSubjectStatuses(ctx context.Context, subjectID int64) (SubjectStatuses, error)
	// ListOpenApplications returns the subject's draft and submitted
	// applications, newest first (ID descending), without counting them
	// (ListApplications' total): empty, not an error, when none.
	ListOpenApplications(ctx context.Context, subjectID int64) ([]Application, error)
	// GetOpenApplications is GetSubject and ListOpenApplications in one
	// round trip: the subject (deleted or not) with its draft and
	// submitted applications, newest first (empty, not nil, when none);
	// ErrNotFound when no subject has the ID.
	GetOpenApplications(ctx context.Context, subjectID int64) (Subject, []Application, error)
	// GetSubjectProgress is GetSubjectStatuses and ListOpenApplications in
	// one round trip (the wizard resume): ErrNotFound when no subject has
	// the ID.
	GetSubjectProgress(ctx context.Context, subjectID int64) (SubjectProgress, error)
	// GetSubjectProgressByIdentifier is GetSubjectProgress of the subject
	// with the given external identifier (ID set to its ID), in one round
	// trip: the wizard resume of a request that names its subject by
	// identifier (an API key's). ErrNotFound when no subject has it.
	GetSubjectProgressByIdentifier(ctx context.Context, identifier string) (SubjectProgress, error)
	// ListSubjectGrants is ListGrants of one subject (f.SubjectID, which
	// must be positive; f.Tags is ignored) together with whether that
	// subject is deleted, in one round trip: ErrNotFound when no subject
	// has the ID.
	ListSubjectGrants(ctx context.Context, f GrantFilter) (SubjectGrants, error)
	// GetIDVerification returns whether the subject is deleted with its
	// newest approved identity-verification session (in ListIDSessions'
	// order) and which of that session's files can still be served (a
	// file of this subject whose BlobKey is set), in one round trip:
	// ErrNotFound when no subject has the ID.
	GetIDVerification(ctx context.Context, subjectID int64) (SubjectIDVerification, error)
}

// IDVerification is a subject's newest approved identity-verification
// session and which of its images can still be served (the identity
// verification API; Service.IDVerification).
type IDVerification struct {
	// Session is the newest approved session.
	Session IDSession
	// Front, Back and Face report whether the session's front, back and
	// face files exist for the subject with their bytes (not purged or
	// erased); false for a file id the session does not name.
	Front, Back, Face bool
}

// SubjectIDVerification is ReadStore.GetIDVerification's answer.
type SubjectIDVerification struct {
	// Deleted reports whether the subject has been deleted.
	Deleted bool
	// Found reports whether the subject has an approved session; the
	// IDVerification is zero when not.
	Found bool
	// IDVerification is the session and its images' availability.
	IDVerification
}

// IDVerification returns the subject's newest approved identity check
// with which of its images can be served, in one store round trip:
// ErrNotFound when it has none, ER709 for a deleted subject.
func (s *Service) IDVerification(ctx context.Context, subjectID int64) (IDVerification, error) {
	if subjectID <= 0 {
		return IDVerification{}, s.fail("IDVerification", invalid("clientId", "must be a positive integer"))
	}
	v, err := s.store.GetIDVerification(ctx, subjectID)
	switch {
	case errors.Is(err, ErrNotFound) || err == nil && v.Deleted:
		return IDVerification{}, s.fail("IDVerification", coded(CodeUserDeleted))
	case err != nil:
		return IDVerification{}, s.fail("IDVerification", err)
	case !v.Found:
		return IDVerification{}, s.fail("IDVerification", newErr(ErrNotFound, "no approved identity verification"))
	}
	return v.IDVerification, nil
}

// SubjectProgress is a subject's statuses with its open applications
// (ReadStore.GetSubjectProgress).
type SubjectProgress struct {
	// SubjectStatuses is as GetSubjectStatuses returns it.
	SubjectStatuses
	// Open are the subject's draft and submitted applications, newest
	// first (empty, not nil, when none).
	Open []Application
}

// SubjectGrants is one page of a subject's grants with the subject's
// liveness (ReadStore.ListSubjectGrants).
type SubjectGrants struct {
	// Deleted reports whether the subject has been deleted.
	Deleted bool
	// Page is the page of the subject's grants, as ListGrants returns it.
	Page Page[Grant]
}

// SubjectStatuses is what the status route needs of a subject: whether it
// is live, its level and the status of each requirement it has a state for
// (ReadStore.GetSubjectStatuses).
type SubjectStatuses struct {
	// ID is the subject's internal id.
	ID int64
	// Level is the ID of the subject's current level.
	Level int
	// Deleted reports whether the subject has been deleted.
	Deleted bool
	// Redacted reports whether the subject's personal data was erased.
	Redacted bool
	// States maps a requirement's name to the subject's status for it; a
	// requirement without a state is missing.
	States levels.States
	// Final names the requirements whose state is marked Final (a
	// rejection the subject cannot retry), in no particular order; nil
	// when none.
	Final []string
}
