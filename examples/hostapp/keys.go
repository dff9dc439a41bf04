package main

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/openkyc/kyc/documents"
)

// Key lists, as given in -url-signing-keys / HOSTAPP_URL_SIGNING_KEYS and
// -master-keys / HOSTAPP_MASTER_KEYS: comma-separated entries, oldest first,
// the last one current.
//
//	signing keys: id:secret[:retired-at]   e.g. k1:BASE64:2025-06-01T00:00:00Z,k2:BASE64
//	master keys:  id:key                   e.g. 2025-01:BASE64,2025-06:BASE64
//
// Secrets are base64 (standard or URL alphabet, padded or not) of at least
// 32 random bytes (exactly 32 for master keys): openssl rand -base64 32.
// retired-at is an RFC 3339 time.

// parseSigningKeys parses a signing key list.
func parseSigningKeys(s string) ([]documents.SigningKey, error) {
	var keys []documents.SigningKey
	for i, entry := range strings.Split(s, ",") {
		id, rest, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok {
			return nil, fmt.Errorf("signing key %d: want id:base64-secret[:retired-at RFC 3339]", i+1)
		}
		// The retired-at time holds colons itself: it is all that follows
		// the secret's colon.
		secretText, retired, hasRetired := strings.Cut(rest, ":")
		secret, err := decodeSecret(secretText)
		if err != nil {
			return nil, fmt.Errorf("signing key %q: secret: %w", id, err)
		}
		k := documents.SigningKey{ID: id, Secret: secret}
		if hasRetired {
			at, err := time.Parse(time.RFC3339, retired)
			if err != nil {
				return nil, fmt.Errorf("signing key %q: retired-at: %w", id, err)
			}
			k.RetiredAt = at
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// parseMasterKeys parses a master key list; the last key is the current one.
func parseMasterKeys(s string) ([]documents.MasterKey, error) {
	var keys []documents.MasterKey
	for i, entry := range strings.Split(s, ",") {
		id, keyText, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok || strings.Contains(keyText, ":") {
			return nil, fmt.Errorf("master key %d: want id:base64-key", i+1)
		}
		key, err := decodeSecret(keyText)
		if err != nil {
			return nil, fmt.Errorf("master key %q: %w", id, err)
		}
		keys = append(keys, documents.MasterKey{ID: id, Key: key})
	}
	return keys, nil
}

// decodeSecret decodes base64 in any of its four usual spellings.
func decodeSecret(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not base64")
}

// newKeyring returns the Keyring of a master key list (oldest first, the
// last current).
func newKeyring(keys []documents.MasterKey) (*documents.Keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("no master key")
	}
	current := keys[len(keys)-1]
	return documents.NewKeyring(current, keys[:len(keys)-1]...)
}
