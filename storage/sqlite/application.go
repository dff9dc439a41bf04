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

// stepJSON is how a wizard step is stored (times as unix microseconds, so
// they round-trip exactly like every other time).
type stepJSON struct {
	Requirement  string   `json:"requirement"`
	DocumentType int      `json:"documentType"`
	Files        []string `json:"files,omitempty"`
	At           int64    `json:"at"`
}

func encodeSteps(steps []verification.Step) (any, error) {
	if len(steps) == 0 {
		return nil, nil
	}
	out := make([]stepJSON, len(steps))
	for i, st := range steps {
		out[i] = stepJSON{Requirement: st.Requirement, DocumentType: st.DocumentType, Files: st.Files, At: micros(st.At)}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("sqlite: encoding application steps: %w", err)
	}
	return string(b), nil
}

func decodeSteps(text sql.NullString) ([]verification.Step, error) {
	if !text.Valid {
		return nil, nil
	}
	var in []stepJSON
	if err := json.Unmarshal([]byte(text.String), &in); err != nil {
		return nil, fmt.Errorf("decoding application steps: %w", err)
	}
	out := make([]verification.Step, len(in))
	for i, st := range in {
		out[i] = verification.Step{Requirement: st.Requirement, DocumentType: st.DocumentType, Files: st.Files, At: fromMicros(st.At)}
	}
	return out, nil
}

func scanApp(row scanner) (verification.Application, error) {
	var (
		a                                            verification.Application
		steps                                        sql.NullString
		createdAt, expiresAt, submittedAt, decidedAt int64
		claimedAt                                    int64
	)
	err := row.Scan(&a.ID, &a.UUID, &a.SubjectID, &a.Level, &a.Status, &steps, &a.Reason,
		&createdAt, &expiresAt, &submittedAt, &decidedAt, &a.DecidedBy, &a.AssignedTo, &claimedAt)
	if err != nil {
		return a, err
	}
	if a.Steps, err = decodeSteps(steps); err != nil {
		return a, err
	}
	a.CreatedAt, a.ExpiresAt = fromMicros(createdAt), fromMicros(expiresAt)
	a.SubmittedAt, a.DecidedAt = fromMicros(submittedAt), fromMicros(decidedAt)
	a.ClaimedAt = fromMicros(claimedAt)
	return a, nil
}

// CreateApplication implements verification.ApplicationStore.
func (s *Store) CreateApplication(ctx context.Context, a *verification.Application) error {
	steps, err := encodeSteps(a.Steps)
	if err != nil {
		return err
	}
	var id int64
	err = s.write(ctx, func(tx *Store) error {
		res, err := tx.conn(ctx).exec(stAppInsert, a.UUID, a.SubjectID, a.Level, string(a.Status), steps, a.Reason,
			micros(a.CreatedAt), micros(a.ExpiresAt), micros(a.SubmittedAt), micros(a.DecidedAt), a.DecidedBy,
			a.AssignedTo, micros(a.ClaimedAt))
		if err == nil {
			id, err = res.LastInsertId()
		}
		return s.insertErr(ctx, "create application", err, a.SubjectID)
	})
	if err != nil {
		return err
	}
	a.ID = id
	return nil
}

// GetApplication implements verification.ApplicationStore.
func (s *Store) GetApplication(ctx context.Context, id int64) (verification.Application, error) {
	return s.getApp(ctx, stAppGet, id)
}

// GetApplicationByUUID implements verification.ApplicationStore.
func (s *Store) GetApplicationByUUID(ctx context.Context, uuid string) (verification.Application, error) {
	return s.getApp(ctx, stAppByUUID, uuid)
}

func (s *Store) getApp(ctx context.Context, id stmtID, key any) (verification.Application, error) {
	if err := s.check(ctx); err != nil {
		return verification.Application{}, err
	}
	a, err := scanApp(s.conn(ctx).queryRow(id, key))
	if errors.Is(err, sql.ErrNoRows) {
		return verification.Application{}, notFound("application", key)
	}
	return a, s.c.mapErr(ctx, "get application", err)
}

