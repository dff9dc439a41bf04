package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/openkyc/kyc/verification"
)

var _ verification.AuditStore = (*Store)(nil)

// auditBatch is how many entries ScanAudit reads per query.
const auditBatch = 256

const auditCols = `seq, at, actor_kind, actor_id, action, subject_id, entity, entity_id, summary, prev_hash, hash`

func scanAudit(row scanner) (verification.AuditEntry, error) {
	var (
		e       verification.AuditEntry
		at      int64
		summary string
	)
	if err := row.Scan(&e.Seq, &at, &e.Actor.Kind, &e.Actor.ID, &e.Action, &e.SubjectID, &e.Entity, &e.EntityID, &summary, &e.PrevHash, &e.Hash); err != nil {
		return e, err
	}
	e.At = fromMicros(at)
	if summary != "" && summary != "{}" {
		if err := json.Unmarshal([]byte(summary), &e.Summary); err != nil {
			return e, fmt.Errorf("audit entry %d: summary: %w", e.Seq, err)
		}
	}
	return e, nil
}

// LastAudit implements verification.AuditStore. Inside a transaction the
// store already holds the database's write lock (BEGIN IMMEDIATE), so the
// head cannot move until it ends.
func (s *Store) LastAudit(ctx context.Context) (verification.AuditEntry, error) {
	if err := s.check(ctx); err != nil {
		return verification.AuditEntry{}, err
	}
	cn := s.conn(ctx)
	e, err := scanAudit(cn.queryRowSQL(cn.sql(`SELECT ` + auditCols + ` FROM {{prefix}}audit ORDER BY seq DESC LIMIT 1`)))
	if errors.Is(err, sql.ErrNoRows) {
		return e, notFound("audit entry", "last")
	}
	return e, s.c.mapErr(ctx, "last audit entry", err)
}

// AppendAudit implements verification.AuditStore: the insert happens only
// if e.Seq is the next one.
func (s *Store) AppendAudit(ctx context.Context, e verification.AuditEntry) error {
	summary, err := json.Marshal(e.Summary)
	if err != nil {
		return fmt.Errorf("sqlite: audit summary: %w", err)
	}
	if e.Summary == nil {
		summary = []byte("{}")
	}
	return s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		res, err := cn.q.ExecContext(cn.ctx, cn.sql(`INSERT INTO {{prefix}}audit (`+auditCols+`)
			SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11
			 WHERE ?1 = (SELECT COALESCE(MAX(seq), 0) + 1 FROM {{prefix}}audit)`),
			e.Seq, micros(e.At), string(e.Actor.Kind), e.Actor.ID, string(e.Action), e.SubjectID, e.Entity, e.EntityID,
			string(summary), e.PrevHash, e.Hash)
		if err != nil {
			return s.c.mapErr(ctx, "append audit entry", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("sqlite: audit entry %d is not the next one: %w", e.Seq, verification.ErrConflict)
		}
		return nil
	})
}

// ScanAudit implements verification.AuditStore: one keyset query (seq > the
// last seen) per batch of auditBatch rows, each read completely before fn
// runs.
func (s *Store) ScanAudit(ctx context.Context, f verification.AuditFilter, fn func(verification.AuditEntry) error) error {
	where, args := auditWhere(f)
	if where == "" {
		return nil // an empty tag list matches nothing
	}
	text := `SELECT ` + auditCols + ` FROM {{prefix}}audit WHERE seq > ? ` + where + ` ORDER BY seq LIMIT ?`
	return verification.ScanAuditPages(ctx, f, auditBatch, func(after int64, limit int) ([]verification.AuditEntry, error) {
		if err := s.check(ctx); err != nil {
			return nil, err
		}
		cn := s.conn(ctx)
		rows, err := cn.querySQL(cn.sql(text), append(append([]any{after}, args...), limit)...)
		return collect(ctx, s.c, "scan audit", rows, err, scanAudit)
	}, fn)
}

// auditWhere returns the filter's conditions (each starting with AND) and
// their arguments; "" when the filter matches nothing.
func auditWhere(f verification.AuditFilter) (string, []any) {
	var b strings.Builder
	b.WriteString(" ")
	var args []any
	cond := func(c string, a ...any) {
		b.WriteString(" AND " + c)
		args = append(args, a...)
	}
	if f.SubjectID != 0 {
		cond("subject_id = ?", f.SubjectID)
	}
	if f.Tags != nil {
		tags := dedupTags(f.Tags)
		if len(tags) == 0 {
			return "", nil
		}
		in, targs := inList(tags)
		cond(`subject_id IN (SELECT s.id FROM {{prefix}}subjects s JOIN {{prefix}}tagset_tags tt ON tt.tagset_id = s.tagset_id WHERE tt.tag IN (`+in+`))`, targs...)
	}
	if f.ActorKind != "" {
		cond("actor_kind = ?", string(f.ActorKind))
	}
	if f.ActorID != "" {
		cond("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		cond("action = ?", string(f.Action))
	}
	if !f.Since.IsZero() {
		cond("at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		cond("at < ?", micros(f.Until))
	}
	return b.String(), args
}
