package verification

import (
	"encoding/json"
	"time"

	"github.com/openkyc/kyc/levels"
)

// Subject is a verified party: a client, account or user of the host.
type Subject struct {
	// ID is the internal id (seed 001's clientId), assigned by the store.
	ID int64
	// Identifier is the host's external identifier: 36-255 ASCII letters and
	// digits, unique (catalog ER707 / ER706).
	Identifier string
	// Tags scope which admins see the subject (seed 004); sorted, unique.
	Tags []string
	// Level is the ID of the subject's current level (its latest grant).
	Level int
	// DeletedAt is when the subject was deleted; zero if it is not.
	DeletedAt time.Time
	// LegalHold blocks erasure and retention purges.
	LegalHold bool
	// RedactedAt is when the subject's personal data was erased; zero if not.
	RedactedAt time.Time
	// EventSeq is the SubjectSeq of the subject's latest event (0 before
	// any): the Service numbers each subject's events from it.
	EventSeq int64
	// CreatedAt is when the subject was created.
	CreatedAt time.Time
	// UpdatedAt is when the subject last changed.
	UpdatedAt time.Time
}

// Deleted reports whether the subject has been deleted.
func (s Subject) Deleted() bool { return !s.DeletedAt.IsZero() }

// HasAnyTag reports whether s carries at least one of tags.
func (s Subject) HasAnyTag(tags []string) bool {
	for _, t := range tags {
		for _, st := range s.Tags {
			if st == t {
				return true
			}
		}
	}
	return false
}

// RequirementState is one subject's state for one requirement.
type RequirementState struct {
	SubjectID int64
	Name      string
	Status    levels.Status
	// Answer is the latest answer in its JSON form (nil when missing or
	// erased).
	Answer json.RawMessage
	// Reason is the latest rejection's reason.
	Reason string
	// Final marks a rejection the subject cannot retry.
	Final bool
	// Attempts counts the subject's answers since the last reset.
	Attempts  int
	UpdatedAt time.Time
}

// Decision is a review outcome.
type Decision string

// Review decisions.
const (
	Approve Decision = "approved"
	Reject  Decision = "rejected"
)

// Review is the audit record of one review decision. Reviews are never
// updated; erasure keeps them (they hold no personal data).
type Review struct {
	ID          int64
	SubjectID   int64
	Requirement string
	Decision    Decision
	Reason      string
	Final       bool
	// AdminID is the reviewer (0 when the host decided without an admin).
	AdminID   int64
	CreatedAt time.Time
}

// Grant is an append-only record of a subject's level change (seeds 001,
// 004). Grants are never updated or deleted.
type Grant struct {
	// ID is assigned by the store (positive, increasing in insertion order).
	ID int64
	// SubjectID is the subject whose level changed.
	SubjectID int64
	// Level is the level the subject moved to.
	Level LevelRef
	// Previous is the level it left; nil for the subject's first grant.
	Previous *LevelRef
	// Reason is "created", "Application: <id>", or an admin's or reviewer's reason.
	Reason string
	// AdminID is the admin who caused the grant; 0 when automatic.
	AdminID int64
	// CreatedAt is when the grant was made.
	CreatedAt time.Time
}

// LevelRef names a level by its ID and Name, as a grant records it: a
// plain reference, without the level's requirements (which may change
// after the grant).
type LevelRef struct {
	// ID is the level's ID in the ladder.
	ID int
	// Name is the level's name when the grant was made ("Level 1").
	Name string
}

// levelRef returns the reference of a ladder level.
func levelRef(l levels.Level) LevelRef { return LevelRef{ID: l.ID, Name: l.Name} }

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
	ID int64
	// UUID identifies the wizard walking through it (seed 001).
	UUID      string
	SubjectID int64
	// Level is the target level's ID.
	Level  int
	Status ApplicationStatus
	// Steps records the wizard steps done so far, in order.
	Steps []Step
	// Reason is the rejection reason.
	Reason      string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	SubmittedAt time.Time
	DecidedAt   time.Time
	// DecidedBy is the admin who approved or rejected it (0 if none).
	DecidedBy int64
	// AssignedTo is the admin who claimed the application for review (0:
	// unassigned). Two reviewers cannot hold the same application: see
	// Service.ClaimApplication.
	AssignedTo int64
	// ClaimedAt is when AssignedTo claimed it (zero when unassigned).
	ClaimedAt time.Time
}

// Step is one recorded wizard step: the documents given for one requirement.
type Step struct {
	Requirement  string
	DocumentType int
	Files        []string
	At           time.Time
}

// File is an uploaded document image: its metadata and where its bytes are.
type File struct {
	// ID is generated; a subject refers to its files by it.
	ID        string
	SubjectID int64
	// BlobKey locates the bytes in the documents.BlobStore ("" once erased).
	BlobKey     string
	ContentType string
	Size        int64
	SHA256      string
	// DocumentType and Side say what the file shows (e.g. "passport", "front").
	DocumentType string
	Side         string
	// Status is pending until the side is reviewed.
	Status    levels.Status
	Reason    string
	CreatedAt time.Time
	DecidedAt time.Time
}

// IDSession is an identity-verification session (seed 003): the record of an
// identity check by a provider ("veriff") or a reviewer ("manual").
type IDSession struct {
	ID        string
	SubjectID int64
	Provider  string
	Status    string
	CreatedAt time.Time
	// FrontFileID, BackFileID (may be empty) and FaceFileID name Files.
	FrontFileID string
	BackFileID  string
	FaceFileID  string
}
