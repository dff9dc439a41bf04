package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
)

// RunKeyStore checks a documents.KeyStore (and documents.KeyCreator when
// the store implements it). newStore returns a new, empty store.
//
// What it pins down: GetDataKey of an owner without a key fails with
// documents.ErrKeyNotFound; PutDataKey replaces; DeleteDataKey of an absent
// key returns nil and, once it returns, the key is gone; the store copies
// the ciphertext both ways; owners are checked with ValidateOwner and
// compared exactly ("Ab" is not "ab"); a cancelled context fails every call
// and changes nothing; CreateDataKey stores only when the owner has no key
// (documents.ErrKeyExists otherwise), and of concurrent creators exactly one
// wins; a documents.KeyLister lists every owner once, in byte order, page
// by page, with its master key id, and no deleted one.
func RunKeyStore(t *testing.T, newStore func(t *testing.T) documents.KeyStore) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, ks documents.KeyStore)
	}{
		{"GetMissing", keyGetMissing},
		{"PutGetReplaceDelete", keyPutGetReplaceDelete},
		{"CopiesCiphertext", keyCopies},
		{"OwnerIsolation", keyOwnerIsolation},
		{"InvalidOwners", keyInvalidOwners},
		{"CancelledContext", keyCancelled},
		{"CreateOnlyIfAbsent", keyCreate},
		{"ConcurrentCreateOneWinner", keyConcurrentCreate},
		{"ListDataKeys", keyList},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// wrapped returns a wrapped key of the usual shape (12-byte nonce, 32-byte
// key, 16-byte tag) whose bytes are derived from seed.
func wrapped(master string, seed byte) documents.WrappedKey {
	c := make([]byte, 60)
	for i := range c {
		c[i] = seed + byte(i)*7
	}
	return documents.WrappedKey{MasterKeyID: master, Ciphertext: c}
}

func keyGetMissing(t *testing.T, ks documents.KeyStore) {
	_, err := ks.GetDataKey(t.Context(), "42")
	require.ErrorIs(t, err, documents.ErrKeyNotFound, "GetDataKey of an owner without a key")
}

func keyPutGetReplaceDelete(t *testing.T, ks documents.KeyStore) {
	ctx := t.Context()
	first := wrapped("2025-01", 1)
	require.NoError(t, ks.PutDataKey(ctx, "42", first))
	got, err := ks.GetDataKey(ctx, "42")
	require.NoError(t, err)
	require.Equal(t, first, got, "GetDataKey returns what PutDataKey stored")

	second := wrapped("2025-06", 2)
	require.NoError(t, ks.PutDataKey(ctx, "42", second), "PutDataKey replaces (a rewrap)")
	got, err = ks.GetDataKey(ctx, "42")
	require.NoError(t, err)
	require.Equal(t, second, got, "GetDataKey after a replacement returns the new key and its master key id")

	require.NoError(t, ks.DeleteDataKey(ctx, "42"))
	_, err = ks.GetDataKey(ctx, "42")
	require.ErrorIs(t, err, documents.ErrKeyNotFound, "the key is gone once DeleteDataKey returns")
	require.NoError(t, ks.DeleteDataKey(ctx, "42"), "deleting an absent key returns nil")
	require.NoError(t, ks.DeleteDataKey(ctx, "never-had-one"), "deleting a key never stored returns nil")

	require.NoError(t, ks.PutDataKey(ctx, "42", first), "an owner whose key was deleted can get a new one")
	got, err = ks.GetDataKey(ctx, "42")
	require.NoError(t, err)
	require.Equal(t, first, got)
}

func keyCopies(t *testing.T, ks documents.KeyStore) {
	ctx := t.Context()
	k := wrapped("m1", 3)
	want := bytes.Clone(k.Ciphertext)
	require.NoError(t, ks.PutDataKey(ctx, "42", k))
	k.Ciphertext[0] ^= 0xff
	got, err := ks.GetDataKey(ctx, "42")
	require.NoError(t, err)
	require.Equal(t, want, got.Ciphertext, "the store must copy the ciphertext it is given")
	got.Ciphertext[1] ^= 0xff
	again, err := ks.GetDataKey(ctx, "42")
	require.NoError(t, err)
	require.Equal(t, want, again.Ciphertext, "the store must return a copy of the ciphertext")
}

func keyOwnerIsolation(t *testing.T, ks documents.KeyStore) {
	ctx := t.Context()
	owners := []string{"ab", "Ab", "a", "abc", "a.b"}
	for i, o := range owners {
		require.NoError(t, ks.PutDataKey(ctx, o, wrapped("m1", byte(10*i))))
	}
	require.NoError(t, ks.DeleteDataKey(ctx, "ab"))
	_, err := ks.GetDataKey(ctx, "ab")
	require.ErrorIs(t, err, documents.ErrKeyNotFound)
	for i, o := range owners[1:] {
		got, err := ks.GetDataKey(ctx, o)
		require.NoError(t, err, "deleting owner %q's key must leave owner %q's", "ab", o)
		require.Equal(t, wrapped("m1", byte(10*(i+1))), got, "owner %q keeps its own key", o)
	}
}

func keyInvalidOwners(t *testing.T, ks documents.KeyStore) {
	ctx := t.Context()
	for _, o := range []string{"", "..", "a/b", "a b", "é", strings.Repeat("x", documents.MaxOwnerLen+1)} {
		_, err := ks.GetDataKey(ctx, o)
		require.ErrorIs(t, err, documents.ErrInvalidOwner, "GetDataKey(%q)", o)
		require.ErrorIs(t, ks.PutDataKey(ctx, o, wrapped("m1", 1)), documents.ErrInvalidOwner, "PutDataKey(%q)", o)
		require.ErrorIs(t, ks.DeleteDataKey(ctx, o), documents.ErrInvalidOwner, "DeleteDataKey(%q)", o)
		if kc, ok := ks.(documents.KeyCreator); ok {
			require.ErrorIs(t, kc.CreateDataKey(ctx, o, wrapped("m1", 1)), documents.ErrInvalidOwner, "CreateDataKey(%q)", o)
		}
	}
	long := strings.Repeat("x", documents.MaxOwnerLen)
	require.NoError(t, ks.PutDataKey(ctx, long, wrapped("m1", 1)), "an owner of MaxOwnerLen bytes")
	_, err := ks.GetDataKey(ctx, long)
	require.NoError(t, err)
}

func keyCancelled(t *testing.T, ks documents.KeyStore) {
	require.NoError(t, ks.PutDataKey(t.Context(), "42", wrapped("m1", 1)))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := ks.GetDataKey(ctx, "42")
	require.ErrorIs(t, err, context.Canceled, "GetDataKey with a cancelled context")
	require.ErrorIs(t, ks.PutDataKey(ctx, "42", wrapped("m2", 2)), context.Canceled, "PutDataKey with a cancelled context")
	require.ErrorIs(t, ks.DeleteDataKey(ctx, "42"), context.Canceled, "DeleteDataKey with a cancelled context")
	if kc, ok := ks.(documents.KeyCreator); ok {
		require.ErrorIs(t, kc.CreateDataKey(ctx, "7", wrapped("m2", 2)), context.Canceled, "CreateDataKey with a cancelled context")
	}
	got, err := ks.GetDataKey(t.Context(), "42")
	require.NoError(t, err, "calls with a cancelled context change nothing")
	require.Equal(t, wrapped("m1", 1), got)
	_, err = ks.GetDataKey(t.Context(), "7")
	require.ErrorIs(t, err, documents.ErrKeyNotFound)
}

func keyCreate(t *testing.T, ks documents.KeyStore) {
	kc, ok := ks.(documents.KeyCreator)
	if !ok {
		t.Skipf("%T does not implement documents.KeyCreator", ks)
	}
	ctx := t.Context()
	require.NoError(t, kc.CreateDataKey(ctx, "42", wrapped("m1", 1)))
	err := kc.CreateDataKey(ctx, "42", wrapped("m1", 2))
	require.ErrorIs(t, err, documents.ErrKeyExists, "CreateDataKey when the owner has a key")
	got, err := ks.GetDataKey(ctx, "42")
	require.NoError(t, err)
	require.Equal(t, wrapped("m1", 1), got, "a refused CreateDataKey keeps the first key")
	require.NoError(t, ks.DeleteDataKey(ctx, "42"))
	require.NoError(t, kc.CreateDataKey(ctx, "42", wrapped("m1", 3)), "CreateDataKey after DeleteDataKey")
	got, err = ks.GetDataKey(ctx, "42")
	require.NoError(t, err)
	require.Equal(t, wrapped("m1", 3), got)
}

func keyConcurrentCreate(t *testing.T, ks documents.KeyStore) {
	kc, ok := ks.(documents.KeyCreator)
	if !ok {
		t.Skipf("%T does not implement documents.KeyCreator", ks)
	}
	ctx := t.Context()
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []byte
		other   []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := kc.CreateDataKey(ctx, "42", wrapped("m1", byte(i)))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, byte(i))
			case !errors.Is(err, documents.ErrKeyExists):
				other = append(other, fmt.Errorf("creator %d: %w", i, err))
			}
		}()
	}
	wg.Wait()
	require.Empty(t, other, "concurrent creators either win or get ErrKeyExists")
	require.Len(t, winners, 1, "exactly one of %d concurrent CreateDataKey calls wins", n)
	got, err := ks.GetDataKey(ctx, "42")
	require.NoError(t, err)
	require.Equal(t, wrapped("m1", winners[0]), got, "the stored key is the winner's")
}

