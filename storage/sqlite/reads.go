package sqlite

import (
	"context"
	"database/sql"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// GetSubjectStatuses implements verification.ReadStore: one statement on
// the read pool (or in the transaction), the subject joined with its
// states' names and statuses.
func (s *Store) GetSubjectStatuses(ctx context.Context, subjectID int64) (verification.SubjectStatuses, error) {
	if err := s.check(ctx); err != nil {
		return verification.SubjectStatuses{}, err
	}
	rows, err := s.conn(ctx).query(stSubjectStatuses, subjectID)
	if err != nil {
		return verification.SubjectStatuses{}, s.c.mapErr(ctx, "get subject statuses", err)
	}
	defer rows.Close()
	out := verification.SubjectStatuses{ID: subjectID}
	found := false
	var (
		deletedAt, redactedAt int64
		name                  sql.NullString
		status                sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&out.Level, &deletedAt, &redactedAt, &name, &status); err != nil {
			return verification.SubjectStatuses{}, s.c.mapErr(ctx, "get subject statuses", err)
		}
		if !found {
			found = true
			out.Deleted, out.Redacted = deletedAt != 0, redactedAt != 0
			out.States = make(levels.States, 8)
		}
		if name.Valid {
			out.States[name.String] = internStatus(status)
		}
	}
	if err := rows.Err(); err != nil {
		return verification.SubjectStatuses{}, s.c.mapErr(ctx, "get subject statuses", err)
	}
	if !found {
		return verification.SubjectStatuses{}, notFound("subject", subjectID)
	}
	return out, nil
}

// internStatus returns the levels.Status constant spelled b without
// allocating (any other spelling is copied as it is).
func internStatus(b []byte) levels.Status {
	for _, st := range [...]levels.Status{levels.Missing, levels.Pending, levels.Rejected, levels.Approved} {
		if string(b) == string(st) {
			return st
		}
	}
	return levels.Status(b)
}

// ListOpenApplications implements verification.ReadStore: a prepared
// statement over the subject's index, without ListApplications' count.
func (s *Store) ListOpenApplications(ctx context.Context, subjectID int64) ([]verification.Application, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.conn(ctx).query(stAppOpen, subjectID)
	return collect(ctx, s.c, "list open applications", rows, err, scanApp)
}
