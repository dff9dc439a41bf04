package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/verification"
)

// stepJSON is a wizard step's form in applications.steps.
type stepJSON struct {
	Requirement  string    `json:"requirement"`
	DocumentType int       `json:"documentType"`
	Files        []string  `json:"files"`
	At           time.Time `json:"at"`
}

// stepsIn encodes steps as a JSON array; nil is NULL.
func stepsIn(steps []verification.Step) (any, error) {
	if steps == nil {
		return nil, nil
	}
	out := make([]stepJSON, len(steps))
	for i, st := range steps {
		out[i] = stepJSON{Requirement: st.Requirement, DocumentType: st.DocumentType, Files: st.Files, At: st.At.UTC()}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("postgres: encode application steps: %w", err)
	}
	return json.RawMessage(b), nil
}

// stepsOut decodes applications.steps; NULL is nil.
func stepsOut(b []byte) ([]verification.Step, error) {
	if b == nil {
		return nil, nil
	}
	var in []stepJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("postgres: decode application steps: %w", err)
	}
	out := make([]verification.Step, len(in))
	for i, st := range in {
		at := st.At.UTC()
		if st.At.IsZero() {
			at = time.Time{}
		}
		out[i] = verification.Step{Requirement: st.Requirement, DocumentType: st.DocumentType, Files: st.Files, At: at}
	}
	return out, nil
}

const appCols = `id, uuid, subject_id, level, status, steps, reason, created_at, expires_at, submitted_at, decided_at, decided_by, assigned_to, claimed_at`

// appRow receives an application's columns (nullable for the listing's
// LEFT JOIN).
type appRow struct {
	id, subjectID, decidedBy, assignedTo   *int64
	uuid, status, reason                   *string
	level                                  *int
	steps                                  []byte
	created, expires, submitted, decidedAt pgtype.Timestamptz
	claimedAt                              pgtype.Timestamptz
}

func (r *appRow) dest() []any {
	return []any{&r.id, &r.uuid, &r.subjectID, &r.level, &r.status, &r.steps, &r.reason,
		&r.created, &r.expires, &r.submitted, &r.decidedAt, &r.decidedBy, &r.assignedTo, &r.claimedAt}
}

func (r *appRow) app() (verification.Application, error) {
	steps, err := stepsOut(r.steps)
	if err != nil {
		return verification.Application{}, err
	}
	return verification.Application{
		ID: *r.id, UUID: *r.uuid, SubjectID: *r.subjectID, Level: *r.level,
		Status: verification.ApplicationStatus(*r.status), Steps: steps, Reason: *r.reason,
		CreatedAt: tsOut(r.created), ExpiresAt: tsOut(r.expires), SubmittedAt: tsOut(r.submitted),
		DecidedAt: tsOut(r.decidedAt), DecidedBy: *r.decidedBy, AssignedTo: *r.assignedTo, ClaimedAt: tsOut(r.claimedAt),
	}, nil
}

// CreateApplication implements verification.ApplicationStore: ErrConflict
// for a used UUID, ErrNotFound for an unknown subject. Neither aborts a
// surrounding transaction.
func (s *Store) CreateApplication(ctx context.Context, a *verification.Application) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	steps, err := stepsIn(a.Steps)
	if err != nil {
		return err
	}
	var id int64
	err = s.q.QueryRow(ctx, s.sql(`
		INSERT INTO {{schema}}.applications (uuid, subject_id, level, status, steps, reason, created_at, expires_at, submitted_at, decided_at, decided_by, assigned_to, claimed_at)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13
		 WHERE EXISTS (SELECT 1 FROM {{schema}}.subjects WHERE id = $2)
		ON CONFLICT (uuid) DO NOTHING
		RETURNING id`),
		a.UUID, a.SubjectID, a.Level, a.Status, steps, a.Reason, tsIn(a.CreatedAt), tsIn(a.ExpiresAt),
		tsIn(a.SubmittedAt), tsIn(a.DecidedAt), a.DecidedBy, a.AssignedTo, tsIn(a.ClaimedAt)).Scan(&id)
	if noRows(err) {
		return s.insertRefused(ctx, `SELECT EXISTS (SELECT 1 FROM {{schema}}.applications WHERE uuid = $1)`, a.UUID, "application uuid", a.SubjectID)
	}
	if err != nil {
		return fail(ctx, "create application", err)
	}
	a.ID = id
	return nil
}

// insertRefused explains an INSERT ... WHERE EXISTS (subject) ON CONFLICT DO
// NOTHING that inserted nothing: ErrConflict if the key is taken (exists
// answers that), else ErrNotFound for the subject.
func (s *Store) insertRefused(ctx context.Context, exists string, key any, what string, subjectID int64) error {
	var taken bool
	if err := s.q.QueryRow(ctx, s.sql(exists), key).Scan(&taken); err != nil {
		return fail(ctx, "create "+what, err)
	}
	if taken {
		return conflict(what, key)
	}
	return notFound("subject", subjectID)
}

// GetApplication implements verification.ApplicationStore.
func (s *Store) GetApplication(ctx context.Context, id int64) (verification.Application, error) {
	return s.getApplication(ctx, `id = $1`, id)
}

// GetApplicationByUUID implements verification.ApplicationStore.
func (s *Store) GetApplicationByUUID(ctx context.Context, uuid string) (verification.Application, error) {
	return s.getApplication(ctx, `uuid = $1`, uuid)
}

