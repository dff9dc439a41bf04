package verification

import (
	"context"
	"time"
)

// OutboxStore is the part of Store the Dispatcher needs: per-sink delivery
// state for every event of the outbox.
//
// A sink is a named destination (an in-process subscriber or a webhook
// endpoint). Once a sink is registered, every event added afterwards gets a
// pending delivery for it, in the same transaction as the event.
type OutboxStore interface {
	// RegisterSink makes every event added from now on get a pending
	// delivery for sink. Registering a sink again is not an error.
	RegisterSink(ctx context.Context, sink string) error
	// ClaimDeliveries leases up to limit due deliveries and returns them
	// with their events, in Seq order (then sink name). A delivery is due
	// when it is pending, its NextAttemptAt is not after now, its lease
	// (LeaseUntil) is not after now, and no pending delivery of the same
	// sink and subject has a lower Seq: so a subject's events reach a sink
	// in order, one at a time. The claimed deliveries get LeaseUntil =
	// leaseUntil and a new Fence (the stored one plus one); while a lease
	// holds, no other claimer (in this process or another) gets the
	// delivery.
	ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Delivery, error)
	// UpdateDelivery stores the outcome of an attempt (Status, Attempts,
	// NextAttemptAt, LeaseUntil, DeliveredAt, LastError) of the delivery
	// matched by (Event.ID, Sink), or returns ErrNotFound. The write is
	// fenced: it applies only if d.Fence is still the stored Fence, that
	// is if nobody claimed the delivery since d was claimed or read;
	// otherwise it changes nothing and returns ErrConflict. A dispatcher
	// whose lease ran out and was taken over (a paused process, a clock
	// running behind) thus cannot overwrite the outcome of the one that
	// took over, nor release a lease it no longer holds.
	UpdateDelivery(ctx context.Context, d Delivery) error
	// UpdateDeliveries is UpdateDelivery for several deliveries at once
	// (the Dispatcher settling the outcomes of a finished batch), in one
	// transaction. It returns one result per delivery, in ds's order: what
	// UpdateDelivery would have returned for that delivery alone (nil, or
	// an error matching ErrConflict or ErrNotFound); a refused delivery
	// does not stop the others. A non-nil error is the whole call's
	// (a store failure, a cancelled ctx): then nothing was written.
	UpdateDeliveries(ctx context.Context, ds []Delivery) ([]error, error)
	// UpdateAndClaimDeliveries is UpdateDeliveries(ds) and then
	// ClaimDeliveries(now, leaseUntil, limit) in one transaction (the
	// claim sees the outcomes just written: a subject's next delivery can
	// be claimed as soon as its previous one is settled), in as few round
	// trips as the store can. It returns UpdateDeliveries' results and the
	// claimed deliveries; a non-nil error is the whole call's, and then
	// nothing was written or claimed. UpdateThenClaim is the one-transaction
	// form for a store without a faster one.
	UpdateAndClaimDeliveries(ctx context.Context, ds []Delivery, now, leaseUntil time.Time, limit int) ([]error, []Delivery, error)
	// ListDeliveries returns one page of the deliveries matching f in Seq
	// order (then sink name) and the total matching f, with ListGrants'
	// paging rules.
	ListDeliveries(ctx context.Context, f DeliveryFilter) (Page[Delivery], error)
	// DeleteDelivered deletes up to limit deliveries with Status
	// DeliveryDelivered whose DeliveredAt is strictly before before, and
	// returns how many it deleted. The events stay (they are the audit
	// trail); pending and dead deliveries are never deleted.
	DeleteDelivered(ctx context.Context, before time.Time, limit int) (int, error)
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// Delivery statuses.
const (
	// DeliveryPending: not delivered yet (maybe waiting for a retry).
	DeliveryPending DeliveryStatus = "pending"
	// DeliveryDelivered: the sink accepted the event.
	DeliveryDelivered DeliveryStatus = "delivered"
	// DeliveryDead: every attempt failed; an admin may replay it.
	DeliveryDead DeliveryStatus = "dead"
)

// Delivery is the state of one event for one sink.
type Delivery struct {
	// Event is the event to deliver.
	Event Event
	// Sink names the destination.
	Sink string
	// Status is where the delivery stands.
	Status DeliveryStatus
	// Attempts counts the finished attempts (a shutdown's is not one).
	Attempts int
	// NextAttemptAt is when the delivery is due (again).
	NextAttemptAt time.Time
	// LeaseUntil is when the current claim's lease ends (zero: unleased).
	LeaseUntil time.Time
	// DeliveredAt is when the sink accepted the event.
	DeliveredAt time.Time
	// LastError is the last failure, for operators (never sent to clients).
	LastError string
	// Fence is the fencing token of the delivery's latest claim: zero
	// until the first claim, one more at every claim. UpdateDelivery
	// writes only while it is unchanged; stores keep it, callers pass it
	// back as they got it.
	Fence int64
}

// DeliveryFilter selects deliveries for ListDeliveries. Zero fields do not
// filter.
type DeliveryFilter struct {
	// Sink keeps only that sink's deliveries.
	Sink string
	// Status keeps only deliveries in that status.
	Status DeliveryStatus
	// SubjectID keeps only the deliveries of that subject's events.
	SubjectID int64
	// EventID keeps only the deliveries of that event.
	EventID string
	// Limit caps the items (0 returns only the total, as in the other
	// list calls); Offset skips that many matching deliveries.
	Limit int
	// Offset skips that many matching deliveries.
	Offset int
}

// UpdateThenClaim implements OutboxStore.UpdateAndClaimDeliveries for s
// with its other calls: UpdateDeliveries, then ClaimDeliveries, in one
// s.InTx.
func UpdateThenClaim(ctx context.Context, s Store, ds []Delivery, now, leaseUntil time.Time, limit int) ([]error, []Delivery, error) {
	var (
		errs    []error
		claimed []Delivery
	)
	err := s.InTx(ctx, func(ctx context.Context, tx Store) error {
		var err error
		if errs, err = tx.UpdateDeliveries(ctx, ds); err != nil {
			return err
		}
		claimed, err = tx.ClaimDeliveries(ctx, now, leaseUntil, limit)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return errs, claimed, nil
}
