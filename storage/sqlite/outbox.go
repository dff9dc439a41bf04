package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/openkyc/kyc/verification"
)

var _ verification.OutboxStore = (*Store)(nil)

const deliveryCols = `d.seq, d.sink, d.status, d.attempts, d.next_attempt_at, d.lease_until, d.delivered_at, d.last_error, d.fence,
	e.id, e.subject_id, e.type, e.data, e.occurred_at`

func scanDelivery(row scanner) (verification.Delivery, error) {
	var (
		d                          verification.Delivery
		next, lease, delivered, at int64
		data                       []byte
	)
	err := row.Scan(&d.Event.Seq, &d.Sink, &d.Status, &d.Attempts, &next, &lease, &delivered, &d.LastError, &d.Fence,
		&d.Event.ID, &d.Event.SubjectID, &d.Event.Type, &data, &at)
	if err != nil {
		return d, err
	}
	d.NextAttemptAt, d.LeaseUntil, d.DeliveredAt = fromMicros(next), fromMicros(lease), fromMicros(delivered)
	d.Event.OccurredAt = fromMicros(at)
	if len(data) > 0 {
		d.Event.Data = data
	}
	return d, nil
}

// claimWindow bounds claimSQL's walk: it reads the pending deliveries
// whose seq is below the oldest pending one's plus claimWindow.
const claimWindow = "256"

// claimSQL selects the claimable deliveries (arguments: now, the limit):
// pending, due, not leased, and the oldest pending delivery of their
// (sink, subject). It walks the status index's pending entries in (seq,
// sink) order, but only the first claimWindow seqs from the oldest pending
// one: an unbounded walk read the whole backlog whenever fewer heads were
// claimable than asked for (every head leased by the deliveries in flight,
// say), testing each row for an older one. ClaimDeliveries finds the heads
// beyond the window with claimHeadSQL when this comes back short. The
// index is named because with statistics taken while everything was
// pending the planner prefers the table's own (seq, sink) order, which
// once the dispatcher has delivered part of the backlog walks every
// delivered row before the first pending one.
const claimSQL = `SELECT ` + deliveryCols + `
	FROM {{prefix}}deliveries d INDEXED BY {{prefix}}deliveries_status JOIN {{prefix}}events e ON e.seq = d.seq
	WHERE d.status = 'pending'
	  AND d.seq < (SELECT min(seq) FROM {{prefix}}deliveries INDEXED BY {{prefix}}deliveries_status WHERE status = 'pending') + ` + claimWindow + `
	  AND d.next_attempt_at <= ?1 AND d.lease_until <= ?1
	  AND NOT EXISTS (SELECT 1 FROM {{prefix}}deliveries p
	                  WHERE p.status = 'pending' AND p.sink = d.sink
	                    AND p.subject_id = d.subject_id AND p.seq < d.seq)
	ORDER BY d.seq, d.sink LIMIT ?2`

// claimBeyondSQL gives a row when claimSQL's window left pending deliveries
// out (one seek of the status index): when it does not, a short claim is
// complete, and the skip scan would only read the window's heads again
// (a dispatcher keeping up with a stream of events, or polling while every
// head is leased).
const claimBeyondSQL = `SELECT 1 FROM {{prefix}}deliveries INDEXED BY {{prefix}}deliveries_status
	WHERE status = 'pending'
	  AND seq >= (SELECT min(seq) FROM {{prefix}}deliveries INDEXED BY {{prefix}}deliveries_status WHERE status = 'pending') + ` + claimWindow + `
	LIMIT 1`

// claimHeadSQL is one step of a skip scan over deliveries_pending: the key,
// subject, due time and lease of the oldest pending delivery of the first
// (sink, subject) after (?1, ?2). The two arms seek on (sink = ?1,
// subject_id > ?2) and then (sink > ?1): a row value comparison (sink,
// subject_id) > (?1, ?2) seeks on the sink only and walks the sink's
// deliveries from its start.
const claimHeadSQL = `SELECT * FROM (SELECT seq, sink, subject_id, next_attempt_at, lease_until
	FROM {{prefix}}deliveries INDEXED BY {{prefix}}deliveries_pending
	WHERE status = 'pending' AND sink = ?1 AND subject_id > ?2
	ORDER BY subject_id, seq LIMIT 1)
	UNION ALL
	SELECT * FROM (SELECT seq, sink, subject_id, next_attempt_at, lease_until
	FROM {{prefix}}deliveries INDEXED BY {{prefix}}deliveries_pending
	WHERE status = 'pending' AND sink > ?1
	ORDER BY sink, subject_id, seq LIMIT 1)
	LIMIT 1`

