package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openkyc/kyc/verification"
)

// calls counts store round trips: every method call on a countingStore,
// inside transactions too. When tracing, it also keeps the method names in
// call order.
type calls struct {
	total   atomic.Int64
	tracing atomic.Bool
	mu      sync.Mutex
	trace   []string
}

func (c *calls) hit(name string) {
	c.total.Add(1)
	if c.tracing.Load() {
		c.mu.Lock()
		c.trace = append(c.trace, name)
		c.mu.Unlock()
	}
}

// record runs fn with tracing on and returns the methods it called.
func (c *calls) record(fn func()) []string {
	c.mu.Lock()
	c.trace = nil
	c.mu.Unlock()
	c.tracing.Store(true)
	fn()
	c.tracing.Store(false)
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.trace...)
}

// countingStore wraps a Store and counts every call. It spells out every
// method of verification.Store (no embedding), so that a method added to
// the interface fails to compile here instead of going uncounted, and it
// forwards the optional capabilities the adapter and the Service detect
// (idempotency, outbox, checkpoints).
type countingStore struct {
	s verification.Store
	c *calls
}

var (
	_ verification.Store            = (*countingStore)(nil)
	_ verification.IdempotencyStore = (*countingStore)(nil)
	_ verification.OutboxStore      = (*countingStore)(nil)
	_ verification.Checkpointer     = (*countingStore)(nil)
)

func (s *countingStore) InTx(ctx context.Context, fn func(ctx context.Context, tx verification.Store) error) error {
	s.c.hit("InTx")
	return s.s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		return fn(ctx, &countingStore{s: tx, c: s.c})
	})
}

func (s *countingStore) CreateSubject(ctx context.Context, sub *verification.Subject) error {
	s.c.hit("CreateSubject")
	return s.s.CreateSubject(ctx, sub)
}

func (s *countingStore) GetSubject(ctx context.Context, id int64) (verification.Subject, error) {
	s.c.hit("GetSubject")
	return s.s.GetSubject(ctx, id)
}

func (s *countingStore) GetSubjectByIdentifier(ctx context.Context, identifier string) (verification.Subject, error) {
	s.c.hit("GetSubjectByIdentifier")
	return s.s.GetSubjectByIdentifier(ctx, identifier)
}

func (s *countingStore) LockSubject(ctx context.Context, id int64) (verification.Subject, error) {
	s.c.hit("LockSubject")
	return s.s.LockSubject(ctx, id)
}

func (s *countingStore) UpdateSubject(ctx context.Context, sub verification.Subject) error {
	s.c.hit("UpdateSubject")
	return s.s.UpdateSubject(ctx, sub)
}

func (s *countingStore) ListRequirementStates(ctx context.Context, subjectID int64) ([]verification.RequirementState, error) {
	s.c.hit("ListRequirementStates")
	return s.s.ListRequirementStates(ctx, subjectID)
}

func (s *countingStore) GetRequirementState(ctx context.Context, subjectID int64, name string) (verification.RequirementState, error) {
	s.c.hit("GetRequirementState")
	return s.s.GetRequirementState(ctx, subjectID, name)
}

func (s *countingStore) PutRequirementState(ctx context.Context, st verification.RequirementState) error {
	s.c.hit("PutRequirementState")
	return s.s.PutRequirementState(ctx, st)
}

func (s *countingStore) AddReview(ctx context.Context, r *verification.Review) error {
	s.c.hit("AddReview")
	return s.s.AddReview(ctx, r)
}

func (s *countingStore) ListReviews(ctx context.Context, subjectID int64) ([]verification.Review, error) {
	s.c.hit("ListReviews")
	return s.s.ListReviews(ctx, subjectID)
}

func (s *countingStore) AddGrant(ctx context.Context, g *verification.Grant) error {
	s.c.hit("AddGrant")
	return s.s.AddGrant(ctx, g)
}

func (s *countingStore) GetGrant(ctx context.Context, id int64) (verification.Grant, error) {
	s.c.hit("GetGrant")
	return s.s.GetGrant(ctx, id)
}

func (s *countingStore) ListGrants(ctx context.Context, f verification.GrantFilter) (verification.GrantPage, error) {
	s.c.hit("ListGrants")
	return s.s.ListGrants(ctx, f)
}

func (s *countingStore) CreateApplication(ctx context.Context, a *verification.Application) error {
	s.c.hit("CreateApplication")
	return s.s.CreateApplication(ctx, a)
}

func (s *countingStore) GetApplication(ctx context.Context, id int64) (verification.Application, error) {
	s.c.hit("GetApplication")
	return s.s.GetApplication(ctx, id)
}

func (s *countingStore) GetApplicationByUUID(ctx context.Context, uuid string) (verification.Application, error) {
	s.c.hit("GetApplicationByUUID")
	return s.s.GetApplicationByUUID(ctx, uuid)
}

