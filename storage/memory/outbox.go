package memory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/openkyc/kyc/verification"
)

var _ verification.OutboxStore = (*Store)(nil)

type deliveryKey struct {
	seq  int64
	sink string
}

// addDeliveries creates a pending delivery of e for every registered sink
// (called by AddEvent with the lock held).
func (s *Store) addDeliveries(e verification.Event) {
	r := s.root
	for _, sink := range r.sinks {
		k := deliveryKey{e.Seq, sink}
		r.deliveries[k] = &verification.Delivery{Sink: sink, Status: verification.DeliveryPending, NextAttemptAt: e.OccurredAt}
		s.onUndo(func() { delete(r.deliveries, k) })
	}
}

// RegisterSink implements verification.OutboxStore.
func (s *Store) RegisterSink(ctx context.Context, sink string) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	if sink == "" {
		return fmt.Errorf("memory: empty sink name: %w", verification.ErrInvalid)
	}
	if slices.Contains(r.sinks, sink) {
		return nil
	}
	r.sinks = append(r.sinks, sink)
	s.onUndo(func() { r.sinks = r.sinks[:len(r.sinks)-1] })
	return nil
}

func (s *Store) delivery(k deliveryKey) verification.Delivery {
	d := *s.root.deliveries[k]
	d.Event = s.root.events[k.seq-1]
	d.Event.Data = cloneRaw(d.Event.Data)
	return d
}

func (s *Store) sortedDeliveryKeys() []deliveryKey {
	keys := make([]deliveryKey, 0, len(s.root.deliveries))
	for k := range s.root.deliveries {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].seq != keys[j].seq {
			return keys[i].seq < keys[j].seq
		}
		return keys[i].sink < keys[j].sink
	})
	return keys
}

// ClaimDeliveries implements verification.OutboxStore.
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]verification.Delivery, error) {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	type group struct {
		sink    string
		subject int64
	}
	blocked := map[group]bool{}
	out := []verification.Delivery{}
	for _, k := range s.sortedDeliveryKeys() {
		if len(out) >= limit {
			break
		}
		d := s.root.deliveries[k]
		if d.Status != verification.DeliveryPending {
			continue
		}
		g := group{k.sink, s.root.events[k.seq-1].SubjectID}
		if blocked[g] {
			continue
		}
		blocked[g] = true
		if d.NextAttemptAt.After(now) || d.LeaseUntil.After(now) {
			continue
		}
		old := *d
		d.LeaseUntil = leaseUntil
		s.onUndo(func() { *d = old })
		out = append(out, s.delivery(k))
	}
	return out, nil
}

// UpdateDelivery implements verification.OutboxStore.
func (s *Store) UpdateDelivery(ctx context.Context, upd verification.Delivery) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	for k, d := range s.root.deliveries {
		if k.sink == upd.Sink && s.root.events[k.seq-1].ID == upd.Event.ID {
			old := *d
			d.Status, d.Attempts, d.NextAttemptAt, d.LeaseUntil, d.DeliveredAt, d.LastError =
				upd.Status, upd.Attempts, upd.NextAttemptAt, upd.LeaseUntil, upd.DeliveredAt, upd.LastError
			s.onUndo(func() { *d = old })
			return nil
		}
	}
	return notFound("delivery", upd.Event.ID+"/"+upd.Sink)
}

// ListDeliveries implements verification.OutboxStore.
func (s *Store) ListDeliveries(ctx context.Context, f verification.DeliveryFilter) ([]verification.Delivery, int, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return nil, 0, err
	}
	defer unlock()
	out := []verification.Delivery{}
	total := 0
	for _, k := range s.sortedDeliveryKeys() {
		d := s.root.deliveries[k]
		e := s.root.events[k.seq-1]
		switch {
		case f.Sink != "" && k.sink != f.Sink,
			f.Status != "" && d.Status != f.Status,
			f.SubjectID != 0 && e.SubjectID != f.SubjectID,
			f.EventID != "" && e.ID != f.EventID:
			continue
		}
		if total >= f.Offset && len(out) < f.Limit {
			out = append(out, s.delivery(k))
		}
		total++
	}
	return out, total, nil
}