// RegisterSink implements verification.OutboxStore.
func (s *Store) RegisterSink(ctx context.Context, sink string) error {
	if sink == "" {
		return fmt.Errorf("sqlite: empty sink name: %w", verification.ErrInvalid)
	}
	return s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		_, err := cn.q.ExecContext(cn.ctx, cn.sql(`INSERT INTO {{prefix}}sinks (name) VALUES (?) ON CONFLICT DO NOTHING`), sink)
		return s.c.mapErr(ctx, "register sink", err)
	})
}

// ClaimDeliveries implements verification.OutboxStore. It runs as one write
// transaction, so claimers in this process and in others (which wait for
// the write lock) never get the same delivery while its lease holds. It
// walks the pending deliveries of a window in (seq, sink) order (claimSQL)
// and keeps the due ones that are the oldest pending delivery of their
// (sink, subject); when those are fewer than limit, a skip scan adds the
// claimable heads beyond the window (claimHeads).
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]verification.Delivery, error) {
	out := []verification.Delivery{}
	if limit <= 0 {
		if err := s.check(ctx); err != nil {
			return nil, err
		}
		return out, nil
	}
	err := s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		rows, err := cn.query(stDeliveryClaim, micros(now), limit)
		if out, err = collect(ctx, s.c, "claim deliveries", rows, err, scanDelivery); err != nil {
			return err
		}
		if len(out) < limit {
			if out, err = tx.claimHeads(ctx, out, now, limit); err != nil {
				return err
			}
		}
		lease := micros(leaseUntil)
		for i, d := range out {
			if _, err := cn.exec(stDeliveryLease, lease, d.Event.Seq, d.Sink); err != nil {
				return s.c.mapErr(ctx, "claim deliveries", err)
			}
			// Read in this write transaction: the fence is now one more.
			out[i].LeaseUntil, out[i].Fence = fromMicros(lease), d.Fence+1
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// claimHeads completes a claim whose window (claimSQL) held fewer than
// limit claimable deliveries. When the window held every pending delivery
// (claimBeyondSQL finds none beyond it) there is nothing to add; otherwise
// it visits each (sink, subject) with a pending delivery once, by
// claimHeadSQL, and adds the claimable heads not yet in got, lowest seq
// first, up to limit (reading only those in full). Every claimable
// delivery inside the window is already in got, so the added ones come
// after it in (seq, sink) order.
func (s *Store) claimHeads(ctx context.Context, got []verification.Delivery, now time.Time, limit int) ([]verification.Delivery, error) {
	cn := s.conn(ctx)
	var one int
	switch err := cn.queryRow(stDeliveryBeyond).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows): // the window held every pending delivery
		return got, nil
	case err != nil:
		return nil, s.c.mapErr(ctx, "claim deliveries", err)
	}
	in := make(map[deliveryKey]bool, len(got))
	for _, d := range got {
		in[deliveryKey{d.Event.Seq, d.Sink}] = true
	}
	var heads []deliveryKey
	at := micros(now)
	sink, subject := "", int64(math.MinInt64)
	for {
		var (
			k           deliveryKey
			next, lease int64
		)
		err := cn.queryRow(stDeliveryHead, sink, subject).Scan(&k.seq, &k.sink, &subject, &next, &lease)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return nil, s.c.mapErr(ctx, "claim deliveries", err)
		}
		sink = k.sink
		if !in[k] && next <= at && lease <= at {
			heads = append(heads, k)
		}
	}
	slices.SortFunc(heads, func(a, b deliveryKey) int {
		return cmp.Or(cmp.Compare(a.seq, b.seq), strings.Compare(a.sink, b.sink))
	})
	for _, k := range heads[:min(len(heads), limit-len(got))] {
		d, err := scanDelivery(cn.queryRow(stDeliveryGet, k.seq, k.sink))
		if err != nil {
			return nil, s.c.mapErr(ctx, "claim deliveries", err)
		}
		got = append(got, d)
	}
	return got, nil
}

// deliveryKey is a delivery's primary key.
type deliveryKey struct {
	seq  int64
	sink string
}

