package main

import (
	"time"

	"github.com/openkyc/kyc/verification"
)

// The command's output shapes: the JSON field names and the table columns.

// subjectView is a subject.
type subjectView struct {
	ID         int64     `json:"id"`
	Identifier string    `json:"identifier"`
	Level      int       `json:"level"`
	Tags       []string  `json:"tags"`
	LegalHold  bool      `json:"legalHold"`
	DeletedAt  time.Time `json:"deletedAt,omitzero"`
	RedactedAt time.Time `json:"redactedAt,omitzero"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

func newSubjectView(s verification.Subject) subjectView {
	tags := s.Tags
	if tags == nil {
		tags = []string{}
	}
	return subjectView{ID: s.ID, Identifier: s.Identifier, Level: s.Level, Tags: tags, LegalHold: s.LegalHold,
		DeletedAt: s.DeletedAt, RedactedAt: s.RedactedAt, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

// grantView is a grant.
type grantView struct {
	ID            int64     `json:"id"`
	SubjectID     int64     `json:"subjectId"`
	Level         int       `json:"level"`
	LevelName     string    `json:"levelName"`
	PreviousLevel *int      `json:"previousLevel"`
	Reason        string    `json:"reason"`
	AdminID       int64     `json:"adminId,omitzero"`
	CreatedAt     time.Time `json:"createdAt"`
}

func newGrantView(g verification.Grant) grantView {
	v := grantView{ID: g.ID, SubjectID: g.SubjectID, Level: g.Level.ID, LevelName: g.Level.Name, Reason: g.Reason, AdminID: g.AdminID, CreatedAt: g.CreatedAt}
	if g.Previous != nil {
		v.PreviousLevel = &g.Previous.ID
	}
	return v
}

// applicationView is an application.
type applicationView struct {
	ID          int64     `json:"id"`
	UUID        string    `json:"uuid"`
	SubjectID   int64     `json:"subjectId"`
	Level       int       `json:"level"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt,omitzero"`
	SubmittedAt time.Time `json:"submittedAt,omitzero"`
	DecidedAt   time.Time `json:"decidedAt,omitzero"`
	DecidedBy   int64     `json:"decidedBy,omitzero"`
	AssignedTo  int64     `json:"assignedTo,omitzero"`
}

func newApplicationView(a verification.Application) applicationView {
	return applicationView{ID: a.ID, UUID: a.UUID, SubjectID: a.SubjectID, Level: a.Level, Status: string(a.Status), CreatedAt: a.CreatedAt,
		ExpiresAt: a.ExpiresAt, SubmittedAt: a.SubmittedAt, DecidedAt: a.DecidedAt, DecidedBy: a.DecidedBy, AssignedTo: a.AssignedTo}
}

// deliveryView is a delivery of an event to a sink.
type deliveryView struct {
	EventID    string    `json:"eventId"`
	EventType  string    `json:"eventType"`
	SubjectID  int64     `json:"subjectId"`
	OccurredAt time.Time `json:"occurredAt"`
	Sink       string    `json:"sink"`
	Status     string    `json:"status"`
	Attempts   int       `json:"attempts"`
	LastError  string    `json:"lastError"`
}

func newDeliveryView(d verification.Delivery) deliveryView {
	return deliveryView{EventID: d.Event.ID, EventType: string(d.Event.Type), SubjectID: d.Event.SubjectID, OccurredAt: d.Event.OccurredAt,
		Sink: d.Sink, Status: string(d.Status), Attempts: d.Attempts, LastError: d.LastError}
}

// auditView is an audit entry.
type auditView struct {
	Seq       int64             `json:"seq"`
	At        time.Time         `json:"at"`
	ActorKind string            `json:"actorKind"`
	ActorID   string            `json:"actorId"`
	Action    string            `json:"action"`
	SubjectID int64             `json:"subjectId,omitzero"`
	Entity    string            `json:"entity"`
	EntityID  string            `json:"entityId"`
	Summary   map[string]string `json:"summary,omitempty"`
	PrevHash  string            `json:"prevHash"`
	Hash      string            `json:"hash"`
}

func newAuditView(e verification.AuditEntry) auditView {
	return auditView{Seq: e.Seq, At: e.At, ActorKind: string(e.Actor.Kind), ActorID: e.Actor.ID, Action: string(e.Action), SubjectID: e.SubjectID,
		Entity: e.Entity, EntityID: e.EntityID, Summary: e.Summary, PrevHash: e.PrevHash, Hash: e.Hash}
}
