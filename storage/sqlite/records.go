package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/openkyc/kyc/verification"
)

// collect scans every row with scan into a non-nil slice.
func collect[T any](ctx context.Context, c *core, op string, rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, c.mapErr(ctx, op, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, c.mapErr(ctx, op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, c.mapErr(ctx, op, err)
	}
	return out, nil
}

// rowsAffected returns notFound(what, key) when res changed no row.
func (s *Store) rowsAffected(ctx context.Context, op string, res sql.Result, err error, what string, key any) error {
	if err != nil {
		return s.c.mapErr(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.c.mapErr(ctx, op, err)
	}
	if n == 0 {
		return notFound(what, key)
	}
	return nil
}

// insertErr maps an insert's error: a missing subject (foreign key) is
// ErrNotFound, the rest as mapErr.
func (s *Store) insertErr(ctx context.Context, op string, err error, subjectID int64) error {
	if errCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return notFound("subject", subjectID)
	}
	return s.c.mapErr(ctx, op, err)
}

// ---- requirement states

func scanState(row scanner) (verification.RequirementState, error) {
	var (
		st        verification.RequirementState
		answer    []byte
		final     int64
		updatedAt int64
	)
	if err := row.Scan(&st.SubjectID, &st.Name, &st.Status, &answer, &st.Reason, &final, &st.Attempts, &updatedAt); err != nil {
		return st, err
	}
	if len(answer) > 0 {
		st.Answer = json.RawMessage(answer)
	}
	st.Final = final != 0
	st.UpdatedAt = fromMicros(updatedAt)
	return st, nil
}

// ListRequirementStates implements verification.RequirementStore.
func (s *Store) ListRequirementStates(ctx context.Context, subjectID int64) ([]verification.RequirementState, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.conn(ctx).query(stStateList, subjectID)
	return collect(ctx, s.c, "list requirement states", rows, err, scanState)
}

// GetRequirementState implements verification.RequirementStore.
func (s *Store) GetRequirementState(ctx context.Context, subjectID int64, name string) (verification.RequirementState, error) {
	if err := s.check(ctx); err != nil {
		return verification.RequirementState{}, err
	}
	st, err := scanState(s.conn(ctx).queryRow(stStateGet, subjectID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return verification.RequirementState{}, notFound("requirement state", name)
	}
	return st, s.c.mapErr(ctx, "get requirement state", err)
}

// PutRequirementState implements verification.RequirementStore.
func (s *Store) PutRequirementState(ctx context.Context, st verification.RequirementState) error {
	return s.write(ctx, func(tx *Store) error {
		_, err := tx.conn(ctx).exec(stStatePut, st.SubjectID, st.Name, string(st.Status),
			rawOrNil(st.Answer), st.Reason, boolInt(st.Final), st.Attempts, micros(st.UpdatedAt))
		return s.c.mapErr(ctx, "put requirement state", err)
	})
}

// ---- reviews

func scanReview(row scanner) (verification.Review, error) {
	var (
		r          verification.Review
		final      int64
		createTime int64
	)
	if err := row.Scan(&r.ID, &r.SubjectID, &r.Requirement, &r.Decision, &r.Reason, &final, &r.AdminID, &createTime); err != nil {
		return r, err
	}
	r.Final = final != 0
	r.CreatedAt = fromMicros(createTime)
	return r, nil
}

// AddReview implements verification.ReviewStore.
func (s *Store) AddReview(ctx context.Context, r *verification.Review) error {
	var id int64
	err := s.write(ctx, func(tx *Store) error {
		res, err := tx.conn(ctx).exec(stReviewInsert, r.SubjectID, r.Requirement, string(r.Decision),
			r.Reason, boolInt(r.Final), r.AdminID, micros(r.CreatedAt))
		if err == nil {
			id, err = res.LastInsertId()
		}
		return s.c.mapErr(ctx, "add review", err)
	})
	if err != nil {
		return err
	}
	r.ID = id
	return nil
}

// ListReviews implements verification.ReviewStore.
func (s *Store) ListReviews(ctx context.Context, subjectID int64) ([]verification.Review, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.conn(ctx).query(stReviewList, subjectID)
	return collect(ctx, s.c, "list reviews", rows, err, scanReview)
}

// ---- applications

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

// ---- files

func scanFile(row scanner) (verification.File, error) {
	var (
		f                    verification.File
		createdAt, decidedAt int64
	)
	err := row.Scan(&f.ID, &f.SubjectID, &f.BlobKey, &f.ContentType, &f.Size, &f.SHA256,
		&f.DocumentType, &f.Side, &f.Status, &f.Reason, &createdAt, &decidedAt)
	if err != nil {
		return f, err
	}
	f.CreatedAt, f.DecidedAt = fromMicros(createdAt), fromMicros(decidedAt)
	return f, nil
}

// CreateFile implements verification.FileStore.
func (s *Store) CreateFile(ctx context.Context, f verification.File) error {
	return s.write(ctx, func(tx *Store) error {
		_, err := tx.conn(ctx).exec(stFileInsert, f.ID, f.SubjectID, f.BlobKey, f.ContentType, f.Size, f.SHA256,
			f.DocumentType, f.Side, string(f.Status), f.Reason, micros(f.CreatedAt), micros(f.DecidedAt))
		return s.insertErr(ctx, "create file", err, f.SubjectID)
	})
}

// GetFile implements verification.FileStore.
func (s *Store) GetFile(ctx context.Context, id string) (verification.File, error) {
	if err := s.check(ctx); err != nil {
		return verification.File{}, err
	}
	f, err := scanFile(s.conn(ctx).queryRow(stFileGet, id))
	if errors.Is(err, sql.ErrNoRows) {
		return verification.File{}, notFound("file", id)
	}
	return f, s.c.mapErr(ctx, "get file", err)
}

// UpdateFile implements verification.FileStore.
func (s *Store) UpdateFile(ctx context.Context, f verification.File) error {
	return s.write(ctx, func(tx *Store) error {
		res, err := tx.conn(ctx).exec(stFileUpdate, f.BlobKey, f.ContentType, f.Size, f.SHA256,
			f.DocumentType, f.Side, string(f.Status), f.Reason, micros(f.DecidedAt), f.ID)
		return s.rowsAffected(ctx, "update file", res, err, "file", f.ID)
	})
}

// DeleteFile implements verification.FileStore. With secure_delete on, the
// row's bytes are overwritten in the database file; Checkpoint clears the
// log.
func (s *Store) DeleteFile(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *Store) error {
		res, err := tx.conn(ctx).exec(stFileDelete, id)
		return s.rowsAffected(ctx, "delete file", res, err, "file", id)
	})
}

