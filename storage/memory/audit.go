package memory

import (
	"context"
	"fmt"
	"maps"

	"github.com/openkyc/kyc/verification"
)

var _ verification.AuditStore = (*Store)(nil)

// auditBatch is how many entries ScanAudit copies per read lock.
const auditBatch = 256

func cloneAudit(e verification.AuditEntry) verification.AuditEntry {
	e.Summary = maps.Clone(e.Summary)
	e.Actor.Tags = nil
	return e
}

// LastAudit implements verification.AuditStore. Transactions are
// serialised, so inside one the head cannot move.
func (s *Store) LastAudit(ctx context.Context) (verification.AuditEntry, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.AuditEntry{}, err
	}
	defer unlock()
	r := s.root
	if len(r.audit) == 0 {
		return verification.AuditEntry{}, notFound("audit entry", "last")
	}
	return cloneAudit(r.audit[len(r.audit)-1]), nil
}

// AppendAudit implements verification.AuditStore.
func (s *Store) AppendAudit(ctx context.Context, e verification.AuditEntry) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	if e.Seq != int64(len(r.audit))+1 {
		return fmt.Errorf("memory: audit entry %d does not follow entry %d: %w", e.Seq, len(r.audit), verification.ErrConflict)
	}
	r.audit = append(r.audit, cloneAudit(e))
	s.onUndo(func() { r.audit = r.audit[:len(r.audit)-1] })
	return nil
}

// ScanAudit implements verification.AuditStore: it copies up to auditBatch
// matching entries under the read lock, releases it, then calls fn.
func (s *Store) ScanAudit(ctx context.Context, f verification.AuditFilter, fn func(verification.AuditEntry) error) error {
	return verification.ScanAuditPages(ctx, f, auditBatch, func(after int64, limit int) ([]verification.AuditEntry, error) {
		return s.auditPage(ctx, f, after, limit)
	}, fn)
}

// auditPage returns up to limit matching entries with Seq after after.
func (s *Store) auditPage(ctx context.Context, f verification.AuditFilter, after int64, limit int) ([]verification.AuditEntry, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	r := s.root
	var out []verification.AuditEntry
	for i := after; i < int64(len(r.audit)) && len(out) < limit; i++ { // entry i has Seq i+1
		if e := r.audit[i]; auditMatches(r, f, e) {
			out = append(out, cloneAudit(e))
		}
	}
	return out, nil
}

func auditMatches(r *root, f verification.AuditFilter, e verification.AuditEntry) bool {
	switch {
	case f.SubjectID != 0 && e.SubjectID != f.SubjectID,
		f.Tags != nil && (e.SubjectID == 0 || !r.subjects[e.SubjectID].HasAnyTag(f.Tags)),
		f.ActorKind != "" && e.Actor.Kind != f.ActorKind,
		f.ActorID != "" && e.Actor.ID != f.ActorID,
		f.Action != "" && e.Action != f.Action,
		!f.Since.IsZero() && e.At.Before(f.Since),
		!f.Until.IsZero() && !e.At.Before(f.Until):
		return false
	}
	return true
}