// UpdateApplication implements verification.ApplicationStore.
func (s *Store) UpdateApplication(ctx context.Context, a verification.Application) error {
	steps, err := encodeSteps(a.Steps)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *Store) error {
		res, err := tx.conn(ctx).exec(stAppUpdate, a.Level, string(a.Status), steps, a.Reason,
			micros(a.ExpiresAt), micros(a.SubmittedAt), micros(a.DecidedAt), a.DecidedBy, a.AssignedTo, micros(a.ClaimedAt), a.ID)
		return s.rowsAffected(ctx, "update application", res, err, "application", a.ID)
	})
}

// ListApplications implements verification.ApplicationStore. The subject and
// status filters use indexes; deep offsets are plain OFFSET scans (the lists
// are per subject, or the expiry sweep's first page).
func (s *Store) ListApplications(ctx context.Context, f verification.ApplicationFilter) (verification.Page[verification.Application], error) {
	var where []string
	var args []any
	if f.SubjectID != 0 {
		where, args = append(where, "subject_id = ?"), append(args, f.SubjectID)
	}
	if f.Tags != nil {
		if len(f.Tags) == 0 {
			where = append(where, "0")
		} else {
			in, a := inList(f.Tags)
			where = append(where, "subject_id IN (SELECT s.id FROM {{prefix}}subjects s JOIN {{prefix}}tagset_tags t ON t.tagset_id = s.tagset_id WHERE t.tag IN ("+in+"))")
			args = append(args, a...)
		}
	}
	if len(f.Statuses) > 0 {
		in, a := inList(f.Statuses)
		for i := range a {
			a[i] = string(f.Statuses[i])
		}
		where, args = append(where, "status IN ("+in+")"), append(args, a...)
	}
	if !f.ExpiresBefore.IsZero() {
		where, args = append(where, "expires_at < ?"), append(args, micros(f.ExpiresBefore))
	}
	switch {
	case f.Assignee > 0:
		where, args = append(where, "assigned_to = ?"), append(args, f.Assignee)
	case f.Assignee == verification.Unassigned:
		where = append(where, "assigned_to = 0")
	}
	if f.HasTag != "" {
		where = append(where, "subject_id IN (SELECT s.id FROM {{prefix}}subjects s JOIN {{prefix}}tagset_tags t ON t.tagset_id = s.tagset_id WHERE t.tag = ?)")
		args = append(args, f.HasTag)
	}
	if len(f.Levels) > 0 {
		in, a := inList(f.Levels)
		where, args = append(where, "level IN ("+in+")"), append(args, a...)
	}
	if !f.SubmittedBefore.IsZero() {
		// A zero SubmittedAt (0) never matches: submitted_at > 0.
		where, args = append(where, "submitted_at > 0 AND submitted_at < ?"), append(args, micros(f.SubmittedBefore))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	order := "ASC"
	if f.Desc {
		order = "DESC"
	}
	var (
		out   = []verification.Application{}
		total int
	)
	err := s.snapshot(ctx, "list applications", func(cn conn) error {
		err := cn.queryRowSQL(cn.sql(`SELECT COUNT(*) FROM {{prefix}}applications`+cond), args...).Scan(&total)
		if err != nil {
			return s.c.mapErr(ctx, "count applications", err)
		}
		if f.Limit <= 0 || f.Offset >= total {
			return nil
		}
		rows, err := cn.querySQL(
			cn.sql(`SELECT `+appCols+` FROM {{prefix}}applications`+cond+` ORDER BY id `+order+` LIMIT ? OFFSET ?`),
			append(args, f.Limit, max(f.Offset, 0))...)
		out, err = collect(ctx, s.c, "list applications", rows, err, scanApp)
		return err
	})
	if err != nil {
		return verification.Page[verification.Application]{}, err
	}
	return verification.Page[verification.Application]{Total: total, Items: out}, nil
}
