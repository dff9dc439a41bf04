package fake_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/fake"
)

const secret = "fake-secret"

var now = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

func newProvider(t testing.TB, cfg fake.Config) *fake.Provider {
	t.Helper()
	if cfg.Secret == "" {
		cfg.Secret = secret
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://127.0.0.1:8080/fake-provider"
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	if cfg.NewID == nil {
		var mu sync.Mutex
		n := 0
		cfg.NewID = func() string {
			mu.Lock()
			defer mu.Unlock()
			n++
			return fmt.Sprintf("id%03d", n)
		}
	}
	p, err := fake.New(cfg)
	require.NoError(t, err)
	return p
}

// route is a minimal webhook route: verify the raw body, then parse.
type route struct {
	p   providers.Provider
	mu  sync.Mutex
	got []providers.Decision
}

func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := rt.p.Verify(r.Header, body); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	ds, err := rt.p.Parse(body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rt.mu.Lock()
	rt.got = append(rt.got, ds...)
	rt.mu.Unlock()
}

func TestNew(t *testing.T) {
	t.Parallel()
	_, err := fake.New(fake.Config{BaseURL: "http://x"})
	require.ErrorContains(t, err, "Secret")
	_, err = fake.New(fake.Config{Secret: "s", BaseURL: "/relative"})
	require.ErrorContains(t, err, "BaseURL")
}

func TestSignatureKnownAnswer(t *testing.T) {
	t.Parallel()
	p := newProvider(t, fake.Config{})
	body := []byte(`{"eventId":"e1","sessionId":"s1","outcome":"approved","final":true}`)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	assert.Equal(t, want, p.Sign(body))
	h := http.Header{"X-Fake-Signature": {want}}
	require.NoError(t, p.Verify(h, body))
	require.ErrorIs(t, p.Verify(h, append(body, ' ')), providers.ErrBadSignature)
	require.ErrorIs(t, p.Verify(http.Header{}, body), providers.ErrBadSignature)
	other := newProvider(t, fake.Config{Secret: "other"})
	require.ErrorIs(t, other.Verify(h, body), providers.ErrBadSignature)
}

func TestSandboxRoundTrip(t *testing.T) {
	t.Parallel()
	p := newProvider(t, fake.Config{})
	s, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "user-0001"})
	require.NoError(t, err)
	assert.Equal(t, providers.Session{Provider: "fake", ID: "id001", URL: "http://127.0.0.1:8080/fake-provider/sessions/id001", SubjectRef: "user-0001"}, s)

	for _, o := range providers.Outcomes {
		d, err := p.Decide(s.ID, o)
		require.NoError(t, err)
		assert.Equal(t, o.Final(), d.Final)
		assert.Equal(t, "user-0001", d.SubjectRef)
		assert.Equal(t, now, d.OccurredAt)
		d.ReasonCodes, d.Reason = []string{"R1"}, "because"
		d.Document = providers.DocumentFacts{Type: "PASSPORT", Country: "EE", Number: "X1", ValidUntil: time.Date(2030, 1, 31, 0, 0, 0, 0, time.UTC)}

		req, err := p.NewWebhookRequest(context.Background(), "http://127.0.0.1/hook", d)
		require.NoError(t, err)
		body, err := io.ReadAll(req.Body)
		require.NoError(t, err)
		require.NoError(t, p.Verify(req.Header, body))
		got, err := p.Parse(body)
		require.NoError(t, err)
		assert.Equal(t, []providers.Decision{d}, got, o)
	}
	_, err = p.Decide("never-started", providers.OutcomeApproved)
	require.ErrorIs(t, err, fake.ErrUnknownSession)
	_, err = p.Decide(s.ID, "pending")
	require.ErrorIs(t, err, providers.ErrInvalidParams)
}

func TestEncodeRefusesForeignDecisions(t *testing.T) {
	t.Parallel()
	p := newProvider(t, fake.Config{})
	_, err := p.Encode(providers.Decision{Provider: "veriff", EventKey: "veriff:abc", SessionID: "s", Outcome: providers.OutcomeApproved})
	require.Error(t, err)
	_, err = p.Encode(providers.Decision{Provider: "fake", EventKey: "abc", SessionID: "s", Outcome: providers.OutcomeApproved})
	require.Error(t, err)
	_, err = p.Encode(providers.Decision{Provider: "fake", EventKey: "fake:abc", Outcome: providers.OutcomeApproved})
	require.Error(t, err, "invalid decisions are refused")
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	p := newProvider(t, fake.Config{})
	for _, body := range []string{
		``, `[]`, `{"eventId":"e1"}`,
		`{"eventId":"e1","sessionId":"s1","outcome":"pending"}`,
		`{"sessionId":"s1","outcome":"approved"}`,
		`{"eventId":"e1","sessionId":"s1","outcome":"approved","extra":1}`,
		`{"eventId":"e1","sessionId":"s1","outcome":"approved","occurredAt":"noon"}`,
		`{"eventId":"e1","sessionId":"s1","outcome":"approved"} {}`,
	} {
		_, err := p.Parse([]byte(body))
		require.ErrorIs(t, err, providers.ErrMalformedPayload, body)
	}
}

