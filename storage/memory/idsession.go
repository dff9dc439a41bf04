package memory

import (
	"context"
	"slices"

	"github.com/openkyc/kyc/verification"
)

// AddIDSession implements verification.IDSessionStore.
func (s *Store) AddIDSession(ctx context.Context, sess verification.IDSession) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	for _, x := range r.sessions {
		if x.ID == sess.ID {
			return conflict("id session", sess.ID)
		}
	}
	if _, ok := r.subjects[sess.SubjectID]; !ok {
		return notFound("subject", sess.SubjectID)
	}
	r.sessions = append(r.sessions, sess)
	s.onUndo(func() { r.sessions = r.sessions[:len(r.sessions)-1] })
	return nil
}

// ListIDSessions implements verification.IDSessionStore.
func (s *Store) ListIDSessions(ctx context.Context, subjectID int64) ([]verification.IDSession, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []verification.IDSession{}
	for i := len(s.root.sessions) - 1; i >= 0; i-- {
		if x := s.root.sessions[i]; x.SubjectID == subjectID {
			out = append(out, x)
		}
	}
	slices.SortStableFunc(out, func(a, b verification.IDSession) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// UpdateIDSession implements verification.IDSessionStore.
func (s *Store) UpdateIDSession(ctx context.Context, sess verification.IDSession) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	for i, x := range r.sessions {
		if x.ID == sess.ID {
			sess.SubjectID = x.SubjectID
			r.sessions[i] = sess
			s.onUndo(func() { r.sessions[i] = x })
			return nil
		}
	}
	return notFound("id session", sess.ID)
}
