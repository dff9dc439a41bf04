package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/verification"
)

var _ verification.OutboxStore = (*Store)(nil)

// deliveryCols are a delivery's columns (d) and its event's (e).
const deliveryCols = `d.event_seq, d.sink, d.status, d.attempts, d.next_attempt_at, d.lease_until, d.delivered_at, d.last_error, d.fence,
	e.id, e.subject_id, e.type, e.data, e.occurred_at`

// deliveryRow receives deliveryCols (nullable for the listing's LEFT JOIN).
type deliveryRow struct {
	seq, subjectID, fence                 *int64
	sink, status, lastError, eventID, typ *string
	attempts                              *int
	data                                  json.RawMessage
	next, lease, delivered, occurred      pgtype.Timestamptz
}

func (r *deliveryRow) dest() []any {
	return []any{&r.seq, &r.sink, &r.status, &r.attempts, &r.next, &r.lease, &r.delivered, &r.lastError, &r.fence,
		&r.eventID, &r.subjectID, &r.typ, &r.data, &r.occurred}
}

func (r *deliveryRow) delivery() verification.Delivery {
	return verification.Delivery{
		Event: verification.Event{
			ID: *r.eventID, Seq: *r.seq, SubjectID: *r.subjectID, Type: verification.EventType(*r.typ),
			Data: r.data, OccurredAt: tsOut(r.occurred),
		},
		Sink: *r.sink, Status: verification.DeliveryStatus(*r.status), Attempts: *r.attempts,
		NextAttemptAt: tsOut(r.next), LeaseUntil: tsOut(r.lease), DeliveredAt: tsOut(r.delivered),
		LastError: *r.lastError, Fence: *r.fence,
	}
}

// RegisterSink implements verification.OutboxStore. AddEvent reads the
// sinks in its own statement, so an event gets a delivery for every sink
// whose registration committed before that statement started.
func (s *Store) RegisterSink(ctx context.Context, sink string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if sink == "" {
		return fmt.Errorf("postgres: empty sink name: %w", verification.ErrInvalid)
	}
	_, err := s.q.Exec(ctx, s.sql(`INSERT INTO {{schema}}.sinks (name) VALUES ($1) ON CONFLICT DO NOTHING`), sink)
	return fail(ctx, "register sink", err)
}

// claimWindow bounds claimSQL's scan: it reads the first claimWindow
// pending deliveries in (Seq, sink) order.
const claimWindow = "256"

// claimSQL claims deliveries (arguments: now, the lease's end, the limit)
// among the first claimWindow pending ones. A claimable delivery is
// pending, due, not leased, and the head of its (sink, subject): no older
// delivery of the pair is pending. The candidates are locked in a
// MATERIALIZED CTE so that they are selected (and locked) exactly once,
// whatever plan the UPDATE gets. The window is a LIMIT on the ordered scan
// of deliveries_pending_seq_idx, which also keeps the candidates in order
// so the scan stops at the claim's limit (a window in Seqs would be a range
// the planner serves from the primary key, walking the delivered rows). An
// unbounded scan read the whole backlog whenever fewer heads were
// claimable than asked for (all of them leased by the deliveries in
// flight, say: a dispatcher with more deliveries in flight than subjects),
// testing each row for an older one; ClaimDeliveries finds the heads
// outside the window with claimHeadsSQL instead. The scans read the pending
// deliveries only (partial indexes, see migration 0004), never the
// delivered history.
const claimSQL = `
WITH c AS MATERIALIZED (
	SELECT d.event_seq, d.sink
	  FROM (SELECT event_seq, sink FROM {{schema}}.deliveries WHERE status = 'pending'
	         ORDER BY event_seq, sink LIMIT ` + claimWindow + `) win
	  JOIN {{schema}}.deliveries d ON d.event_seq = win.event_seq AND d.sink = win.sink
	 WHERE d.status = 'pending'
	   AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= $1)
	   AND (d.lease_until IS NULL OR d.lease_until <= $1)
	   AND NOT EXISTS (
		SELECT 1 FROM {{schema}}.deliveries p
		 WHERE p.status = 'pending' AND p.sink = d.sink
		   AND p.subject_id = d.subject_id AND p.event_seq < d.event_seq)
	 ORDER BY win.event_seq, win.sink
	 LIMIT $3
	 FOR UPDATE OF d SKIP LOCKED
)` + claimUpdate

