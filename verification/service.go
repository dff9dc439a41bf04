package verification

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/screening"
)

// Options configure a Service. The zero value is usable.
type Options struct {
	// NowFunc is the clock; nil means time.Now. Tests inject a settable one.
	NowFunc func() time.Time
	// NewIDFunc generates unique string ids (files, wizards, identity
	// sessions, events: every "id" and "uuid" a client sees); nil means
	// RFC 9562 UUIDv7 in the canonical 8-4-4-4-12 form, so ids sort by
	// creation time and index inserts stay append-mostly. With NowFunc set,
	// their time field is the injected clock's.
	NewIDFunc func() string
	// Logger receives the Service's logs; nil means silent (zerolog.Nop).
	// Expected domain errors log at Debug, internal failures at Error. No
	// answers, identifiers or document bytes are ever logged.
	Logger *zerolog.Logger
	// ApplicationTTL is how long an application stays open; 0 means 24h.
	ApplicationTTL time.Duration

	// Blobs stores uploaded document bytes; nil disables uploads
	// (Upload answers ErrForbidden).
	Blobs documents.BlobStore
	// MaxFileSize caps one upload; 0 means documents.DefaultMaxFileSize.
	MaxFileSize int64
	// AllowedContent lists the accepted file contents, detected by magic
	// bytes; nil means documents.DefaultAllowed (JPEG, PNG, PDF).
	AllowedContent []documents.ContentType
	// IdentityRequirements names the document requirements whose approval
	// by a reviewer records a "manual" identity-verification session (seed
	// 003); nil means every document requirement.
	IdentityRequirements []string
	// ImageRetention is how long document images are kept after their
	// review decision; ApplyRetention purges older ones. 0 keeps them.
	ImageRetention time.Duration
	// OnEventsFunc, when set, is called after a transaction that added
	// events commits (wire it to Dispatcher.Notify for prompt delivery).
	// It must not block.
	OnEventsFunc func()

	// DowngradeOnExpiry makes ExpireRequirements (and a re-screen that
	// finds a new hit) move a subject down to the highest level its
	// approved requirements still earn, with a grant and no admin. Without
	// it the subject keeps its level while the status route lists what
	// lapsed.
	DowngradeOnExpiry bool
	// Screener screens subjects for the ladder's screening requirements
	// (RunScreening); required when the ladder has one. It is called only
	// from RunScreening, never inside a store transaction nor on a
	// subject's request.
	Screener screening.Screener
	// ScreeningThreshold is the score at or above which a hit goes to a
	// reviewer (screening.Decide); 0 means screening.DefaultThreshold.
	ScreeningThreshold float64
	// MaxUnsubmittedFiles caps how many uploaded files a subject may hold
	// that no pending answer or identity session uses yet; an upload over
	// it answers ErrUploadQuota. 0 means DefaultMaxUnsubmittedFiles;
	// negative is refused.
	MaxUnsubmittedFiles int
	// MaxUnsubmittedBytes caps the bytes of those files together; 0 means
	// DefaultMaxUnsubmittedBytes; negative is refused.
	MaxUnsubmittedBytes int64
	// UploadTTL is how long an unsubmitted upload is kept: ExpireUploads
	// deletes older ones (record and bytes). 0 means DefaultUploadTTL;
	// negative is refused.
	UploadTTL time.Duration
	// IdentifierKey is the HMAC-SHA256 key of ErasedIdentifier, the digest
	// that replaces an erased subject's external identifier. Keep it
	// secret and stable (like a signing key: from your secret store, the
	// same on every replica) so that erased subjects stay linkable to
	// their audit facts by whoever holds it. nil means a random key drawn
	// by New: erasure still works, but digests differ between processes
	// and nobody can link them later.
	IdentifierKey []byte
	// Providers are the identity providers whose decisions
	// ApplyProviderDecision takes, and which document requirements each
	// one reviews.
	Providers []ProviderConfig
	// MediaAttempts bounds the fetch attempts of one provider session's
	// images; 0 means DefaultMediaAttempts.
	MediaAttempts int
	// MediaBackoff is the wait before the first retry of a failed media
	// fetch, doubling for each further one; 0 means DefaultMediaBackoff.
	MediaBackoff time.Duration
	// Observer receives the Service's calls, store transactions, state
	// changes, review decisions and maintenance runs (for metrics and
	// traces: contrib/otelkyc); nil means NopObserver.
	Observer Observer
}

// Upload volume defaults (Options.MaxUnsubmittedFiles, MaxUnsubmittedBytes,
// UploadTTL).
const (
	DefaultMaxUnsubmittedFiles       = 20
	DefaultMaxUnsubmittedBytes int64 = 100 << 20
	DefaultUploadTTL                 = 24 * time.Hour
)