func keyList(t *testing.T, ks documents.KeyStore) {
	lister, ok := ks.(documents.KeyLister)
	if !ok {
		t.Skip("the store is not a documents.KeyLister")
	}
	ctx := context.Background()
	owners := []string{"s10", "s2", "S3", "a", "s1"}
	for i, o := range owners {
		require.NoError(t, ks.PutDataKey(ctx, o, wrapped(fmt.Sprintf("m%d", i%2), byte(i))))
	}
	require.NoError(t, ks.PutDataKey(ctx, "s2", wrapped("m9", 1)), "a replaced key is listed once, with its new master key")
	require.NoError(t, ks.DeleteDataKey(ctx, "a"))

	var got []documents.DataKeyRef
	after := ""
	for range 10 {
		page, err := lister.ListDataKeys(ctx, after, 2)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 2)
		got = append(got, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].Owner
	}
	require.Equal(t, []documents.DataKeyRef{
		{Owner: "S3", MasterKeyID: "m0"}, {Owner: "s1", MasterKeyID: "m0"}, {Owner: "s10", MasterKeyID: "m0"}, {Owner: "s2", MasterKeyID: "m9"},
	}, got, "every owner once, in byte order")

	_, err := lister.ListDataKeys(ctx, "", 0)
	require.Error(t, err, "the limit must be positive")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = lister.ListDataKeys(cancelled, "", 10)
	require.ErrorIs(t, err, context.Canceled)
}
