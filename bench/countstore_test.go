package bench

import (
	"context"
	"encoding/json"
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
// forwards the optional Checkpointer, SubjectStatesLocker and CommitWriter.
type countingStore struct {
	s verification.Store
	c *calls
}

var (
	_ verification.Store               = (*countingStore)(nil)
	_ verification.Checkpointer        = (*countingStore)(nil)
	_ verification.SubjectStatesLocker = (*countingStore)(nil)
	_ verification.CommitWriter        = (*countingStore)(nil)
)

func (s *countingStore) InTx(ctx context.Context, fn func(ctx context.Context, tx verification.Store) error) error {
	s.c.hit("InTx")
	return s.s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		return fn(ctx, &countingStore{s: tx, c: s.c})
	})
}

func (s *countingStore) AddBlobDeletion(ctx context.Context, a1 verification.BlobDeletion) error {
	s.c.hit("AddBlobDeletion")
	return s.s.AddBlobDeletion(ctx, a1)
}

func (s *countingStore) AddEvent(ctx context.Context, a1 *verification.Event) error {
	s.c.hit("AddEvent")
	return s.s.AddEvent(ctx, a1)
}

func (s *countingStore) AddEvents(ctx context.Context, a1 []*verification.Event) error {
	s.c.hit("AddEvents")
	return s.s.AddEvents(ctx, a1)
}

func (s *countingStore) UpdateAndClaimDeliveries(ctx context.Context, a1 []verification.Delivery, a2, a3 time.Time, a4 int) ([]error, []verification.Delivery, error) {
	s.c.hit("UpdateAndClaimDeliveries")
	return s.s.UpdateAndClaimDeliveries(ctx, a1, a2, a3, a4)
}

func (s *countingStore) AddGrant(ctx context.Context, a1 *verification.Grant) error {
	s.c.hit("AddGrant")
	return s.s.AddGrant(ctx, a1)
}

func (s *countingStore) AddIDSession(ctx context.Context, a1 verification.IDSession) error {
	s.c.hit("AddIDSession")
	return s.s.AddIDSession(ctx, a1)
}

func (s *countingStore) AddProviderEvent(ctx context.Context, a1 *verification.ProviderEvent) error {
	s.c.hit("AddProviderEvent")
	return s.s.AddProviderEvent(ctx, a1)
}

func (s *countingStore) AddReview(ctx context.Context, a1 *verification.Review) error {
	s.c.hit("AddReview")
	return s.s.AddReview(ctx, a1)
}

func (s *countingStore) AppendAudit(ctx context.Context, a1 verification.AuditEntry) error {
	s.c.hit("AppendAudit")
	return s.s.AppendAudit(ctx, a1)
}

func (s *countingStore) ClaimDeliveries(ctx context.Context, a1 time.Time, a2 time.Time, a3 int) ([]verification.Delivery, error) {
	s.c.hit("ClaimDeliveries")
	return s.s.ClaimDeliveries(ctx, a1, a2, a3)
}

func (s *countingStore) CompleteIdempotency(ctx context.Context, a1 verification.IdempotencyRecord) error {
	s.c.hit("CompleteIdempotency")
	return s.s.CompleteIdempotency(ctx, a1)
}

func (s *countingStore) CreateApplication(ctx context.Context, a1 *verification.Application) error {
	s.c.hit("CreateApplication")
	return s.s.CreateApplication(ctx, a1)
}

func (s *countingStore) CreateFile(ctx context.Context, a1 verification.File) error {
	s.c.hit("CreateFile")
	return s.s.CreateFile(ctx, a1)
}

func (s *countingStore) CreateSubject(ctx context.Context, a1 *verification.Subject) error {
	s.c.hit("CreateSubject")
	return s.s.CreateSubject(ctx, a1)
}

func (s *countingStore) DeleteBlobDeletion(ctx context.Context, a1 string) error {
	s.c.hit("DeleteBlobDeletion")
	return s.s.DeleteBlobDeletion(ctx, a1)
}