func (s *countingStore) UpdateApplication(ctx context.Context, a verification.Application) error {
	s.c.hit("UpdateApplication")
	return s.s.UpdateApplication(ctx, a)
}

func (s *countingStore) ListApplications(ctx context.Context, f verification.ApplicationFilter) ([]verification.Application, int, error) {
	s.c.hit("ListApplications")
	return s.s.ListApplications(ctx, f)
}

func (s *countingStore) CreateFile(ctx context.Context, f verification.File) error {
	s.c.hit("CreateFile")
	return s.s.CreateFile(ctx, f)
}

func (s *countingStore) GetFile(ctx context.Context, id string) (verification.File, error) {
	s.c.hit("GetFile")
	return s.s.GetFile(ctx, id)
}

func (s *countingStore) UpdateFile(ctx context.Context, f verification.File) error {
	s.c.hit("UpdateFile")
	return s.s.UpdateFile(ctx, f)
}

func (s *countingStore) DeleteFile(ctx context.Context, id string) error {
	s.c.hit("DeleteFile")
	return s.s.DeleteFile(ctx, id)
}

func (s *countingStore) ListFiles(ctx context.Context, f verification.FileFilter) ([]verification.File, error) {
	s.c.hit("ListFiles")
	return s.s.ListFiles(ctx, f)
}

func (s *countingStore) AddIDSession(ctx context.Context, sess verification.IDSession) error {
	s.c.hit("AddIDSession")
	return s.s.AddIDSession(ctx, sess)
}

func (s *countingStore) ListIDSessions(ctx context.Context, subjectID int64) ([]verification.IDSession, error) {
	s.c.hit("ListIDSessions")
	return s.s.ListIDSessions(ctx, subjectID)
}

func (s *countingStore) UpdateIDSession(ctx context.Context, sess verification.IDSession) error {
	s.c.hit("UpdateIDSession")
	return s.s.UpdateIDSession(ctx, sess)
}

func (s *countingStore) AddEvent(ctx context.Context, e *verification.Event) error {
	s.c.hit("AddEvent")
	return s.s.AddEvent(ctx, e)
}

func (s *countingStore) ListEvents(ctx context.Context, f verification.EventFilter) ([]verification.Event, error) {
	s.c.hit("ListEvents")
	return s.s.ListEvents(ctx, f)
}

// The optional capabilities: forwarded when the wrapped store has them.

func (s *countingStore) idem() verification.IdempotencyStore {
	st, _ := s.s.(verification.IdempotencyStore)
	return st
}

func (s *countingStore) ReserveIdempotency(ctx context.Context, rec verification.IdempotencyRecord) (verification.IdempotencyRecord, error) {
	s.c.hit("ReserveIdempotency")
	return s.idem().ReserveIdempotency(ctx, rec)
}

func (s *countingStore) CompleteIdempotency(ctx context.Context, rec verification.IdempotencyRecord) error {
	s.c.hit("CompleteIdempotency")
	return s.idem().CompleteIdempotency(ctx, rec)
}

func (s *countingStore) ReleaseIdempotency(ctx context.Context, scope, key string) error {
	s.c.hit("ReleaseIdempotency")
	return s.idem().ReleaseIdempotency(ctx, scope, key)
}

func (s *countingStore) DeleteExpiredIdempotency(ctx context.Context, before time.Time, limit int) (int, error) {
	s.c.hit("DeleteExpiredIdempotency")
	return s.idem().DeleteExpiredIdempotency(ctx, before, limit)
}

func (s *countingStore) outbox() verification.OutboxStore {
	st, _ := s.s.(verification.OutboxStore)
	return st
}

func (s *countingStore) RegisterSink(ctx context.Context, sink string) error {
	s.c.hit("RegisterSink")
	return s.outbox().RegisterSink(ctx, sink)
}

func (s *countingStore) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]verification.Delivery, error) {
	s.c.hit("ClaimDeliveries")
	return s.outbox().ClaimDeliveries(ctx, now, leaseUntil, limit)
}

func (s *countingStore) UpdateDelivery(ctx context.Context, d verification.Delivery) error {
	s.c.hit("UpdateDelivery")
	return s.outbox().UpdateDelivery(ctx, d)
}

func (s *countingStore) ListDeliveries(ctx context.Context, f verification.DeliveryFilter) ([]verification.Delivery, int, error) {
	s.c.hit("ListDeliveries")
	return s.outbox().ListDeliveries(ctx, f)
}

func (s *countingStore) Checkpoint(ctx context.Context) error {
	c, ok := s.s.(verification.Checkpointer)
	if !ok {
		return nil
	}
	s.c.hit("Checkpoint")
	return c.Checkpoint(ctx)
}
