package verification

import (
	"context"
	"encoding/json"
	"time"

	"github.com/openkyc/kyc/levels"
)

// Store is everything the Service persists: one small interface per
// aggregate plus one transaction boundary. The outbox's delivery state
// (OutboxStore, which the Dispatcher needs) and the Idempotency-Key records
// (IdempotencyStore, which the HTTP adapter needs), what identity
// providers reported (ProviderStore) and the audit trail (AuditStore) are
// part of it: every
// store of this module implements them and storage/storagetest checks them,
// so a Store that passes the suite serves every feature. Optional extras
// that some stores cannot offer (Checkpointer) are separate interfaces,
// detected by type assertion. storage/storagetest is the executable
// contract; run it against any implementation.
//
// General rules for every method:
//   - Values passed in and returned are copies: neither is retained.
//   - Identifiers, UUIDs, ids, tags and names compare exactly
//     (case-sensitive, byte-wise); a malformed key is simply not found.
//   - ctx is honoured: a cancelled context returns its error.
//   - Absent objects return an error matching ErrNotFound; uniqueness
//     clashes return ErrConflict; a closed store returns ErrClosed. Driver
//     errors never escape unwrapped.
//   - Stores never read the clock: every timestamp is in the arguments.
//     Timestamps are UTC with microsecond precision and round-trip exactly.
//   - Returned values are copies: mutating them does not change the store.
type Store interface {
	SubjectStore
	RequirementStore
	ReviewStore
	GrantStore
	ApplicationStore
	FileStore
	IDSessionStore
	EventStore
	OutboxStore
	IdempotencyStore
	BlobDeletionStore
	ProviderStore
	AuditStore
	ReadStore

	// InTx runs fn in one transaction and passes it a Store bound to that
	// transaction. If fn returns an error, every write made through tx is
	// rolled back and InTx returns that error; if fn panics, the writes are
	// rolled back and the panic propagates with the same value; otherwise
	// the writes commit together. If ctx is cancelled before the commit,
	// InTx either commits and returns nil or rolls back and returns ctx's
	// error, never half of each. Inside fn, use tx only. Calling tx.InTx
	// runs the inner fn in the same transaction, with no savepoint: an
	// inner error rolls nothing back by itself. After a write through tx
	// fails, fn must return an error (the transaction may be unusable).
	InTx(ctx context.Context, fn func(ctx context.Context, tx Store) error) error
}

// SubjectStore persists subjects.
type SubjectStore interface {
	// CreateSubject inserts s, assigning s.ID (positive, increasing). It
	// returns ErrConflict if s.Identifier is already used (deleted subjects
	// included).
	CreateSubject(ctx context.Context, s *Subject) error
	// GetSubject returns the subject with the given ID (deleted or not), or
	// ErrNotFound.
	GetSubject(ctx context.Context, id int64) (Subject, error)
	// GetSubjectByIdentifier returns the subject with the given external
	// identifier (exact match), or ErrNotFound.
	GetSubjectByIdentifier(ctx context.Context, identifier string) (Subject, error)
	// LockSubject is GetSubject that, inside InTx, also holds a write lock on
	// the subject until the transaction ends, so that two transactions on the
	// same subject run one after the other. Every state transition starts
	// with it. Outside a transaction it behaves like GetSubject.
	LockSubject(ctx context.Context, id int64) (Subject, error)
	// UpdateSubject replaces the stored subject with the same ID (every field
	// but ID, Identifier and CreatedAt), or returns ErrNotFound.
	UpdateSubject(ctx context.Context, s Subject) error
	// RedactSubject is erasure's store step: it replaces the Identifier of
	// the subject with the given ID by identifier (a keyed digest, so that
	// the original may be used again), and sets Reason to "" on every
	// review, grant, application, requirement state and file of the
	// subject whose Reason is not one of keep (the texts the Service wrote
	// itself, which hold no personal data): the only exception to the
	// append-only rule of reviews and grants. ErrNotFound if the subject is
	// absent, ErrConflict if identifier is used by another subject.
	RedactSubject(ctx context.Context, id int64, identifier string, keep []string) error
}

