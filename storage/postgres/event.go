package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/verification"
)

// AddEvent implements verification.EventStore. Seq comes from an identity
// column: it grows with every insert and, because every transition locks
// its subject first, in commit order among one subject's events. Across
// subjects a smaller Seq may commit after a larger one.
//
// The same statement gives the event a pending delivery for every
// registered sink (verification.OutboxStore), due when the event occurred,
// so the deliveries commit or roll back with the event.
func (s *Store) AddEvent(ctx context.Context, e *verification.Event) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	var seq int64
	err := s.q.QueryRow(ctx, s.sql(`
		WITH ev AS (
			INSERT INTO {{schema}}.events (id, subject_id, type, data, occurred_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO NOTHING
			RETURNING seq, subject_id, occurred_at
		), d AS (
			INSERT INTO {{schema}}.deliveries (event_seq, sink, subject_id, next_attempt_at)
			SELECT ev.seq, k.name, ev.subject_id, ev.occurred_at
			  FROM ev CROSS JOIN {{schema}}.sinks k
		)
		SELECT seq FROM ev`),
		e.ID, e.SubjectID, e.Type, jsonIn(e.Data), tsIn(e.OccurredAt)).Scan(&seq)
	if noRows(err) {
		return conflict("event", e.ID)
	}
	if err != nil {
		return fail(ctx, "add event", err)
	}
	e.Seq = seq
	return nil
}

// AddEvents implements verification.EventStore: one statement for all the
// events and their deliveries (arrays unnested in the slice's order, so
// the identity numbers them in that order). A repeated or used ID fails
// the statement (unique violation: ErrConflict), which inserts nothing.
func (s *Store) AddEvents(ctx context.Context, events []*verification.Event) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	if s.tx == nil {
		rows, err := s.q.Query(ctx, s.sql(addEventsSQL), addEventsArgs(events)...)
		return numberEvents(ctx, events, rows, err)
	}
	b := &pgx.Batch{}
	s.queueAddEvents(ctx, b, events)
	return readBatch(ctx, "add events", s.q.SendBatch(ctx, b), b.QueuedQueries)
}

// queueAddEvents queues AddEvents' statements on b, for a transaction,
// each with the Fn that reads its result. The insert runs on its generic
// plan, set for it alone: PostgreSQL estimates an unnested parameter at
// ten rows, so the plan for the real length always looked cheaper and
// every execution planned it anew (about 65 µs of a submission's
// PostgreSQL time, twice the insert itself), while both plans are the
// same inserts.
func (s *Store) queueAddEvents(ctx context.Context, b *pgx.Batch, events []*verification.Event) {
	set := func(br pgx.BatchResults) error {
		_, err := br.Exec()
		return fail(ctx, "add events", err)
	}
	b.Queue("SET LOCAL plan_cache_mode = force_generic_plan").Fn = set
	b.Queue(s.sql(addEventsSQL), addEventsArgs(events)...).Fn = func(br pgx.BatchResults) error {
		rows, err := br.Query()
		return numberEvents(ctx, events, rows, err)
	}
	b.Queue("SET LOCAL plan_cache_mode = DEFAULT").Fn = set
}

// addEventsArgs are addEventsSQL's arguments: the events' columns as
// arrays.
func addEventsArgs(events []*verification.Event) []any {
	ids := make([]string, len(events))
	subjects := make([]int64, len(events))
	types := make([]string, len(events))
	data := make([]*string, len(events))
	at := make([]pgtype.Timestamptz, len(events))
	for i, e := range events {
		ids[i], subjects[i], types[i], at[i] = e.ID, e.SubjectID, string(e.Type), tsIn(e.OccurredAt)
		if len(e.Data) > 0 {
			d := string(e.Data)
			data[i] = &d
		}
	}
	return []any{ids, subjects, types, data, at}
}

var _ verification.CommitWriter = (*Store)(nil)

