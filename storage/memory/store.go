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
	"fmt"
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
	pending    *pendingQueue // the pending deliveries, for claims

	deletions         map[string]verification.BlobDeletion
	providerEvents    []verification.ProviderEvent // providerEvents[i].ID == i+1
	providerEventKeys map[providerKey]int64
	providerSessions  map[providerKey]verification.ProviderSession

	audit []verification.AuditEntry // audit[i].Seq == i+1
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
		pending:    newPendingQueue(),
		deletions:  map[string]verification.BlobDeletion{},

		providerEventKeys: map[providerKey]int64{},
		providerSessions:  map[providerKey]verification.ProviderSession{},
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
