package documents

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sealedBundle is what the SealedStore tests work with.
type sealedBundle struct {
	ctx      context.Context
	dir      string
	files    *FileStore
	dataKeys *MemoryKeyStore
	master   MasterKey
	keyring  *Keyring
	sealed   *SealedStore
}

func setupSealed(t *testing.T) *sealedBundle {
	t.Helper()
	dir := t.TempDir()
	files, err := NewFileStore(dir)
	require.NoError(t, err)
	master, err := GenerateMasterKey("m1")
	require.NoError(t, err)
	keyring, err := NewKeyring(master)
	require.NoError(t, err)
	dataKeys := NewMemoryKeyStore()
	sealed, err := NewSealedStore(files, keyring, dataKeys)
	require.NoError(t, err)
	return &sealedBundle{ctx: t.Context(), dir: dir, files: files, dataKeys: dataKeys, master: master, keyring: keyring, sealed: sealed}
}

// readBlob opens key in store and reads it to the end, returning the first
// error of Open, Read or Close.
func readBlob(ctx context.Context, store BlobStore, key string) ([]byte, error) {
	rc, err := store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rc)
	return data, errors.Join(err, rc.Close())
}

// rawPath returns the file of a blob in the bundle's FileStore.
func (b *sealedBundle) rawPath(key string) string { return filepath.Join(b.dir, key) }

// put seals data for owner and returns the blob.
func (b *sealedBundle) put(t *testing.T, owner string, data []byte) Blob {
	t.Helper()
	blob, err := b.sealed.Put(b.ctx, owner, bytes.NewReader(data), int64(len(data))+1)
	require.NoError(t, err)
	return blob
}

func TestNewSealedStore(t *testing.T) {
	t.Parallel()
	b := setupSealed(t)

	_, err := NewSealedStore(nil, b.keyring, b.dataKeys)
	require.Error(t, err)
	_, err = NewSealedStore(b.files, nil, b.dataKeys)
	require.Error(t, err)
	_, err = NewSealedStore(b.files, b.keyring, nil)
	require.Error(t, err)
}

func TestSealedRoundTrip(t *testing.T) {
	t.Parallel()

	sizes := []struct {
		name string
		size int
	}{
		{"empty", 0},
		{"one byte", 1},
		{"chunk minus one", SealChunkSize - 1},
		{"one chunk", SealChunkSize},
		{"chunk plus one", SealChunkSize + 1},
		{"two chunks", 2 * SealChunkSize},
		{"3 MiB", 3 << 20},
		{"3 MiB plus 17", 3<<20 + 17},
	}
	for _, tt := range sizes {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupSealed(t)
			data := randomBytes(t, tt.size)

			blob, err := b.sealed.Put(b.ctx, "42", bytes.NewReader(data), int64(tt.size))
			require.NoError(t, err, "a blob of exactly the limit is accepted")
			sum := sha256.Sum256(data)
			assert.Equal(t, Blob{Key: blob.Key, Owner: "42", Size: int64(tt.size), SHA256: hex.EncodeToString(sum[:])}, blob)

			raw, err := os.ReadFile(b.rawPath(blob.Key))
			require.NoError(t, err)
			chunks := max(1, (tt.size+SealChunkSize-1)/SealChunkSize)
			require.Equal(t, headerFixedLen+len("42")+tt.size+chunks*tagLen, len(raw), "sealed size")
			if tt.size >= 64 {
				require.False(t, bytes.Contains(raw, data[:64]), "the plaintext is not stored")
			}

			got, err := readBlob(b.ctx, b.sealed, blob.Key)
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, got), "round trip")
		})
	}
}