// claimHeadsSQL claims deliveries (arguments as claimSQL's) found by a skip
// scan of deliveries_pending_head_idx: one descent per (sink, subject) with
// a pending delivery gives each pair's head, and the claimable ones are
// locked, lowest Seq first. ClaimDeliveries runs it when claimSQL came
// back short, so the backlog behind the heads is never read.
const claimHeadsSQL = `
WITH RECURSIVE h AS (
	(SELECT d.sink, d.subject_id, d.event_seq FROM {{schema}}.deliveries d
	  WHERE d.status = 'pending'
	  ORDER BY d.sink, d.subject_id, d.event_seq LIMIT 1)
	UNION ALL
	SELECT n.* FROM h, LATERAL (
		SELECT d.sink, d.subject_id, d.event_seq FROM {{schema}}.deliveries d
		 WHERE d.status = 'pending' AND (d.sink, d.subject_id) > (h.sink, h.subject_id)
		 ORDER BY d.sink, d.subject_id, d.event_seq LIMIT 1) n
), c AS MATERIALIZED (
	SELECT d.event_seq, d.sink FROM h JOIN {{schema}}.deliveries d ON d.event_seq = h.event_seq AND d.sink = h.sink
	 WHERE d.status = 'pending'
	   AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= $1)
	   AND (d.lease_until IS NULL OR d.lease_until <= $1)
	 ORDER BY d.event_seq, d.sink
	 LIMIT $3
	 FOR UPDATE OF d SKIP LOCKED
)` + claimUpdate

// claimUpdate completes claimSQL and claimHeadsSQL: it leases the
// candidates c and returns them with their events. (Named up: in a WITH
// RECURSIVE list a CTE named d would be taken for the alias d.)
const claimUpdate = `, up AS (
	UPDATE {{schema}}.deliveries u SET lease_until = $2, fence = u.fence + 1
	  FROM c
	 WHERE u.event_seq = c.event_seq AND u.sink = c.sink
	RETURNING u.*
)
SELECT ` + deliveryCols + `
  FROM up d JOIN {{schema}}.events e ON e.seq = d.event_seq
 ORDER BY d.event_seq, d.sink`

// ClaimDeliveries implements verification.OutboxStore in one statement, or
// two when the first claimWindow pending deliveries hold fewer claimable
// ones than limit (claimSQL, then claimHeadsSQL for the rest). It selects
// the due deliveries that are the oldest pending one of their (sink,
// subject), lowest Seq first, with FOR UPDATE SKIP LOCKED, and sets their
// lease. Claimers in any number of processes share the work without
// waiting for each other: a delivery another claimer has locked is
// skipped, and one whose claim committed meanwhile is re-checked by
// PostgreSQL on the new row version (READ COMMITTED), whose lease now
// excludes it. So while a lease holds no other claimer gets the delivery,
// and no later delivery of its (sink, subject) either: it stays pending.
// The second statement sees the first one's leases (its own, or committed:
// outside a transaction each statement commits), so it cannot claim a
// delivery twice.
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]verification.Delivery, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return []verification.Delivery{}, nil
	}
	rows, err := s.q.Query(ctx, s.sql(claimSQL), tsIn(now), tsIn(leaseUntil), int64(limit))
	out, err := claimed(ctx, rows, err)
	if err != nil {
		return nil, err
	}
	return s.claimHeads(ctx, out, now, leaseUntil, limit)
}

