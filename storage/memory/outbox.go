package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
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
		r.pending.add(k, e.SubjectID)
		s.onUndo(func() {
			delete(r.deliveries, k)
			r.pending.remove(k, e.SubjectID)
		})
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
	slices.SortFunc(keys, compareKeys)
	return keys
}

// ClaimDeliveries implements verification.OutboxStore.
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]verification.Delivery, error) {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []verification.Delivery{}
	if limit <= 0 {
		return out, nil
	}
	// The heads of the pending queue in claim order: the due ones are
	// taken, those leased or waiting for a retry are walked past.
	r := s.root
	var due []deliveryKey
	r.pending.walk(func(k deliveryKey) bool {
		d := r.deliveries[k]
		if !d.NextAttemptAt.After(now) && !d.LeaseUntil.After(now) {
			due = append(due, k)
		}
		return len(due) < limit
	})
	for _, k := range due {
		d := r.deliveries[k]
		old := *d
		d.LeaseUntil = leaseUntil
		d.Fence++
		s.onUndo(func() { *d = old })
		out = append(out, s.delivery(k))
	}
	return out, nil
}

func compareKeys(a, b deliveryKey) int {
	if c := cmp.Compare(a.seq, b.seq); c != 0 {
		return c
	}
	return strings.Compare(a.sink, b.sink)
}

// findDelivery returns the delivery of event id to sink. seq, when it is
// the event's (as in a Delivery read from the store), spares a scan.
func (s *Store) findDelivery(id string, seq int64, sink string) (deliveryKey, *verification.Delivery, bool) {
	r := s.root
	if seq <= 0 || seq > int64(len(r.events)) || r.events[seq-1].ID != id {
		seq = 0
		for i := range r.events {
			if r.events[i].ID == id {
				seq = int64(i) + 1
				break
			}
		}
	}
	k := deliveryKey{seq, sink}
	d, ok := r.deliveries[k]
	return k, d, ok
}

// setPending keeps the pending queue right when the delivery k goes from
// pending (was) to pending (is) or back.
func (s *Store) setPending(k deliveryKey, was, is bool) {
	r := s.root
	switch {
	case was && !is:
		r.pending.remove(k, r.events[k.seq-1].SubjectID)
	case !was && is:
		r.pending.add(k, r.events[k.seq-1].SubjectID)
	}
}

// UpdateDelivery implements verification.OutboxStore.
func (s *Store) UpdateDelivery(ctx context.Context, upd verification.Delivery) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	return s.updateDelivery(upd)
}

// UpdateDeliveries implements verification.OutboxStore.
func (s *Store) UpdateDeliveries(ctx context.Context, ds []verification.Delivery) ([]error, error) {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	errs := make([]error, len(ds))
	for i, d := range ds {
		errs[i] = s.updateDelivery(d)
	}
	return errs, nil
}

// updateDelivery is UpdateDelivery with the lock held.
func (s *Store) updateDelivery(upd verification.Delivery) error {
	k, d, ok := s.findDelivery(upd.Event.ID, upd.Event.Seq, upd.Sink)
	if !ok {
		return notFound("delivery", upd.Event.ID+"/"+upd.Sink)
	}
	if d.Fence != upd.Fence {
		return leaseLost(upd)
	}
	old := *d
	d.Status, d.Attempts, d.NextAttemptAt, d.LeaseUntil, d.DeliveredAt, d.LastError =
		upd.Status, upd.Attempts, upd.NextAttemptAt, upd.LeaseUntil, upd.DeliveredAt, upd.LastError
	s.setPending(k, old.Status == verification.DeliveryPending, d.Status == verification.DeliveryPending)
	s.onUndo(func() {
		s.setPending(k, d.Status == verification.DeliveryPending, old.Status == verification.DeliveryPending)
		*d = old
	})
	return nil
}

// leaseLost is UpdateDelivery's refusal of a write whose claim was
// superseded.
func leaseLost(d verification.Delivery) error {
	return fmt.Errorf("memory: delivery %s/%s was claimed again since fence %d: %w", d.Event.ID, d.Sink, d.Fence, verification.ErrConflict)
}

// ListDeliveries implements verification.OutboxStore.
func (s *Store) ListDeliveries(ctx context.Context, f verification.DeliveryFilter) (verification.Page[verification.Delivery], error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.Page[verification.Delivery]{}, err
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
	return verification.Page[verification.Delivery]{Total: total, Items: out}, nil
}

// UpdateAndClaimDeliveries implements verification.OutboxStore: both calls
// in one transaction (verification.UpdateThenClaim).
func (s *Store) UpdateAndClaimDeliveries(ctx context.Context, ds []verification.Delivery, now, leaseUntil time.Time, limit int) ([]error, []verification.Delivery, error) {
	return verification.UpdateThenClaim(ctx, s, ds, now, leaseUntil, limit)
}
