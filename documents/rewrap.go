package documents

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// KeyLister is an optional KeyStore capability, detected by type assertion:
// it lists the owners that have a data key, so that a master key rotation
// (SealedStore.RewrapAll) can reach every one. MemoryKeyStore and the SQL
// stores' DataKeyStores implement it; FileKeyStore cannot (its file names
// are digests of the owners).
type KeyLister interface {
	// ListDataKeys returns up to limit (positive) data keys, with the id
	// of the master key wrapping each, of the owners that come after
	// after in the store's own order of owners ("" starts at the first;
	// byte-wise in MemoryKeyStore, the column's collation in a SQL store),
	// in that order: a page of a walk that resumes after the last owner
	// returned and ends with a short page. Keys written or deleted
	// meanwhile may or may not be listed.
	ListDataKeys(ctx context.Context, after string, limit int) ([]DataKeyRef, error)
}

// DataKeyRef names one owner's data key in a KeyLister's listing.
type DataKeyRef struct {
	// Owner is the owner of the data key.
	Owner string
	// MasterKeyID is the id of the master key that wraps it.
	MasterKeyID string
}

// RewrapReport is what SealedStore.RewrapAll did.
type RewrapReport struct {
	// Rewrapped counts the data keys rewrapped with the current master key.
	Rewrapped int
	// Current counts the data keys the current master key already wrapped.
	Current int
	// CurrentKeyID is the id of the current master key.
	CurrentKeyID string
}

// rewrapPage is how many owners RewrapAll lists at a time.
const rewrapPage = 500

var _ KeyLister = (*MemoryKeyStore)(nil)

// ErrNoKeyLister: SealedStore.RewrapAll needs a KeyStore that implements
// KeyLister. It matches errors.ErrUnsupported.
var ErrNoKeyLister = fmt.Errorf("documents: rewrap all: the key store cannot list its owners: %w", errors.ErrUnsupported)

// RewrapAll rewraps the data key of every owner the KeyStore lists (it must
// implement KeyLister, or RewrapAll returns ErrNoKeyLister) with the current
// master key, page by page, so that the old master keys can then be dropped:
// Rewrap for each owner an older key wraps. After each owner it rewraps,
// RewrapAll calls after (when non-nil) with that owner; after's error stops
// the walk. On an error, the report counts what was done; running RewrapAll
// again resumes (the owners already rewrapped count as Current). As with
// Rewrap, do not run it while another process erases owners unless after
// re-erases the owners erased meanwhile (verification.Service.RewrapKeys
// does).
func (s *SealedStore) RewrapAll(ctx context.Context, after func(ctx context.Context, owner string) error) (RewrapReport, error) {
	rep := RewrapReport{CurrentKeyID: s.keys.CurrentID()}
	lister, ok := s.dataKeys.(KeyLister)
	if !ok {
		return rep, ErrNoKeyLister
	}
	cursor := ""
	for {
		page, err := lister.ListDataKeys(ctx, cursor, rewrapPage)
		if err != nil {
			return rep, fmt.Errorf("documents: rewrap all: %w", err)
		}
		for _, k := range page {
			if k.MasterKeyID == rep.CurrentKeyID {
				rep.Current++
				continue
			}
			done, err := s.Rewrap(ctx, k.Owner)
			if err != nil {
				return rep, err
			}
			if !done {
				continue // erased or rewrapped meanwhile
			}
			rep.Rewrapped++
			if after != nil {
				if err := after(ctx, k.Owner); err != nil {
					return rep, err
				}
			}
		}
		if len(page) < rewrapPage {
			return rep, nil
		}
		cursor = page[len(page)-1].Owner
	}
}

// ListDataKeys implements KeyLister.
func (m *MemoryKeyStore) ListDataKeys(ctx context.Context, after string, limit int) ([]DataKeyRef, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("documents: key store: %w", err)
	}
	if limit <= 0 {
		return nil, errors.New("documents: key store: list data keys: limit must be positive")
	}
	m.mu.Lock()
	out := make([]DataKeyRef, 0, min(limit, len(m.keys)))
	for owner, k := range m.keys {
		if owner > after {
			out = append(out, DataKeyRef{Owner: owner, MasterKeyID: k.MasterKeyID})
		}
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b DataKeyRef) int { return strings.Compare(a.Owner, b.Owner) })
	return out[:min(limit, len(out))], nil
}
