package documents

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// WrappedKey is a per-owner data key encrypted by a master key.
type WrappedKey struct {
	// MasterKeyID names the master key that wrapped the data key.
	MasterKeyID string
	// Ciphertext is the wrapped data key; its format belongs to Keyring.
	Ciphertext []byte
}

// KeyStore stores the wrapped per-owner data keys of a SealedStore.
// Implementations must be safe for concurrent use and must copy the
// Ciphertext they are given and return.
//
// Crypto-erasure is only as good as DeleteDataKey: once it returns, no copy of
// the wrapped key may remain readable. Keep the key store out of long-lived
// backups of the documents (or back it up separately, with a retention no
// longer than the erasure deadline you promise).
type KeyStore interface {
	// GetDataKey returns owner's wrapped data key, or an error matching
	// ErrKeyNotFound if owner has none.
	GetDataKey(ctx context.Context, owner string) (WrappedKey, error)
	// PutDataKey stores owner's wrapped data key, replacing any previous one.
	PutDataKey(ctx context.Context, owner string, k WrappedKey) error
	// DeleteDataKey destroys owner's wrapped data key. Deleting an absent key
	// is not an error.
	DeleteDataKey(ctx context.Context, owner string) error
}

// KeyCreator is an optional KeyStore capability, detected by type assertion.
// CreateDataKey stores owner's wrapped data key only if owner has none,
// returning an error matching ErrKeyExists otherwise. SealedStore uses it so
// that two processes sealing the first blob of an owner at the same time agree
// on one data key. Without it, SealedStore serialises key creation within its
// own process only.
type KeyCreator interface {
	CreateDataKey(ctx context.Context, owner string, k WrappedKey) error
}

// MemoryKeyStore is a KeyStore in memory, for tests and demos: its keys are
// lost when the process exits, and with them every sealed blob.
type MemoryKeyStore struct {
	mu   sync.Mutex
	keys map[string]WrappedKey
}

var (
	_ KeyStore   = (*MemoryKeyStore)(nil)
	_ KeyCreator = (*MemoryKeyStore)(nil)
)

// NewMemoryKeyStore returns an empty MemoryKeyStore.
func NewMemoryKeyStore() *MemoryKeyStore {
	return &MemoryKeyStore{keys: make(map[string]WrappedKey)}
}

