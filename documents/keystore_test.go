package documents

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeyStores(t *testing.T) {
	t.Parallel()

	factories := []struct {
		name string
		new  func(t *testing.T) KeyStore
	}{
		{name: "memory", new: func(*testing.T) KeyStore { return NewMemoryKeyStore() }},
		{name: "file", new: func(t *testing.T) KeyStore {
			ks, err := NewFileKeyStore(t.TempDir())
			require.NoError(t, err)
			return ks
		}},
	}
	for _, f := range factories {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			ks := f.new(t)
			k1 := WrappedKey{MasterKeyID: "m1", Ciphertext: []byte("wrapped-one")}
			k2 := WrappedKey{MasterKeyID: "m2", Ciphertext: []byte("wrapped-two")}

			_, err := ks.GetDataKey(ctx, "42")
			require.ErrorIs(t, err, ErrKeyNotFound)

			require.NoError(t, ks.PutDataKey(ctx, "42", k1))
			got, err := ks.GetDataKey(ctx, "42")
			require.NoError(t, err)
			require.Equal(t, k1, got)

			got.Ciphertext[0] = 'X'
			again, err := ks.GetDataKey(ctx, "42")
			require.NoError(t, err)
			require.Equal(t, k1, again, "returned keys share no memory with the store")

			require.NoError(t, ks.PutDataKey(ctx, "42", k2), "Put replaces")
			got, err = ks.GetDataKey(ctx, "42")
			require.NoError(t, err)
			require.Equal(t, k2, got)

			_, err = ks.GetDataKey(ctx, "43")
			require.ErrorIs(t, err, ErrKeyNotFound, "owners are isolated")

			kc, ok := ks.(KeyCreator)
			require.True(t, ok)
			require.ErrorIs(t, kc.CreateDataKey(ctx, "42", k1), ErrKeyExists)
			got, err = ks.GetDataKey(ctx, "42")
			require.NoError(t, err)
			require.Equal(t, k2, got, "a refused create changes nothing")
			require.NoError(t, kc.CreateDataKey(ctx, "43", k1))
			got, err = ks.GetDataKey(ctx, "43")
			require.NoError(t, err)
			require.Equal(t, k1, got)

			require.NoError(t, ks.DeleteDataKey(ctx, "42"))
			require.NoError(t, ks.DeleteDataKey(ctx, "42"), "deleting an absent key is not an error")
			_, err = ks.GetDataKey(ctx, "42")
			require.ErrorIs(t, err, ErrKeyNotFound)
			_, err = ks.GetDataKey(ctx, "43")
			require.NoError(t, err)

			for _, owner := range []string{"", ".", "..", "../42", "a/b", `a\b`, "/etc/passwd", "a\x00", strings.Repeat("x", MaxOwnerLen+1)} {
				_, err := ks.GetDataKey(ctx, owner)
				require.ErrorIs(t, err, ErrInvalidOwner, "owner %q", owner)
				require.ErrorIs(t, ks.PutDataKey(ctx, owner, k1), ErrInvalidOwner)
				require.ErrorIs(t, kc.CreateDataKey(ctx, owner, k1), ErrInvalidOwner)
				require.ErrorIs(t, ks.DeleteDataKey(ctx, owner), ErrInvalidOwner)
			}

			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			_, err = ks.GetDataKey(cancelled, "43")
			require.ErrorIs(t, err, context.Canceled)
		})
	}
}

func TestFileKeyStoreFiles(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	ks, err := NewFileKeyStore(dir)
	require.NoError(t, err)

	_, err = NewFileKeyStore("")
	require.Error(t, err)

	require.NoError(t, ks.PutDataKey(ctx, "42", WrappedKey{MasterKeyID: "m1", Ciphertext: []byte{1, 2, 3}}))
	require.Equal(t, []string{keyFileName("42")}, dirNames(t, dir), "one file per owner, no temporary file left")
	require.Equal(t, "73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049.key", keyFileName("42"))

	// Owners differing only in case are different owners, on any file system.
	require.NoError(t, ks.PutDataKey(ctx, "Ab", WrappedKey{MasterKeyID: "m1", Ciphertext: []byte{1}}))
	require.NoError(t, ks.PutDataKey(ctx, "ab", WrappedKey{MasterKeyID: "m1", Ciphertext: []byte{2}}))
	got, err := ks.GetDataKey(ctx, "Ab")
	require.NoError(t, err)
	require.Equal(t, []byte{1}, got.Ciphertext)

	require.Error(t, ks.PutDataKey(ctx, "43", WrappedKey{MasterKeyID: "../m1"}), "master key ids are validated")

	for name, content := range map[string]string{
		"not json":        "garbage",
		"wrong version":   `{"version":2,"master_key_id":"m1","ciphertext":"AQID"}`,
		"no master key":   `{"version":1,"ciphertext":"AQID"}`,
		"bad base64":      `{"version":1,"master_key_id":"m1","ciphertext":"%%%"}`,
		"oversized input": `{"version":1,"master_key_id":"m1","ciphertext":"` + strings.Repeat("A", maxKeyFileSize) + `"}`,
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, keyFileName("44")), []byte(content), 0o600))
		_, err := ks.GetDataKey(ctx, "44")
		require.ErrorIs(t, err, ErrTampered, name)
	}
}