// UpdateDelivery implements verification.OutboxStore: a fenced write,
// refused with ErrConflict when the delivery was claimed since d was.
func (s *Store) UpdateDelivery(ctx context.Context, d verification.Delivery) error {
	return s.write(ctx, func(tx *Store) error { return tx.updateDelivery(ctx, d) })
}

// UpdateDeliveries implements verification.OutboxStore: UpdateDelivery's
// prepared statement for each delivery, in one write transaction.
func (s *Store) UpdateDeliveries(ctx context.Context, ds []verification.Delivery) ([]error, error) {
	errs := make([]error, len(ds))
	err := s.write(ctx, func(tx *Store) error {
		for i, d := range ds {
			err := tx.updateDelivery(ctx, d)
			if err != nil && !errors.Is(err, verification.ErrConflict) && !errors.Is(err, verification.ErrNotFound) {
				return err
			}
			errs[i] = err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// updateDelivery is UpdateDelivery in the write transaction s.
func (s *Store) updateDelivery(ctx context.Context, d verification.Delivery) error {
	cn := s.conn(ctx)
	res, err := cn.exec(stDeliveryUpdate, string(d.Status), d.Attempts, micros(d.NextAttemptAt), micros(d.LeaseUntil), micros(d.DeliveredAt), d.LastError,
		d.Sink, d.Event.ID, d.Fence)
	err = s.rowsAffected(ctx, "update delivery", res, err, "delivery", d.Event.ID+"/"+d.Sink)
	if !errors.Is(err, verification.ErrNotFound) {
		return err
	}
	var exists bool
	if qerr := cn.queryRow(stDeliveryExists, d.Sink, d.Event.ID).Scan(&exists); qerr != nil {
		return s.c.mapErr(ctx, "update delivery", qerr)
	}
	if exists {
		return fmt.Errorf("sqlite: delivery %s/%s was claimed again since fence %d: %w", d.Event.ID, d.Sink, d.Fence, verification.ErrConflict)
	}
	return err
}

// ListDeliveries implements verification.OutboxStore. Deep offsets are
// plain OFFSET scans (the list serves operators: dead letters, one event).
func (s *Store) ListDeliveries(ctx context.Context, f verification.DeliveryFilter) (verification.Page[verification.Delivery], error) {
	var where []string
	var args []any
	add := func(cond string, arg any) { where, args = append(where, cond), append(args, arg) }
	if f.Sink != "" {
		add("d.sink = ?", f.Sink)
	}
	if f.Status != "" {
		add("d.status = ?", string(f.Status))
	}
	if f.SubjectID != 0 {
		add("d.subject_id = ?", f.SubjectID)
	}
	if f.EventID != "" {
		add("d.seq = (SELECT seq FROM {{prefix}}events WHERE id = ?)", f.EventID)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var (
		out   = []verification.Delivery{}
		total int
	)
	err := s.snapshot(ctx, "list deliveries", func(cn conn) error {
		err := cn.queryRowSQL(cn.sql(`SELECT COUNT(*) FROM {{prefix}}deliveries d`+cond), args...).Scan(&total)
		if err != nil {
			return s.c.mapErr(ctx, "count deliveries", err)
		}
		if f.Limit <= 0 || f.Offset >= total {
			return nil
		}
		rows, err := cn.querySQL(cn.sql(`SELECT `+deliveryCols+`
			FROM {{prefix}}deliveries d JOIN {{prefix}}events e ON e.seq = d.seq`+cond+`
			ORDER BY d.seq, d.sink LIMIT ? OFFSET ?`), append(args, f.Limit, max(f.Offset, 0))...)
		out, err = collect(ctx, s.c, "list deliveries", rows, err, scanDelivery)
		return err
	})
	if err != nil {
		return verification.Page[verification.Delivery]{}, err
	}
	return verification.Page[verification.Delivery]{Total: total, Items: out}, nil
}

// UpdateAndClaimDeliveries implements verification.OutboxStore: both calls
// in one transaction (verification.UpdateThenClaim).
func (s *Store) UpdateAndClaimDeliveries(ctx context.Context, ds []verification.Delivery, now, leaseUntil time.Time, limit int) ([]error, []verification.Delivery, error) {
	return verification.UpdateThenClaim(ctx, s, ds, now, leaseUntil, limit)
}
