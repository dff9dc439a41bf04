package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/openkyc/kyc/verification"
)

func scanEvent(row scanner) (verification.Event, error) {
	var (
		e          verification.Event
		data       []byte
		occurredAt int64
	)
	if err := row.Scan(&e.Seq, &e.ID, &e.SubjectID, &e.Type, &data, &occurredAt); err != nil {
		return e, err
	}
	if len(data) > 0 {
		e.Data = json.RawMessage(data)
	}
	e.OccurredAt = fromMicros(occurredAt)
	return e, nil
}

// AddEvent implements verification.EventStore. Seq is the table's rowid,
// MAX + 1: with one writer, increasing in commit order, and never reused
// (the schema refuses to delete the newest event).
func (s *Store) AddEvent(ctx context.Context, e *verification.Event) error {
	return s.AddEvents(ctx, []*verification.Event{e})
}

// AddEvents implements verification.EventStore: the events go in two at a
// time, each pair one statement (a failed statement inserts none of its
// rows, and outside a transaction the whole call is one). The rowids of a
// statement's rows are consecutive (MAX + 1 each, one writer), so the
// second row's is the last insert id and the first's one less.
func (s *Store) AddEvents(ctx context.Context, events []*verification.Event) error {
	seqs := make([]int64, len(events))
	err := s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		for i := 0; i < len(events); i += 2 {
			var (
				res sql.Result
				err error
			)
			a := events[i]
			if i+1 == len(events) {
				res, err = cn.exec(stEventInsert, a.ID, a.SubjectID, string(a.Type), rawOrNil(a.Data), micros(a.OccurredAt))
			} else {
				b := events[i+1]
				res, err = cn.exec(stEventInsertPair,
					a.ID, a.SubjectID, string(a.Type), rawOrNil(a.Data), micros(a.OccurredAt),
					b.ID, b.SubjectID, string(b.Type), rawOrNil(b.Data), micros(b.OccurredAt))
			}
			var last int64
			if err == nil {
				last, err = res.LastInsertId()
			}
			if err != nil {
				return s.c.mapErr(ctx, "add events", err)
			}
			if i+1 < len(events) {
				seqs[i], seqs[i+1] = last-1, last
			} else {
				seqs[i] = last
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, e := range events {
		e.Seq = seqs[i]
	}
	return nil
}

// ListEvents implements verification.EventStore. Events are read in seq
// order from AfterSeq; with a SubjectID the walk reads the other subjects'
// events too (there is no subject index, see migration 0001).
func (s *Store) ListEvents(ctx context.Context, f verification.EventFilter) ([]verification.Event, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	limit := int64(f.Limit)
	if limit <= 0 {
		limit = -1 // no limit
	}
	cn := s.conn(ctx)
	var (
		rows rowSet
		err  error
	)
	if f.SubjectID != 0 {
		rows, err = cn.query(stEventListSubject, f.SubjectID, f.AfterSeq, limit)
	} else {
		rows, err = cn.query(stEventListAll, f.AfterSeq, limit)
	}
	return collect(ctx, s.c, "list events", rows, err, scanEvent)
}