func TestSealedLimit(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		size    int64
		limit   int64
		wantErr bool
	}{
		{name: "exactly the limit", size: 1000, limit: 1000},
		{name: "one over", size: 1001, limit: 1000, wantErr: true},
		{name: "chunk limit exactly", size: SealChunkSize, limit: SealChunkSize},
		{name: "chunk limit plus one", size: SealChunkSize + 1, limit: SealChunkSize, wantErr: true},
		{name: "many chunks over", size: 10 * SealChunkSize, limit: 3*SealChunkSize + 5, wantErr: true},
		{name: "default limit plus one", size: DefaultMaxFileSize + 1, limit: 0, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupSealed(t)
			src := newJPEGStream(tt.size)
			blob, err := b.sealed.Put(b.ctx, "42", src, tt.limit)
			if !tt.wantErr {
				require.NoError(t, err)
				require.Equal(t, tt.size, blob.Size)
				return
			}
			require.ErrorIs(t, err, ErrTooLarge)
			requireEmptyDir(t, b.dir)
			assert.LessOrEqual(t, src.reads, effectiveLimit(tt.limit)+1, "Put reads at most limit+1 bytes")
		})
	}
}

func TestSealedFailures(t *testing.T) {
	t.Parallel()

	t.Run("failing reader", func(t *testing.T) {
		t.Parallel()
		for _, n := range []int64{0, 10, SealChunkSize, 2*SealChunkSize + 3} {
			b := setupSealed(t)
			_, err := b.sealed.Put(b.ctx, "42", newFailingReader(n), 0)
			require.ErrorIs(t, err, errBoom)
			requireEmptyDir(t, b.dir)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		t.Parallel()
		b := setupSealed(t)
		ctx, cancel := context.WithCancel(b.ctx)
		defer cancel()
		src := &cancelAfter{r: newJPEGStream(1 << 20), n: 3 * SealChunkSize, cancel: cancel}
		_, err := b.sealed.Put(ctx, "42", src, 0)
		require.ErrorIs(t, err, context.Canceled)
		requireEmptyDir(t, b.dir)

		_, err = b.sealed.Put(ctx, "42", newJPEGStream(10), 0)
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("invalid owner", func(t *testing.T) {
		t.Parallel()
		b := setupSealed(t)
		for _, owner := range []string{"", "../42", "a/b", "a\x00"} {
			_, err := b.sealed.Put(b.ctx, owner, newJPEGStream(10), 0)
			require.ErrorIs(t, err, ErrInvalidOwner)
			require.ErrorIs(t, b.sealed.EraseOwner(b.ctx, owner), ErrInvalidOwner)
			_, err = b.sealed.Rewrap(b.ctx, owner)
			require.ErrorIs(t, err, ErrInvalidOwner)
		}
		requireEmptyDir(t, b.dir)
	})
	t.Run("invalid and absent keys", func(t *testing.T) {
		t.Parallel()
		b := setupSealed(t)
		for _, tt := range invalidKeys {
			_, err := b.sealed.Open(b.ctx, tt.key)
			require.ErrorIs(t, err, ErrInvalidKey, tt.name)
			require.ErrorIs(t, b.sealed.Delete(b.ctx, tt.key), ErrInvalidKey, tt.name)
		}
		_, err := b.sealed.Open(b.ctx, newKey())
		require.ErrorIs(t, err, ErrBlobNotFound)
		require.NoError(t, b.sealed.Delete(b.ctx, newKey()))
	})
	t.Run("plain blob is not a sealed blob", func(t *testing.T) {
		t.Parallel()
		b := setupSealed(t)
		blob, err := b.files.Put(b.ctx, "42", bytes.NewReader(pdfBytes), 0)
		require.NoError(t, err)
		_, err = b.sealed.Open(b.ctx, blob.Key)
		require.ErrorIs(t, err, ErrTampered)
	})
	t.Run("closed stream", func(t *testing.T) {
		t.Parallel()
		b := setupSealed(t)
		blob := b.put(t, "42", randomBytes(t, 3*SealChunkSize))
		rc, err := b.sealed.Open(b.ctx, blob.Key)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		_, err = rc.Read(make([]byte, 10))
		require.Error(t, err)
	})
}

// chunkOffset returns the offset of sealed chunk i in a blob of owner.
func chunkOffset(owner string, i int) int {
	return headerFixedLen + len(owner) + i*(SealChunkSize+tagLen)
}

func TestSealedTamperingDetected(t *testing.T) {
	t.Parallel()

	const owner = "42"
	size := 2*SealChunkSize + 100 // three chunks, the last one short
	c0, c1, c2 := chunkOffset(owner, 0), chunkOffset(owner, 1), chunkOffset(owner, 2)
	chunkLen := SealChunkSize + tagLen

	flip := func(off int) func([]byte, []byte) []byte {
		return func(raw, _ []byte) []byte {
			raw[off] ^= 0x01
			return raw
		}
	}
	tests := []struct {
		name   string
		mutate func(raw, other []byte) []byte // other: a blob of the same owner, same size
		// openErr: Open fails; else reading the stream fails.
		openErr bool
		want    error
	}{
		{name: "magic", mutate: flip(0), openErr: true, want: ErrTampered},
		{name: "version", mutate: flip(len(sealMagic)), openErr: true, want: ErrTampered},
		{name: "salt", mutate: flip(len(sealMagic) + 1 + dataKeyIDLen), openErr: true, want: ErrTampered},
		{name: "owner length", mutate: func(raw, _ []byte) []byte { raw[headerFixedLen-1] = 200; return raw }, openErr: true, want: ErrTampered},
		{name: "owner to an invalid name", mutate: func(raw, _ []byte) []byte { raw[headerFixedLen] = '/'; return raw }, openErr: true, want: ErrTampered},
		{name: "first chunk ciphertext", mutate: flip(c0 + 10), openErr: true, want: ErrTampered},
		{name: "first chunk tag", mutate: flip(c1 - 1), openErr: true, want: ErrTampered},
		{name: "middle chunk", mutate: flip(c1 + 500), want: ErrTampered},
		{name: "last chunk", mutate: flip(c2 + 3), want: ErrTampered},
		{name: "last byte", mutate: func(raw, _ []byte) []byte { raw[len(raw)-1] ^= 0x80; return raw }, want: ErrTampered},
		{name: "truncated header", mutate: func(raw, _ []byte) []byte { return raw[:20] }, openErr: true, want: ErrTampered},
		{name: "header only", mutate: func(raw, _ []byte) []byte { return raw[:c0] }, openErr: true, want: ErrTampered},
		{name: "empty file", mutate: func(raw, _ []byte) []byte { return raw[:0] }, openErr: true, want: ErrTampered},
		{name: "final chunk dropped", mutate: func(raw, _ []byte) []byte { return raw[:c2] }, want: ErrTampered},
		{name: "last two chunks dropped", mutate: func(raw, _ []byte) []byte { return raw[:c1] }, openErr: true, want: ErrTampered},
		{name: "truncated inside last chunk", mutate: func(raw, _ []byte) []byte { return raw[:len(raw)-1] }, want: ErrTampered},
		{name: "truncated inside middle chunk", mutate: func(raw, _ []byte) []byte { return raw[:c1+1000] }, want: ErrTampered},
		{name: "byte appended", mutate: func(raw, _ []byte) []byte { return append(raw, 0) }, want: ErrTampered},
		{name: "chunk appended", mutate: func(raw, _ []byte) []byte { return append(raw, raw[c1:c2]...) }, want: ErrTampered},
		{name: "chunks swapped", mutate: func(raw, _ []byte) []byte {
			out := slices.Clone(raw[:c0])
			out = append(out, raw[c1:c2]...)
			out = append(out, raw[c0:c1]...)
			return append(out, raw[c2:]...)
		}, openErr: true, want: ErrTampered},
		{name: "chunk duplicated over the next", mutate: func(raw, _ []byte) []byte {
			copy(raw[c1:c2], raw[c0:c1])
			return raw
		}, want: ErrTampered},
		{name: "chunk taken from another blob", mutate: func(raw, other []byte) []byte {
			copy(raw[c1:c1+chunkLen], other[c1:c1+chunkLen])
			return raw
		}, want: ErrTampered},
		{name: "header taken from another blob", mutate: func(raw, other []byte) []byte {
			copy(raw[:c0], other[:c0])
			return raw
		}, openErr: true, want: ErrTampered},
		{name: "data key id", mutate: flip(len(sealMagic) + 1), openErr: true, want: ErrErased},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupSealed(t)
			blob := b.put(t, owner, randomBytes(t, size))
			other := b.put(t, owner, randomBytes(t, size))
			raw, err := os.ReadFile(b.rawPath(blob.Key))
			require.NoError(t, err)
			otherRaw, err := os.ReadFile(b.rawPath(other.Key))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(b.rawPath(blob.Key), tt.mutate(raw, otherRaw), 0o600))

			rc, err := b.sealed.Open(b.ctx, blob.Key)
			if tt.openErr {
				require.ErrorIs(t, err, tt.want)
				require.Nil(t, rc)
				return
			}
			require.NoError(t, err)
			defer rc.Close()
			_, err = io.ReadAll(rc)
			require.ErrorIs(t, err, tt.want, "never silently truncated or altered")
			_, err = rc.Read(make([]byte, 1))
			require.ErrorIs(t, err, tt.want, "the error sticks")
		})
	}
}

