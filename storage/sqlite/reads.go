package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// GetSubjectStatuses implements verification.ReadStore: one statement and
// one row on a pinned connection (see Store.pinned) or in the transaction, the
// states packed in one column (see stSubjectStatuses).
func (s *Store) GetSubjectStatuses(ctx context.Context, subjectID int64) (verification.SubjectStatuses, error) {
	var out verification.SubjectStatuses
	err := s.pinned(ctx, func(cn conn) (err error) {
		out, err = s.getSubjectStatuses(ctx, cn, subjectID)
		return err
	})
	return out, err
}

// getSubjectStatuses is GetSubjectStatuses's statement on cn.
func (s *Store) getSubjectStatuses(ctx context.Context, cn conn, subjectID int64) (verification.SubjectStatuses, error) {
	d := statusDests.get()
	defer statusDests.put(d)
	err := cn.queryRow(stSubjectStatuses, subjectID).Scan(d.dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return verification.SubjectStatuses{}, notFound("subject", subjectID)
	}
	if err != nil {
		return verification.SubjectStatuses{}, s.c.mapErr(ctx, "get subject statuses", err)
	}
	out, err := d.v.statuses(subjectID)
	if err != nil {
		return verification.SubjectStatuses{}, fmt.Errorf("sqlite: get subject statuses: %w", err)
	}
	return out, nil
}

// statusRow are the columns of stSubjectStatuses' row, which
// stSubjectProgress's rows begin with.
type statusRow struct {
	level                 int
	deletedAt, redactedAt int64
	packed                sql.NullString
}

// dest appends the destinations of the columns to dest.
func (c *statusRow) dest(dest []any) []any {
	return append(dest, &c.level, &c.deletedAt, &c.redactedAt, &c.packed)
}

// statuses decodes the columns of subject id.
func (c *statusRow) statuses(id int64) (verification.SubjectStatuses, error) {
	out := verification.SubjectStatuses{ID: id, Level: c.level, Deleted: c.deletedAt != 0, Redacted: c.redactedAt != 0}
	var err error
	out.States, out.Final, err = parseStatuses(c.packed.String)
	return out, err
}

var statusDests = destPool[statusRow]{wire: func(c *statusRow) []any { return c.dest(make([]any, 0, 4)) }}

// parseStatuses decodes stSubjectStatuses' packed states: a sequence of
// <decimal byte length>:<name><status letter>, the letter upper case for a
// state marked final. The names are substrings of packed (no copy each).
func parseStatuses(packed string) (levels.States, []string, error) {
	st := make(levels.States, 8)
	var final []string
	for packed != "" {
		colon := strings.IndexByte(packed, ':')
		if colon <= 0 {
			return nil, nil, errors.New("malformed packed states")
		}
		n, err := strconv.Atoi(packed[:colon])
		if err != nil || n < 0 || colon+1+n >= len(packed) {
			return nil, nil, errors.New("malformed packed states")
		}
		name := packed[colon+1 : colon+1+n]
		letter := packed[colon+1+n]
		if letter >= 'A' && letter <= 'Z' {
			final = append(final, name)
			letter += 'a' - 'A'
		}
		var status levels.Status
		switch letter {
		case 'm':
			status = levels.Missing
		case 'p':
			status = levels.Pending
		case 'r':
			status = levels.Rejected
		case 'a':
			status = levels.Approved
		default:
			return nil, nil, fmt.Errorf("unknown status of state %q", name)
		}
		st[name] = status
		packed = packed[colon+2+n:]
	}
	return st, final, nil
}

// ListOpenApplications implements verification.ReadStore: a prepared
// statement over the subject's index, without ListApplications' count.
func (s *Store) ListOpenApplications(ctx context.Context, subjectID int64) ([]verification.Application, error) {
	var out []verification.Application
	err := s.pinned(ctx, func(cn conn) (err error) {
		out, err = s.listOpenApplications(ctx, cn, subjectID)
		return err
	})
	return out, err
}

// listOpenApplications is ListOpenApplications's statement on cn.
func (s *Store) listOpenApplications(ctx context.Context, cn conn, subjectID int64) ([]verification.Application, error) {
	rows, err := cn.query(stAppOpen, subjectID)
	return collect(ctx, s.c, "list open applications", rows, err, scanApp)
}

