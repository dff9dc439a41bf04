package sumsub_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/sumsub"
)

const (
	appToken  = "sbx:test-app-token"
	appSecret = "test-app-secret-0001"
	level     = "basic-kyc-level"
)

var clock = time.Unix(1607551635, 0).UTC()

// TestAccessSignatureKnownAnswer: X-App-Access-Sig for a documented-style
// request, computed with openssl (`printf '%s' '1607551635POST/resources/
// applicants?levelName=basic-kyc-level{"externalUserId":"user-0002"}' |
// openssl dgst -sha256 -hmac test-app-secret-0001`).
func TestAccessSignatureKnownAnswer(t *testing.T) {
	t.Parallel()
	got := sumsub.AccessSignature([]byte(appSecret), "1607551635", "POST", "/resources/applicants?levelName=basic-kyc-level", []byte(`{"externalUserId":"user-0002"}`))
	assert.Equal(t, "f5d464d89b751e3a57cd2019b030a3589ed8de5bddb538d2cf13b22f5a4eb151", got)
	assert.Equal(t, got, hmacHex(sha256.New, appSecret, []byte(`1607551635POST/resources/applicants?levelName=basic-kyc-level{"externalUserId":"user-0002"}`)))
}

type call struct {
	method, uri string
	body        map[string]any
}

