package memory

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/openkyc/kyc/verification"
)

// CreateFile implements verification.FileStore.
func (s *Store) CreateFile(ctx context.Context, f verification.File) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	if _, ok := r.files[f.ID]; ok {
		return conflict("file", f.ID)
	}
	if _, ok := r.subjects[f.SubjectID]; !ok {
		return notFound("subject", f.SubjectID)
	}
	r.files[f.ID] = f
	s.onUndo(func() { delete(r.files, f.ID) })
	return nil
}

// GetFile implements verification.FileStore.
func (s *Store) GetFile(ctx context.Context, id string) (verification.File, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.File{}, err
	}
	defer unlock()
	f, ok := s.root.files[id]
	if !ok {
		return verification.File{}, notFound("file", id)
	}
	return f, nil
}

// UpdateFile implements verification.FileStore.
func (s *Store) UpdateFile(ctx context.Context, f verification.File) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	old, ok := r.files[f.ID]
	if !ok {
		return notFound("file", f.ID)
	}
	f.SubjectID, f.CreatedAt = old.SubjectID, old.CreatedAt
	r.files[f.ID] = f
	s.onUndo(func() { r.files[old.ID] = old })
	return nil
}

// DeleteFile implements verification.FileStore.
func (s *Store) DeleteFile(ctx context.Context, id string) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	old, ok := r.files[id]
	if !ok {
		return notFound("file", id)
	}
	delete(r.files, id)
	s.onUndo(func() { r.files[id] = old })
	return nil
}

// ListFiles implements verification.FileStore.
func (s *Store) ListFiles(ctx context.Context, f verification.FileFilter) ([]verification.File, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []verification.File{}
	for _, fl := range s.root.files {
		switch {
		case f.SubjectID != 0 && fl.SubjectID != f.SubjectID,
			f.DocumentType != "" && fl.DocumentType != f.DocumentType,
			f.Side != "" && fl.Side != f.Side,
			f.Status != "" && fl.Status != f.Status,
			!f.DecidedBefore.IsZero() && (fl.DecidedAt.IsZero() || !fl.DecidedAt.Before(f.DecidedBefore)),
			f.BlobKeys != nil && !slices.Contains(f.BlobKeys, fl.BlobKey):
			continue
		}
		out = append(out, fl)
	}
	slices.SortFunc(out, func(a, b verification.File) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}
