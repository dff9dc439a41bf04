package memory

import (
	"context"
	"slices"

	"github.com/openkyc/kyc/verification"
)

func cloneApp(a verification.Application) verification.Application {
	steps := make([]verification.Step, len(a.Steps))
	for i, st := range a.Steps {
		st.Files = slices.Clone(st.Files)
		steps[i] = st
	}
	if a.Steps == nil {
		steps = nil
	}
	a.Steps = steps
	return a
}

// CreateApplication implements verification.ApplicationStore.
func (s *Store) CreateApplication(ctx context.Context, a *verification.Application) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	if _, ok := r.appByUUID[a.UUID]; ok {
		return conflict("application uuid", a.UUID)
	}
	if _, ok := r.subjects[a.SubjectID]; !ok {
		return notFound("subject", a.SubjectID)
	}
	r.nextApp++
	a.ID = r.nextApp
	r.apps[a.ID] = cloneApp(*a)
	r.appByUUID[a.UUID] = a.ID
	id, uuid := a.ID, a.UUID
	s.onUndo(func() { delete(r.apps, id); delete(r.appByUUID, uuid); r.nextApp-- })
	return nil
}

// GetApplication implements verification.ApplicationStore.
func (s *Store) GetApplication(ctx context.Context, id int64) (verification.Application, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.Application{}, err
	}
	defer unlock()
	a, ok := s.root.apps[id]
	if !ok {
		return verification.Application{}, notFound("application", id)
	}
	return cloneApp(a), nil
}

// GetApplicationByUUID implements verification.ApplicationStore.
func (s *Store) GetApplicationByUUID(ctx context.Context, uuid string) (verification.Application, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.Application{}, err
	}
	defer unlock()
	id, ok := s.root.appByUUID[uuid]
	if !ok {
		return verification.Application{}, notFound("application", uuid)
	}
	return cloneApp(s.root.apps[id]), nil
}

// UpdateApplication implements verification.ApplicationStore.
func (s *Store) UpdateApplication(ctx context.Context, a verification.Application) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	old, ok := r.apps[a.ID]
	if !ok {
		return notFound("application", a.ID)
	}
	a = cloneApp(a)
	a.UUID, a.SubjectID, a.CreatedAt = old.UUID, old.SubjectID, old.CreatedAt
	r.apps[a.ID] = a
	s.onUndo(func() { r.apps[old.ID] = old })
	return nil
}

// ListApplications implements verification.ApplicationStore.
func (s *Store) ListApplications(ctx context.Context, f verification.ApplicationFilter) (verification.Page[verification.Application], error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.Page[verification.Application]{}, err
	}
	defer unlock()
	ids := make([]int64, 0, len(s.root.apps))
	for id := range s.root.apps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if f.Desc {
		slices.Reverse(ids)
	}
	out := []verification.Application{}
	total := 0
	for _, id := range ids {
		a := s.root.apps[id]
		if f.SubjectID != 0 && a.SubjectID != f.SubjectID {
			continue
		}
		if f.Tags != nil && !s.root.subjects[a.SubjectID].HasAnyTag(f.Tags) {
			continue
		}
		if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, a.Status) {
			continue
		}
		if !f.ExpiresBefore.IsZero() && (a.ExpiresAt.IsZero() || !a.ExpiresAt.Before(f.ExpiresBefore)) {
			continue
		}
		if f.Assignee > 0 && a.AssignedTo != f.Assignee || f.Assignee == verification.Unassigned && a.AssignedTo != 0 {
			continue
		}
		if f.HasTag != "" && !slices.Contains(s.root.subjects[a.SubjectID].Tags, f.HasTag) {
			continue
		}
		if len(f.Levels) > 0 && !slices.Contains(f.Levels, a.Level) {
			continue
		}
		if !f.SubmittedBefore.IsZero() && (a.SubmittedAt.IsZero() || !a.SubmittedAt.Before(f.SubmittedBefore)) {
			continue
		}
		if total >= f.Offset && len(out) < f.Limit {
			out = append(out, cloneApp(a))
		}
		total++
	}
	return verification.Page[verification.Application]{Total: total, Items: out}, nil
}