func TestDeliver(t *testing.T) {
	t.Parallel()
	p := newProvider(t, fake.Config{})
	rt := &route{p: p}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	s, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u1"})
	require.NoError(t, err)
	d, err := p.Decide(s.ID, providers.OutcomeDeclined)
	require.NoError(t, err)
	status, err := p.Deliver(context.Background(), srv.URL, d)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, []providers.Decision{d}, rt.got)

	wrong := &route{p: newProvider(t, fake.Config{Secret: "other"})}
	srv2 := httptest.NewServer(wrong)
	t.Cleanup(srv2.Close)
	status, err = p.Deliver(context.Background(), srv2.URL, d)
	require.ErrorIs(t, err, providers.ErrRejected)
	assert.Equal(t, http.StatusUnauthorized, status)

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(down.Close)
	_, err = p.Deliver(context.Background(), down.URL, d)
	require.ErrorIs(t, err, providers.ErrUnavailable)
}

func TestHandler(t *testing.T) {
	t.Parallel()
	hook := &route{}
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)

	mux := http.NewServeMux()
	pageSrv := httptest.NewServer(mux)
	t.Cleanup(pageSrv.Close)
	p := newProvider(t, fake.Config{BaseURL: pageSrv.URL + "/fake-provider", WebhookURL: hookSrv.URL})
	hook.p = p
	mux.Handle("/fake-provider/", p.Handler())

	s, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "demo-user"})
	require.NoError(t, err)
	res, err := http.Get(s.URL)
	require.NoError(t, err)
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	for _, o := range providers.Outcomes {
		assert.Contains(t, string(page), `value="`+string(o)+`"`)
	}

	res, err = http.PostForm(s.URL, url.Values{"outcome": {"approved"}})
	require.NoError(t, err)
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(page), `Delivered "approved": HTTP 200`)
	require.Len(t, hook.got, 1)
	assert.Equal(t, providers.OutcomeApproved, hook.got[0].Outcome)
	assert.Equal(t, "demo-user", hook.got[0].SubjectRef)
	assert.Equal(t, s.ID, hook.got[0].SessionID)

	for _, tc := range []struct {
		method, path, outcome string
		status                int
	}{
		{http.MethodGet, "/fake-provider/sessions/unknown", "", http.StatusNotFound},
		{http.MethodPost, "/fake-provider/sessions/unknown", "approved", http.StatusNotFound},
		{http.MethodPost, "/fake-provider/sessions/" + s.ID, "pending", http.StatusBadRequest},
		{http.MethodGet, "/fake-provider/sessions/%3Cscript%3E", "", http.StatusNotFound},
	} {
		req, err := http.NewRequest(tc.method, pageSrv.URL+tc.path, strings.NewReader(url.Values{"outcome": {tc.outcome}}.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.Equal(t, tc.status, res.StatusCode, tc.path)
		assert.NotContains(t, string(body), "<script>")
	}
}

func TestHandlerWithoutWebhookURL(t *testing.T) {
	t.Parallel()
	p := newProvider(t, fake.Config{})
	s, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u"})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	p.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/fake-provider/sessions/"+s.ID, nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "No webhook URL")
	rec = httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/fake-provider/sessions/"+s.ID, strings.NewReader("outcome=approved"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	p.Handler().ServeHTTP(rec, req)
	assert.Equal(t, http.StatusConflict, rec.Code)
}

func TestMedia(t *testing.T) {
	t.Parallel()
	p := newProvider(t, fake.Config{})
	var _ providers.MediaFetcher = p
	s, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u"})
	require.NoError(t, err)
	media, err := p.ListMedia(context.Background(), s.ID)
	require.NoError(t, err)
	require.Len(t, media, 3)
	seen := map[string]bool{}
	for i, want := range []providers.MediaKind{providers.MediaFront, providers.MediaBack, providers.MediaFace} {
		assert.Equal(t, want, media[i].Kind)
		rc, err := p.OpenMedia(context.Background(), media[i])
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		assert.True(t, bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")))
		assert.EqualValues(t, len(b), media[i].Size)
		seen[string(b)] = true
	}
	assert.Len(t, seen, 3, "three different pictures")
	_, err = p.ListMedia(context.Background(), "unknown")
	require.ErrorIs(t, err, fake.ErrUnknownSession)
	_, err = p.OpenMedia(context.Background(), providers.Media{ID: s.ID + ".passport"})
	require.ErrorIs(t, err, fake.ErrUnknownSession)
}