// WriteAtCommit implements verification.CommitWriter: inside InTx the
// events (as AddEvents) and the subjects (as UpdateSubject) go out with
// COMMIT, in one round trip instead of three. A subject's update checks in
// its statement that it found the row (require_row, migration 0015), so
// that an absent subject aborts the transaction before COMMIT as
// UpdateSubject's ErrNotFound would. Outside a transaction they are
// written at once.
func (s *Store) WriteAtCommit(ctx context.Context, events []*verification.Event, subjects []verification.Subject) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	lt, ok := s.q.(*lazyTx)
	if !ok {
		return verification.AddThenUpdate(ctx, s, events, subjects)
	}
	b := &pgx.Batch{}
	if len(events) > 0 {
		s.queueAddEvents(ctx, b, events)
	}
	for _, sub := range subjects {
		id := sub.ID
		b.Queue(s.sql(updateSubjectCheckedSQL), updateSubjectArgs(sub)...).Fn = func(br pgx.BatchResults) error {
			_, err := br.Exec()
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "P0002" { // no_data_found, from require_row
				return notFound("subject", id)
			}
			return fail(ctx, "update subject", err)
		}
	}
	lt.atCommit(b.QueuedQueries...)
	return nil
}

// updateSubjectCheckedSQL is updateSubjectSQL failing with no_data_found
// (require_row) when no subject has the ID.
const updateSubjectCheckedSQL = `WITH u AS (` + updateSubjectSQL + ` RETURNING 1)
	SELECT {{schema}}.require_row(count(*)) FROM u`

// addEventsSQL inserts the events given as arrays (ids, subject ids,
// types, data, times), in the arrays' order, with a delivery per sink, and
// returns each event's id and seq.
const addEventsSQL = `
	WITH ev AS (
		INSERT INTO {{schema}}.events (id, subject_id, type, data, occurred_at)
		SELECT u.id, u.subject_id, u.type, u.data::json, u.occurred_at
		  FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[])
		       WITH ORDINALITY AS u(id, subject_id, type, data, occurred_at, ord)
		 ORDER BY u.ord
		RETURNING seq, id, subject_id, occurred_at
	), d AS (
		INSERT INTO {{schema}}.deliveries (event_seq, sink, subject_id, next_attempt_at)
		SELECT ev.seq, k.name, ev.subject_id, ev.occurred_at
		  FROM ev CROSS JOIN {{schema}}.sinks k
	)
	SELECT id, seq FROM ev`

// numberEvents sets each event's Seq from addEventsSQL's rows.
func numberEvents(ctx context.Context, events []*verification.Event, rows pgx.Rows, err error) error {
	if err != nil {
		return fail(ctx, "add events", err)
	}
	seqs := make(map[string]int64, len(events))
	var (
		id  string
		seq int64
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &seq}, func() error {
		seqs[id] = seq
		return nil
	})
	if err != nil {
		return fail(ctx, "add events", err)
	}
	for _, e := range events {
		e.Seq = seqs[e.ID]
	}
	return nil
}

// ListEvents implements verification.EventStore.
func (s *Store) ListEvents(ctx context.Context, f verification.EventFilter) ([]verification.Event, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	var c conds
	c.add("seq > ?", f.AfterSeq)
	if f.SubjectID != 0 {
		c.add("subject_id = ?", f.SubjectID)
	}
	limit := "ALL"
	if f.Limit > 0 {
		limit = c.param(int64(f.Limit))
	}
	rows, err := s.q.Query(ctx, s.sql(`
		SELECT seq, id, subject_id, type, data, occurred_at FROM {{schema}}.events
		 WHERE `+c.where()+` ORDER BY seq LIMIT `+limit), c.args...)
	if err != nil {
		return nil, fail(ctx, "list events", err)
	}
	out, err := collect(rows, func(row pgx.Row) (verification.Event, error) {
		var (
			e  verification.Event
			at pgtype.Timestamptz
		)
		err := row.Scan(&e.Seq, &e.ID, &e.SubjectID, &e.Type, &e.Data, &at)
		e.OccurredAt = tsOut(at)
		return e, err
	})
	return out, fail(ctx, "list events", err)
}
