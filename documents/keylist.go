package documents

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Master key lists in configuration
//
// A deployment gives its master keys as one string (examples/hostapp reads
// HOSTAPP_MASTER_KEYS, the openkyc command OPENKYC_MASTER_KEYS):
// comma-separated id:key entries, oldest first, the last one current, each
// key base64 of 32 random bytes (openssl rand -base64 32), e.g.
//
//	2025-01:BASE64,2025-06:BASE64
//
// ParseMasterKeys reads such a list and KeyringOf makes its Keyring.

// ParseMasterKeys parses a master key list (see above). Spaces around an
// entry are ignored. The key sizes and ids are checked by KeyringOf (and
// NewKeyring); errors name the entry by its id or position, never a key.
func ParseMasterKeys(s string) ([]MasterKey, error) {
	var keys []MasterKey
	for i, entry := range strings.Split(s, ",") {
		id, keyText, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok || strings.Contains(keyText, ":") {
			return nil, fmt.Errorf("documents: master key %d: want id:base64-key", i+1)
		}
		key, err := DecodeSecret(keyText)
		if err != nil {
			return nil, fmt.Errorf("documents: master key %q: %w", id, err)
		}
		keys = append(keys, MasterKey{ID: id, Key: key})
	}
	return keys, nil
}

// KeyringOf returns the Keyring of a master key list, oldest first: the last
// key is current, the others only unwrap.
func KeyringOf(keys []MasterKey) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("documents: keyring: no master key")
	}
	return NewKeyring(keys[len(keys)-1], keys[:len(keys)-1]...)
}

// DecodeSecret decodes a secret given in configuration: base64 in any of
// its four usual spellings (standard or URL alphabet, padded or not).
func DecodeSecret(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}
