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
// one row on the read pool (or in the transaction), the states packed in
// one column (see stSubjectStatuses).
func (s *Store) GetSubjectStatuses(ctx context.Context, subjectID int64) (verification.SubjectStatuses, error) {
	if err := s.check(ctx); err != nil {
		return verification.SubjectStatuses{}, err
	}
	var (
		out                   = verification.SubjectStatuses{ID: subjectID}
		deletedAt, redactedAt int64
		packed                sql.NullString
	)
	err := s.conn(ctx).queryRow(stSubjectStatuses, subjectID).Scan(&out.Level, &deletedAt, &redactedAt, &packed)
	if errors.Is(err, sql.ErrNoRows) {
		return verification.SubjectStatuses{}, notFound("subject", subjectID)
	}
	if err != nil {
		return verification.SubjectStatuses{}, s.c.mapErr(ctx, "get subject statuses", err)
	}
	out.Deleted, out.Redacted = deletedAt != 0, redactedAt != 0
	if out.States, err = parseStatuses(packed.String); err != nil {
		return verification.SubjectStatuses{}, fmt.Errorf("sqlite: get subject statuses: %w", err)
	}
	return out, nil
}

// parseStatuses decodes stSubjectStatuses' packed states: a sequence of
// <decimal byte length>:<name><status letter>. The names are substrings of
// packed (no copy each).
func parseStatuses(packed string) (levels.States, error) {
	st := make(levels.States, 8)
	for packed != "" {
		colon := strings.IndexByte(packed, ':')
		if colon <= 0 {
			return nil, errors.New("malformed packed states")
		}
		n, err := strconv.Atoi(packed[:colon])
		if err != nil || n < 0 || colon+1+n >= len(packed) {
			return nil, errors.New("malformed packed states")
		}
		name := packed[colon+1 : colon+1+n]
		var status levels.Status
		switch packed[colon+1+n] {
		case 'm':
			status = levels.Missing
		case 'p':
			status = levels.Pending
		case 'r':
			status = levels.Rejected
		case 'a':
			status = levels.Approved
		default:
			return nil, fmt.Errorf("unknown status of state %q", name)
		}
		st[name] = status
		packed = packed[colon+2+n:]
	}
	return st, nil
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
