package documents

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSealedRewrapAll: after a rotation, RewrapAll moves every owner's data
// key (more than a page of them) to the new master key, calls after for
// each, and a second run finds them all current; the old key can then go.
func TestSealedRewrapAll(t *testing.T) {
	t.Parallel()
	b := setupSealed(t)
	const owners = rewrapPage + 3
	blobs := map[string]Blob{}
	for i := range owners {
		o := fmt.Sprintf("s%d", i)
		blobs[o] = b.put(t, o, []byte(o))
	}
	m2, err := GenerateMasterKey("m2")
	require.NoError(t, err)
	rotated, err := NewKeyring(m2, b.master)
	require.NoError(t, err)
	store, err := NewSealedStore(b.files, rotated, b.dataKeys)
	require.NoError(t, err)
	_, err = store.Put(b.ctx, "new", strings.NewReader("new"), 0)
	require.NoError(t, err)

	seen := map[string]bool{}
	rep, err := store.RewrapAll(b.ctx, func(_ context.Context, owner string) error {
		require.False(t, seen[owner], "after is called once per owner")
		seen[owner] = true
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, RewrapReport{Rewrapped: owners, Current: 1, CurrentKeyID: "m2"}, rep)
	require.Len(t, seen, owners)

	onlyNew, err := NewKeyring(m2)
	require.NoError(t, err)
	strict, err := NewSealedStore(b.files, onlyNew, b.dataKeys)
	require.NoError(t, err)
	for o, blob := range blobs {
		got, err := readBlob(b.ctx, strict, blob.Key)
		require.NoError(t, err, "%s: readable without the old master key", o)
		require.Equal(t, []byte(o), got)
	}
	rep, err = strict.RewrapAll(b.ctx, nil)
	require.NoError(t, err)
	require.Equal(t, RewrapReport{Current: owners + 1, CurrentKeyID: "m2"}, rep)

	// after's error stops the walk; a later run resumes.
	m3, err := GenerateMasterKey("m3")
	require.NoError(t, err)
	again, err := NewKeyring(m3, m2)
	require.NoError(t, err)
	third, err := NewSealedStore(b.files, again, b.dataKeys)
	require.NoError(t, err)
	errStop := errors.New("stop")
	rep, err = third.RewrapAll(b.ctx, func(context.Context, string) error { return errStop })
	require.ErrorIs(t, err, errStop)
	require.Equal(t, 1, rep.Rewrapped)
	rep, err = third.RewrapAll(b.ctx, nil)
	require.NoError(t, err)
	require.Equal(t, RewrapReport{Rewrapped: owners, Current: 1, CurrentKeyID: "m3"}, rep)
}

// TestSealedRewrapAllNeedsALister: a FileKeyStore cannot list its owners.
func TestSealedRewrapAllNeedsALister(t *testing.T) {
	t.Parallel()
	b := setupSealed(t)
	keys, err := NewFileKeyStore(t.TempDir())
	require.NoError(t, err)
	store, err := NewSealedStore(b.files, b.keyring, keys)
	require.NoError(t, err)
	_, err = store.RewrapAll(b.ctx, nil)
	require.ErrorIs(t, err, ErrNoKeyLister)
	require.ErrorIs(t, err, errors.ErrUnsupported)
}