// ListSubjectGrants implements verification.ReadStore: one prepared
// statement (stSubjectGrantsAsc, stSubjectGrantsDesc) instead of a read
// transaction with GetSubject, the total and the page.
func (s *Store) ListSubjectGrants(ctx context.Context, f verification.GrantFilter) (verification.SubjectGrants, error) {
	var out verification.SubjectGrants
	err := s.pinned(ctx, func(cn conn) (err error) {
		out, err = s.listSubjectGrants(ctx, cn, f)
		return err
	})
	return out, err
}

// listSubjectGrants is ListSubjectGrants's statement on cn.
func (s *Store) listSubjectGrants(ctx context.Context, cn conn, f verification.GrantFilter) (verification.SubjectGrants, error) {
	id := stSubjectGrantsAsc
	if f.Desc {
		id = stSubjectGrantsDesc
	}
	// The LIMIT bounds the joined rows, so a page of none asks for one
	// (the subject's row, whose grant, if any, is left out below).
	limit := max(f.Limit, 0)
	rows, err := cn.query(id, f.SubjectID, max(f.Offset, 0), max(limit, 1))
	if err != nil {
		return verification.SubjectGrants{}, s.c.mapErr(ctx, "list subject grants", err)
	}
	defer rows.Close()
	out := verification.SubjectGrants{Page: verification.Page[verification.Grant]{Items: []verification.Grant{}}}
	found := false
	// One set of destinations for every row (each Scan sets them all).
	d := grantDests.get()
	defer grantDests.put(d)
	for rows.Next() {
		if err := rows.Scan(d.dest...); err != nil {
			return verification.SubjectGrants{}, s.c.mapErr(ctx, "list subject grants", err)
		}
		c := &d.v
		found = true
		out.Deleted, out.Page.Total = c.deletedAt != 0, int(c.total)
		if !c.gid.Valid || len(out.Page.Items) == limit {
			continue
		}
		g := verification.Grant{
			ID: c.gid.Int64, SubjectID: c.client.Int64, Level: verification.LevelRef{ID: int(c.lvl.Int64), Name: c.lvlName.String},
			Reason: c.reason.String, AdminID: c.adminID.Int64, CreatedAt: fromMicros(c.at.Int64),
		}
		if c.prevID.Valid {
			g.Previous = &verification.LevelRef{ID: int(c.prevID.Int64), Name: c.prevName.String}
		}
		out.Page.Items = append(out.Page.Items, g)
	}
	if err := rows.Err(); err != nil {
		return verification.SubjectGrants{}, s.c.mapErr(ctx, "list subject grants", err)
	}
	if !found {
		return verification.SubjectGrants{}, notFound("subject", f.SubjectID)
	}
	return out, nil
}

// grantRow are the columns of stSubjectGrantsAsc's and
// stSubjectGrantsDesc's rows: the subject's deletion mark and grant count,
// and a grant (NULL for none).
type grantRow struct {
	deletedAt, total    int64
	gid, client, lvl    sql.NullInt64
	prevID, adminID, at sql.NullInt64
	lvlName, prevName   sql.NullString
	reason              sql.NullString
}

var grantDests = destPool[grantRow]{wire: func(c *grantRow) []any {
	return []any{&c.deletedAt, &c.total, &c.gid, &c.client, &c.lvl, &c.lvlName, &c.prevID, &c.prevName, &c.reason, &c.adminID, &c.at}
}}

// GetOpenApplications implements verification.ReadStore: one prepared
// statement, the subject joined with its open applications.
func (s *Store) GetOpenApplications(ctx context.Context, subjectID int64) (verification.Subject, []verification.Application, error) {
	var (
		sub  verification.Subject
		apps []verification.Application
	)
	err := s.pinned(ctx, func(cn conn) (err error) {
		sub, apps, err = s.getOpenApplications(ctx, cn, subjectID)
		return err
	})
	return sub, apps, err
}