// ListFiles implements verification.FileStore.
func (s *Store) ListFiles(ctx context.Context, f verification.FileFilter) ([]verification.File, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	add := func(cond string, arg any) { where, args = append(where, cond), append(args, arg) }
	if f.SubjectID != 0 {
		add("subject_id = ?", f.SubjectID)
	}
	if f.DocumentType != "" {
		add("document_type = ?", f.DocumentType)
	}
	if f.Side != "" {
		add("side = ?", f.Side)
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	if !f.DecidedBefore.IsZero() {
		add("decided_at <> 0 AND decided_at < ?", micros(f.DecidedBefore))
	}
	if f.BlobKeys != nil {
		if len(f.BlobKeys) == 0 {
			where = append(where, "0")
		} else {
			where = append(where, "blob_key IN (?"+strings.Repeat(", ?", len(f.BlobKeys)-1)+")")
			for _, k := range f.BlobKeys {
				args = append(args, k)
			}
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	cn := s.conn(ctx)
	rows, err := cn.querySQL(cn.sql(`SELECT `+fileCols+` FROM {{prefix}}files`+cond+` ORDER BY created_at, id`), args...)
	return collect(ctx, s.c, "list files", rows, err, scanFile)
}

// ---- identity-verification sessions

func scanSession(row scanner) (verification.IDSession, error) {
	var (
		x         verification.IDSession
		createdAt int64
	)
	err := row.Scan(&x.ID, &x.SubjectID, &x.Provider, &x.Status, &createdAt, &x.FrontFileID, &x.BackFileID, &x.FaceFileID)
	x.CreatedAt = fromMicros(createdAt)
	return x, err
}

// AddIDSession implements verification.IDSessionStore.
func (s *Store) AddIDSession(ctx context.Context, x verification.IDSession) error {
	return s.write(ctx, func(tx *Store) error {
		_, err := tx.conn(ctx).exec(stSessionInsert, x.ID, x.SubjectID, x.Provider, x.Status,
			micros(x.CreatedAt), x.FrontFileID, x.BackFileID, x.FaceFileID)
		return s.insertErr(ctx, "add id session", err, x.SubjectID)
	})
}

// ListIDSessions implements verification.IDSessionStore.
func (s *Store) ListIDSessions(ctx context.Context, subjectID int64) ([]verification.IDSession, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.conn(ctx).query(stSessionList, subjectID)
	return collect(ctx, s.c, "list id sessions", rows, err, scanSession)
}

// UpdateIDSession implements verification.IDSessionStore.
func (s *Store) UpdateIDSession(ctx context.Context, x verification.IDSession) error {
	return s.write(ctx, func(tx *Store) error {
		res, err := tx.conn(ctx).exec(stSessionUpdate, x.Provider, x.Status, micros(x.CreatedAt),
			x.FrontFileID, x.BackFileID, x.FaceFileID, x.ID)
		return s.rowsAffected(ctx, "update id session", res, err, "id session", x.ID)
	})
}

// ---- events

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
	var seq int64
	err := s.write(ctx, func(tx *Store) error {
		res, err := tx.conn(ctx).exec(stEventInsert, e.ID, e.SubjectID, string(e.Type),
			rawOrNil(e.Data), micros(e.OccurredAt))
		if err == nil {
			seq, err = res.LastInsertId()
		}
		return s.c.mapErr(ctx, "add event", err)
	})
	if err != nil {
		return err
	}
	e.Seq = seq
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
		rows *sql.Rows
		err  error
	)
	if f.SubjectID != 0 {
		rows, err = cn.query(stEventListSubject, f.SubjectID, f.AfterSeq, limit)
	} else {
		rows, err = cn.query(stEventListAll, f.AfterSeq, limit)
	}
	return collect(ctx, s.c, "list events", rows, err, scanEvent)
}