// GetDataKey implements KeyStore.
func (m *MemoryKeyStore) GetDataKey(ctx context.Context, owner string) (WrappedKey, error) {
	if err := checkKeyStoreCall(ctx, owner); err != nil {
		return WrappedKey{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[owner]
	if !ok {
		return WrappedKey{}, fmt.Errorf("%w: owner %q", ErrKeyNotFound, owner)
	}
	return cloneWrapped(k), nil
}

// PutDataKey implements KeyStore.
func (m *MemoryKeyStore) PutDataKey(ctx context.Context, owner string, k WrappedKey) error {
	if err := checkKeyStoreCall(ctx, owner); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[owner] = cloneWrapped(k)
	return nil
}

// CreateDataKey implements KeyCreator.
func (m *MemoryKeyStore) CreateDataKey(ctx context.Context, owner string, k WrappedKey) error {
	if err := checkKeyStoreCall(ctx, owner); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[owner]; ok {
		return fmt.Errorf("%w: owner %q", ErrKeyExists, owner)
	}
	m.keys[owner] = cloneWrapped(k)
	return nil
}

// DeleteDataKey implements KeyStore.
func (m *MemoryKeyStore) DeleteDataKey(ctx context.Context, owner string) error {
	if err := checkKeyStoreCall(ctx, owner); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, owner)
	return nil
}

// FileKeyStore is a KeyStore keeping each owner's wrapped data key in its own
// file, dir/<hex SHA-256 of the owner>.key. Hashing gives every owner a
// fixed-length name that can never leave dir, cannot collide on
// case-insensitive file systems ("Ab" and "ab" are different owners) and does
// not list subject ids in the directory. Owners are still checked with
// ValidateOwner. Writes go through a flushed temporary file and a rename, so
// a key file is always complete. It implements
// KeyCreator with a hard link, which is atomic create-if-absent, so several
// processes may share the directory; the file system must support hard links.
type FileKeyStore struct {
	dir string
}

var (
	_ KeyStore   = (*FileKeyStore)(nil)
	_ KeyCreator = (*FileKeyStore)(nil)
)

// keyFileExt ends the name of every key file.
const keyFileExt = ".key"

// maxKeyFileSize bounds what GetDataKey reads: a key file is about 200 bytes.
const maxKeyFileSize = 4 << 10

// keyFile is the on-disk form of a WrappedKey.
type keyFile struct {
	Version     int    `json:"version"`
	MasterKeyID string `json:"master_key_id"`
	Ciphertext  []byte `json:"ciphertext"`
}

// NewFileKeyStore returns a FileKeyStore keeping key files in dir, creating
// the directory (mode 0700) if needed. Use a directory of its own, apart from
// the blobs.
func NewFileKeyStore(dir string) (*FileKeyStore, error) {
	if dir == "" {
		return nil, errors.New("documents: file key store: directory is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("documents: file key store: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("documents: file key store: %w", err)
	}
	return &FileKeyStore{dir: abs}, nil
}

// GetDataKey implements KeyStore. A key file that cannot be parsed matches
// ErrTampered.
func (s *FileKeyStore) GetDataKey(ctx context.Context, owner string) (WrappedKey, error) {
	if err := checkKeyStoreCall(ctx, owner); err != nil {
		return WrappedKey{}, err
	}
	f, err := os.Open(filepath.Join(s.dir, keyFileName(owner)))
	if errors.Is(err, fs.ErrNotExist) {
		return WrappedKey{}, fmt.Errorf("%w: owner %q", ErrKeyNotFound, owner)
	}
	if err != nil {
		return WrappedKey{}, fmt.Errorf("documents: get data key: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return WrappedKey{}, fmt.Errorf("documents: get data key: %w", err)
	}
	var kf keyFile
	if len(data) > maxKeyFileSize || json.Unmarshal(data, &kf) != nil || kf.Version != 1 || kf.MasterKeyID == "" {
		return WrappedKey{}, fmt.Errorf("%w: malformed key file for owner %q", ErrTampered, owner)
	}
	return WrappedKey{MasterKeyID: kf.MasterKeyID, Ciphertext: kf.Ciphertext}, nil
}

// PutDataKey implements KeyStore.
func (s *FileKeyStore) PutDataKey(ctx context.Context, owner string, k WrappedKey) error {
	if err := checkKeyStoreCall(ctx, owner); err != nil {
		return err
	}
	if err := s.write(owner, k, false); err != nil {
		return fmt.Errorf("documents: put data key: %w", err)
	}
	return nil
}

// CreateDataKey implements KeyCreator.
func (s *FileKeyStore) CreateDataKey(ctx context.Context, owner string, k WrappedKey) error {
	if err := checkKeyStoreCall(ctx, owner); err != nil {
		return err
	}
	err := s.write(owner, k, true)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: owner %q", ErrKeyExists, owner)
	}
	if err != nil {
		return fmt.Errorf("documents: create data key: %w", err)
	}
	return nil
}

// DeleteDataKey implements KeyStore. The directory is flushed after the
// removal.
func (s *FileKeyStore) DeleteDataKey(ctx context.Context, owner string) error {
	if err := checkKeyStoreCall(ctx, owner); err != nil {
		return err
	}
	err := os.Remove(filepath.Join(s.dir, keyFileName(owner)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("documents: delete data key: %w", err)
	}
	return nil
}

// write stores k as owner's key file, atomically.
func (s *FileKeyStore) write(owner string, k WrappedKey, exclusive bool) error {
	if err := validateKeyID(k.MasterKeyID); err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	data, err := json.Marshal(keyFile{Version: 1, MasterKeyID: k.MasterKeyID, Ciphertext: k.Ciphertext})
	if err != nil {
		return err
	}
	return writeFileAtomic(s.dir, keyFileName(owner), data, exclusive)
}

// keyFileName returns the name of owner's key file.
func keyFileName(owner string) string {
	sum := sha256.Sum256([]byte(owner))
	return hex.EncodeToString(sum[:]) + keyFileExt
}

// checkKeyStoreCall performs the checks every KeyStore method starts with.
func checkKeyStoreCall(ctx context.Context, owner string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("documents: key store: %w", err)
	}
	return ValidateOwner(owner)
}

// cloneWrapped returns a copy of k that shares no memory with it.
func cloneWrapped(k WrappedKey) WrappedKey {
	return WrappedKey{MasterKeyID: k.MasterKeyID, Ciphertext: slices.Clone(k.Ciphertext)}
}
