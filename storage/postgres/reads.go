package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

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
