// Package memory is the reference verification.Store: everything in process
// memory, safe for concurrent use, transactions by an undo log. It is meant
// for tests (verification/verificationtest builds on it) and as the model the
// SQL stores are checked against; it passes storage/storagetest like every
// other store.
//
// Transactions are serialised: InTx holds the store's write lock while fn
// runs, so inside fn use only the tx Store it receives.
package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/openkyc/kyc/verification"
)

// Store is the in-memory verification.Store.
type Store struct {
	root *root
	tx   *txn // nil outside a transaction
}

var _ verification.Store = (*Store)(nil)

type root struct {
	mu     sync.RWMutex
	closed bool

	subjects    map[int64]verification.Subject
	byIdent     map[string]int64
	nextSubject int64

	states map[int64]map[string]verification.RequirementState

	reviews []verification.Review

	grants []verification.Grant // grants[i].ID == i+1

	apps      map[int64]verification.Application
	appByUUID map[string]int64
	nextApp   int64

	files map[string]verification.File

	sessions []verification.IDSession

	events   []verification.Event
	eventIDs map[string]bool

	idem map[idemKey]verification.IdempotencyRecord

	sinks      []string
	deliveries map[deliveryKey]*verification.Delivery
}

type txn struct {
	undo []func()
	done bool
}

// New returns an empty store.
func New() *Store {
	return &Store{root: &root{
		subjects:   map[int64]verification.Subject{},
		byIdent:    map[string]int64{},
		states:     map[int64]map[string]verification.RequirementState{},
		apps:       map[int64]verification.Application{},
		appByUUID:  map[string]int64{},
		files:      map[string]verification.File{},
		eventIDs:   map[string]bool{},
		idem:       map[idemKey]verification.IdempotencyRecord{},
		deliveries: map[deliveryKey]*verification.Delivery{},
	}}
}

// Close marks the store closed; later calls return verification.ErrClosed.
func (s *Store) Close() error {
	s.root.mu.Lock()
	defer s.root.mu.Unlock()
	s.root.closed = true
	return nil
}

var errTxDone = fmt.Errorf("memory: transaction already finished: %w", verification.ErrClosed)

// begin takes the lock a call needs (none inside a transaction) and checks
// the context and the store's state. The returned func releases the lock.
func (s *Store) begin(ctx context.Context, write bool) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	unlock := func() {}
	if s.tx == nil {
		if write {
			s.root.mu.Lock()
			unlock = s.root.mu.Unlock
		} else {
			s.root.mu.RLock()
			unlock = s.root.mu.RUnlock
		}
	} else if s.tx.done {
		return nil, errTxDone
	}
	if s.root.closed {
		unlock()
		return nil, verification.ErrClosed
	}
	return unlock, nil
}

// onUndo records how to revert a write when inside a transaction.
func (s *Store) onUndo(f func()) {
	if s.tx != nil {
		s.tx.undo = append(s.tx.undo, f)
	}
}

// InTx implements verification.Store.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx verification.Store) error) (err error) {
	if s.tx != nil {
		if s.tx.done {
			return errTxDone
		}
		return fn(ctx, s)
	}
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	t := &txn{}
	tx := &Store{root: s.root, tx: t}
	defer func() {
		p := recover()
		if p != nil || err != nil {
			for i := len(t.undo) - 1; i >= 0; i-- {
				t.undo[i]()
			}
		}
		t.done = true
		if p != nil {
			panic(p)
		}
	}()
	if err = fn(ctx, tx); err != nil {
		return err
	}
	return ctx.Err()
}

func notFound(what string, key any) error {
	return fmt.Errorf("memory: %s %v: %w", what, key, verification.ErrNotFound)
}

func conflict(what string, key any) error {
	return fmt.Errorf("memory: %s %v already exists: %w", what, key, verification.ErrConflict)
}

// ---- subjects

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

// ---- requirement states

func cloneState(st verification.RequirementState) verification.RequirementState {
	st.Answer = cloneRaw(st.Answer)
	return st
}

func cloneRaw(b json.RawMessage) json.RawMessage {
	if b == nil {
		return nil
	}
	return append(json.RawMessage{}, b...)
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
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
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

// ---- reviews

// AddReview implements verification.ReviewStore.
func (s *Store) AddReview(ctx context.Context, rv *verification.Review) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	rv.ID = int64(len(r.reviews)) + 1
	r.reviews = append(r.reviews, *rv)
	s.onUndo(func() { r.reviews = r.reviews[:len(r.reviews)-1] })
	return nil
}

// ListReviews implements verification.ReviewStore.
func (s *Store) ListReviews(ctx context.Context, subjectID int64) ([]verification.Review, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []verification.Review{}
	for _, rv := range s.root.reviews {
		if rv.SubjectID == subjectID {
			out = append(out, rv)
		}
	}
	return out, nil
}

// ---- grants

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

// ---- applications

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

// ---- files

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
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// ---- identity-verification sessions

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
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
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

// ---- events

// AddEvent implements verification.EventStore.
func (s *Store) AddEvent(ctx context.Context, e *verification.Event) error {
	unlock, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	r := s.root
	if r.eventIDs[e.ID] {
		return conflict("event", e.ID)
	}
	e.Seq = int64(len(r.events)) + 1
	c := *e
	c.Data = cloneRaw(e.Data)
	r.events = append(r.events, c)
	r.eventIDs[e.ID] = true
	id := e.ID
	s.onUndo(func() { r.events = r.events[:len(r.events)-1]; delete(r.eventIDs, id) })
	s.addDeliveries(c)
	return nil
}

// ListEvents implements verification.EventStore.
func (s *Store) ListEvents(ctx context.Context, f verification.EventFilter) ([]verification.Event, error) {
	unlock, err := s.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := []verification.Event{}
	for _, e := range s.root.events {
		if e.Seq <= f.AfterSeq || f.SubjectID != 0 && e.SubjectID != f.SubjectID {
			continue
		}
		e.Data = cloneRaw(e.Data)
		out = append(out, e)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}
