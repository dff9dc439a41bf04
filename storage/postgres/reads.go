package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// GetSubjectStatuses implements verification.ReadStore: one statement, the
// subject joined with its states' names and statuses.
func (s *Store) GetSubjectStatuses(ctx context.Context, subjectID int64) (verification.SubjectStatuses, error) {
	if err := s.begin(ctx); err != nil {
		return verification.SubjectStatuses{}, err
	}
	rows, err := s.q.Query(ctx, s.sql(`SELECT s.level, s.deleted_at IS NOT NULL, s.redacted_at IS NOT NULL, r.name, r.status, r.final
		FROM {{schema}}.subjects s LEFT JOIN {{schema}}.requirement_states r ON r.subject_id = s.id
		WHERE s.id = $1`), subjectID)
	if err != nil {
		return verification.SubjectStatuses{}, fail(ctx, "get subject statuses", err)
	}
	defer rows.Close()
	out := verification.SubjectStatuses{ID: subjectID}
	found := false
	var (
		name, status *string
		final        *bool
	)
	for rows.Next() {
		if err := rows.Scan(&out.Level, &out.Deleted, &out.Redacted, &name, &status, &final); err != nil {
			return verification.SubjectStatuses{}, fail(ctx, "get subject statuses", err)
		}
		if !found {
			found = true
			out.States = make(levels.States, 8)
		}
		if name != nil && status != nil {
			out.States[*name] = levels.Status(*status)
			if final != nil && *final {
				out.Final = append(out.Final, *name)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return verification.SubjectStatuses{}, fail(ctx, "get subject statuses", err)
	}
	if !found {
		return verification.SubjectStatuses{}, notFound("subject", subjectID)
	}
	return out, nil
}

// ListOpenApplications implements verification.ReadStore: the subject's
// index, without ListApplications' count.
func (s *Store) ListOpenApplications(ctx context.Context, subjectID int64) ([]verification.Application, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.q.Query(ctx, s.sql(`SELECT `+appCols+` FROM {{schema}}.applications
		WHERE subject_id = $1 AND status IN ('draft', 'submitted') ORDER BY id DESC`), subjectID)
	if err != nil {
		return nil, fail(ctx, "list open applications", err)
	}
	out, err := collect(rows, func(row pgx.Row) (verification.Application, error) {
		var r appRow
		if err := row.Scan(r.dest()...); err != nil {
			return verification.Application{}, err
		}
		return r.app()
	})
	return out, fail(ctx, "list open applications", err)
}

// The subject's grants with its deletion mark (ReadStore.ListSubjectGrants):
// listClientAsc and listClientDesc with the subject row in front, so an
// unknown subject gives no row. Parameters: $1 offset, $2 limit, $3 the
// subject.
const (
	subjectGrantsHead = `
		SELECT t.d, t.n, ` + grantCols + `
		  FROM (SELECT s.deleted_at IS NOT NULL AS d, s.grant_count AS n FROM {{schema}}.subjects s WHERE s.id = $3) t
		  LEFT JOIN LATERAL (
			SELECT * FROM {{schema}}.grants`
	subjectGrantsAsc = subjectGrantsHead + `
			 WHERE client_id = $3 AND client_seq > $1 AND client_seq <= t.n
			 ORDER BY client_seq LIMIT $2) g ON true
		 ORDER BY g.id`
	subjectGrantsDesc = subjectGrantsHead + `
			 WHERE client_id = $3 AND client_seq <= t.n - $1
			 ORDER BY client_seq DESC LIMIT $2) g ON true
		 ORDER BY g.id DESC`
)

// ListSubjectGrants implements verification.ReadStore: one statement.
func (s *Store) ListSubjectGrants(ctx context.Context, f verification.GrantFilter) (verification.SubjectGrants, error) {
	if err := s.begin(ctx); err != nil {
		return verification.SubjectGrants{}, err
	}
	q := subjectGrantsAsc
	if f.Desc {
		q = subjectGrantsDesc
	}
	off, lim := min(int64(max(f.Offset, 0)), 1<<61), min(int64(max(f.Limit, 0)), 1<<61)
	rows, err := s.q.Query(ctx, s.sql(q), off, lim, f.SubjectID)
	if err != nil {
		return verification.SubjectGrants{}, fail(ctx, "list subject grants", err)
	}
	defer rows.Close()
	out := verification.SubjectGrants{Page: verification.Page[verification.Grant]{Items: []verification.Grant{}}}
	found := false
	for rows.Next() {
		var (
			n int64
			r grantRow
		)
		if err := rows.Scan(append([]any{&out.Deleted, &n}, r.dest()...)...); err != nil {
			return verification.SubjectGrants{}, fail(ctx, "list subject grants", err)
		}
		found, out.Page.Total = true, int(n)
		if r.id != nil {
			out.Page.Items = append(out.Page.Items, r.grant())
		}
	}
	if err := rows.Err(); err != nil {
		return verification.SubjectGrants{}, fail(ctx, "list subject grants", err)
	}
	if !found {
		return verification.SubjectGrants{}, notFound("subject", f.SubjectID)
	}
	return out, nil
}

// splitScan scans a row whose first columns one scan function reads (dest)
// and whose remaining columns go to rest.
type splitScan struct {
	row  pgx.Row
	rest []any
}

func (p splitScan) Scan(dest ...any) error { return p.row.Scan(append(dest, p.rest...)...) }

// GetOpenApplications implements verification.ReadStore: one statement, the
// subject joined with its open applications.
func (s *Store) GetOpenApplications(ctx context.Context, subjectID int64) (verification.Subject, []verification.Application, error) {
	if err := s.begin(ctx); err != nil {
		return verification.Subject{}, nil, err
	}
	rows, err := s.q.Query(ctx, s.sql(`SELECT s.id, s.identifier, s.tags, s.level, s.deleted_at, s.legal_hold, s.redacted_at, s.event_seq,
		s.created_at, s.updated_at,
		a.id, a.uuid, a.subject_id, a.level, a.status, a.steps, a.reason, a.created_at, a.expires_at, a.submitted_at, a.decided_at,
		a.decided_by, a.assigned_to, a.claimed_at
		FROM {{schema}}.subjects s
		LEFT JOIN {{schema}}.applications a ON a.subject_id = s.id AND a.status IN ('draft', 'submitted')
		WHERE s.id = $1 ORDER BY a.id DESC`), subjectID)
	if err != nil {
		return verification.Subject{}, nil, fail(ctx, "get open applications", err)
	}
	defer rows.Close()
	var (
		sub   verification.Subject
		found bool
		apps  = []verification.Application{}
	)
	for rows.Next() {
		var r appRow
		if sub, err = scanSubject(splitScan{rows, r.dest()}); err != nil {
			return verification.Subject{}, nil, fail(ctx, "get open applications", err)
		}
		found = true
		if r.id == nil {
			continue
		}
		a, err := r.app()
		if err != nil {
			return verification.Subject{}, nil, err
		}
		apps = append(apps, a)
	}
	if err := rows.Err(); err != nil {
		return verification.Subject{}, nil, fail(ctx, "get open applications", err)
	}
	if !found {
		return verification.Subject{}, nil, notFound("subject", subjectID)
	}
	return sub, apps, nil
}

// GetIDVerification implements verification.ReadStore: one statement
// instead of GetSubject, ListIDSessions and a GetFile per image.
func (s *Store) GetIDVerification(ctx context.Context, subjectID int64) (verification.SubjectIDVerification, error) {
	if err := s.begin(ctx); err != nil {
		return verification.SubjectIDVerification{}, err
	}
	var (
		out                                     verification.SubjectIDVerification
		id, provider, status, front, back, face *string
		subj                                    *int64
		at                                      pgtype.Timestamptz
	)
	err := s.q.QueryRow(ctx, s.sql(`SELECT s.deleted_at IS NOT NULL, x.id, x.subject_id, x.provider, x.status, x.created_at,
		x.front_file_id, x.back_file_id, x.face_file_id,
		EXISTS (SELECT 1 FROM {{schema}}.files f WHERE f.id = x.front_file_id AND f.subject_id = s.id AND f.blob_key <> ''),
		EXISTS (SELECT 1 FROM {{schema}}.files f WHERE f.id = x.back_file_id AND f.subject_id = s.id AND f.blob_key <> ''),
		EXISTS (SELECT 1 FROM {{schema}}.files f WHERE f.id = x.face_file_id AND f.subject_id = s.id AND f.blob_key <> '')
		FROM {{schema}}.subjects s LEFT JOIN LATERAL (
			SELECT * FROM {{schema}}.id_sessions WHERE subject_id = s.id AND status = 'approved'
			 ORDER BY created_at DESC NULLS LAST, ord DESC LIMIT 1
		) x ON true
		WHERE s.id = $1`), subjectID).Scan(&out.Deleted, &id, &subj, &provider, &status, &at, &front, &back, &face,
		&out.Front, &out.Back, &out.Face)
	if noRows(err) {
		return verification.SubjectIDVerification{}, notFound("subject", subjectID)
	}
	if err != nil {
		return verification.SubjectIDVerification{}, fail(ctx, "get id verification", err)
	}
	if id == nil {
		out.Front, out.Back, out.Face = false, false, false
		return out, nil
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	out.Found = true
	out.Session = verification.IDSession{
		ID: *id, SubjectID: *subj, Provider: str(provider), Status: str(status), CreatedAt: tsOut(at),
		FrontFileID: str(front), BackFileID: str(back), FaceFileID: str(face),
	}
	return out, nil
}

// GetSubjectProgress implements verification.ReadStore: one statement, the
// subject with its states aggregated into arrays, joined with its open
// applications.
func (s *Store) GetSubjectProgress(ctx context.Context, subjectID int64) (verification.SubjectProgress, error) {
	out, found, err := s.getSubjectProgress(ctx, `s.id = $1`, subjectID)
	if err == nil && !found {
		return verification.SubjectProgress{}, notFound("subject", subjectID)
	}
	return out, err
}

// GetSubjectProgressByIdentifier implements verification.ReadStore:
// GetSubjectProgress's statement over the identifier's unique index.
func (s *Store) GetSubjectProgressByIdentifier(ctx context.Context, identifier string) (verification.SubjectProgress, error) {
	out, found, err := s.getSubjectProgress(ctx, `s.identifier = $1`, identifier)
	if err == nil && !found {
		// The identifier is personal data: it stays out of the message.
		return verification.SubjectProgress{}, notFound("subject", "by identifier")
	}
	return out, err
}

// getSubjectProgress is GetSubjectProgress's statement for the subject
// where (a condition on s with one parameter, key) selects; found is false
// when none matches.
func (s *Store) getSubjectProgress(ctx context.Context, where string, key any) (verification.SubjectProgress, bool, error) {
	if err := s.begin(ctx); err != nil {
		return verification.SubjectProgress{}, false, err
	}
	rows, err := s.q.Query(ctx, s.sql(`SELECT s.id, s.level, s.deleted_at IS NOT NULL, s.redacted_at IS NOT NULL, r.names, r.statuses, r.finals,
		a.id, a.uuid, a.subject_id, a.level, a.status, a.steps, a.reason, a.created_at, a.expires_at, a.submitted_at, a.decided_at,
		a.decided_by, a.assigned_to, a.claimed_at
		FROM {{schema}}.subjects s
		CROSS JOIN LATERAL (
			SELECT array_agg(name) AS names, array_agg(status) AS statuses, array_agg(final) AS finals
			  FROM {{schema}}.requirement_states WHERE subject_id = s.id) r
		LEFT JOIN {{schema}}.applications a ON a.subject_id = s.id AND a.status IN ('draft', 'submitted')
		WHERE `+where+` ORDER BY a.id DESC`), key)
	if err != nil {
		return verification.SubjectProgress{}, false, fail(ctx, "get subject progress", err)
	}
	defer rows.Close()
	out := verification.SubjectProgress{Open: []verification.Application{}}
	found := false
	for rows.Next() {
		var (
			r               appRow
			names, statuses []string
			finals          []bool
		)
		if err := rows.Scan(append([]any{&out.ID, &out.Level, &out.Deleted, &out.Redacted, &names, &statuses, &finals}, r.dest()...)...); err != nil {
			return verification.SubjectProgress{}, false, fail(ctx, "get subject progress", err)
		}
		if !found {
			found = true
			out.States = make(levels.States, len(names))
			for i, name := range names {
				out.States[name] = levels.Status(statuses[i])
				if finals[i] {
					out.Final = append(out.Final, name)
				}
			}
		}
		if r.id == nil {
			continue
		}
		a, err := r.app()
		if err != nil {
			return verification.SubjectProgress{}, false, err
		}
		out.Open = append(out.Open, a)
	}
	if err := rows.Err(); err != nil {
		return verification.SubjectProgress{}, false, fail(ctx, "get subject progress", err)
	}
	return out, found, nil
}
