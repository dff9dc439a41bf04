package memory

import (
	"context"

	"github.com/openkyc/kyc/verification"
)

// cloneGrant copies g (its Previous pointer included).
func cloneGrant(g verification.Grant) verification.Grant {
	if g.Previous != nil {
		p := *g.Previous
		g.Previous = &p
	}
	return g
}

// AddGrant implements verification.GrantStore.
func (s *Store) AddGrant(ctx context.Context, g *verification.Grant) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	if _, ok := r.subjects[g.SubjectID]; !ok {
		return notFound("subject", g.SubjectID)
	}
	g.ID = int64(len(r.grants)) + 1
	r.grants = append(r.grants, cloneGrant(*g))
	s.onUndo(func() { r.grants = r.grants[:len(r.grants)-1] })
	return nil
}

// GetGrant implements verification.GrantStore.
func (s *Store) GetGrant(ctx context.Context, id int64) (verification.Grant, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.Grant{}, err
	}
	defer unlock()
	if id <= 0 || id > int64(len(s.root.grants)) {
		return verification.Grant{}, notFound("grant", id)
	}
	return cloneGrant(s.root.grants[id-1]), nil
}

// ListGrants implements verification.GrantStore.
func (s *Store) ListGrants(ctx context.Context, f verification.GrantFilter) (verification.Page[verification.Grant], error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.Page[verification.Grant]{}, err
	}
	defer unlock()
	r := s.root
	page := verification.Page[verification.Grant]{Items: []verification.Grant{}}
	n := len(r.grants)
	for i := 0; i < n; i++ {
		g := r.grants[i]
		if f.Desc {
			g = r.grants[n-1-i]
		}
		if f.SubjectID != 0 && g.SubjectID != f.SubjectID {
			continue
		}
		if f.Tags != nil && !r.subjects[g.SubjectID].HasAnyTag(f.Tags) {
			continue
		}
		if page.Total >= f.Offset && len(page.Items) < f.Limit {
			page.Items = append(page.Items, cloneGrant(g))
		}
		page.Total++
	}
	return page, nil
}