// claimHeads completes a claim whose window (claimSQL) gave fewer than
// limit deliveries with claimHeadsSQL, and keeps got's (Seq, sink) order.
func (s *Store) claimHeads(ctx context.Context, got []verification.Delivery, now, leaseUntil time.Time, limit int) ([]verification.Delivery, error) {
	if len(got) >= limit {
		return got, nil
	}
	rows, err := s.q.Query(ctx, s.sql(claimHeadsSQL), tsIn(now), tsIn(leaseUntil), int64(limit-len(got)))
	more, err := claimed(ctx, rows, err)
	if err != nil {
		return nil, err
	}
	if len(more) == 0 {
		return got, nil
	}
	got = append(got, more...)
	slices.SortFunc(got, func(a, b verification.Delivery) int {
		return cmp.Or(cmp.Compare(a.Event.Seq, b.Event.Seq), strings.Compare(a.Sink, b.Sink))
	})
	return got, nil
}

// claimed reads the rows of claimSQL or claimHeadsSQL.
func claimed(ctx context.Context, rows pgx.Rows, err error) ([]verification.Delivery, error) {
	if err != nil {
		return nil, fail(ctx, "claim deliveries", err)
	}
	defer rows.Close()
	out := []verification.Delivery{}
	for rows.Next() {
		var r deliveryRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, fail(ctx, "claim deliveries", err)
		}
		out = append(out, r.delivery())
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "claim deliveries", err)
	}
	return out, nil
}

// UpdateDelivery implements verification.OutboxStore: a fenced write. The
// fence is in the UPDATE's WHERE, so a claim that commits while it waits
// for the row lock is seen (READ COMMITTED re-checks the new row version)
// and the write is refused with ErrConflict.
func (s *Store) UpdateDelivery(ctx context.Context, d verification.Delivery) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	const match = `event_seq = (SELECT seq FROM {{schema}}.events WHERE id = $1) AND sink = $2`
	tag, err := s.q.Exec(ctx, s.sql(`
		UPDATE {{schema}}.deliveries
		   SET status = $3, attempts = $4, next_attempt_at = $5, lease_until = $6, delivered_at = $7, last_error = $8
		 WHERE `+match+` AND fence = $9`),
		d.Event.ID, d.Sink, string(d.Status), d.Attempts, tsIn(d.NextAttemptAt), tsIn(d.LeaseUntil), tsIn(d.DeliveredAt), d.LastError, d.Fence)
	if err != nil {
		return fail(ctx, "update delivery", err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var exists bool
	err = s.q.QueryRow(ctx, s.sql(`SELECT EXISTS (SELECT 1 FROM {{schema}}.deliveries WHERE `+match+`)`), d.Event.ID, d.Sink).Scan(&exists)
	if err != nil {
		return fail(ctx, "update delivery", err)
	}
	if exists {
		return fmt.Errorf("postgres: delivery %s/%s was claimed again since fence %d: %w", d.Event.ID, d.Sink, d.Fence, verification.ErrConflict)
	}
	return notFound("delivery", d.Event.ID+"/"+d.Sink)
}

// updateDeliveriesSQL is UpdateDelivery's fenced write for a list of
// deliveries given as arrays (one element per delivery), in one statement.
// It returns, in the list's order, whether each write applied and whether
// the delivery exists (read in the statement's snapshot, before the
// update: a refused write of an existing delivery is a lost lease).
const updateDeliveriesSQL = `
WITH v AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::timestamptz[], $6::timestamptz[],
	                     $7::timestamptz[], $8::text[], $9::bigint[]) WITH ORDINALITY
	    AS v(id, sink, status, attempts, next_attempt_at, lease_until, delivered_at, last_error, fence, n)
), k AS (
	SELECT v.*, e.seq FROM v LEFT JOIN {{schema}}.events e ON e.id = v.id
), u AS (
	UPDATE {{schema}}.deliveries d
	   SET status = k.status, attempts = k.attempts, next_attempt_at = k.next_attempt_at, lease_until = k.lease_until,
	       delivered_at = k.delivered_at, last_error = k.last_error
	  FROM k
	 WHERE d.event_seq = k.seq AND d.sink = k.sink AND d.fence = k.fence
	RETURNING k.n
)
SELECT k.n, EXISTS (SELECT 1 FROM u WHERE u.n = k.n),
       EXISTS (SELECT 1 FROM {{schema}}.deliveries x WHERE x.event_seq = k.seq AND x.sink = k.sink)
  FROM k ORDER BY k.n`

// UpdateDeliveries implements verification.OutboxStore in one statement
// (one round trip however many deliveries; see updateDeliveriesSQL).
func (s *Store) UpdateDeliveries(ctx context.Context, ds []verification.Delivery) ([]error, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return []error{}, nil
	}
	rows, err := s.q.Query(ctx, s.sql(updateDeliveriesSQL), updateDeliveriesArgs(ds)...)
	return updated(ctx, ds, rows, err)
}

