package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/openkyc/kyc/documents"
)

// Key lists, as given in -url-signing-keys / HOSTAPP_URL_SIGNING_KEYS and
// -master-keys / HOSTAPP_MASTER_KEYS: comma-separated entries, oldest first,
// the last one current. Master key lists are parsed by
// documents.ParseMasterKeys (the openkyc command reads the same form).
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
		secret, err := documents.DecodeSecret(secretText)
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