// getOpenApplications is GetOpenApplications's statement on cn.
func (s *Store) getOpenApplications(ctx context.Context, cn conn, subjectID int64) (verification.Subject, []verification.Application, error) {
	rows, err := cn.query(stSubjectOpenApps, subjectID)
	if err != nil {
		return verification.Subject{}, nil, s.c.mapErr(ctx, "get open applications", err)
	}
	defer rows.Close()
	var (
		sub   verification.Subject
		found bool
		apps  = []verification.Application{}
		// One set of destinations for every row (each Scan sets them all).
		d = openAppsDests.get()
	)
	defer openAppsDests.put(d)
	for rows.Next() {
		if err := rows.Scan(d.dest...); err != nil {
			return verification.Subject{}, nil, s.c.mapErr(ctx, "get open applications", err)
		}
		if !found { // every row repeats the subject: decode it (its tags) once
			if sub, err = d.v.ss.subject(); err != nil {
				return verification.Subject{}, nil, fmt.Errorf("sqlite: get open applications: %w", err)
			}
			found = true
		}
		if !d.v.a.id.Valid {
			continue
		}
		app, err := d.v.a.app()
		if err != nil {
			return verification.Subject{}, nil, fmt.Errorf("sqlite: get open applications: %w", err)
		}
		apps = append(apps, app)
	}
	if err := rows.Err(); err != nil {
		return verification.Subject{}, nil, s.c.mapErr(ctx, "get open applications", err)
	}
	if !found {
		return verification.Subject{}, nil, notFound("subject", subjectID)
	}
	return sub, apps, nil
}

// openAppsRow are the columns of stSubjectOpenApps' rows.
type openAppsRow struct {
	ss subjectScan
	a  nullApp
}

var openAppsDests = destPool[openAppsRow]{wire: func(c *openAppsRow) []any {
	return c.a.dest(c.ss.dest(make([]any, 0, 24)))
}}

// GetIDVerification implements verification.ReadStore: one prepared
// statement instead of GetSubject, ListIDSessions and a GetFile per image.
func (s *Store) GetIDVerification(ctx context.Context, subjectID int64) (verification.SubjectIDVerification, error) {
	var out verification.SubjectIDVerification
	err := s.pinned(ctx, func(cn conn) (err error) {
		out, err = s.getIDVerification(ctx, cn, subjectID)
		return err
	})
	return out, err
}

// getIDVerification is GetIDVerification's statement on cn.
func (s *Store) getIDVerification(ctx context.Context, cn conn, subjectID int64) (verification.SubjectIDVerification, error) {
	var (
		out                               verification.SubjectIDVerification
		deletedAt                         int64
		id, provider, status, front, back sql.NullString
		face                              sql.NullString
		subj, createdAt                   sql.NullInt64
		frontLive, backLive, faceLive     bool
	)
	err := cn.queryRow(stIDVerification, subjectID).Scan(&deletedAt, &id, &subj, &provider, &status, &createdAt,
		&front, &back, &face, &frontLive, &backLive, &faceLive)
	if errors.Is(err, sql.ErrNoRows) {
		return verification.SubjectIDVerification{}, notFound("subject", subjectID)
	}
	if err != nil {
		return verification.SubjectIDVerification{}, s.c.mapErr(ctx, "get id verification", err)
	}
	out.Deleted = deletedAt != 0
	if id.Valid {
		out.Found = true
		out.Session = verification.IDSession{
			ID: id.String, SubjectID: subj.Int64, Provider: provider.String, Status: status.String,
			CreatedAt: fromMicros(createdAt.Int64), FrontFileID: front.String, BackFileID: back.String, FaceFileID: face.String,
		}
		out.Front, out.Back, out.Face = frontLive, backLive, faceLive
	}
	return out, nil
}

// nullApp receives an application's columns from a LEFT JOIN (NULL when
// the row has none).
type nullApp struct {
	id, subj, level, created, expires, submitted, decided, decidedBy, assigned, claimed sql.NullInt64
	uuid, status, steps, reason                                                         sql.NullString
}

// dest appends the destinations of the application's columns to dest.
func (a *nullApp) dest(dest []any) []any {
	return append(dest, &a.id, &a.uuid, &a.subj, &a.level, &a.status, &a.steps, &a.reason,
		&a.created, &a.expires, &a.submitted, &a.decided, &a.decidedBy, &a.assigned, &a.claimed)
}