// updateDeliveriesArgs are updateDeliveriesSQL's arrays for ds.
func updateDeliveriesArgs(ds []verification.Delivery) []any {
	var (
		ids, sinks, statuses, lastErrors = make([]string, len(ds)), make([]string, len(ds)), make([]string, len(ds)), make([]string, len(ds))
		attempts                         = make([]int32, len(ds))
		next, lease, delivered           = make([]pgtype.Timestamptz, len(ds)), make([]pgtype.Timestamptz, len(ds)), make([]pgtype.Timestamptz, len(ds))
		fences                           = make([]int64, len(ds))
	)
	for i, d := range ds {
		ids[i], sinks[i], statuses[i], lastErrors[i] = d.Event.ID, d.Sink, string(d.Status), d.LastError
		attempts[i], fences[i] = int32(min(d.Attempts, math.MaxInt32)), d.Fence
		next[i], lease[i], delivered[i] = tsIn(d.NextAttemptAt), tsIn(d.LeaseUntil), tsIn(d.DeliveredAt)
	}
	return []any{ids, sinks, statuses, attempts, next, lease, delivered, lastErrors, fences}
}

// updated reads the rows of updateDeliveriesSQL for ds: one result per
// delivery, in ds's order.
func updated(ctx context.Context, ds []verification.Delivery, rows pgx.Rows, err error) ([]error, error) {
	if err != nil {
		return nil, fail(ctx, "update deliveries", err)
	}
	defer rows.Close()
	errs := make([]error, len(ds))
	for rows.Next() {
		var (
			n               int64
			applied, exists bool
		)
		if err := rows.Scan(&n, &applied, &exists); err != nil {
			return nil, fail(ctx, "update deliveries", err)
		}
		d := ds[n-1]
		switch {
		case applied:
		case exists:
			errs[n-1] = fmt.Errorf("postgres: delivery %s/%s was claimed again since fence %d: %w", d.Event.ID, d.Sink, d.Fence, verification.ErrConflict)
		default:
			errs[n-1] = notFound("delivery", d.Event.ID+"/"+d.Sink)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "update deliveries", err)
	}
	return errs, nil
}

// UpdateAndClaimDeliveries implements verification.OutboxStore in one
// round trip outside a transaction: a pgx batch of BEGIN (READ COMMITTED,
// as InTx), updateDeliveriesSQL and claimSQL (both on their generic plans)
// and COMMIT, sent at once and run in order on one connection, so the
// claim (a statement of its own, with its own snapshot) sees the outcomes
// written before it, and both keep their fencing and per-subject order. A
// failed statement skips the rest up to the end of the batch and the
// transaction is rolled back (the pool discards a connection left in a
// failed transaction). When the claim came back short, claimHeadsSQL
// follows on its own after the commit (see ClaimDeliveries). Inside a
// transaction the two calls run on it.
func (s *Store) UpdateAndClaimDeliveries(ctx context.Context, ds []verification.Delivery, now, leaseUntil time.Time, limit int) ([]error, []verification.Delivery, error) {
	if err := s.begin(ctx); err != nil {
		return nil, nil, err
	}
	if s.tx != nil {
		return verification.UpdateThenClaim(ctx, s, ds, now, leaseUntil, limit)
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	// Both statements run on their generic plans, as good as custom ones
	// (the outcomes are key lookups, and the window bounds the claim
	// whatever the arguments; TestClaimDeliveriesUsesIndexes checks both),
	// while planning them anew costs about as much as running them.
	b.Queue("SET LOCAL plan_cache_mode = force_generic_plan")
	b.Queue(s.sql(updateDeliveriesSQL), updateDeliveriesArgs(ds)...)
	b.Queue(s.sql(claimSQL), tsIn(now), tsIn(leaseUntil), int64(max(limit, 0)))
	b.Queue("COMMIT")
	br := s.db.pool.SendBatch(ctx, b)
	errs, out, err := batchResults(ctx, br, ds)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fail(ctx, "update and claim deliveries", cerr)
	}
	if err != nil {
		return nil, nil, err
	}
	// The outcomes are committed; a claim that came back short goes on
	// with the heads outside the window (a statement of its own).
	if out, err = s.claimHeads(ctx, out, now, leaseUntil, limit); err != nil {
		return nil, nil, err
	}
	return errs, out, nil
}