// DefaultApplicationTTL is how long an application stays open by default
// (the pending request API's example expires a request 24 hours after creating it).
const DefaultApplicationTTL = 24 * time.Hour

// MaxPageSize is the largest Limit a Service list call (Grants,
// Applications, Events) accepts.
const MaxPageSize = 1000

// Service is the verification engine: it applies the ladder's rules to
// subjects and persists every change through the Store, one transaction per
// state transition. A Service is safe for concurrent use.
type Service struct {
	ladder *levels.Ladder
	store  Store
	now    func() time.Time
	newID  func() string
	log    zerolog.Logger
	ttl    time.Duration

	blobs          documents.BlobStore
	maxFileSize    int64
	allowed        []documents.ContentType
	identityReqs   map[string]bool
	imageRetention time.Duration
	onEvents       func()

	downgrade bool
	screener  screening.Screener
	threshold float64
	// screenedVersion is the list version every approved screening was
	// last checked against by this Service (see RunScreening).
	screenedVersion     screenedVersion
	maxUnsubmitted      int
	maxUnsubmittedBytes int64
	uploadTTL           time.Duration
	identifierKey       []byte
	providers           map[string]*providerConf
	mediaWake           chan struct{}
	mediaAttempts       int
	mediaBackoff        time.Duration
	obs                 Observer
	observing           bool // an Observer was given: transactions note what they did
}

// New returns a Service applying ladder over store.
func New(ladder *levels.Ladder, store Store, opts Options) (*Service, error) {
	if ladder == nil {
		return nil, invalid("ladder", "is required")
	}
	if store == nil {
		return nil, invalid("store", "is required")
	}
	s := &Service{ladder: ladder, store: store, now: opts.NowFunc, newID: opts.NewIDFunc, log: zerolog.Nop(), ttl: opts.ApplicationTTL}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = uuidV7
		if opts.NowFunc != nil {
			s.newID = func() string { return uuidV7At(s.now()) }
		}
	}
	if opts.Logger != nil {
		s.log = *opts.Logger
	}
	if s.ttl == 0 {
		s.ttl = DefaultApplicationTTL
	}
	if s.ttl < 0 {
		return nil, invalid("ApplicationTTL", "must not be negative")
	}
	s.blobs, s.maxFileSize, s.allowed = opts.Blobs, opts.MaxFileSize, opts.AllowedContent
	if s.maxFileSize == 0 {
		s.maxFileSize = documents.DefaultMaxFileSize
	}
	if s.maxFileSize < 0 {
		return nil, invalid("MaxFileSize", "must not be negative")
	}
	if s.allowed == nil {
		s.allowed = documents.DefaultAllowed
	}
	if opts.ImageRetention < 0 {
		return nil, invalid("ImageRetention", "must not be negative")
	}
	s.imageRetention = opts.ImageRetention
	s.onEvents = opts.OnEventsFunc
	s.obs, s.observing = observerOr(opts.Observer), opts.Observer != nil
	s.downgrade, s.screener, s.threshold = opts.DowngradeOnExpiry, opts.Screener, opts.ScreeningThreshold
	if s.threshold == 0 {
		s.threshold = screening.DefaultThreshold
	}
	if s.threshold < 0 || s.threshold > 1 || s.threshold != s.threshold {
		return nil, invalid("ScreeningThreshold", "must be between 0 and 1")
	}
	for _, r := range ladder.Requirements() {
		if r.Type == levels.Screening && s.screener == nil {
			return nil, invalid("Screener", "is required: the ladder has the screening requirement %q", r.Name)
		}
	}
	if err := s.uploadLimits(opts); err != nil {
		return nil, err
	}
	s.identifierKey = bytes.Clone(opts.IdentifierKey)
	if len(s.identifierKey) == 0 {
		s.identifierKey = make([]byte, 32)
		if _, err := rand.Read(s.identifierKey); err != nil {
			return nil, fmt.Errorf("verification: drawing an identifier key: %w", err)
		}
	}
	if opts.IdentityRequirements != nil {
		s.identityReqs = map[string]bool{}
		for _, name := range opts.IdentityRequirements {
			r, ok := ladder.Requirement(name)
			if !ok || r.Type != levels.Document {
				return nil, invalid("IdentityRequirements", "%q is not a document requirement of the ladder", name)
			}
			s.identityReqs[name] = true
		}
	}
	if err := s.setupProviders(opts.Providers, opts.MediaAttempts, opts.MediaBackoff); err != nil {
		return nil, err
	}
	return s, nil
}