func (a *nullApp) app() (verification.Application, error) {
	out := verification.Application{
		ID: a.id.Int64, UUID: a.uuid.String, SubjectID: a.subj.Int64, Level: int(a.level.Int64), Status: verification.ApplicationStatus(a.status.String),
		Reason: a.reason.String, CreatedAt: fromMicros(a.created.Int64), ExpiresAt: fromMicros(a.expires.Int64),
		SubmittedAt: fromMicros(a.submitted.Int64), DecidedAt: fromMicros(a.decided.Int64), DecidedBy: a.decidedBy.Int64,
		AssignedTo: a.assigned.Int64, ClaimedAt: fromMicros(a.claimed.Int64),
	}
	var err error
	out.Steps, err = decodeSteps(a.steps)
	return out, err
}

// GetSubjectProgress implements verification.ReadStore: one prepared
// statement, GetSubjectStatuses' row joined with the open applications.
func (s *Store) GetSubjectProgress(ctx context.Context, subjectID int64) (verification.SubjectProgress, error) {
	var out verification.SubjectProgress
	err := s.pinned(ctx, func(cn conn) (err error) {
		out, err = s.getSubjectProgress(ctx, cn, stSubjectProgress, subjectID)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return verification.SubjectProgress{}, notFound("subject", subjectID)
	}
	return out, err
}

// GetSubjectProgressByIdentifier implements verification.ReadStore:
// GetSubjectProgress's statement over the identifier's unique index.
func (s *Store) GetSubjectProgressByIdentifier(ctx context.Context, identifier string) (verification.SubjectProgress, error) {
	var out verification.SubjectProgress
	err := s.pinned(ctx, func(cn conn) (err error) {
		out, err = s.getSubjectProgress(ctx, cn, stSubjectProgressByIdentifier, identifier)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		// The identifier is personal data: it stays out of the message.
		return verification.SubjectProgress{}, notFound("subject", "by identifier")
	}
	return out, err
}

// getSubjectProgress runs id (stSubjectProgress or
// stSubjectProgressByIdentifier) with key on cn: sql.ErrNoRows when no
// subject matches.
func (s *Store) getSubjectProgress(ctx context.Context, cn conn, id stmtID, key any) (verification.SubjectProgress, error) {
	rows, err := cn.query(id, key)
	if err != nil {
		return verification.SubjectProgress{}, s.c.mapErr(ctx, "get subject progress", err)
	}
	defer rows.Close()
	out := verification.SubjectProgress{Open: []verification.Application{}}
	found := false
	// One set of destinations for every row (each Scan sets them all).
	d := progressDests.get()
	defer progressDests.put(d)
	for rows.Next() {
		if err := rows.Scan(d.dest...); err != nil {
			return verification.SubjectProgress{}, s.c.mapErr(ctx, "get subject progress", err)
		}
		if !found {
			found = true
			if out.SubjectStatuses, err = d.v.st.statuses(d.v.id); err != nil {
				return verification.SubjectProgress{}, fmt.Errorf("sqlite: get subject progress: %w", err)
			}
		}
		if !d.v.a.id.Valid {
			continue
		}
		app, err := d.v.a.app()
		if err != nil {
			return verification.SubjectProgress{}, fmt.Errorf("sqlite: get subject progress: %w", err)
		}
		out.Open = append(out.Open, app)
	}
	if err := rows.Err(); err != nil {
		return verification.SubjectProgress{}, s.c.mapErr(ctx, "get subject progress", err)
	}
	if !found {
		return verification.SubjectProgress{}, sql.ErrNoRows
	}
	return out, nil
}

// progressRow are the columns of stSubjectProgress' rows: the subject's
// id, stSubjectStatuses' columns and an open application's.
type progressRow struct {
	id int64
	st statusRow
	a  nullApp
}

var progressDests = destPool[progressRow]{wire: func(c *progressRow) []any {
	return c.a.dest(c.st.dest(append(make([]any, 0, 19), &c.id)))
}}
