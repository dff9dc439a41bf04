package memory

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/openkyc/kyc/verification"
)

func cloneState(st verification.RequirementState) verification.RequirementState {
	st.Answer = cloneRaw(st.Answer)
	return st
}

func cloneRaw(b json.RawMessage) json.RawMessage {
	return slices.Clone(b)
}

// ListRequirementStates implements verification.RequirementStore.
func (s *Store) ListRequirementStates(ctx context.Context, subjectID int64) ([]verification.RequirementState, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	m := s.root.states[subjectID]
	out := make([]verification.RequirementState, 0, len(m))
	for _, st := range m {
		out = append(out, cloneState(st))
	}
	slices.SortFunc(out, func(a, b verification.RequirementState) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// GetRequirementState implements verification.RequirementStore.
func (s *Store) GetRequirementState(ctx context.Context, subjectID int64, name string) (verification.RequirementState, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return verification.RequirementState{}, err
	}
	defer unlock()
	st, ok := s.root.states[subjectID][name]
	if !ok {
		return verification.RequirementState{}, notFound("requirement state", name)
	}
	return cloneState(st), nil
}

// PutRequirementState implements verification.RequirementStore.
func (s *Store) PutRequirementState(ctx context.Context, st verification.RequirementState) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	m := r.states[st.SubjectID]
	if m == nil {
		m = map[string]verification.RequirementState{}
		r.states[st.SubjectID] = m
	}
	old, had := m[st.Name]
	m[st.Name] = cloneState(st)
	s.onUndo(func() {
		if had {
			m[st.Name] = old
		} else {
			delete(m, st.Name)
		}
	})
	return nil
}
