package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
)

func TestParseSigningKeys(t *testing.T) {
	t.Parallel()
	s1, s2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{0xfb}, 40)
	std, url := base64.StdEncoding.EncodeToString(s1), base64.RawURLEncoding.EncodeToString(s2)

	keys, err := parseSigningKeys("k1:" + std + ":2025-06-01T12:00:00Z, k2:" + url)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	require.Equal(t, "k1", keys[0].ID)
	require.Equal(t, s1, keys[0].Secret)
	require.True(t, keys[0].RetiredAt.Equal(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)))
	require.Equal(t, "k2", keys[1].ID)
	require.Equal(t, s2, keys[1].Secret)
	require.True(t, keys[1].RetiredAt.IsZero())

	for _, bad := range []string{"", "k1", "k1:not base64!", "k1:" + std + ":yesterday", "k1:" + std + ",k2"} {
		_, err := parseSigningKeys(bad)
		require.Error(t, err, "%q", bad)
	}
}

// TestSignedURLSurvivesRestart: a URL signed before a restart still works
// after it, because the key comes from configuration (a random key per
// start, as before, fails this test), and the image lives in the database.
func TestSignedURLSurvivesRestart(t *testing.T) {
	t.Parallel()
	keys, err := parseSigningKeys("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32)))
	require.NoError(t, err)
	masters, err := documents.ParseMasterKeys("m1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{4}, 32)))
	require.NoError(t, err)
	cfg := config{DataDir: t.TempDir(), SigningKeys: keys, MasterKeys: masters, SessionSecret: bytes.Repeat([]byte("s"), 32)}

	h, cleanup, err := newApp(t.Context(), cfg)
	require.NoError(t, err)
	alice, clientID := login(t, h, "alice")
	admin, _ := login(t, h, "admin")
	img, err := base64.StdEncoding.DecodeString(pngBase)
	require.NoError(t, err)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("documentType", "passport"))
	require.NoError(t, mw.WriteField("side", "front"))
	fw, err := mw.CreateFormFile("file", "front.png")
	require.NoError(t, err)
	_, _ = fw.Write(img)
	require.NoError(t, mw.Close())
	r := httptest.NewRequest("POST", "/kyc/api/v2/my/verifications/files", &buf)
	r.Header.Set("Authorization", "Bearer "+alice)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	require.Equal(t, 201, rec.Code, rec.Body.String())
	var f struct{ ID string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &f))
	code, body := do(t, h, "POST", "/admin/id-verifications", admin, fmt.Sprintf(`{"clientId":%d,"provider":"veriff","frontFileId":%q}`, clientID, f.ID))
	require.Equal(t, 201, code, string(body))
	code, body = do(t, h, "GET", "/kyc/api/v1/me/natural-person/id-verification", alice, "")
	require.Equal(t, 200, code, string(body))
	var idv struct {
		Documents struct{ DocumentFront string } `json:"documents"`
	}
	require.NoError(t, json.Unmarshal(body, &idv))
	require.NoError(t, cleanup())

	h2, cleanup2, err := newApp(t.Context(), cfg)
	require.NoError(t, err)
	defer func() { require.NoError(t, cleanup2()) }()
	code, body = do(t, h2, "GET", idv.Documents.DocumentFront, "", "")
	require.Equal(t, 200, code, "the URL signed before the restart: %s", body)
	require.Equal(t, img, body)
}