// api answers Sumsub's applicant and WebSDK link endpoints, checking every
// request's X-App-Token, X-App-Access-Ts and X-App-Access-Sig the way
// Sumsub documents them.
type api struct {
	t      *testing.T
	mu     sync.Mutex
	calls  []call
	exists bool // POST /resources/applicants answers 409
	fail   func(w http.ResponseWriter, r *http.Request, n int) bool
	n      atomic.Int32
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(a.n.Add(1))
	if a.fail != nil && a.fail(w, r, n) {
		return
	}
	raw, _ := io.ReadAll(r.Body)
	ts := r.Header.Get("X-App-Access-Ts")
	want := hmacHex(sha256.New, appSecret, []byte(ts+r.Method+r.URL.RequestURI()+string(raw)))
	if r.Header.Get("X-App-Token") != appToken || r.Header.Get("X-App-Access-Sig") != want || ts != strconv.FormatInt(clock.Unix(), 10) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"description":"Request signature mismatch","code":401,"correlationId":"req-x","errorCode":4003}`))
		return
	}
	var body map[string]any
	if len(raw) > 0 {
		require.NoError(a.t, json.Unmarshal(raw, &body))
	}
	a.mu.Lock()
	a.calls = append(a.calls, call{r.Method, r.URL.RequestURI(), body})
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/resources/applicants":
		if a.exists {
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"description":"Applicant with external user id 'user-0002' already exists: 5cb56e8e0a975a35f333cb83","code":409}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(fixture(a.t, "applicant_answer.json"))
	case r.Method == http.MethodGet && r.URL.EscapedPath() == "/resources/applicants/-;externalUserId=user%20%2F0002/one":
		_, _ = w.Write(fixture(a.t, "applicant_answer.json"))
	case r.Method == http.MethodPost && r.URL.Path == "/resources/sdkIntegrations/levels/-/websdkLink":
		_, _ = w.Write(fixture(a.t, "websdk_link_answer.json"))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func setupAPI(t *testing.T) (*api, *sumsub.Provider) {
	t.Helper()
	a := &api{t: t}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	p := newProvider(t, sumsub.Config{
		AppToken: appToken, SecretKey: appSecret, LevelName: level, BaseURL: srv.URL,
		Now:  func() time.Time { return clock },
		HTTP: providers.HTTPOptions{Timeout: 200 * time.Millisecond, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
	})
	return a, p
}

func TestStartSession(t *testing.T) {
	t.Parallel()
	a, p := setupAPI(t)
	s, err := p.StartSession(context.Background(), providers.StartParams{
		SubjectRef: "user-0002", FirstName: "Jane", LastName: "Doe", ReturnURL: "https://host.example/done", Locale: "de",
	})
	require.NoError(t, err)
	assert.Equal(t, providers.Session{
		Provider: "sumsub", ID: "5cb56e8e0a975a35f333cb83", URL: "https://in.sumsub.com/websdk/p/sbx_uY4qVZt2TgXXXXXX",
		SubjectRef: "user-0002", ExpiresAt: clock.Add(sumsub.DefaultLinkTTL),
	}, s)
	require.Len(t, a.calls, 2)
	assert.Equal(t, call{"POST", "/resources/applicants?levelName=basic-kyc-level",
		map[string]any{"externalUserId": "user-0002", "fixedInfo": map[string]any{"firstName": "Jane", "lastName": "Doe"}}}, a.calls[0])
	assert.Equal(t, call{"POST", "/resources/sdkIntegrations/levels/-/websdkLink?lang=de", map[string]any{
		"levelName": level, "userId": "user-0002", "ttlInSecs": float64(1800),
		"redirect": map[string]any{"successUrl": "https://host.example/done", "rejectUrl": "https://host.example/done"},
	}}, a.calls[1])
}

func TestStartSessionExistingApplicant(t *testing.T) {
	t.Parallel()
	a, p := setupAPI(t)
	a.exists = true
	s, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "user /0002"})
	require.NoError(t, err)
	assert.Equal(t, "5cb56e8e0a975a35f333cb83", s.ID)
	require.Len(t, a.calls, 3)
	assert.Equal(t, "/resources/applicants/-;externalUserId=user%20%2F0002/one", a.calls[1].uri, "the subject reference is escaped in the path and signed as sent")
}

func TestStartSessionRetriesAndErrors(t *testing.T) {
	t.Parallel()
	t.Run("5xx then success, each attempt signed anew", func(t *testing.T) {
		t.Parallel()
		a, p := setupAPI(t)
		a.fail = func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n <= 2 {
				w.WriteHeader(http.StatusBadGateway)
				return true
			}
			return false
		}
		_, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "user-0002"})
		require.NoError(t, err)
		assert.EqualValues(t, 4, a.n.Load())
	})
	t.Run("timeout then success", func(t *testing.T) {
		t.Parallel()
		a, p := setupAPI(t)
		a.fail = func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n == 2 {
				time.Sleep(300 * time.Millisecond)
			}
			return false
		}
		_, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "user-0002"})
		require.NoError(t, err)
	})
	t.Run("outage", func(t *testing.T) {
		t.Parallel()
		a, p := setupAPI(t)
		a.fail = func(w http.ResponseWriter, r *http.Request, n int) bool {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		_, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "user-0002"})
		require.ErrorIs(t, err, providers.ErrUnavailable)
		assert.EqualValues(t, 3, a.n.Load())
	})
	t.Run("bad signature is rejected, not retried", func(t *testing.T) {
		t.Parallel()
		a := &api{t: t}
		srv := httptest.NewServer(a)
		t.Cleanup(srv.Close)
		p := newProvider(t, sumsub.Config{AppToken: appToken, SecretKey: "wrong", LevelName: level, BaseURL: srv.URL, Now: func() time.Time { return clock }})
		_, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "user-0002"})
		require.ErrorIs(t, err, providers.ErrRejected)
		assert.NotContains(t, err.Error(), "wrong")
		assert.EqualValues(t, 1, a.n.Load())
	})
	for name, tc := range map[string]struct{ path, answer string }{
		"malformed applicant":  {"/resources/applicants", `{"id":`},
		"applicant without id": {"/resources/applicants", `{"externalUserId":"user-0002"}`},
		"malformed link":       {"/resources/sdkIntegrations/levels/-/websdkLink", `<html>`},
		"link without url":     {"/resources/sdkIntegrations/levels/-/websdkLink", `{}`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, p := setupAPI(t)
			a.fail = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.URL.Path != tc.path {
					return false
				}
				_, _ = w.Write([]byte(tc.answer))
				return true
			}
			_, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "user-0002"})
			require.ErrorIs(t, err, providers.ErrBadResponse)
		})
	}
	t.Run("missing API settings", func(t *testing.T) {
		t.Parallel()
		p := newProvider(t, sumsub.Config{})
		_, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u"})
		require.ErrorIs(t, err, providers.ErrInvalidParams)
	})
}
