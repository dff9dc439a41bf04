package verification

import (
	"context"

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
	// ListSubjectGrants is ListGrants of one subject (f.SubjectID, which
	// must be positive; f.Tags is ignored) together with whether that
	// subject is deleted, in one round trip: ErrNotFound when no subject
	// has the ID.
	ListSubjectGrants(ctx context.Context, f GrantFilter) (SubjectGrants, error)
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
