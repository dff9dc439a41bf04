package memory

import (
	"cmp"
	"context"
	"slices"

	"github.com/openkyc/kyc/verification"
)

var _ verification.ProviderStore = (*Store)(nil)

type providerKey struct{ provider, key string }

func cloneProviderSession(ps verification.ProviderSession) verification.ProviderSession {
	ps.ReasonCodes = slices.Clone(ps.ReasonCodes)
	return ps
}

// AddProviderEvent implements verification.ProviderStore.
func (s *Store) AddProviderEvent(ctx context.Context, e *verification.ProviderEvent) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	k := providerKey{e.Provider, e.EventKey}
	if _, ok := r.providerEventKeys[k]; ok {
		return conflict("provider event", e.EventKey)
	}
	e.ID = int64(len(r.providerEvents)) + 1
	r.providerEvents = append(r.providerEvents, *e)
	r.providerEventKeys[k] = e.ID
	s.onUndo(func() {
		r.providerEvents = r.providerEvents[:len(r.providerEvents)-1]
		delete(r.providerEventKeys, k)
	})
	return nil
}

// GetProviderEvent implements verification.ProviderStore.
func (s *Store) GetProviderEvent(ctx context.Context, provider, eventKey string) (verification.ProviderEvent, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.ProviderEvent{}, err
	}
	defer unlock()
	id, ok := s.root.providerEventKeys[providerKey{provider, eventKey}]
	if !ok {
		return verification.ProviderEvent{}, notFound("provider event", eventKey)
	}
	return s.root.providerEvents[id-1], nil
}

// ListProviderEvents implements verification.ProviderStore.
func (s *Store) ListProviderEvents(ctx context.Context, f verification.ProviderEventFilter) ([]verification.ProviderEvent, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []verification.ProviderEvent{}
	for _, e := range s.root.providerEvents {
		switch {
		case f.Provider != "" && e.Provider != f.Provider,
			f.SessionID != "" && e.SessionID != f.SessionID,
			f.SubjectID != 0 && e.SubjectID != f.SubjectID:
			continue
		}
		out = append(out, e)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

// GetProviderSession implements verification.ProviderStore.
func (s *Store) GetProviderSession(ctx context.Context, provider, sessionID string) (verification.ProviderSession, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.ProviderSession{}, err
	}
	defer unlock()
	ps, ok := s.root.providerSessions[providerKey{provider, sessionID}]
	if !ok {
		return verification.ProviderSession{}, notFound("provider session", sessionID)
	}
	return cloneProviderSession(ps), nil
}

// PutProviderSession implements verification.ProviderStore.
func (s *Store) PutProviderSession(ctx context.Context, ps verification.ProviderSession) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	if _, ok := r.subjects[ps.SubjectID]; !ok {
		return notFound("subject", ps.SubjectID)
	}
	k := providerKey{ps.Provider, ps.SessionID}
	old, had := r.providerSessions[k]
	r.providerSessions[k] = cloneProviderSession(ps)
	s.onUndo(func() {
		if had {
			r.providerSessions[k] = old
		} else {
			delete(r.providerSessions, k)
		}
	})
	return nil
}

// ListProviderSessions implements verification.ProviderStore.
func (s *Store) ListProviderSessions(ctx context.Context, f verification.ProviderSessionFilter) ([]verification.ProviderSession, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []verification.ProviderSession{}
	for _, ps := range s.root.providerSessions {
		switch {
		case f.SubjectID != 0 && ps.SubjectID != f.SubjectID,
			!f.MediaDueBy.IsZero() && (ps.MediaStatus != verification.MediaPending || ps.MediaNextAt.After(f.MediaDueBy)):
			continue
		}
		out = append(out, cloneProviderSession(ps))
	}
	slices.SortFunc(out, func(a, b verification.ProviderSession) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.SessionID, b.SessionID))
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}
