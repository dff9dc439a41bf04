package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func newTestApp(t *testing.T, now func() time.Time) http.Handler {
	t.Helper()
	h, cleanup, err := newApp(context.Background(), config{DataDir: t.TempDir(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cleanup(); err != nil {
			t.Error(err)
		}
	})
	return h
}

func do(t *testing.T, h http.Handler, method, path, token, body string) (int, []byte) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Code, rec.Body.Bytes()
}

func login(t *testing.T, h http.Handler, user string) (token string, clientID int64) {
	t.Helper()
	code, body := do(t, h, "POST", "/login", "", `{"username":"`+user+`","password":"`+user+`-password"}`)
	if code != 200 {
		t.Fatalf("login %s: %d %s", user, code, body)
	}
	var out struct {
		Token    string `json:"token"`
		ClientID int64  `json:"clientId"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Token == "" {
		t.Fatalf("login %s: %s (%v)", user, body, err)
	}
	return out.Token, out.ClientID
}

// errorCode returns the single ERxxx code of a seed 000 error body.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Errors map[string]struct {
			Code, Message, Solution string
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &e); err != nil || len(e.Errors) != 1 {
		t.Fatalf("not a seed 000 error body: %s", body)
	}
	for k, v := range e.Errors {
		if v.Code != k || v.Message == "" || v.Solution == "" {
			t.Fatalf("malformed error entry: %s", body)
		}
		return k
	}
	return ""
}

func TestHealthz(t *testing.T) {
	h := newTestApp(t, nil)
	code, body := do(t, h, "GET", "/healthz", "", "")
	if code != 200 || !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("healthz: %d %s", code, body)
	}
}

func TestLoginAndVerificationStatus(t *testing.T) {
	h := newTestApp(t, nil)
	tok, cid := login(t, h, "alice")
	if cid <= 0 {
		t.Fatalf("no clientId on first login: %d", cid)
	}
	// A second login maps to the same subject.
	if _, cid2 := login(t, h, "alice"); cid2 != cid {
		t.Fatalf("second login: clientId %d, want %d", cid2, cid)
	}
	if code, body := do(t, h, "GET", "/me", tok, ""); code != 200 || !strings.Contains(string(body), `"username":"alice"`) {
		t.Fatalf("/me: %d %s", code, body)
	}

	code, body := do(t, h, "GET", "/kyc/api/v2/user/verification-status", tok, "")
	if code != 200 {
		t.Fatalf("status: %d %s", code, body)
	}
	var reqs []map[string]any
	if err := json.Unmarshal(body, &reqs); err != nil {
		t.Fatalf("status body: %v: %s", err, body)
	}
	if len(reqs) != 6 {
		t.Fatalf("status: %d requirements, want 6: %s", len(reqs), body)
	}

	// A customer cannot use the admin routes mounted on the same mux.
	code, body = do(t, h, "GET", "/kyc/api/v2/verifications", tok, "")
	if code != 403 || errorCode(t, body) != "ER713" {
		t.Fatalf("customer on admin route: %d %s", code, body)
	}
	// The admin can, and sees alice's grant.
	admin, _ := login(t, h, "admin")
	code, body = do(t, h, "GET", "/kyc/api/v2/verifications", admin, "")
	if code != 200 || !strings.Contains(string(body), `"total":1`) {
		t.Fatalf("admin list: %d %s", code, body)
	}
}

func TestMissingToken(t *testing.T) {
	h := newTestApp(t, nil)
	code, body := do(t, h, "GET", "/kyc/api/v2/user/verification-status", "", "")
	if code != 401 || errorCode(t, body) != "ER700" {
		t.Fatalf("no token: %d %s", code, body)
	}
	if code, body := do(t, h, "GET", "/me", "", ""); code != 401 {
		t.Fatalf("/me without token: %d %s", code, body)
	}
}

func TestTamperedToken(t *testing.T) {
	h := newTestApp(t, nil)
	tok, _ := login(t, h, "alice")
	payload, sig, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	// bob's id (1002) and a later expiry under alice's signature, and alice's
	// payload with a corrupted signature.
	_, exp, _ := strings.Cut(string(raw), ":")
	forgedUser := base64.RawURLEncoding.EncodeToString([]byte("1002:"+exp)) + "." + sig
	forgedExp := base64.RawURLEncoding.EncodeToString([]byte("1001:9999999999")) + "." + sig
	mac, _ := base64.RawURLEncoding.DecodeString(sig)
	mac[0] ^= 1
	flipped := payload + "." + base64.RawURLEncoding.EncodeToString(mac)
	for _, bad := range []string{forgedUser, forgedExp, flipped, tok + "x", payload, "garbage"} {
		if code, body := do(t, h, "GET", "/me", bad, ""); code != 401 {
			t.Errorf("/me with %q: %d %s", bad, code, body)
		}
		code, body := do(t, h, "GET", "/kyc/api/v2/user/verification-status", bad, "")
		if code != 401 || errorCode(t, body) != "ER702" {
			t.Errorf("status with %q: %d %s", bad, code, body)
		}
	}
}

func TestExpiredToken(t *testing.T) {
	var offset atomic.Int64 // the sweep goroutine reads the clock too
	now := time.Now()
	h := newTestApp(t, func() time.Time { return now.Add(time.Duration(offset.Load())) })
	tok, _ := login(t, h, "bob")
	if code, _ := do(t, h, "GET", "/me", tok, ""); code != 200 {
		t.Fatalf("/me: %d", code)
	}
	offset.Store(int64(13 * time.Hour))
	if code, _ := do(t, h, "GET", "/me", tok, ""); code != 401 {
		t.Fatalf("/me with expired token: %d", code)
	}
	code, body := do(t, h, "GET", "/kyc/api/v2/user/verification-status", tok, "")
	if code != 401 || errorCode(t, body) != "ER701" {
		t.Fatalf("status with expired token: %d %s", code, body)
	}
}
