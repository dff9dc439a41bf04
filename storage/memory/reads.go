package memory

import (
	"cmp"
	"context"
	"slices"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// GetSubjectStatuses implements verification.ReadStore.
func (s *Store) GetSubjectStatuses(ctx context.Context, subjectID int64) (verification.SubjectStatuses, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.SubjectStatuses{}, err
	}
	defer unlock()
	sub, ok := s.root.subjects[subjectID]
	if !ok {
		return verification.SubjectStatuses{}, notFound("subject", subjectID)
	}
	m := s.root.states[subjectID]
	st := make(levels.States, len(m))
	var final []string
	for name, r := range m {
		st[name] = r.Status
		if r.Final {
			final = append(final, name)
		}
	}
	return verification.SubjectStatuses{
		ID: sub.ID, Level: sub.Level, Deleted: sub.Deleted(), Redacted: !sub.RedactedAt.IsZero(), States: st, Final: final,
	}, nil
}

// ListOpenApplications implements verification.ReadStore.
func (s *Store) ListOpenApplications(ctx context.Context, subjectID int64) ([]verification.Application, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []verification.Application{}
	for _, a := range s.root.apps {
		if a.SubjectID == subjectID && (a.Status == verification.ApplicationDraft || a.Status == verification.ApplicationSubmitted) {
			out = append(out, cloneApp(a))
		}
	}
	slices.SortFunc(out, func(a, b verification.Application) int { return cmp.Compare(b.ID, a.ID) })
	return out, nil
}

// ListSubjectGrants implements verification.ReadStore. A subject is never
// removed (deletion is a mark), so reading it before its grants is as good
// as one snapshot.
func (s *Store) ListSubjectGrants(ctx context.Context, f verification.GrantFilter) (verification.SubjectGrants, error) {
	sub, err := s.GetSubject(ctx, f.SubjectID)
	if err != nil {
		return verification.SubjectGrants{}, err
	}
	page, err := s.ListGrants(ctx, verification.GrantFilter{SubjectID: f.SubjectID, Limit: f.Limit, Offset: f.Offset, Desc: f.Desc})
	if err != nil {
		return verification.SubjectGrants{}, err
	}
	return verification.SubjectGrants{Deleted: sub.Deleted(), Page: page}, nil
}

// GetOpenApplications implements verification.ReadStore. A subject is never
// removed, so reading it before its applications is as good as one
// snapshot.
func (s *Store) GetOpenApplications(ctx context.Context, subjectID int64) (verification.Subject, []verification.Application, error) {
	sub, err := s.GetSubject(ctx, subjectID)
	if err != nil {
		return verification.Subject{}, nil, err
	}
	apps, err := s.ListOpenApplications(ctx, subjectID)
	return sub, apps, err
}

// GetIDVerification implements verification.ReadStore.
func (s *Store) GetIDVerification(ctx context.Context, subjectID int64) (verification.SubjectIDVerification, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.SubjectIDVerification{}, err
	}
	defer unlock()
	sub, ok := s.root.subjects[subjectID]
	if !ok {
		return verification.SubjectIDVerification{}, notFound("subject", subjectID)
	}
	out := verification.SubjectIDVerification{Deleted: sub.Deleted()}
	live := func(id string) bool {
		f, ok := s.root.files[id]
		return id != "" && ok && f.SubjectID == subjectID && f.BlobKey != ""
	}
	// s.sessions is in insertion order: the newest approved is the last
	// one with the greatest CreatedAt.
	for _, x := range s.root.sessions {
		if x.SubjectID != subjectID || x.Status != verification.IDSessionApproved {
			continue
		}
		if !out.Found || !x.CreatedAt.Before(out.Session.CreatedAt) {
			out.Found, out.Session = true, x
		}
	}
	if out.Found {
		out.Front, out.Back, out.Face = live(out.Session.FrontFileID), live(out.Session.BackFileID), live(out.Session.FaceFileID)
	}
	return out, nil
}

// GetSubjectProgressByIdentifier implements verification.ReadStore: the
// subject's ID by its identifier, then GetSubjectProgress.
func (s *Store) GetSubjectProgressByIdentifier(ctx context.Context, identifier string) (verification.SubjectProgress, error) {
	sub, err := s.GetSubjectByIdentifier(ctx, identifier)
	if err != nil {
		return verification.SubjectProgress{}, err
	}
	return s.GetSubjectProgress(ctx, sub.ID)
}

// GetSubjectProgress implements verification.ReadStore. A subject is never
// removed, so reading it before its applications is as good as one
// snapshot.
func (s *Store) GetSubjectProgress(ctx context.Context, subjectID int64) (verification.SubjectProgress, error) {
	st, err := s.GetSubjectStatuses(ctx, subjectID)
	if err != nil {
		return verification.SubjectProgress{}, err
	}
	apps, err := s.ListOpenApplications(ctx, subjectID)
	if err != nil {
		return verification.SubjectProgress{}, err
	}
	return verification.SubjectProgress{SubjectStatuses: st, Open: apps}, nil
}