func TestSealedLongOwner(t *testing.T) {
	t.Parallel()
	b := setupSealed(t)

	owner := strings.Repeat("x", MaxOwnerLen)
	data := randomBytes(t, SealChunkSize+1)
	blob, err := b.sealed.Put(b.ctx, owner, bytes.NewReader(data), 0)
	require.NoError(t, err)
	got, err := readBlob(b.ctx, b.sealed, blob.Key)
	require.NoError(t, err)
	require.Equal(t, data, got)
}

func TestSealedOwnerChangedInHeader(t *testing.T) {
	t.Parallel()
	b := setupSealed(t)

	blob := b.put(t, "42", randomBytes(t, 100))
	b.put(t, "43", randomBytes(t, 100))
	raw, err := os.ReadFile(b.rawPath(blob.Key))
	require.NoError(t, err)
	raw[headerFixedLen+1] = '3' // "42" -> "43": another owner's key does not open it
	require.NoError(t, os.WriteFile(b.rawPath(blob.Key), raw, 0o600))

	_, err = readBlob(b.ctx, b.sealed, blob.Key)
	require.ErrorIs(t, err, ErrErased)
}

func TestSealedWrappedKeyMovedToAnotherOwner(t *testing.T) {
	t.Parallel()
	b := setupSealed(t)

	blob := b.put(t, "42", randomBytes(t, 100))
	b.put(t, "43", randomBytes(t, 100))
	w, err := b.dataKeys.GetDataKey(b.ctx, "43")
	require.NoError(t, err)
	require.NoError(t, b.dataKeys.PutDataKey(b.ctx, "42", w))

	_, err = readBlob(b.ctx, b.sealed, blob.Key)
	require.ErrorIs(t, err, ErrTampered, "wrapped keys are bound to their owner")
}