func TestNewKeyring(t *testing.T) {
	t.Parallel()

	good := MasterKey{ID: "m1", Key: bytes.Repeat([]byte{1}, MasterKeySize)}
	other := MasterKey{ID: "m2", Key: bytes.Repeat([]byte{2}, MasterKeySize)}
	tests := []struct {
		name    string
		current MasterKey
		old     []MasterKey
		wantErr string
	}{
		{name: "one key", current: good},
		{name: "with old keys", current: other, old: []MasterKey{good}},
		{name: "short key", current: MasterKey{ID: "m1", Key: make([]byte, 16)}, wantErr: "want 32 bytes, got 16"},
		{name: "no key", current: MasterKey{ID: "m1"}, wantErr: "want 32 bytes, got 0"},
		{name: "empty id", current: MasterKey{Key: good.Key}, wantErr: "key id is required"},
		{name: "bad id", current: MasterKey{ID: "m/1", Key: good.Key}, wantErr: "byte 1"},
		{name: "long id", current: MasterKey{ID: strings.Repeat("m", maxKeyIDLen+1), Key: good.Key}, wantErr: "longer than"},
		{name: "duplicate id", current: good, old: []MasterKey{{ID: "m1", Key: other.Key}}, wantErr: "duplicate"},
		{name: "bad old key", current: good, old: []MasterKey{{ID: "m2", Key: []byte("short")}}, wantErr: "want 32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := NewKeyring(tt.current, tt.old...)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.current.ID, k.CurrentID())
		})
	}
}

func TestKeyringWrap(t *testing.T) {
	t.Parallel()

	m1, err := GenerateMasterKey("m1")
	require.NoError(t, err)
	keyBytes := bytes.Clone(m1.Key)
	k, err := NewKeyring(m1)
	require.NoError(t, err)
	clear(m1.Key) // the keyring keeps its own copy

	dataKey := bytes.Repeat([]byte{9}, MasterKeySize)
	w := k.wrap("42", dataKey)
	require.Equal(t, "m1", w.MasterKeyID)
	require.NotContains(t, string(w.Ciphertext), string(dataKey))
	require.NotEqual(t, w.Ciphertext, k.wrap("42", dataKey).Ciphertext, "random nonce per wrap")

	got, err := k.unwrap("42", w)
	require.NoError(t, err)
	require.Equal(t, dataKey, got)

	_, err = k.unwrap("43", w)
	require.ErrorIs(t, err, ErrTampered, "bound to the owner")
	_, err = k.unwrap("42", WrappedKey{MasterKeyID: "m9", Ciphertext: w.Ciphertext})
	require.ErrorIs(t, err, ErrUnknownMasterKey)
	_, err = k.unwrap("42", WrappedKey{MasterKeyID: "m1", Ciphertext: w.Ciphertext[:10]})
	require.ErrorIs(t, err, ErrTampered)
	flipped := bytes.Clone(w.Ciphertext)
	flipped[20] ^= 1
	_, err = k.unwrap("42", WrappedKey{MasterKeyID: "m1", Ciphertext: flipped})
	require.ErrorIs(t, err, ErrTampered)

	// A key relabelled with another master key id fails even if that key is
	// the same bytes.
	k2, err := NewKeyring(MasterKey{ID: "m2", Key: keyBytes}, MasterKey{ID: "m1", Key: keyBytes})
	require.NoError(t, err)
	_, err = k2.unwrap("42", WrappedKey{MasterKeyID: "m2", Ciphertext: w.Ciphertext})
	require.ErrorIs(t, err, ErrTampered)
	got, err = k2.unwrap("42", w)
	require.NoError(t, err)
	require.Equal(t, dataKey, got)
}

func TestKeysDoNotLeakThroughFormatting(t *testing.T) {
	t.Parallel()

	mk, err := GenerateMasterKey("m1")
	require.NoError(t, err)
	sk := SigningKey{ID: "s1", Secret: []byte("0123456789abcdef0123456789abcdef-secret")}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, mk) + fmt.Sprintf(verb, sk)
		assert.Contains(t, out, "m1")
		assert.NotContains(t, out, fmt.Sprint(mk.Key[:4]))
		assert.NotContains(t, out, fmt.Sprintf("%x", mk.Key[:4]))
		assert.NotContains(t, out, "secret")
	}

	_, err = GenerateMasterKey("bad id")
	require.Error(t, err)
}
