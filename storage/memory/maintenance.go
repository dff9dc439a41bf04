package memory

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"time"

	"github.com/openkyc/kyc/verification"
)

var _ verification.BlobDeletionStore = (*Store)(nil)

// RedactSubject implements verification.SubjectStore.
func (s *Store) RedactSubject(ctx context.Context, id int64, identifier string, keep []string) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	old, ok := r.subjects[id]
	if !ok {
		return notFound("subject", id)
	}
	if other, used := r.byIdent[identifier]; used && other != id {
		return conflict("subject identifier", "")
	}
	sub := cloneSubject(old)
	sub.Identifier = identifier
	r.subjects[id] = sub
	delete(r.byIdent, old.Identifier)
	r.byIdent[identifier] = id
	s.onUndo(func() { r.subjects[id] = old; delete(r.byIdent, identifier); r.byIdent[old.Identifier] = id })
	for i, rv := range r.reviews {
		if rv.SubjectID == id && blank(rv.Reason, keep) {
			i, prev := i, rv.Reason
			r.reviews[i].Reason = ""
			s.onUndo(func() { r.reviews[i].Reason = prev })
		}
	}
	for i, g := range r.grants {
		if g.SubjectID == id && blank(g.Reason, keep) {
			i, prev := i, g.Reason
			r.grants[i].Reason = ""
			s.onUndo(func() { r.grants[i].Reason = prev })
		}
	}
	for appID, a := range r.apps {
		if a.SubjectID == id && blank(a.Reason, keep) {
			appID, prev := appID, a
			a.Reason = ""
			r.apps[appID] = a
			s.onUndo(func() { r.apps[appID] = prev })
		}
	}
	for name, st := range r.states[id] {
		if blank(st.Reason, keep) {
			m, name, prev := r.states[id], name, st
			st.Reason = ""
			m[name] = st
			s.onUndo(func() { m[name] = prev })
		}
	}
	for fid, f := range r.files {
		if f.SubjectID == id && blank(f.Reason, keep) {
			fid, prev := fid, f
			f.Reason = ""
			r.files[fid] = f
			s.onUndo(func() { r.files[fid] = prev })
		}
	}
	return nil
}

// blank reports whether RedactSubject blanks reason.
func blank(reason string, keep []string) bool { return reason != "" && !slices.Contains(keep, reason) }

// UpdateEventData implements verification.EventStore.
func (s *Store) UpdateEventData(ctx context.Context, id string, data json.RawMessage) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	for i, e := range r.events {
		if e.ID == id {
			i, prev := i, e.Data
			r.events[i].Data = cloneRaw(data)
			s.onUndo(func() { r.events[i].Data = prev })
			return nil
		}
	}
	return notFound("event", id)
}

// AddBlobDeletion implements verification.BlobDeletionStore.
func (s *Store) AddBlobDeletion(ctx context.Context, d verification.BlobDeletion) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	if _, ok := r.deletions[d.ID]; ok {
		return conflict("blob deletion", d.ID)
	}
	r.deletions[d.ID] = d
	s.onUndo(func() { delete(r.deletions, d.ID) })
	return nil
}

// ListBlobDeletions implements verification.BlobDeletionStore.
func (s *Store) ListBlobDeletions(ctx context.Context, f verification.BlobDeletionFilter) ([]verification.BlobDeletion, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []verification.BlobDeletion{}
	for _, d := range s.root.deletions {
		if f.SubjectID == 0 || d.SubjectID == f.SubjectID {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// DeleteBlobDeletion implements verification.BlobDeletionStore.
func (s *Store) DeleteBlobDeletion(ctx context.Context, id string) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	if old, ok := r.deletions[id]; ok {
		delete(r.deletions, id)
		s.onUndo(func() { r.deletions[id] = old })
	}
	return nil
}

// DeleteDelivered implements verification.OutboxStore.
func (s *Store) DeleteDelivered(ctx context.Context, before time.Time, limit int) (int, error) {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return 0, err
	}
	defer unlock()
	r := s.root
	n := 0
	for _, k := range s.sortedDeliveryKeys() {
		if n >= limit {
			break
		}
		d := r.deliveries[k]
		if d.Status != verification.DeliveryDelivered || !d.DeliveredAt.Before(before) {
			continue
		}
		k, d := k, d
		delete(r.deliveries, k)
		s.onUndo(func() { r.deliveries[k] = d })
		n++
	}
	return n, nil
}
