package verification

import (
	"context"
	"time"

	"github.com/openkyc/kyc/providers"
)

// ProviderStore keeps what identity providers reported (part of Store):
// one record per received decision, de-duplicated by (Provider,
// EventKey), and per provider session the decision currently applied, the
// document facts it carried and the state of the background media fetch.
type ProviderStore interface {
	// AddProviderEvent inserts e, assigning e.ID (positive, increasing). It
	// returns ErrConflict if (e.Provider, e.EventKey) is already recorded.
	AddProviderEvent(ctx context.Context, e *ProviderEvent) error
	// GetProviderEvent returns the event recorded under (provider,
	// eventKey), or ErrNotFound.
	GetProviderEvent(ctx context.Context, provider, eventKey string) (ProviderEvent, error)
	// ListProviderEvents returns the events matching f in ID order.
	ListProviderEvents(ctx context.Context, f ProviderEventFilter) ([]ProviderEvent, error)
	// GetProviderSession returns the session keyed by (provider,
	// sessionID), or ErrNotFound.
	GetProviderSession(ctx context.Context, provider, sessionID string) (ProviderSession, error)
	// PutProviderSession inserts or replaces the session keyed by
	// (ps.Provider, ps.SessionID). ErrNotFound if ps.SubjectID names no
	// subject.
	PutProviderSession(ctx context.Context, ps ProviderSession) error
	// ListProviderSessions returns the sessions matching f ordered by
	// CreatedAt, then Provider, then SessionID.
	ListProviderSessions(ctx context.Context, f ProviderSessionFilter) ([]ProviderSession, error)
}

// ProviderResult is what ApplyProviderDecision did with a decision.
type ProviderResult string

// The results of ApplyProviderDecision.
const (
	// ProviderApplied: the decision became its session's current state.
	ProviderApplied ProviderResult = "applied"
	// ProviderStale: an equal-or-better decision of the same session was
	// already applied (Decision.Supersedes); it was recorded, not applied.
	ProviderStale ProviderResult = "stale"
	// ProviderDuplicate: the same event (provider and event key) was
	// already recorded; nothing changed. Never stored.
	ProviderDuplicate ProviderResult = "duplicate"
	// ProviderUnmatched: the decision names no session the host started
	// and no live subject (an unknown or deleted subject reference); it was
	// recorded so that redeliveries are duplicates, and changed nothing.
	ProviderUnmatched ProviderResult = "unmatched"
)

// ProviderEvent is the record of one decision a provider delivered.
type ProviderEvent struct {
	// ID is assigned by the store (positive, increasing).
	ID int64
	// Provider and EventKey identify the event (unique together).
	Provider string
	EventKey string
	// SessionID is the provider's session.
	SessionID string
	// SubjectID is the subject it was matched to; 0 when unmatched.
	SubjectID int64
	// Outcome and Final are the decision's.
	Outcome providers.Outcome
	Final   bool
	// OccurredAt is when the provider says it happened (zero when untimed).
	OccurredAt time.Time
	// Result is ProviderApplied, ProviderStale or ProviderUnmatched.
	Result ProviderResult
	// ReceivedAt is when the Service recorded it.
	ReceivedAt time.Time
}

// ProviderEventFilter selects events for ListProviderEvents. Zero fields
// do not filter.
type ProviderEventFilter struct {
	// Provider and SessionID keep one provider's (session's) events.
	Provider  string
	SessionID string
	// SubjectID keeps one subject's events.
	SubjectID int64
	// Limit caps the result; 0 means no limit.
	Limit int
}

// MediaStatus is where the background fetch of a provider session's
// images stands.
type MediaStatus string

// The media statuses.
const (
	// MediaNone: nothing to fetch (not approved, no fetcher, or cancelled
	// by a later decision).
	MediaNone MediaStatus = ""
	// MediaPending: queued; FetchProviderMedia fetches it once MediaNextAt
	// has passed.
	MediaPending MediaStatus = "pending"
	// MediaFetched: the images are stored and linked to the identity session.
	MediaFetched MediaStatus = "fetched"
	// MediaFailed: every attempt failed (or the provider refused); the
	// identity session stands without images.
	MediaFailed MediaStatus = "failed"
)

// ProviderSession is the Service's view of one provider session: which
// subject it is about, the decision currently applied to it (the one every
// later decision is compared with through Decision.Supersedes), the
// identity-verification session it maps onto and the media fetch.
type ProviderSession struct {
	// Provider and SessionID identify it (unique together).
	Provider  string
	SessionID string
	// SubjectID is the subject it verifies.
	SubjectID int64
	// IDSessionID is the identity-verification session (IDSession.ID) it
	// maps onto; empty until a decision is applied.
	IDSessionID string
	// URL is where the user was sent when the host started the session
	// (StartProviderSession); empty for sessions first seen in a webhook.
	URL string
	// EventKey, Outcome, Final and OccurredAt are the applied decision's;
	// EventKey is empty while none is applied.
	EventKey   string
	Outcome    providers.Outcome
	Final      bool
	OccurredAt time.Time
	// ReasonCodes and Reason are the applied decision's reasons.
	ReasonCodes []string
	Reason      string
	// Document holds the applied decision's document facts, kept for
	// validity checks (Document.ValidUntil). Document.Number is personal
	// data: Erase clears it.
	Document providers.DocumentFacts
	// MediaStatus, MediaAttempts and MediaNextAt drive the media fetch.
	MediaStatus   MediaStatus
	MediaAttempts int
	MediaNextAt   time.Time
	// CreatedAt and UpdatedAt are when it was first and last written.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// current returns the applied decision in the form Decision.Supersedes
// compares, and false when none is applied.
func (ps ProviderSession) current() (providers.Decision, bool) {
	if ps.EventKey == "" {
		return providers.Decision{}, false
	}
	return providers.Decision{Provider: ps.Provider, SessionID: ps.SessionID, EventKey: ps.EventKey,
		Outcome: ps.Outcome, Final: ps.Final, OccurredAt: ps.OccurredAt}, true
}

// ProviderSessionFilter selects sessions for ListProviderSessions. Zero
// fields do not filter.
type ProviderSessionFilter struct {
	// SubjectID keeps one subject's sessions.
	SubjectID int64
	// MediaDueBy, when non-zero, keeps sessions whose MediaStatus is
	// MediaPending and whose MediaNextAt is not after it.
	MediaDueBy time.Time
	// Limit caps the result; 0 means no limit.
	Limit int
}