// Ladder returns the Service's ladder.
func (s *Service) Ladder() *levels.Ladder { return s.ladder }

// Now returns the Service clock's current time, in UTC at microsecond
// precision (the precision every store keeps).
func (s *Service) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// uuidV7 returns a new UUIDv7 in canonical form (uuid.NewV7: monotonic
// within a millisecond of the wall clock).
func uuidV7() string { return uuid.Must(uuid.NewV7()).String() }

// uuidV7At returns a UUIDv7 whose 48-bit time field is now's Unix
// milliseconds (an injected clock), the rest as uuid.NewV7 makes it.
func uuidV7At(now time.Time) string {
	u := uuid.Must(uuid.NewV7())
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(now.UnixMilli()))
	copy(u[:6], ms[2:])
	return u.String()
}

// inTx runs fn in one store transaction and normalises its error.
func (s *Service) inTx(ctx context.Context, op string, fn func(ctx context.Context, tx Store) error) error {
	ctx, end := s.obs.StartTransaction(ctx, op)
	t := &txn{observing: s.observing}
	err := s.store.InTx(ctx, func(ctx context.Context, tx Store) error {
		*t = txn{Store: tx, observing: s.observing}
		if err := fn(ctx, t); err != nil {
			return err
		}
		return t.flush(ctx)
	})
	end(err)
	if err == nil && t.seen != nil {
		s.report(ctx, t.seen)
	}
	if err == nil && s.onEvents != nil {
		s.onEvents()
	}
	return s.fail(op, err)
}

// fail classifies err, logs it at the right level and returns it.
func (s *Service) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	err = internal(err)
	if errors.Is(err, ErrInternal) {
		s.log.Error().Err(err).Str("op", op).Msg("verification: internal error")
	} else {
		s.log.Debug().Str("op", op).Str("kind", kindName(err)).Msg("verification: refused")
	}
	return err
}

func kindName(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Sentinel.Error()
	}
	return err.Error()
}

// txn is the Store a Service transaction runs on: the store's transaction,
// and the subjects whose event counter emit advanced, written once before
// the commit (a transition adds up to four events; one write of the
// subject serves them all).
type txn struct {
	Store
	// counted maps a subject's ID to the caller's value of it, whose
	// EventSeq is ahead of the store's.
	counted map[int64]*Subject
	// events are the events emit added, not yet written: they go in with
	// one AddEvents before the commit (or before the transaction reads or
	// changes events).
	events []*Event
	// observing is set when the Service has an Observer: seen then
	// collects what the transaction did, reported once it commits.
	observing bool
	seen      *observed
}

// capability reports whether the store behind tx (unwrapping the
// Service's txn) implements the optional capability T.
func capability[T any](tx Store) (T, bool) {
	if t, ok := tx.(*txn); ok {
		tx = t.Store
	}
	c, ok := tx.(T)
	return c, ok
}

// UpdateSubject writes sub; a write that carries the counter settles it.
func (t *txn) UpdateSubject(ctx context.Context, sub Subject) error {
	if err := t.Store.UpdateSubject(ctx, sub); err != nil {
		return err
	}
	if c, ok := t.counted[sub.ID]; ok && c.EventSeq == sub.EventSeq {
		delete(t.counted, sub.ID)
	}
	return nil
}

// flush writes the events emit added and the subjects whose counter is
// not stored yet: the transaction's last writes, handed to the commit
// where the store is a CommitWriter.
func (t *txn) flush(ctx context.Context) error {
	if len(t.events) == 0 && len(t.counted) == 0 {
		return nil
	}
	subs := make([]Subject, 0, len(t.counted))
	for _, id := range slices.Sorted(maps.Keys(t.counted)) {
		subs = append(subs, *t.counted[id])
	}
	evs := t.events
	t.events, t.counted = nil, nil
	if w, ok := t.Store.(CommitWriter); ok {
		return w.WriteAtCommit(ctx, evs, subs)
	}
	return AddThenUpdate(ctx, t.Store, evs, subs)
}

// AddThenUpdate implements CommitWriter.WriteAtCommit for s with its other
// calls, at once: AddEvents (when there are events), then UpdateSubject of
// each subject.
func AddThenUpdate(ctx context.Context, s Store, events []*Event, subjects []Subject) error {
	if len(events) > 0 {
		if err := s.AddEvents(ctx, events); err != nil {
			return err
		}
	}
	for _, sub := range subjects {
		if err := s.UpdateSubject(ctx, sub); err != nil {
			return err
		}
	}
	return nil
}

