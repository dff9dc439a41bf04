package documents_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
)

func TestParseMasterKeys(t *testing.T) {
	t.Parallel()
	k1, k2 := bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{9}, 32)
	keys, err := documents.ParseMasterKeys("2025-01:" + base64.StdEncoding.EncodeToString(k1) + ", 2025-06:" + base64.RawURLEncoding.EncodeToString(k2))
	require.NoError(t, err)
	require.Equal(t, []documents.MasterKey{{ID: "2025-01", Key: k1}, {ID: "2025-06", Key: k2}}, keys)
	ring, err := documents.KeyringOf(keys)
	require.NoError(t, err)
	require.Equal(t, "2025-06", ring.CurrentID(), "the last master key is the current one")

	for _, bad := range []string{"", "m1", "m1:!!", "m1:a:b", "m1:" + base64.StdEncoding.EncodeToString(k1) + ",m2"} {
		_, err := documents.ParseMasterKeys(bad)
		require.Error(t, err, "%q", bad)
		require.NotContains(t, err.Error(), base64.StdEncoding.EncodeToString(k1), "an error never quotes a key")
	}
	short, err := documents.ParseMasterKeys("m1:" + base64.StdEncoding.EncodeToString([]byte("short")))
	require.NoError(t, err)
	_, err = documents.KeyringOf(short)
	require.Error(t, err, "a master key must be 32 bytes")
	_, err = documents.KeyringOf(nil)
	require.Error(t, err)
}

func TestDecodeSecret(t *testing.T) {
	t.Parallel()
	secret := []byte{0xfb, 0xff, 0x01, 0x02, 0x03}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		got, err := documents.DecodeSecret(enc.EncodeToString(secret))
		require.NoError(t, err)
		require.Equal(t, secret, got)
	}
	_, err := documents.DecodeSecret("not base64!")
	require.Error(t, err)
}