func TestSealedKeyRotation(t *testing.T) {
	t.Parallel()
	b := setupSealed(t)

	oldData := randomBytes(t, SealChunkSize+10)
	oldBlob := b.put(t, "42", oldData)

	m2, err := GenerateMasterKey("m2")
	require.NoError(t, err)
	rotated, err := NewKeyring(m2, b.master)
	require.NoError(t, err)
	require.Equal(t, "m2", rotated.CurrentID())
	store, err := NewSealedStore(b.files, rotated, b.dataKeys)
	require.NoError(t, err)

	got, err := readBlob(b.ctx, store, oldBlob.Key)
	require.NoError(t, err, "a blob sealed before the rotation stays readable")
	require.Equal(t, oldData, got)

	newData := randomBytes(t, 100)
	newBlob, err := store.Put(b.ctx, "43", bytes.NewReader(newData), 0)
	require.NoError(t, err)
	w, err := b.dataKeys.GetDataKey(b.ctx, "43")
	require.NoError(t, err)
	require.Equal(t, "m2", w.MasterKeyID, "new data keys are wrapped with the new master key")

	// Without the old master key, owner 42's data key cannot be unwrapped.
	onlyNew, err := NewKeyring(m2)
	require.NoError(t, err)
	strict, err := NewSealedStore(b.files, onlyNew, b.dataKeys)
	require.NoError(t, err)
	_, err = readBlob(b.ctx, strict, oldBlob.Key)
	require.ErrorIs(t, err, ErrUnknownMasterKey)
	require.Contains(t, err.Error(), `"m1"`)

	// Rewrap moves owner 42 to the new master key; then the old one can go.
	done, err := store.Rewrap(b.ctx, "42")
	require.NoError(t, err)
	require.True(t, done)
	done, err = store.Rewrap(b.ctx, "42")
	require.NoError(t, err)
	require.False(t, done, "already wrapped by the current key")
	done, err = store.Rewrap(b.ctx, "nobody")
	require.NoError(t, err)
	require.False(t, done, "no key, nothing to rewrap")
	w, err = b.dataKeys.GetDataKey(b.ctx, "42")
	require.NoError(t, err)
	require.Equal(t, "m2", w.MasterKeyID)

	for key, want := range map[string][]byte{oldBlob.Key: oldData, newBlob.Key: newData} {
		got, err := readBlob(b.ctx, strict, key)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}

func TestSealedCryptoErasure(t *testing.T) {
	t.Parallel()
	b := setupSealed(t)

	erased := b.put(t, "42", randomBytes(t, 2*SealChunkSize))
	keptData := randomBytes(t, 1000)
	kept := b.put(t, "43", keptData)

	// A backup copy of the sealed bytes, restored after the erasure.
	backup, err := os.ReadFile(b.rawPath(erased.Key))
	require.NoError(t, err)

	var eraser OwnerEraser = b.sealed
	require.NoError(t, eraser.EraseOwner(b.ctx, "42"))
	require.NoError(t, eraser.EraseOwner(b.ctx, "42"), "erasing twice is not an error")
	require.NoError(t, eraser.EraseOwner(b.ctx, "never-seen"))

	_, err = readBlob(b.ctx, b.sealed, erased.Key)
	require.ErrorIs(t, err, ErrErased)

	restored := newKey()
	require.NoError(t, os.WriteFile(b.rawPath(restored), backup, 0o600))
	_, err = readBlob(b.ctx, b.sealed, restored)
	require.ErrorIs(t, err, ErrErased, "a restored backup is unreadable too")

	got, err := readBlob(b.ctx, b.sealed, kept.Key)
	require.NoError(t, err, "other owners are unaffected")
	require.Equal(t, keptData, got)

	// The owner comes back: a new data key, which cannot read the old blobs.
	freshData := randomBytes(t, 10)
	fresh := b.put(t, "42", freshData)
	got, err = readBlob(b.ctx, b.sealed, fresh.Key)
	require.NoError(t, err)
	require.Equal(t, freshData, got)
	_, err = readBlob(b.ctx, b.sealed, restored)
	require.ErrorIs(t, err, ErrErased)
}

// plainKeyStore hides the KeyCreator capability of a MemoryKeyStore.
type plainKeyStore struct{ KeyStore }

func TestSealedConcurrentFirstPuts(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		dataKeys func(t *testing.T) KeyStore
		stores   int // SealedStores sharing the key store, like processes
	}{
		{name: "memory key store, one store", dataKeys: func(*testing.T) KeyStore { return NewMemoryKeyStore() }, stores: 1},
		{name: "without KeyCreator, one store", dataKeys: func(*testing.T) KeyStore { return plainKeyStore{NewMemoryKeyStore()} }, stores: 1},
		{name: "memory key store, several stores", dataKeys: func(*testing.T) KeyStore { return NewMemoryKeyStore() }, stores: 4},
		{name: "file key store, several stores", dataKeys: func(t *testing.T) KeyStore {
			ks, err := NewFileKeyStore(t.TempDir())
			require.NoError(t, err)
			return ks
		}, stores: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupSealed(t)
			dataKeys := tt.dataKeys(t)
			stores := make([]*SealedStore, tt.stores)
			for i := range stores {
				var err error
				stores[i], err = NewSealedStore(b.files, b.keyring, dataKeys)
				require.NoError(t, err)
			}

			const n = 12
			keys := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					blob, err := stores[i%len(stores)].Put(b.ctx, "7", bytes.NewReader([]byte{byte(i)}), 0)
					assert.NoError(t, err)
					keys[i] = blob.Key
				})
			}
			wg.Wait()
			for i, key := range keys {
				got, err := readBlob(b.ctx, stores[0], key)
				require.NoError(t, err, "every blob sealed concurrently is readable")
				require.Equal(t, []byte{byte(i)}, got)
			}
		})
	}
}