func (s *countingStore) DeleteDelivered(ctx context.Context, a1 time.Time, a2 int) (int, error) {
	s.c.hit("DeleteDelivered")
	return s.s.DeleteDelivered(ctx, a1, a2)
}

func (s *countingStore) DeleteExpiredIdempotency(ctx context.Context, a1 time.Time, a2 int) (int, error) {
	s.c.hit("DeleteExpiredIdempotency")
	return s.s.DeleteExpiredIdempotency(ctx, a1, a2)
}

func (s *countingStore) DeleteFile(ctx context.Context, a1 string) error {
	s.c.hit("DeleteFile")
	return s.s.DeleteFile(ctx, a1)
}

func (s *countingStore) GetApplication(ctx context.Context, a1 int64) (verification.Application, error) {
	s.c.hit("GetApplication")
	return s.s.GetApplication(ctx, a1)
}

func (s *countingStore) GetApplicationByUUID(ctx context.Context, a1 string) (verification.Application, error) {
	s.c.hit("GetApplicationByUUID")
	return s.s.GetApplicationByUUID(ctx, a1)
}

func (s *countingStore) GetFile(ctx context.Context, a1 string) (verification.File, error) {
	s.c.hit("GetFile")
	return s.s.GetFile(ctx, a1)
}

func (s *countingStore) GetGrant(ctx context.Context, a1 int64) (verification.Grant, error) {
	s.c.hit("GetGrant")
	return s.s.GetGrant(ctx, a1)
}

func (s *countingStore) GetProviderEvent(ctx context.Context, a1 string, a2 string) (verification.ProviderEvent, error) {
	s.c.hit("GetProviderEvent")
	return s.s.GetProviderEvent(ctx, a1, a2)
}

func (s *countingStore) GetProviderSession(ctx context.Context, a1 string, a2 string) (verification.ProviderSession, error) {
	s.c.hit("GetProviderSession")
	return s.s.GetProviderSession(ctx, a1, a2)
}

func (s *countingStore) GetRequirementState(ctx context.Context, a1 int64, a2 string) (verification.RequirementState, error) {
	s.c.hit("GetRequirementState")
	return s.s.GetRequirementState(ctx, a1, a2)
}

func (s *countingStore) GetSubject(ctx context.Context, a1 int64) (verification.Subject, error) {
	s.c.hit("GetSubject")
	return s.s.GetSubject(ctx, a1)
}

func (s *countingStore) GetSubjectByIdentifier(ctx context.Context, a1 string) (verification.Subject, error) {
	s.c.hit("GetSubjectByIdentifier")
	return s.s.GetSubjectByIdentifier(ctx, a1)
}

func (s *countingStore) LastAudit(ctx context.Context) (verification.AuditEntry, error) {
	s.c.hit("LastAudit")
	return s.s.LastAudit(ctx)
}

func (s *countingStore) ListApplications(ctx context.Context, a1 verification.ApplicationFilter) (verification.Page[verification.Application], error) {
	s.c.hit("ListApplications")
	return s.s.ListApplications(ctx, a1)
}

func (s *countingStore) ListBlobDeletions(ctx context.Context, a1 verification.BlobDeletionFilter) ([]verification.BlobDeletion, error) {
	s.c.hit("ListBlobDeletions")
	return s.s.ListBlobDeletions(ctx, a1)
}

func (s *countingStore) ListDeliveries(ctx context.Context, a1 verification.DeliveryFilter) (verification.Page[verification.Delivery], error) {
	s.c.hit("ListDeliveries")
	return s.s.ListDeliveries(ctx, a1)
}

func (s *countingStore) ListDueRequirementStates(ctx context.Context, a1 verification.DueFilter) ([]verification.RequirementState, error) {
	s.c.hit("ListDueRequirementStates")
	return s.s.ListDueRequirementStates(ctx, a1)
}

func (s *countingStore) ListEvents(ctx context.Context, a1 verification.EventFilter) ([]verification.Event, error) {
	s.c.hit("ListEvents")
	return s.s.ListEvents(ctx, a1)
}