// flushEvents writes the events emit added, in one AddEvents.
func (t *txn) flushEvents(ctx context.Context) error {
	if len(t.events) == 0 {
		return nil
	}
	evs := t.events
	t.events = nil
	return t.Store.AddEvents(ctx, evs)
}

// ListEvents lists the events after writing those emit added.
func (t *txn) ListEvents(ctx context.Context, f EventFilter) ([]Event, error) {
	if err := t.flushEvents(ctx); err != nil {
		return nil, err
	}
	return t.Store.ListEvents(ctx, f)
}

// UpdateEventData changes an event after writing those emit added.
func (t *txn) UpdateEventData(ctx context.Context, id string, data json.RawMessage) error {
	if err := t.flushEvents(ctx); err != nil {
		return err
	}
	return t.Store.UpdateEventData(ctx, id, data)
}

// emit adds the event carrying p about sub to the outbox inside tx (sub
// locked by it): it numbers the event with the subject's next SubjectSeq,
// and the new count is stored on the subject in the same transaction (at
// its next UpdateSubject, or before the commit). Every event of the
// Service goes through here, so each event type has the one payload struct
// its EventType names. sub must be the caller's only value of the subject
// in the transaction: any later change of it goes through sub.
func (s *Service) emit(ctx context.Context, tx Store, sub *Subject, at time.Time, p Payload) error {
	sub.EventSeq++
	h := p.header()
	h.Version, h.SubjectID, h.SubjectSeq = PayloadVersion, sub.ID, sub.EventSeq
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	e := &Event{ID: s.newID(), SubjectID: sub.ID, Type: p.EventType(), Data: b, OccurredAt: at}
	t, ok := tx.(*txn)
	if !ok {
		if err := tx.AddEvent(ctx, e); err != nil {
			return err
		}
		return tx.UpdateSubject(ctx, *sub)
	}
	t.events = append(t.events, e)
	if t.counted == nil {
		t.counted = map[int64]*Subject{}
	}
	t.counted[sub.ID] = sub
	t.note(p)
	return nil
}

// uploadLimits applies the upload volume options and their defaults.
func (s *Service) uploadLimits(opts Options) error {
	s.maxUnsubmitted, s.maxUnsubmittedBytes, s.uploadTTL = opts.MaxUnsubmittedFiles, opts.MaxUnsubmittedBytes, opts.UploadTTL
	switch {
	case s.maxUnsubmitted < 0:
		return invalid("MaxUnsubmittedFiles", "must not be negative")
	case s.maxUnsubmittedBytes < 0:
		return invalid("MaxUnsubmittedBytes", "must not be negative")
	case s.uploadTTL < 0:
		return invalid("UploadTTL", "must not be negative")
	}
	if s.maxUnsubmitted == 0 {
		s.maxUnsubmitted = DefaultMaxUnsubmittedFiles
	}
	if s.maxUnsubmittedBytes == 0 {
		s.maxUnsubmittedBytes = DefaultMaxUnsubmittedBytes
	}
	if s.uploadTTL == 0 {
		s.uploadTTL = DefaultUploadTTL
	}
	return nil
}

// lockLive locks the subject inside tx and refuses deleted and erased
// subjects (ER709): every write for a subject starts with it.
func lockLive(ctx context.Context, tx Store, id int64) (Subject, error) {
	return liveSubject(tx.LockSubject(ctx, id))
}

// SubjectStatesLocker is an optional Store capability, detected on the
// transaction-bound Store that InTx passes to its callback: LockSubject and
// ListRequirementStates of the same subject in one call (storage/sqlite
// reads both with one statement). It returns what the two calls would:
// ErrNotFound for an absent subject, and the subject's states ordered by
// Name (empty, not nil, for none) of any subject that exists, deleted or
// not.
type SubjectStatesLocker interface {
	// LockSubjectStates locks the subject like LockSubject and returns it
	// with its requirement states as ListRequirementStates lists them.
	LockSubjectStates(ctx context.Context, id int64) (Subject, []RequirementState, error)
}

// CommitWriter is an optional Store capability, detected on the
// transaction-bound Store that InTx passes to its callback: the Service's
// last writes of a transaction (the events emit added, then the subjects
// whose event counter they advanced, in ID order) handed over in one call,
// so that a store may send them with its commit (storage/postgres: the
// writes and COMMIT in one round trip). WriteAtCommit(ctx, events,
// subjects) stands for AddEvents(ctx, events) followed by UpdateSubject of
// each subject, with their errors (ErrConflict for a used event ID,
// ErrNotFound for an absent subject) and with nothing written when one
// fails; a store that defers them returns those errors from InTx, after
// rolling back, and sets each event's Seq by the time InTx returns nil.
// The Service makes no other call on the transaction after it.
type CommitWriter interface {
	// WriteAtCommit writes events and subjects as the transaction's last
	// writes, now or with its commit.
	WriteAtCommit(ctx context.Context, events []*Event, subjects []Subject) error
}

