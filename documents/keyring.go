package documents

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
)

// MasterKeySize is the size of a master key and of a data key: 32 bytes
// (AES-256).
const MasterKeySize = 32

// maxKeyIDLen bounds master key ids and signing key ids.
const maxKeyIDLen = 64

// wrapAADPrefix starts the additional data authenticated when a data key is
// wrapped, followed by the master key id and the owner, so a wrapped key
// copied to another owner or relabelled with another master key id fails to
// unwrap.
const wrapAADPrefix = "openkyc/documents data key v1\x00"

// MasterKey is a key-encryption key: it wraps (encrypts) the per-owner data
// keys, never documents themselves. Load it from a secret manager or the
// environment, never from the document store. Its String method prints only
// the id, so it is safe to log by accident.
type MasterKey struct {
	// ID names the key in wrapped data keys: 1 to 64 ASCII letters, digits,
	// '-', '_' or '.', for example "2025-01".
	ID string
	// Key is the 32-byte AES-256 key.
	Key []byte
}

// String returns the key id only, never the key bytes.
func (k MasterKey) String() string { return "MasterKey(" + k.ID + ")" }

// GoString returns the key id only, never the key bytes.
func (k MasterKey) GoString() string { return k.String() }

// GenerateMasterKey returns a new master key with the given id and 32 bytes
// from crypto/rand.
func GenerateMasterKey(id string) (MasterKey, error) {
	if err := validateKeyID(id); err != nil {
		return MasterKey{}, fmt.Errorf("documents: master key: %w", err)
	}
	key := make([]byte, MasterKeySize)
	_, _ = rand.Read(key)
	return MasterKey{ID: id, Key: key}, nil
}

// Keyring holds the master keys of a SealedStore: the current one, which
// wraps every new data key, and old ones, kept only to unwrap data keys
// wrapped before a rotation.
//
// To rotate: generate a new master key, configure it as current and the
// previous current key as old, then call SealedStore.Rewrap for every owner
// (cheap: it re-encrypts a 32-byte key, not the documents). Once no data key
// is wrapped by an old key any more, remove it from configuration. A data key
// wrapped by a key missing from the Keyring fails with ErrUnknownMasterKey.
//
// A Keyring is immutable and safe for concurrent use.
type Keyring struct {
	currentID string
	aeads     map[string]cipher.AEAD
}

// NewKeyring returns a Keyring wrapping new data keys with current and still
// unwrapping those wrapped with any of old. Every key must be 32 bytes and
// every id valid and distinct. The key bytes are copied.
func NewKeyring(current MasterKey, old ...MasterKey) (*Keyring, error) {
	k := &Keyring{currentID: current.ID, aeads: make(map[string]cipher.AEAD, 1+len(old))}
	for _, mk := range append([]MasterKey{current}, old...) {
		if err := validateKeyID(mk.ID); err != nil {
			return nil, fmt.Errorf("documents: keyring: master key: %w", err)
		}
		if len(mk.Key) != MasterKeySize {
			return nil, fmt.Errorf("documents: keyring: master key %q: want %d bytes, got %d", mk.ID, MasterKeySize, len(mk.Key))
		}
		if _, dup := k.aeads[mk.ID]; dup {
			return nil, fmt.Errorf("documents: keyring: duplicate master key id %q", mk.ID)
		}
		aead, err := newGCM(slices.Clone(mk.Key))
		if err != nil {
			return nil, fmt.Errorf("documents: keyring: master key %q: %w", mk.ID, err)
		}
		k.aeads[mk.ID] = aead
	}
	return k, nil
}

// CurrentID returns the id of the master key that wraps new data keys.
func (k *Keyring) CurrentID() string { return k.currentID }

// wrap encrypts dataKey for owner with the current master key. The result's
// Ciphertext is a random 12-byte nonce followed by the AES-GCM output.
func (k *Keyring) wrap(owner string, dataKey []byte) WrappedKey {
	aead := k.aeads[k.currentID]
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(dataKey)+aead.Overhead())
	_, _ = rand.Read(out)
	out = aead.Seal(out, out, dataKey, wrapAAD(k.currentID, owner))
	return WrappedKey{MasterKeyID: k.currentID, Ciphertext: out}
}

// unwrap decrypts owner's wrapped data key. It fails with ErrUnknownMasterKey
// when the wrapping key is not in the Keyring and ErrTampered when the
// wrapped key does not authenticate.
func (k *Keyring) unwrap(owner string, w WrappedKey) ([]byte, error) {
	aead, ok := k.aeads[w.MasterKeyID]
	if !ok {
		return nil, fmt.Errorf("%w: %q wraps the data key of owner %q; add it to the keyring as an old key", ErrUnknownMasterKey, w.MasterKeyID, owner)
	}
	ns := aead.NonceSize()
	if len(w.Ciphertext) != ns+MasterKeySize+aead.Overhead() {
		return nil, fmt.Errorf("%w: data key of owner %q has a wrong length", ErrTampered, owner)
	}
	key, err := aead.Open(nil, w.Ciphertext[:ns], w.Ciphertext[ns:], wrapAAD(w.MasterKeyID, owner))
	if err != nil {
		return nil, fmt.Errorf("%w: data key of owner %q does not unwrap with master key %q", ErrTampered, owner, w.MasterKeyID)
	}
	return key, nil
}

// wrapAAD returns the additional data binding a wrapped key to its master
// key id and owner.
func wrapAAD(masterID, owner string) []byte {
	aad := make([]byte, 0, len(wrapAADPrefix)+len(masterID)+1+len(owner))
	aad = append(aad, wrapAADPrefix...)
	aad = append(aad, masterID...)
	aad = append(aad, 0)
	return append(aad, owner...)
}

// newGCM returns AES-256-GCM with the standard 12-byte nonce.
func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// validateKeyID checks a master key or signing key id: 1 to 64 ASCII
// letters, digits, '-', '_' or '.'.
func validateKeyID(id string) error {
	if id == "" {
		return errors.New("key id is required")
	}
	if len(id) > maxKeyIDLen {
		return fmt.Errorf("key id longer than %d bytes", maxKeyIDLen)
	}
	for i := 0; i < len(id); i++ {
		if !isNameByte(id[i]) {
			return fmt.Errorf("key id %q: byte %d is not a letter, digit, '-', '_' or '.'", id, i)
		}
	}
	return nil
}
