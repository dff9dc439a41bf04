package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/verification"
)

var _ verification.AuditStore = (*Store)(nil)

// auditBatch is how many entries ScanAudit reads per query.
const auditBatch = 512

const auditCols = `seq, at, actor_kind, actor_id, action, subject_id, entity, entity_id, summary, prev_hash, hash`

func scanAudit(row interface{ Scan(...any) error }) (verification.AuditEntry, error) {
	var (
		e       verification.AuditEntry
		at      pgtype.Timestamptz
		kind    string
		action  string
		summary string
	)
	if err := row.Scan(&e.Seq, &at, &kind, &e.Actor.ID, &action, &e.SubjectID, &e.Entity, &e.EntityID, &summary, &e.PrevHash, &e.Hash); err != nil {
		return e, err
	}
	e.At, e.Actor.Kind, e.Action = tsOut(at), verification.ActorKind(kind), verification.AuditAction(action)
	if summary != "" && summary != "{}" {
		if err := json.Unmarshal([]byte(summary), &e.Summary); err != nil {
			return e, fmt.Errorf("audit entry %d: summary: %w", e.Seq, err)
		}
	}
	return e, nil
}

// LastAudit implements verification.AuditStore. Inside a transaction it
// first locks the head (the counters row 'audit', FOR UPDATE), then reads
// the head's entry in a second statement: under READ COMMITTED that
// statement's snapshot includes the entry of the transaction it waited for.
func (s *Store) LastAudit(ctx context.Context) (verification.AuditEntry, error) {
	if err := s.begin(ctx); err != nil {
		return verification.AuditEntry{}, err
	}
	head := `SELECT value FROM {{schema}}.counters WHERE name = 'audit'`
	if s.tx != nil {
		head += ` FOR UPDATE`
	}
	var seq int64
	if err := s.q.QueryRow(ctx, s.sql(head)).Scan(&seq); err != nil {
		return verification.AuditEntry{}, fail(ctx, "lock the audit head", err)
	}
	if seq == 0 {
		return verification.AuditEntry{}, notFound("audit entry", "last")
	}
	e, err := scanAudit(s.q.QueryRow(ctx, s.sql(`SELECT `+auditCols+` FROM {{schema}}.audit WHERE seq = $1`), seq))
	if noRows(err) {
		return verification.AuditEntry{}, notFound("audit entry", seq)
	}
	return e, fail(ctx, "last audit entry", err)
}

// AppendAudit implements verification.AuditStore: one statement bumps the
// head only if e.Seq is the next seq, and inserts the entry only then.
func (s *Store) AppendAudit(ctx context.Context, e verification.AuditEntry) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	summary := []byte("{}")
	if e.Summary != nil {
		b, err := json.Marshal(e.Summary)
		if err != nil {
			return fmt.Errorf("postgres: audit summary: %w", err)
		}
		summary = b
	}
	tag, err := s.q.Exec(ctx, s.sql(`
		WITH n AS (
			UPDATE {{schema}}.counters SET value = value + 1
			 WHERE name = 'audit' AND value + 1 = $1
			RETURNING value
		)
		INSERT INTO {{schema}}.audit (`+auditCols+`)
		SELECT n.value, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM n`),
		e.Seq, tsIn(e.At), string(e.Actor.Kind), e.Actor.ID, string(e.Action), e.SubjectID, e.Entity, e.EntityID,
		string(summary), e.PrevHash, e.Hash)
	if err != nil {
		return fail(ctx, "append audit entry", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("postgres: audit entry %d is not the next one: %w", e.Seq, verification.ErrConflict)
	}
	return nil
}

// ScanAudit implements verification.AuditStore: one keyset query (seq > the
// last seen) per batch of auditBatch rows, each read completely before fn
// runs.
func (s *Store) ScanAudit(ctx context.Context, f verification.AuditFilter, fn func(verification.AuditEntry) error) error {
	where, args := auditWhere(f)
	if where == "" {
		return nil // an empty tag list matches nothing
	}
	n := len(args)
	text := s.sql(`SELECT ` + auditCols + ` FROM {{schema}}.audit WHERE seq > $` + strconv.Itoa(n+1) + where +
		` ORDER BY seq LIMIT $` + strconv.Itoa(n+2))
	batch := make([]verification.AuditEntry, 0, auditBatch)
	return verification.ScanAuditPages(ctx, f, auditBatch, func(after int64, limit int) ([]verification.AuditEntry, error) {
		if err := s.begin(ctx); err != nil {
			return nil, err
		}
		rows, err := s.q.Query(ctx, text, append(append(args[:n:n], after), limit)...)
		if err != nil {
			return nil, fail(ctx, "scan audit", err)
		}
		defer rows.Close()
		batch = batch[:0]
		for rows.Next() {
			e, err := scanAudit(rows)
			if err != nil {
				return nil, fail(ctx, "scan audit", err)
			}
			batch = append(batch, e)
		}
		if err := rows.Err(); err != nil {
			return nil, fail(ctx, "scan audit", err)
		}
		return batch, nil
	}, fn)
}

// auditWhere returns the filter's conditions (each starting with AND, with
// parameters $1..$n) and their n arguments; "" when the filter matches
// nothing.
func auditWhere(f verification.AuditFilter) (string, []any) {
	var b strings.Builder
	b.WriteString(" ")
	var args []any
	cond := func(c string, a any) {
		args = append(args, a)
		b.WriteString(" AND " + strings.ReplaceAll(c, "$?", "$"+strconv.Itoa(len(args))))
	}
	if f.SubjectID != 0 {
		cond("subject_id = $?", f.SubjectID)
	}
	if f.Tags != nil {
		if len(f.Tags) == 0 {
			return "", nil
		}
		cond(`subject_id IN (SELECT st.subject_id FROM {{schema}}.subject_tags st WHERE st.tag = ANY ($?::text[]))`, f.Tags)
	}
	if f.ActorKind != "" {
		cond("actor_kind = $?", string(f.ActorKind))
	}
	if f.ActorID != "" {
		cond("actor_id = $?", f.ActorID)
	}
	if f.Action != "" {
		cond("action = $?", string(f.Action))
	}
	if !f.Since.IsZero() {
		cond("at >= $?", tsIn(f.Since))
	}
	if !f.Until.IsZero() {
		cond("at < $?", tsIn(f.Until))
	}
	return b.String(), args
}
