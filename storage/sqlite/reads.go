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
	var (
		out                   = verification.SubjectStatuses{ID: subjectID}
		deletedAt, redactedAt int64
		packed                sql.NullString
	)
	err := cn.queryRow(stSubjectStatuses, subjectID).Scan(&out.Level, &deletedAt, &redactedAt, &packed)
	if errors.Is(err, sql.ErrNoRows) {
		return verification.SubjectStatuses{}, notFound("subject", subjectID)
	}
	if err != nil {
		return verification.SubjectStatuses{}, s.c.mapErr(ctx, "get subject statuses", err)
	}
	out.Deleted, out.Redacted = deletedAt != 0, redactedAt != 0
	if out.States, out.Final, err = parseStatuses(packed.String); err != nil {
		return verification.SubjectStatuses{}, fmt.Errorf("sqlite: get subject statuses: %w", err)
	}
	return out, nil
}

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
	for rows.Next() {
		var (
			deletedAt, total    int64
			gid, client, lvl    sql.NullInt64
			prevID, adminID, at sql.NullInt64
			lvlName, prevName   sql.NullString
			reason              sql.NullString
		)
		if err := rows.Scan(&deletedAt, &total, &gid, &client, &lvl, &lvlName, &prevID, &prevName, &reason, &adminID, &at); err != nil {
			return verification.SubjectGrants{}, s.c.mapErr(ctx, "list subject grants", err)
		}
		found = true
		out.Deleted, out.Page.Total = deletedAt != 0, int(total)
		if !gid.Valid || len(out.Page.Items) == limit {
			continue
		}
		g := verification.Grant{
			ID: gid.Int64, SubjectID: client.Int64, Level: verification.LevelRef{ID: int(lvl.Int64), Name: lvlName.String},
			Reason: reason.String, AdminID: adminID.Int64, CreatedAt: fromMicros(at.Int64),
		}
		if prevID.Valid {
			g.Previous = &verification.LevelRef{ID: int(prevID.Int64), Name: prevName.String}
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
		ss   subjectScan
		a    nullApp
		dest = a.dest(ss.dest(make([]any, 0, 24)))
	)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return verification.Subject{}, nil, s.c.mapErr(ctx, "get open applications", err)
		}
		if !found { // every row repeats the subject: decode it (its tags) once
			if sub, err = ss.subject(); err != nil {
				return verification.Subject{}, nil, fmt.Errorf("sqlite: get open applications: %w", err)
			}
			found = true
		}
		if !a.id.Valid {
			continue
		}
		app, err := a.app()
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
	var (
		// One set of destinations for every row (each Scan sets them all).
		a                     nullApp
		deletedAt, redactedAt int64
		packed                sql.NullString
		dest                  = a.dest(append(make([]any, 0, 19), &out.ID, &out.Level, &deletedAt, &redactedAt, &packed))
	)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return verification.SubjectProgress{}, s.c.mapErr(ctx, "get subject progress", err)
		}
		if !found {
			found = true
			out.Deleted, out.Redacted = deletedAt != 0, redactedAt != 0
			if out.States, out.Final, err = parseStatuses(packed.String); err != nil {
				return verification.SubjectProgress{}, fmt.Errorf("sqlite: get subject progress: %w", err)
			}
		}
		if !a.id.Valid {
			continue
		}
		app, err := a.app()
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
