package memory

import (
	"context"
	"slices"

	"github.com/openkyc/kyc/verification"
)

func cloneSubject(s verification.Subject) verification.Subject {
	s.Tags = slices.Clone(s.Tags)
	return s
}

// CreateSubject implements verification.SubjectStore.
func (s *Store) CreateSubject(ctx context.Context, sub *verification.Subject) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	if _, ok := r.byIdent[sub.Identifier]; ok {
		return conflict("subject identifier", "")
	}
	r.nextSubject++
	sub.ID = r.nextSubject
	r.subjects[sub.ID] = cloneSubject(*sub)
	r.byIdent[sub.Identifier] = sub.ID
	id, ident := sub.ID, sub.Identifier
	s.onUndo(func() { delete(r.subjects, id); delete(r.byIdent, ident); r.nextSubject-- })
	return nil
}

// GetSubject implements verification.SubjectStore.
func (s *Store) GetSubject(ctx context.Context, id int64) (verification.Subject, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.Subject{}, err
	}
	defer unlock()
	sub, ok := s.root.subjects[id]
	if !ok {
		return verification.Subject{}, notFound("subject", id)
	}
	return cloneSubject(sub), nil
}

// LockSubject implements verification.SubjectStore. Transactions are already
// serialised, so it is GetSubject.
func (s *Store) LockSubject(ctx context.Context, id int64) (verification.Subject, error) {
	return s.GetSubject(ctx, id)
}

// GetSubjectByIdentifier implements verification.SubjectStore.
func (s *Store) GetSubjectByIdentifier(ctx context.Context, identifier string) (verification.Subject, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.Subject{}, err
	}
	defer unlock()
	id, ok := s.root.byIdent[identifier]
	if !ok {
		return verification.Subject{}, notFound("subject", "by identifier")
	}
	return cloneSubject(s.root.subjects[id]), nil
}

// UpdateSubject implements verification.SubjectStore.
func (s *Store) UpdateSubject(ctx context.Context, sub verification.Subject) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	old, ok := r.subjects[sub.ID]
	if !ok {
		return notFound("subject", sub.ID)
	}
	sub = cloneSubject(sub)
	sub.Identifier, sub.CreatedAt = old.Identifier, old.CreatedAt
	r.subjects[sub.ID] = sub
	s.onUndo(func() { r.subjects[old.ID] = old })
	return nil
}
