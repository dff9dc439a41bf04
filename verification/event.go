package verification

import (
	"context"
	"encoding/json"
	"time"

	"github.com/openkyc/kyc/levels"
)

// EventFilter selects events for ListEvents. Zero fields do not filter.
type EventFilter struct {
	// SubjectID, when non-zero, keeps only that subject's events.
	SubjectID int64
	// AfterSeq keeps only events with a higher Seq (a cursor).
	AfterSeq int64
	Limit    int // 0 means no limit
}

// Event is a state change recorded in the outbox.
type Event struct {
	// ID is unique (from the Service's ID generator).
	ID string
	// Seq orders events; assigned by the store.
	Seq int64
	// SubjectID is the subject the event is about.
	SubjectID int64
	// Type names what happened; it decides Data's payload struct.
	Type EventType
	// Data is the event's JSON payload; it never holds answers or document bytes.
	Data json.RawMessage
	// OccurredAt is when the change happened.
	OccurredAt time.Time
}

// EventType names what happened.
type EventType string

// The event types the Service emits.
const (
	EventSubjectCreated       EventType = "subject.created"
	EventSubjectDeleted       EventType = "subject.deleted"
	EventSubjectErased        EventType = "subject.erased"
	EventRequirementSubmitted EventType = "requirement.submitted"
	EventRequirementApproved  EventType = "requirement.approved"
	EventRequirementRejected  EventType = "requirement.rejected"
	EventRequirementReset     EventType = "requirement.reset"
	EventLevelGranted         EventType = "level.granted"
	EventApplicationStarted   EventType = "application.started"
	EventApplicationSubmitted EventType = "application.submitted"
	EventApplicationApproved  EventType = "application.approved"
	EventApplicationRejected  EventType = "application.rejected"
	EventApplicationExpired   EventType = "application.expired"
)

// Events returns the outbox events matching f, in Seq order, as actor sees
// them: a user reads only its own subject's; an admin with tags must name a
// subject it may see (f.SubjectID), any other subject answers ER709.
func (s *Service) Events(ctx context.Context, actor Actor, f EventFilter) ([]Event, error) {
	if err := actor.may("Events", readers...); err != nil {
		return nil, s.fail("Events", err)
	}
	switch {
	case f.SubjectID < 0:
		return nil, s.fail("Events", invalid("subjectId", "must be a positive integer"))
	case f.Limit < 0 || f.Limit > MaxPageSize:
		return nil, s.fail("Events", invalid("limit", "must be between 0 and %d", MaxPageSize))
	case actor.Kind == ActorUser:
		if f.SubjectID != 0 && f.SubjectID != actor.SubjectID() {
			return nil, s.fail("Events", coded(CodeUserDeleted))
		}
		f.SubjectID = actor.SubjectID()
	case actor.scoped():
		if f.SubjectID == 0 {
			return nil, s.fail("Events", newErr(ErrForbidden, "an admin with tags lists the events of one subject at a time"))
		}
		sub, err := s.store.GetSubject(ctx, f.SubjectID)
		if err == nil && !actor.sees(sub) {
			err = coded(CodeUserDeleted)
		}
		if err != nil {
			return nil, s.fail("Events", err)
		}
	}
	evs, err := s.store.ListEvents(ctx, f)
	if err != nil {
		return nil, s.fail("Events", err)
	}
	return evs, nil
}

// PayloadVersion is the Version of every payload this release writes. A
// later release that changes a payload's fields in a way old receivers
// would misread raises it for that event type; adding a field does not.
const PayloadVersion = 1

// EventHeader starts every event payload: the payload's version and the
// subject's own sequence number, so that a receiver can order a subject's
// events and detect a missed one.
type EventHeader struct {
	// Version is the payload's schema version (PayloadVersion).
	Version int `json:"version"`
	// SubjectID is the subject the event is about.
	SubjectID int64 `json:"subjectId"`
	// SubjectSeq numbers the subject's events 1, 2, 3, ... in commit order,
	// without gaps: a receiver that sees n+2 after n has missed one (or will
	// get it later: deliveries are at least once, in order per sink).
	SubjectSeq int64 `json:"subjectSeq"`
}