func TestSealedWithFileKeyStore(t *testing.T) {
	t.Parallel()
	b := setupSealed(t)
	keyDir := t.TempDir()
	dataKeys, err := NewFileKeyStore(keyDir)
	require.NoError(t, err)
	store, err := NewSealedStore(b.files, b.keyring, dataKeys)
	require.NoError(t, err)

	data := randomBytes(t, 3*SealChunkSize+1)
	blob, err := store.Put(b.ctx, "42", bytes.NewReader(data), 0)
	require.NoError(t, err)
	require.Equal(t, []string{keyFileName("42")}, dirNames(t, keyDir))

	// A new store on the same directories, like a restarted process.
	reopened, err := NewFileKeyStore(keyDir)
	require.NoError(t, err)
	store2, err := NewSealedStore(b.files, b.keyring, reopened)
	require.NoError(t, err)
	got, err := readBlob(b.ctx, store2, blob.Key)
	require.NoError(t, err)
	require.Equal(t, data, got)

	require.NoError(t, store2.EraseOwner(b.ctx, "42"))
	require.Empty(t, dirNames(t, keyDir))
	_, err = readBlob(b.ctx, store, blob.Key)
	require.ErrorIs(t, err, ErrErased)
}

func TestSealedSizeLimitHelpers(t *testing.T) {
	t.Parallel()

	require.Equal(t, int64(60+tagLen), sealedSizeLimit(60, 0))
	require.Equal(t, int64(60+SealChunkSize+2*tagLen), sealedSizeLimit(60, SealChunkSize))
	require.Equal(t, int64(1<<62-1+60+tagLen*((1<<62-1)/SealChunkSize+1)), sealedSizeLimit(60, 1<<62-1))
	require.Equal(t, int64(^uint64(0)>>1), sealedSizeLimit(60, int64(^uint64(0)>>1)))
}