// RequirementStore persists each subject's state for each requirement.
type RequirementStore interface {
	// ListRequirementStates returns the subject's states ordered by Name,
	// compared byte-wise (empty, not an error, for a subject with none). A
	// nil Answer reads back empty, never as JSON null.
	ListRequirementStates(ctx context.Context, subjectID int64) ([]RequirementState, error)
	// GetRequirementState returns one state, or ErrNotFound.
	GetRequirementState(ctx context.Context, subjectID int64, name string) (RequirementState, error)
	// PutRequirementState inserts or replaces the state keyed by
	// (SubjectID, Name).
	PutRequirementState(ctx context.Context, st RequirementState) error
	// ListDueRequirementStates returns up to f.Limit states of requirement
	// f.Name whose ValidUntil is set (non-zero) and not after f.Before,
	// ordered by (ValidUntil, SubjectID), starting strictly after the
	// cursor (f.AfterValidUntil, f.AfterSubjectID); with f.Unwarned, only
	// those whose WarnedAt is zero. Stores answer it from an index on
	// (Name, ValidUntil, SubjectID), so a sweep pages through the due
	// states without reading the others. Empty (not an error) when none.
	ListDueRequirementStates(ctx context.Context, f DueFilter) ([]RequirementState, error)
}

// DueFilter selects requirement states for ListDueRequirementStates.
type DueFilter struct {
	// Name is the requirement; required.
	Name string
	// Before is the cut-off: ValidUntil not after it.
	Before time.Time
	// AfterValidUntil and AfterSubjectID are the keyset cursor: only states
	// after them in (ValidUntil, SubjectID) order. Zero starts at the
	// beginning; pass the last state of a page to get the next.
	AfterValidUntil time.Time
	AfterSubjectID  int64
	// Unwarned keeps only states whose WarnedAt is zero.
	Unwarned bool
	// Limit caps the states returned (positive).
	Limit int
}

// ReviewStore keeps the append-only audit trail of review decisions.
type ReviewStore interface {
	// AddReview inserts r, assigning r.ID (positive, increasing).
	AddReview(ctx context.Context, r *Review) error
	// ListReviews returns the subject's reviews in ID order.
	ListReviews(ctx context.Context, subjectID int64) ([]Review, error)
}

// GrantStore keeps the append-only history of level changes.
type GrantStore interface {
	// AddGrant inserts g, assigning g.ID (positive, increasing in insertion
	// order). Only the ID and Name of Level and Previous are stored. Grants
	// are never updated or deleted.
	AddGrant(ctx context.Context, g *Grant) error
	// GetGrant returns the grant with the given ID, or ErrNotFound.
	GetGrant(ctx context.Context, id int64) (Grant, error)
	// ListGrants returns one page of the grants matching f and the total
	// number matching f. Items are in ID order (ascending, or descending
	// with f.Desc); an offset past the end gives no items and the full total;
	// Limit 0 gives no items and the total.
	ListGrants(ctx context.Context, f GrantFilter) (Page[Grant], error)
}

// ApplicationStore persists applications (attempts to reach a level).
type ApplicationStore interface {
	// CreateApplication inserts a, assigning a.ID (positive, increasing).
	// It returns ErrConflict if a.UUID is already used.
	CreateApplication(ctx context.Context, a *Application) error
	// GetApplication returns the application with the given ID, or ErrNotFound.
	GetApplication(ctx context.Context, id int64) (Application, error)
	// GetApplicationByUUID returns the application with the given UUID, or ErrNotFound.
	GetApplicationByUUID(ctx context.Context, uuid string) (Application, error)
	// UpdateApplication replaces the stored application with the same ID
	// (every field but ID, UUID, SubjectID and CreatedAt), or returns
	// ErrNotFound.
	UpdateApplication(ctx context.Context, a Application) error
	// ListApplications returns one page of the applications matching f in
	// ID order (ascending, or descending with f.Desc) and the total
	// matching f, with ListGrants' paging rules.
	ListApplications(ctx context.Context, f ApplicationFilter) (Page[Application], error)
}

// FileStore persists the metadata of uploaded files (the bytes live in a
// documents.BlobStore).
type FileStore interface {
	// CreateFile inserts f; ErrConflict if f.ID is already used.
	CreateFile(ctx context.Context, f File) error
	// GetFile returns the file with the given ID, or ErrNotFound.
	GetFile(ctx context.Context, id string) (File, error)
	// UpdateFile replaces the stored file with the same ID (every field but
	// ID, SubjectID and CreatedAt), or returns ErrNotFound.
	UpdateFile(ctx context.Context, f File) error
	// DeleteFile removes the file's record, or returns ErrNotFound.
	DeleteFile(ctx context.Context, id string) error
	// ListFiles returns the files matching f, ordered by CreatedAt then ID.
	ListFiles(ctx context.Context, f FileFilter) ([]File, error)
}

