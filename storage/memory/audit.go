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
	next := max(f.AfterSeq, 0) // entries with Seq > next
	sent := 0
	for {
		batch, end, err := s.auditBatch(ctx, f, next, f.Limit-sent)
		if err != nil {
			return err
		}
		for _, e := range batch {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
			sent++
		}
		if end || f.Limit > 0 && sent >= f.Limit {
			return nil
		}
		next = batch[len(batch)-1].Seq
	}
}

// auditBatch returns the next matching entries after Seq next (at most
// auditBatch, and at most room when room > 0) and whether the trail ends
// there.
func (s *Store) auditBatch(ctx context.Context, f verification.AuditFilter, next int64, room int) ([]verification.AuditEntry, bool, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	r := s.root
	limit := auditBatch
	if f.Limit > 0 {
		limit = min(limit, room)
	}
	var out []verification.AuditEntry
	for i := next; i < int64(len(r.audit)); i++ {
		e := r.audit[i]
		if !auditMatches(r, f, e) {
			continue
		}
		out = append(out, cloneAudit(e))
		if len(out) == limit {
			return out, i+1 == int64(len(r.audit)), nil
		}
	}
	return out, true, nil
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