func (h *EventHeader) header() *EventHeader { return h }

// Payload is the typed payload of an event: one struct per EventType, the
// JSON form of Event.Data. DecodePayload reads one back.
type Payload interface {
	// EventType is the type of the events that carry this payload.
	EventType() EventType
	header() *EventHeader
}

// SubjectCreatedPayload is the payload of subject.created.
type SubjectCreatedPayload struct {
	EventHeader
}

// SubjectDeletedPayload is the payload of subject.deleted.
type SubjectDeletedPayload struct {
	EventHeader
}

// SubjectErasedPayload is the payload of subject.erased: the subject's personal
// data is gone.
type SubjectErasedPayload struct {
	EventHeader
}

// RequirementSubmittedPayload is the payload of requirement.submitted: an answer
// was recorded (or a requirement set to pending).
type RequirementSubmittedPayload struct {
	EventHeader
	// Requirement names the requirement.
	Requirement string `json:"requirement"`
	// Status is the requirement's status after the answer: pending, or
	// approved for a requirement without review.
	Status levels.Status `json:"status"`
}

// RequirementApprovedPayload is the payload of requirement.approved.
type RequirementApprovedPayload struct {
	EventHeader
	// Requirement names the requirement.
	Requirement string `json:"requirement"`
	// ReviewID is the review decision that approved it; 0 when the answer
	// needed no review.
	ReviewID int64 `json:"reviewId"`
}

// RequirementRejectedPayload is the payload of requirement.rejected.
type RequirementRejectedPayload struct {
	EventHeader
	// Requirement names the requirement.
	Requirement string `json:"requirement"`
	// ReviewID is the review decision that rejected it.
	ReviewID int64 `json:"reviewId"`
	// Reason is the rejection's reason, as the subject sees it.
	Reason string `json:"reason"`
	// Final is true when the subject may not answer again until an admin
	// resets the requirement.
	Final bool `json:"final"`
}

// RequirementResetPayload is the payload of requirement.reset.
type RequirementResetPayload struct {
	EventHeader
	// Requirement names the requirement.
	Requirement string `json:"requirement"`
	// AdminID is the admin who reset it.
	AdminID int64 `json:"adminId"`
}

// LevelGrantedPayload is the payload of level.granted: the subject moved to a
// level (up or down).
type LevelGrantedPayload struct {
	EventHeader
	// GrantID is the grant recording the move.
	GrantID int64 `json:"grantId"`
	// Level is the ID of the level reached.
	Level int `json:"level"`
	// PreviousLevel is the ID of the level left; 0 for the first grant.
	PreviousLevel int `json:"previousLevel"`
	// Reason is the grant's reason ("created", "Application: 838", ...).
	Reason string `json:"reason"`
	// AdminID is the admin who caused it; 0 when automatic.
	AdminID int64 `json:"adminId"`
}

// ApplicationStartedPayload is the payload of application.started.
type ApplicationStartedPayload struct {
	EventHeader
	// ApplicationID is the application.
	ApplicationID int64 `json:"applicationId"`
	// Level is the ID of the level it aims at.
	Level int `json:"level"`
}

// ApplicationSubmittedPayload is the payload of application.submitted: it awaits
// review.
type ApplicationSubmittedPayload struct {
	EventHeader
	// ApplicationID is the application.
	ApplicationID int64 `json:"applicationId"`
	// Level is the ID of the level it aims at.
	Level int `json:"level"`
}

// ApplicationApprovedPayload is the payload of application.approved.
type ApplicationApprovedPayload struct {
	EventHeader
	// ApplicationID is the application.
	ApplicationID int64 `json:"applicationId"`
	// Level is the ID of the level it aimed at.
	Level int `json:"level"`
	// AdminID is the reviewer who approved it.
	AdminID int64 `json:"adminId"`
}

// ApplicationRejectedPayload is the payload of application.rejected.
type ApplicationRejectedPayload struct {
	EventHeader
	// ApplicationID is the application.
	ApplicationID int64 `json:"applicationId"`
	// Level is the ID of the level it aimed at.
	Level int `json:"level"`
	// Reason is the rejection's reason, as the subject sees it.
	Reason string `json:"reason"`
	// AdminID is the reviewer who rejected it.
	AdminID int64 `json:"adminId"`
}