// IDSessionStore persists identity-verification sessions (the identity verification API).
type IDSessionStore interface {
	// AddIDSession inserts s; ErrConflict if s.ID is already used.
	AddIDSession(ctx context.Context, s IDSession) error
	// ListIDSessions returns the subject's sessions, newest first (by
	// CreatedAt, then insertion order).
	ListIDSessions(ctx context.Context, subjectID int64) ([]IDSession, error)
	// UpdateIDSession replaces the stored session with the same ID (every
	// field but ID, SubjectID), or returns ErrNotFound.
	UpdateIDSession(ctx context.Context, s IDSession) error
}

// EventStore is the transactional outbox: an event is added in the same
// transaction as the change it records.
type EventStore interface {
	// AddEvent inserts e, assigning e.Seq: positive, unique across the
	// store, and increasing in commit order among the events of one subject
	// (across subjects a lower Seq may commit later, so consumers track
	// delivery per event, as OutboxStore does, not by a Seq cursor).
	// ErrConflict if e.ID is already used.
	AddEvent(ctx context.Context, e *Event) error
	// AddEvents inserts the events in order, each as AddEvent would
	// (assigning its Seq, increasing along the slice), in as few statements
	// as the store can: a transition's events go in together. ErrConflict
	// if an ID is already used or repeated in events; none is inserted
	// then.
	AddEvents(ctx context.Context, events []*Event) error
	// ListEvents returns the events matching f in Seq order.
	ListEvents(ctx context.Context, f EventFilter) ([]Event, error)
	// UpdateEventData replaces the Data of the event with the given ID
	// (erasure blanks the free text of payloads), or returns ErrNotFound.
	UpdateEventData(ctx context.Context, id string, data json.RawMessage) error
}

// BlobDeletionStore keeps tombstones: blobs that committed records no
// longer point to and whose bytes are still to be deleted (part of Store).
// The Service adds a tombstone in the transaction that drops the blob's
// last reference, deletes the bytes after the commit and then removes the
// tombstone; a crash or a failing BlobStore in between leaves the
// tombstone, which Service.SweepDeletions retries. So bytes are never
// deleted before the decision to delete them has committed, and never left
// behind unreachable once it has.
type BlobDeletionStore interface {
	// AddBlobDeletion inserts d; ErrConflict if d.ID is already used.
	AddBlobDeletion(ctx context.Context, d BlobDeletion) error
	// ListBlobDeletions returns the tombstones matching f, ordered by
	// CreatedAt then ID.
	ListBlobDeletions(ctx context.Context, f BlobDeletionFilter) ([]BlobDeletion, error)
	// DeleteBlobDeletion removes the tombstone with the given ID; an absent
	// one is not an error (two sweepers may finish the same tombstone).
	DeleteBlobDeletion(ctx context.Context, id string) error
}

// BlobDeletion is a tombstone: bytes in the documents.BlobStore that no
// record points to any more and that must be deleted.
type BlobDeletion struct {
	// ID is unique (from the Service's ID generator).
	ID string
	// SubjectID is the subject whose bytes they are.
	SubjectID int64
	// Key is the blob to delete; "" means every blob and the data key of
	// the subject's owner (an erasure: documents.OwnerEraser).
	Key string
	// CreatedAt is when the deletion was decided.
	CreatedAt time.Time
}

// BlobDeletionFilter selects tombstones for ListBlobDeletions. Zero fields
// do not filter.
type BlobDeletionFilter struct {
	// SubjectID keeps only that subject's tombstones.
	SubjectID int64
	// Limit caps the items; 0 means no limit.
	Limit int
}

// GrantFilter selects grants for ListGrants.
type GrantFilter struct {
	// SubjectID, when non-zero, keeps only that subject's grants.
	SubjectID int64
	// Tags, when non-nil, keeps only grants of subjects currently carrying
	// at least one of these tags (an empty non-nil slice matches nothing).
	Tags []string
	// Limit is the page size (0 returns only the total).
	Limit int
	// Offset skips that many matching grants.
	Offset int
	// Desc lists newest first.
	Desc bool
}

// Page is one page of a list and the total number of items matching the
// list's filter (ignoring Limit and Offset). Every list that pages (with a
// Limit and an Offset) returns one.
type Page[T any] struct {
	// Total counts every item matching the filter.
	Total int
	// Items are the page's items, in the list's order.
	Items []T
}

