package verification

import (
	"context"
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
}

// DefaultApplicationTTL is how long an application stays open by default
// (seed 002's example expires a request 24 hours after creating it).
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
	err := s.store.InTx(ctx, func(ctx context.Context, tx Store) error {
		t := &txn{Store: tx}
		if err := fn(ctx, t); err != nil {
			return err
		}
		return t.flush(ctx)
	})
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

// flush writes the subjects whose counter is not stored yet.
func (t *txn) flush(ctx context.Context) error {
	for _, id := range slices.Sorted(maps.Keys(t.counted)) {
		if err := t.UpdateSubject(ctx, *t.counted[id]); err != nil {
			return err
		}
	}
	return nil
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
	if err := tx.AddEvent(ctx, &Event{ID: s.newID(), SubjectID: sub.ID, Type: p.EventType(), Data: b, OccurredAt: at}); err != nil {
		return err
	}
	t, ok := tx.(*txn)
	if !ok {
		return tx.UpdateSubject(ctx, *sub)
	}
	if t.counted == nil {
		t.counted = map[int64]*Subject{}
	}
	t.counted[sub.ID] = sub
	return nil
}

// lockLive locks the subject inside tx and refuses deleted subjects.
func lockLive(ctx context.Context, tx Store, id int64) (Subject, error) {
	sub, err := tx.LockSubject(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return sub, coded(CodeUserDeleted)
	}
	if err != nil {
		return sub, err
	}
	if sub.Deleted() {
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
	st := make(levels.States, len(list))
	full := make(map[string]RequirementState, len(list))
	for _, r := range list {
		st[r.Name] = r.Status
		full[r.Name] = r
	}
	return st, full, nil
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
	earned := s.ladder.Evaluate(st, 0).Level
	if s.ladder.Position(earned.ID) <= s.ladder.Position(sub.Level) {
		return nil
	}
	_, err = s.addGrant(ctx, tx, sub, earned, now, why)
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