func (s *countingStore) ListFiles(ctx context.Context, a1 verification.FileFilter) ([]verification.File, error) {
	s.c.hit("ListFiles")
	return s.s.ListFiles(ctx, a1)
}

func (s *countingStore) ListGrants(ctx context.Context, a1 verification.GrantFilter) (verification.Page[verification.Grant], error) {
	s.c.hit("ListGrants")
	return s.s.ListGrants(ctx, a1)
}

func (s *countingStore) ListIDSessions(ctx context.Context, a1 int64) ([]verification.IDSession, error) {
	s.c.hit("ListIDSessions")
	return s.s.ListIDSessions(ctx, a1)
}

func (s *countingStore) ListProviderEvents(ctx context.Context, a1 verification.ProviderEventFilter) ([]verification.ProviderEvent, error) {
	s.c.hit("ListProviderEvents")
	return s.s.ListProviderEvents(ctx, a1)
}

func (s *countingStore) ListProviderSessions(ctx context.Context, a1 verification.ProviderSessionFilter) ([]verification.ProviderSession, error) {
	s.c.hit("ListProviderSessions")
	return s.s.ListProviderSessions(ctx, a1)
}

func (s *countingStore) ListRequirementStates(ctx context.Context, a1 int64) ([]verification.RequirementState, error) {
	s.c.hit("ListRequirementStates")
	return s.s.ListRequirementStates(ctx, a1)
}

func (s *countingStore) ListReviews(ctx context.Context, a1 int64) ([]verification.Review, error) {
	s.c.hit("ListReviews")
	return s.s.ListReviews(ctx, a1)
}

func (s *countingStore) LockSubject(ctx context.Context, a1 int64) (verification.Subject, error) {
	s.c.hit("LockSubject")
	return s.s.LockSubject(ctx, a1)
}

func (s *countingStore) PutProviderSession(ctx context.Context, a1 verification.ProviderSession) error {
	s.c.hit("PutProviderSession")
	return s.s.PutProviderSession(ctx, a1)
}

func (s *countingStore) PutRequirementState(ctx context.Context, a1 verification.RequirementState) error {
	s.c.hit("PutRequirementState")
	return s.s.PutRequirementState(ctx, a1)
}

func (s *countingStore) RedactSubject(ctx context.Context, a1 int64, a2 string, a3 []string) error {
	s.c.hit("RedactSubject")
	return s.s.RedactSubject(ctx, a1, a2, a3)
}

func (s *countingStore) RegisterSink(ctx context.Context, a1 string) error {
	s.c.hit("RegisterSink")
	return s.s.RegisterSink(ctx, a1)
}

func (s *countingStore) ReleaseIdempotency(ctx context.Context, a1 string, a2 string) error {
	s.c.hit("ReleaseIdempotency")
	return s.s.ReleaseIdempotency(ctx, a1, a2)
}

func (s *countingStore) ReserveIdempotency(ctx context.Context, a1 verification.IdempotencyRecord) (verification.IdempotencyRecord, error) {
	s.c.hit("ReserveIdempotency")
	return s.s.ReserveIdempotency(ctx, a1)
}

func (s *countingStore) ScanAudit(ctx context.Context, a1 verification.AuditFilter, a2 func(verification.AuditEntry) error) error {
	s.c.hit("ScanAudit")
	return s.s.ScanAudit(ctx, a1, a2)
}

func (s *countingStore) UpdateApplication(ctx context.Context, a1 verification.Application) error {
	s.c.hit("UpdateApplication")
	return s.s.UpdateApplication(ctx, a1)
}

func (s *countingStore) UpdateDelivery(ctx context.Context, a1 verification.Delivery) error {
	s.c.hit("UpdateDelivery")
	return s.s.UpdateDelivery(ctx, a1)
}

func (s *countingStore) UpdateDeliveries(ctx context.Context, a1 []verification.Delivery) ([]error, error) {
	s.c.hit("UpdateDeliveries")
	return s.s.UpdateDeliveries(ctx, a1)
}