// batchResults reads UpdateAndClaimDeliveries' batch in order.
func batchResults(ctx context.Context, br pgx.BatchResults, ds []verification.Delivery) ([]error, []verification.Delivery, error) {
	if _, err := br.Exec(); err != nil {
		return nil, nil, fail(ctx, "begin transaction", err)
	}
	if _, err := br.Exec(); err != nil {
		return nil, nil, fail(ctx, "update deliveries", err)
	}
	rows, err := br.Query()
	errs, err := updated(ctx, ds, rows, err)
	if err != nil {
		return nil, nil, err
	}
	rows, err = br.Query()
	out, err := claimed(ctx, rows, err)
	if err != nil {
		return nil, nil, err
	}
	if _, err := br.Exec(); err != nil {
		return nil, nil, fail(ctx, "commit", err)
	}
	return errs, out, nil
}

// ListDeliveries implements verification.OutboxStore. Total and page come
// from one statement, so they agree.
func (s *Store) ListDeliveries(ctx context.Context, f verification.DeliveryFilter) (verification.Page[verification.Delivery], error) {
	if err := s.begin(ctx); err != nil {
		return verification.Page[verification.Delivery]{}, err
	}
	var c conds
	if f.Sink != "" {
		c.add("d.sink = ?", f.Sink)
	}
	if f.Status != "" {
		c.add("d.status = ?", string(f.Status))
	}
	if f.SubjectID != 0 {
		// The event's copy, so that events_subject_idx can serve it.
		c.add("e.subject_id = ?", f.SubjectID)
	}
	if f.EventID != "" {
		c.add("e.id = ?", f.EventID)
	}
	where := c.where()
	lim, off := c.param(int64(max(f.Limit, 0))), c.param(int64(max(f.Offset, 0)))
	from := `{{schema}}.deliveries d JOIN {{schema}}.events e ON e.seq = d.event_seq`
	rows, err := s.q.Query(ctx, s.sql(`
		SELECT t.n, l.* FROM (SELECT count(*) AS n FROM `+from+` WHERE `+where+`) t
		  LEFT JOIN LATERAL (
			SELECT `+deliveryCols+` FROM `+from+` WHERE `+where+`
			 ORDER BY d.event_seq, d.sink LIMIT `+lim+` OFFSET `+off+`) l ON true
		 ORDER BY l.event_seq, l.sink`), c.args...)
	if err != nil {
		return verification.Page[verification.Delivery]{}, fail(ctx, "list deliveries", err)
	}
	defer rows.Close()
	out := []verification.Delivery{}
	total := 0
	for rows.Next() {
		var (
			n int64
			r deliveryRow
		)
		if err := rows.Scan(append([]any{&n}, r.dest()...)...); err != nil {
			return verification.Page[verification.Delivery]{}, fail(ctx, "list deliveries", err)
		}
		total = int(n)
		if r.seq == nil {
			continue
		}
		out = append(out, r.delivery())
	}
	if err := rows.Err(); err != nil {
		return verification.Page[verification.Delivery]{}, fail(ctx, "list deliveries", err)
	}
	return verification.Page[verification.Delivery]{Total: total, Items: out}, nil
}