// Reasons of ApplicationExpiredPayload.
const (
	// ExpiredTTL: the application's ExpiresAt passed.
	ExpiredTTL = "expired"
	// ExpiredSuperseded: an admin granted the draft's level meanwhile; a
	// new application starts.
	ExpiredSuperseded = "superseded"
)

// ApplicationExpiredPayload is the payload of application.expired.
type ApplicationExpiredPayload struct {
	EventHeader
	// ApplicationID is the application.
	ApplicationID int64 `json:"applicationId"`
	// Level is the ID of the level it aimed at.
	Level int `json:"level"`
	// Reason is ExpiredTTL or ExpiredSuperseded.
	Reason string `json:"reason"`
}

// EventType implements Payload.
func (*SubjectCreatedPayload) EventType() EventType { return EventSubjectCreated }

// EventType implements Payload.
func (*SubjectDeletedPayload) EventType() EventType { return EventSubjectDeleted }

// EventType implements Payload.
func (*SubjectErasedPayload) EventType() EventType { return EventSubjectErased }

// EventType implements Payload.
func (*RequirementSubmittedPayload) EventType() EventType { return EventRequirementSubmitted }

// EventType implements Payload.
func (*RequirementApprovedPayload) EventType() EventType { return EventRequirementApproved }

// EventType implements Payload.
func (*RequirementRejectedPayload) EventType() EventType { return EventRequirementRejected }

// EventType implements Payload.
func (*RequirementResetPayload) EventType() EventType { return EventRequirementReset }

// EventType implements Payload.
func (*LevelGrantedPayload) EventType() EventType { return EventLevelGranted }

// EventType implements Payload.
func (*ApplicationStartedPayload) EventType() EventType { return EventApplicationStarted }

// EventType implements Payload.
func (*ApplicationSubmittedPayload) EventType() EventType { return EventApplicationSubmitted }

// EventType implements Payload.
func (*ApplicationApprovedPayload) EventType() EventType { return EventApplicationApproved }

// EventType implements Payload.
func (*ApplicationRejectedPayload) EventType() EventType { return EventApplicationRejected }

// EventType implements Payload.
func (*ApplicationExpiredPayload) EventType() EventType { return EventApplicationExpired }

// newPayload returns an empty payload of type t, or nil for an unknown type.
func newPayload(t EventType) Payload {
	switch t {
	case EventSubjectCreated:
		return &SubjectCreatedPayload{}
	case EventSubjectDeleted:
		return &SubjectDeletedPayload{}
	case EventSubjectErased:
		return &SubjectErasedPayload{}
	case EventRequirementSubmitted:
		return &RequirementSubmittedPayload{}
	case EventRequirementApproved:
		return &RequirementApprovedPayload{}
	case EventRequirementRejected:
		return &RequirementRejectedPayload{}
	case EventRequirementReset:
		return &RequirementResetPayload{}
	case EventLevelGranted:
		return &LevelGrantedPayload{}
	case EventApplicationStarted:
		return &ApplicationStartedPayload{}
	case EventApplicationSubmitted:
		return &ApplicationSubmittedPayload{}
	case EventApplicationApproved:
		return &ApplicationApprovedPayload{}
	case EventApplicationRejected:
		return &ApplicationRejectedPayload{}
	case EventApplicationExpired:
		return &ApplicationExpiredPayload{}
	}
	return nil
}

// DecodePayload returns e's typed payload (a pointer to one of the payload
// structs, e.g. *LevelGrantedPayload). An unknown type or undecodable data is
// ErrInvalid.
func DecodePayload(e Event) (Payload, error) {
	p := newPayload(e.Type)
	if p == nil {
		return nil, invalid("type", "unknown event type %q", e.Type)
	}
	if err := json.Unmarshal(e.Data, p); err != nil {
		return nil, &Error{Sentinel: ErrInvalid, Field: "data", Message: "undecodable " + string(e.Type) + " payload", cause: err}
	}
	return p, nil
}