// ApplicationFilter selects applications for ListApplications.
type ApplicationFilter struct {
	// SubjectID, when non-zero, keeps only that subject's applications.
	SubjectID int64
	// Tags, when non-nil, keeps only applications of subjects currently
	// carrying at least one of these tags (an empty non-nil slice matches
	// nothing), as GrantFilter.Tags.
	Tags []string
	// Statuses, when non-empty, keeps only applications in one of them.
	Statuses []ApplicationStatus
	// ExpiresBefore, when non-zero, keeps only applications whose ExpiresAt
	// is strictly before it (a zero ExpiresAt never matches).
	ExpiresBefore time.Time
	// Assignee, when positive, keeps only applications claimed by that
	// admin; Unassigned keeps only unclaimed ones; 0 does not filter.
	Assignee int64
	// HasTag, when not empty, keeps only applications of subjects currently
	// carrying this tag (on top of Tags: the console's tag filter within an
	// admin's scope).
	HasTag string
	// Levels, when non-empty, keeps only applications targeting one of
	// these level IDs.
	Levels []int
	// SubmittedBefore, when non-zero, keeps only applications whose
	// SubmittedAt is strictly before it (a zero SubmittedAt never matches).
	SubmittedBefore time.Time
	// Limit caps the items (0 returns only the total); Offset skips.
	Limit int
	// Offset skips that many matching applications.
	Offset int
	// Desc lists newest first.
	Desc bool
}

// Unassigned is the ApplicationFilter.Assignee value that keeps only the
// applications no admin has claimed.
const Unassigned int64 = -1

// FileFilter selects files for ListFiles. Zero fields do not filter.
type FileFilter struct {
	// SubjectID keeps only that subject's files.
	SubjectID int64
	// DocumentType keeps only files of that document type.
	DocumentType string
	// Side keeps only files of that side.
	Side string
	// Status keeps only files in that status.
	Status levels.Status
	// DecidedBefore, when non-zero, keeps only files reviewed strictly
	// before it (a zero DecidedAt never matches).
	DecidedBefore time.Time
	// CreatedBefore, when non-zero, keeps only files uploaded strictly
	// before it (the upload expiry asks for old unsubmitted files).
	CreatedBefore time.Time
	// BlobKeys, when non-nil, keeps only files whose BlobKey is one of
	// them (an empty non-nil slice matches nothing): the orphan sweep asks
	// which of a batch of blobs are referenced. Stores index blob keys.
	BlobKeys []string
}

// IdempotencyStore keeps POST responses for replay under an
// Idempotency-Key, as Stripe does (part of Store).
type IdempotencyStore interface {
	// ReserveIdempotency inserts rec (with Status 0: in progress) unless a
	// record for (Scope, Key) exists whose ExpiresAt is after rec.CreatedAt,
	// in which case it returns that record and ErrConflict. An expired
	// record is replaced.
	ReserveIdempotency(ctx context.Context, rec IdempotencyRecord) (IdempotencyRecord, error)
	// CompleteIdempotency stores the response of a reserved record (matched
	// by Scope and Key), or returns ErrNotFound.
	CompleteIdempotency(ctx context.Context, rec IdempotencyRecord) error
	// ReleaseIdempotency deletes a reservation (used when the request failed
	// in a way that must not be replayed); absent records are not an error.
	ReleaseIdempotency(ctx context.Context, scope, key string) error
	// DeleteExpiredIdempotency deletes up to limit records whose ExpiresAt
	// is not after before, and returns how many it deleted.
	DeleteExpiredIdempotency(ctx context.Context, before time.Time, limit int) (int, error)
}

// IdempotencyRecord is one remembered POST and its response.
type IdempotencyRecord struct {
	// Scope separates callers (e.g. the principal and the route); Key is
	// the client's Idempotency-Key.
	Scope string
	// Key is the client's Idempotency-Key.
	Key string
	// RequestHash fingerprints the request body: the same key with another
	// body is refused.
	RequestHash string
	// Status is the response's HTTP status; 0 while the first request is
	// still being processed.
	Status int
	// ContentType is the response's Content-Type.
	ContentType string
	// Body is the response's body.
	Body []byte
	// CreatedAt is when the first request arrived.
	CreatedAt time.Time
	// ExpiresAt is when the record stops answering (it may then be replaced).
	ExpiresAt time.Time
}