func (s *Store) getApplication(ctx context.Context, where string, key any) (verification.Application, error) {
	if err := s.begin(ctx); err != nil {
		return verification.Application{}, err
	}
	var r appRow
	err := s.q.QueryRow(ctx, s.sql(`SELECT `+appCols+` FROM {{schema}}.applications WHERE `+where), key).Scan(r.dest()...)
	if noRows(err) {
		return verification.Application{}, notFound("application", key)
	}
	if err != nil {
		return verification.Application{}, fail(ctx, "get application", err)
	}
	return r.app()
}

// UpdateApplication implements verification.ApplicationStore.
func (s *Store) UpdateApplication(ctx context.Context, a verification.Application) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	steps, err := stepsIn(a.Steps)
	if err != nil {
		return err
	}
	tag, err := s.q.Exec(ctx, s.sql(`
		UPDATE {{schema}}.applications
		   SET level = $2, status = $3, steps = $4, reason = $5, expires_at = $6,
		       submitted_at = $7, decided_at = $8, decided_by = $9, assigned_to = $10, claimed_at = $11
		 WHERE id = $1`),
		a.ID, a.Level, a.Status, steps, a.Reason, tsIn(a.ExpiresAt), tsIn(a.SubmittedAt), tsIn(a.DecidedAt), a.DecidedBy,
		a.AssignedTo, tsIn(a.ClaimedAt))
	if err != nil {
		return fail(ctx, "update application", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("application", a.ID)
	}
	return nil
}

// conds builds a WHERE clause with numbered parameters.
type conds struct {
	list []string
	args []any
}

// add appends a condition; each ? in cond becomes the parameter for arg.
func (c *conds) add(cond string, arg any) {
	c.args = append(c.args, arg)
	c.list = append(c.list, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(c.args))))
}

// param adds arg and returns its placeholder.
func (c *conds) param(arg any) string {
	c.args = append(c.args, arg)
	return "$" + strconv.Itoa(len(c.args))
}

func (c *conds) where() string {
	if len(c.list) == 0 {
		return "TRUE"
	}
	return strings.Join(c.list, " AND ")
}

// ListApplications implements verification.ApplicationStore. Total and page
// come from one statement, so they agree.
func (s *Store) ListApplications(ctx context.Context, f verification.ApplicationFilter) (verification.Page[verification.Application], error) {
	if err := s.begin(ctx); err != nil {
		return verification.Page[verification.Application]{}, err
	}
	var c conds
	if f.SubjectID != 0 {
		c.add("subject_id = ?", f.SubjectID)
	}
	if f.Tags != nil {
		c.add("subject_id IN (SELECT subject_id FROM {{schema}}.subject_tags WHERE tag = ANY (?))", f.Tags)
	}
	if len(f.Statuses) > 0 {
		st := make([]string, len(f.Statuses))
		for i, x := range f.Statuses {
			st[i] = string(x)
		}
		c.add("status = ANY (?)", st)
	}
	if !f.ExpiresBefore.IsZero() {
		// A zero ExpiresAt (NULL) never matches.
		c.add("expires_at < ?", f.ExpiresBefore)
	}
	switch {
	case f.Assignee > 0:
		c.add("assigned_to = ?", f.Assignee)
	case f.Assignee == verification.Unassigned:
		c.list = append(c.list, "assigned_to = 0")
	}
	if f.HasTag != "" {
		c.add("subject_id IN (SELECT subject_id FROM {{schema}}.subject_tags WHERE tag = ?)", f.HasTag)
	}
	if len(f.Levels) > 0 {
		c.add("level = ANY (?)", f.Levels)
	}
	if !f.SubmittedBefore.IsZero() {
		// A zero SubmittedAt (NULL) never matches.
		c.add("submitted_at < ?", f.SubmittedBefore)
	}
	where := c.where()
	order := "ASC"
	if f.Desc {
		order = "DESC"
	}
	lim, off := c.param(int64(max(f.Limit, 0))), c.param(int64(max(f.Offset, 0)))
	rows, err := s.q.Query(ctx, s.sql(`
		SELECT t.n, a.* FROM (SELECT count(*) AS n FROM {{schema}}.applications WHERE `+where+`) t
		  LEFT JOIN LATERAL (
			SELECT `+appCols+` FROM {{schema}}.applications WHERE `+where+`
			 ORDER BY id `+order+` LIMIT `+lim+` OFFSET `+off+`) a ON true
		 ORDER BY a.id `+order), c.args...)
	if err != nil {
		return verification.Page[verification.Application]{}, fail(ctx, "list applications", err)
	}
	defer rows.Close()
	out := []verification.Application{}
	total := 0
	for rows.Next() {
		var (
			n int64
			r appRow
		)
		if err := rows.Scan(append([]any{&n}, r.dest()...)...); err != nil {
			return verification.Page[verification.Application]{}, fail(ctx, "list applications", err)
		}
		total = int(n)
		if r.id == nil {
			continue
		}
		a, err := r.app()
		if err != nil {
			return verification.Page[verification.Application]{}, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return verification.Page[verification.Application]{}, fail(ctx, "list applications", err)
	}
	return verification.Page[verification.Application]{Total: total, Items: out}, nil
}
