package memory

import (
	"context"

	"github.com/openkyc/kyc/verification"
)

// AddEvent implements verification.EventStore: AddEvents of one.
func (s *Store) AddEvent(ctx context.Context, e *verification.Event) error {
	return s.AddEvents(ctx, []*verification.Event{e})
}

// AddEvents implements verification.EventStore: every ID is checked
// before the first event goes in.
func (s *Store) AddEvents(ctx context.Context, events []*verification.Event) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	seen := make(map[string]bool, len(events))
	for _, e := range events {
		if r.eventIDs[e.ID] || seen[e.ID] {
			return conflict("event", e.ID)
		}
		seen[e.ID] = true
	}
	for _, e := range events {
		e.Seq = int64(len(r.events)) + 1
		c := *e
		c.Data = cloneRaw(e.Data)
		r.events = append(r.events, c)
		r.eventIDs[e.ID] = true
		id := e.ID
		s.onUndo(func() { r.events = r.events[:len(r.events)-1]; delete(r.eventIDs, id) })
		s.addDeliveries(c)
	}
	return nil
}

// ListEvents implements verification.EventStore.
func (s *Store) ListEvents(ctx context.Context, f verification.EventFilter) ([]verification.Event, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []verification.Event{}
	for _, e := range s.root.events {
		if e.Seq <= f.AfterSeq || f.SubjectID != 0 && e.SubjectID != f.SubjectID {
			continue
		}
		e.Data = cloneRaw(e.Data)
		out = append(out, e)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}