// lockLiveStates is lockLive followed by states: in one store call when
// the store is a SubjectStatesLocker.
func lockLiveStates(ctx context.Context, tx Store, id int64) (Subject, levels.States, map[string]RequirementState, error) {
	l, ok := capability[SubjectStatesLocker](tx)
	if !ok {
		sub, err := lockLive(ctx, tx, id)
		if err != nil {
			return sub, nil, nil, err
		}
		all, full, err := states(ctx, tx, sub.ID)
		return sub, all, full, err
	}
	sub, list, err := l.LockSubjectStates(ctx, id)
	if sub, err = liveSubject(sub, err); err != nil {
		return sub, nil, nil, err
	}
	all, full := indexStates(list)
	return sub, all, full, nil
}

// liveSubject turns a subject read for a transition into ER709 when the
// subject is absent, deleted or erased.
func liveSubject(sub Subject, err error) (Subject, error) {
	if errors.Is(err, ErrNotFound) {
		return sub, coded(CodeUserDeleted)
	}
	if err != nil {
		return sub, err
	}
	if sub.Deleted() || !sub.RedactedAt.IsZero() {
		return sub, coded(CodeUserDeleted)
	}
	return sub, nil
}

// states loads the subject's requirement states inside tx.
func states(ctx context.Context, tx RequirementStore, subjectID int64) (levels.States, map[string]RequirementState, error) {
	list, err := tx.ListRequirementStates(ctx, subjectID)
	if err != nil {
		return nil, nil, err
	}
	st, full := indexStates(list)
	return st, full, nil
}

// indexStates maps a subject's states by name: their statuses, and the
// states themselves.
func indexStates(list []RequirementState) (levels.States, map[string]RequirementState) {
	st := make(levels.States, len(list))
	full := make(map[string]RequirementState, len(list))
	for _, r := range list {
		st[r.Name] = r.Status
		full[r.Name] = r
	}
	return st, full
}

// grantArgs describes who and why for an automatic grant.
type grantArgs struct {
	reason string
	userID int64
}

// promote grants the subject the level its approved requirements have
// earned, if that is above its current level. It never lowers a level:
// downgrades are an admin's decision (GrantLevel).
func (s *Service) promote(ctx context.Context, tx Store, sub *Subject, now time.Time, why grantArgs) error {
	st, _, err := states(ctx, tx, sub.ID)
	if err != nil {
		return err
	}
	return s.promoteTo(ctx, tx, sub, now, why, st)
}

// promoteTo is promote with the subject's states as they now stand in tx
// (already read by the caller).
func (s *Service) promoteTo(ctx context.Context, tx Store, sub *Subject, now time.Time, why grantArgs, st levels.States) error {
	earned := s.ladder.Evaluate(st, 0).Level
	if s.ladder.Position(earned.ID) <= s.ladder.Position(sub.Level) {
		return nil
	}
	_, err := s.addGrant(ctx, tx, sub, earned, now, why)
	return err
}

// addGrant records the subject's move to lvl and updates its current level.
func (s *Service) addGrant(ctx context.Context, tx Store, sub *Subject, lvl levels.Level, now time.Time, why grantArgs) (Grant, error) {
	g := &Grant{SubjectID: sub.ID, Level: levelRef(lvl), Reason: why.reason, AdminID: why.userID, CreatedAt: now}
	if sub.Level != 0 {
		prev := LevelRef{ID: sub.Level, Name: fmt.Sprintf("Level #%d", sub.Level)}
		if l, ok := s.ladder.Level(sub.Level); ok {
			prev = levelRef(l)
		}
		g.Previous = &prev
	}
	if err := tx.AddGrant(ctx, g); err != nil {
		return Grant{}, err
	}
	sub.Level = lvl.ID
	sub.UpdatedAt = now
	ev := &LevelGrantedPayload{GrantID: g.ID, Level: lvl.ID, Reason: why.reason, AdminID: why.userID}
	if g.Previous != nil {
		ev.PreviousLevel = g.Previous.ID
	}
	if err := s.emit(ctx, tx, sub, now, ev); err != nil {
		return Grant{}, err
	}
	return *g, tx.UpdateSubject(ctx, *sub)
}