func (s *countingStore) UpdateEventData(ctx context.Context, a1 string, a2 json.RawMessage) error {
	s.c.hit("UpdateEventData")
	return s.s.UpdateEventData(ctx, a1, a2)
}

func (s *countingStore) UpdateFile(ctx context.Context, a1 verification.File) error {
	s.c.hit("UpdateFile")
	return s.s.UpdateFile(ctx, a1)
}

func (s *countingStore) UpdateIDSession(ctx context.Context, a1 verification.IDSession) error {
	s.c.hit("UpdateIDSession")
	return s.s.UpdateIDSession(ctx, a1)
}

func (s *countingStore) UpdateSubject(ctx context.Context, a1 verification.Subject) error {
	s.c.hit("UpdateSubject")
	return s.s.UpdateSubject(ctx, a1)
}

// LockSubjectStates is one call where the wrapped store has it, and the
// two it stands for (counted as two) where it does not.
func (s *countingStore) LockSubjectStates(ctx context.Context, id int64) (verification.Subject, []verification.RequirementState, error) {
	l, ok := s.s.(verification.SubjectStatesLocker)
	if !ok {
		sub, err := s.LockSubject(ctx, id)
		if err != nil {
			return sub, nil, err
		}
		states, err := s.ListRequirementStates(ctx, id)
		return sub, states, err
	}
	s.c.hit("LockSubjectStates")
	return l.LockSubjectStates(ctx, id)
}

// WriteAtCommit is one call where the wrapped store has it, and the calls
// it stands for (each counted) where it does not.
func (s *countingStore) WriteAtCommit(ctx context.Context, events []*verification.Event, subjects []verification.Subject) error {
	w, ok := s.s.(verification.CommitWriter)
	if !ok {
		return verification.AddThenUpdate(ctx, s, events, subjects)
	}
	s.c.hit("WriteAtCommit")
	return w.WriteAtCommit(ctx, events, subjects)
}

func (s *countingStore) Checkpoint(ctx context.Context) error {
	c, ok := s.s.(verification.Checkpointer)
	if !ok {
		return nil
	}
	s.c.hit("Checkpoint")
	return c.Checkpoint(ctx)
}

func (s *countingStore) GetSubjectStatuses(ctx context.Context, a1 int64) (verification.SubjectStatuses, error) {
	s.c.hit("GetSubjectStatuses")
	return s.s.GetSubjectStatuses(ctx, a1)
}

func (s *countingStore) ListOpenApplications(ctx context.Context, a1 int64) ([]verification.Application, error) {
	s.c.hit("ListOpenApplications")
	return s.s.ListOpenApplications(ctx, a1)
}

func (s *countingStore) GetOpenApplications(ctx context.Context, a1 int64) (verification.Subject, []verification.Application, error) {
	s.c.hit("GetOpenApplications")
	return s.s.GetOpenApplications(ctx, a1)
}

func (s *countingStore) GetSubjectProgress(ctx context.Context, a1 int64) (verification.SubjectProgress, error) {
	s.c.hit("GetSubjectProgress")
	return s.s.GetSubjectProgress(ctx, a1)
}

func (s *countingStore) GetSubjectProgressByIdentifier(ctx context.Context, a1 string) (verification.SubjectProgress, error) {
	s.c.hit("GetSubjectProgressByIdentifier")
	return s.s.GetSubjectProgressByIdentifier(ctx, a1)
}

func (s *countingStore) ListSubjectGrants(ctx context.Context, a1 verification.GrantFilter) (verification.SubjectGrants, error) {
	s.c.hit("ListSubjectGrants")
	return s.s.ListSubjectGrants(ctx, a1)
}

func (s *countingStore) GetIDVerification(ctx context.Context, a1 int64) (verification.SubjectIDVerification, error) {
	s.c.hit("GetIDVerification")
	return s.s.GetIDVerification(ctx, a1)
}