// brokenKeyStore fails every call, like a key store that is down.
type brokenKeyStore struct{}

func (brokenKeyStore) GetDataKey(context.Context, string) (WrappedKey, error) {
	return WrappedKey{}, errBoom
}
func (brokenKeyStore) PutDataKey(context.Context, string, WrappedKey) error { return errBoom }
func (brokenKeyStore) DeleteDataKey(context.Context, string) error          { return errBoom }

func TestSealedKeyStoreDown(t *testing.T) {
	t.Parallel()
	b := setupSealed(t)
	blob := b.put(t, "42", randomBytes(t, 100))

	down, err := NewSealedStore(b.files, b.keyring, brokenKeyStore{})
	require.NoError(t, err)

	_, err = down.Put(b.ctx, "42", newJPEGStream(100), 0)
	require.ErrorIs(t, err, errBoom)
	require.Equal(t, []string{blob.Key}, dirNames(t, b.dir), "nothing stored")

	_, err = readBlob(b.ctx, down, blob.Key)
	require.ErrorIs(t, err, errBoom)
	require.False(t, errors.Is(err, ErrErased), "an unavailable key store is not an erasure")

	require.ErrorIs(t, down.EraseOwner(b.ctx, "42"), errBoom)
	_, err = down.Rewrap(b.ctx, "42")
	require.ErrorIs(t, err, errBoom)
}
