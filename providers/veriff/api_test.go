package veriff_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/veriff"
	"github.com/openkyc/kyc/providers/veriff/verifftest"
)

type apiBundle struct {
	api *verifftest.Server
	srv *httptest.Server
	p   *veriff.Provider
}

// fastHTTP keeps retries quick in tests: short timeouts, millisecond backoff.
func fastHTTP() providers.HTTPOptions {
	return providers.HTTPOptions{Timeout: 200 * time.Millisecond, MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

func setupAPI(t *testing.T) *apiBundle {
	t.Helper()
	api := verifftest.NewServer(testKey, testSecret)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &apiBundle{api: api, srv: srv, p: newProvider(t, veriff.Config{BaseURL: srv.URL, HTTP: fastHTTP()})}
}

// failFirst makes the first n requests for which match is true answer
// status, with a body that must never surface in errors.
func failFirst(api *verifftest.Server, match func(*http.Request) bool, n int32, status int) *atomic.Int32 {
	var seen atomic.Int32
	api.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r) {
			return false
		}
		if seen.Add(1) <= n {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"status":"fail","message":"temporarily unavailable for SARAH MORGAN"}`))
			return true
		}
		return false
	}
	return &seen
}

func isCreate(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/v1/sessions"
}

func isMediaList(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/media") && strings.HasPrefix(r.URL.Path, "/v1/sessions/")
}

func TestStartSession(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	s, err := b.p.StartSession(context.Background(), providers.StartParams{SubjectRef: "user-0001", FirstName: "Jane", ReturnURL: "https://host.example/done"})
	require.NoError(t, err)
	assert.Equal(t, "veriff", s.Provider)
	assert.Equal(t, "user-0001", s.SubjectRef)
	assert.Equal(t, b.srv.URL+"/v/"+s.ID, s.URL)
	vd, ok := b.api.VendorData(s.ID)
	require.True(t, ok)
	assert.Equal(t, "user-0001", vd, "vendorData carries the subject reference")
	assert.Equal(t, 1, b.api.Calls("POST /v1/sessions"))
}

func TestStartSessionAnswerShape(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	var got []byte
	b.api.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		got, _ = io.ReadAll(r.Body)
		assert.Equal(t, testKey, r.Header.Get("X-AUTH-CLIENT"))
		assert.Equal(t, hmacHex(testSecret, got), r.Header.Get("X-HMAC-SIGNATURE"), "POST bodies are signed")
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(fixture(t, "session_created.json"))
		return true
	}
	s, err := b.p.StartSession(context.Background(), providers.StartParams{SubjectRef: "user-0001-aaaa-bbbb-cccc-dddddddddddd"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"verification":{"vendorData":"user-0001-aaaa-bbbb-cccc-dddddddddddd"}}`, string(got))
	assert.Equal(t, providers.Session{
		Provider: "veriff", ID: "f04bdb47-d3be-4b28-b028-a652feb060b5",
		URL: "https://alchemy.veriff.com/v/sample-url-token", SubjectRef: "user-0001-aaaa-bbbb-cccc-dddddddddddd",
	}, s)
}

func TestStartSessionRetries(t *testing.T) {
	t.Parallel()
	t.Run("5xx twice then success", func(t *testing.T) {
		t.Parallel()
		b := setupAPI(t)
		seen := failFirst(b.api, isCreate, 2, http.StatusServiceUnavailable)
		_, err := b.p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u1"})
		require.NoError(t, err)
		assert.EqualValues(t, 3, seen.Load())
	})
	t.Run("429 then success", func(t *testing.T) {
		t.Parallel()
		b := setupAPI(t)
		seen := failFirst(b.api, isCreate, 1, http.StatusTooManyRequests)
		_, err := b.p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u1"})
		require.NoError(t, err)
		assert.EqualValues(t, 2, seen.Load())
	})
	t.Run("5xx on every attempt", func(t *testing.T) {
		t.Parallel()
		b := setupAPI(t)
		seen := failFirst(b.api, isCreate, 100, http.StatusBadGateway)
		_, err := b.p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u1"})
		require.ErrorIs(t, err, providers.ErrUnavailable)
		var ce *providers.CallError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, http.StatusBadGateway, ce.StatusCode)
		assert.Equal(t, 3, ce.Attempts)
		assert.EqualValues(t, 3, seen.Load(), "retries are bounded by MaxAttempts")
		assert.NotContains(t, err.Error(), "SARAH", "error bodies are never quoted")
	})
	t.Run("timeout then success", func(t *testing.T) {
		t.Parallel()
		b := setupAPI(t)
		var seen atomic.Int32
		b.api.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
			if seen.Add(1) == 1 {
				time.Sleep(300 * time.Millisecond) // beyond the 200 ms per-attempt timeout
			}
			return false
		}
		_, err := b.p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u1"})
		require.NoError(t, err)
		assert.EqualValues(t, 2, seen.Load())
	})
	t.Run("timeout on every attempt", func(t *testing.T) {
		t.Parallel()
		b := setupAPI(t)
		b.api.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Second):
			}
			return true
		}
		start := time.Now()
		_, err := b.p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u1"})
		require.ErrorIs(t, err, providers.ErrUnavailable)
		assert.ErrorContains(t, err, "timed out")
		assert.Less(t, time.Since(start), 2500*time.Millisecond, "three attempts cut at 200 ms each, not three waits of the server's 1 s")
	})
	t.Run("4xx is not retried", func(t *testing.T) {
		t.Parallel()
		b := setupAPI(t)
		p := newProvider(t, veriff.Config{APIKey: "wrong-key", BaseURL: b.srv.URL, HTTP: fastHTTP()})
		_, err := p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u1"})
		require.ErrorIs(t, err, providers.ErrRejected)
		var ce *providers.CallError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, http.StatusUnauthorized, ce.StatusCode)
		assert.Equal(t, 1, b.api.Calls("POST /v1/sessions"))
	})
	t.Run("cancelled context stops the retries", func(t *testing.T) {
		t.Parallel()
		api := verifftest.NewServer(testKey, testSecret)
		srv := httptest.NewServer(api)
		t.Cleanup(srv.Close)
		p := newProvider(t, veriff.Config{BaseURL: srv.URL, HTTP: providers.HTTPOptions{MaxAttempts: 5, InitialBackoff: time.Hour}})
		ctx, cancel := context.WithCancel(context.Background())
		api.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
			cancel()
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		_, err := p.StartSession(ctx, providers.StartParams{SubjectRef: "u1"})
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 1, api.Calls("POST /v1/sessions"))
	})
}

func TestStartSessionMalformedAnswers(t *testing.T) {
	t.Parallel()
	for name, answer := range map[string]string{
		"not JSON":             `<html>maintenance</html>`,
		"truncated JSON":       `{"status":"success","verification":{"id":"f04b`,
		"no verification":      `{"status":"success"}`,
		"no url":               `{"status":"success","verification":{"id":"f04bdb47-d3be-4b28-b028-a652feb060b5"}}`,
		"id of the wrong type": `{"status":"success","verification":{"id":7,"url":"https://x"}}`,
		"id with a slash":      `{"status":"success","verification":{"id":"../../admin","url":"https://x"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setupAPI(t)
			b.api.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(answer))
				return true
			}
			_, err := b.p.StartSession(context.Background(), providers.StartParams{SubjectRef: "u1"})
			require.ErrorIs(t, err, providers.ErrBadResponse)
			assert.Equal(t, 1, b.api.Calls("POST /v1/sessions"), "a malformed answer is not retried")
		})
	}
}

func TestStartSessionInvalidParams(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	_, err := b.p.StartSession(context.Background(), providers.StartParams{})
	require.ErrorIs(t, err, providers.ErrInvalidParams)
	assert.Equal(t, 0, b.api.Calls("POST /v1/sessions"))
}

func TestListMedia(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	b.api.AddSession("sess-1", "user-0001")
	media, err := b.p.ListMedia(context.Background(), "sess-1")
	require.NoError(t, err)
	require.Len(t, media, 3)
	assert.Equal(t, []providers.MediaKind{providers.MediaFront, providers.MediaBack, providers.MediaFace},
		[]providers.MediaKind{media[0].Kind, media[1].Kind, media[2].Kind})
	assert.Equal(t, "sess-1-m1", media[0].ID, "the document-front-pre image is skipped")
	for _, m := range media {
		assert.Equal(t, "image/png", m.ContentType)
		assert.Positive(t, m.Size)
	}
}

func TestListMediaDocumentedAnswer(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	b.api.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		assert.Equal(t, "/v1/sessions/12df6045-3846-3e45-946a-14fa6136d78b/media", r.URL.Path)
		assert.Equal(t, testKey, r.Header.Get("X-AUTH-CLIENT"))
		assert.Equal(t, hmacHex(testSecret, []byte("12df6045-3846-3e45-946a-14fa6136d78b")), r.Header.Get("X-HMAC-SIGNATURE"), "GET requests are signed over the session id")
		_, _ = w.Write(fixture(t, "media.json"))
		return true
	}
	media, err := b.p.ListMedia(context.Background(), "12df6045-3846-3e45-946a-14fa6136d78b")
	require.NoError(t, err)
	assert.Equal(t, []providers.Media{
		{ID: "39388f8e-a2ee-4ab4-8b9f-000000000003", Kind: providers.MediaFront, ContentType: "image/jpeg", Size: 61000},
		{ID: "39388f8e-a2ee-4ab4-8b9f-000000000005", Kind: providers.MediaBack, ContentType: "image/jpeg", Size: 58000},
		{ID: "39388f8e-a2ee-4ab4-8b9f-000000000002", Kind: providers.MediaFace, ContentType: "image/jpeg", Size: 52270},
	}, media, "the first image of each context (Veriff lists the best first), no -pre, no videos")
}

func TestListMediaErrors(t *testing.T) {
	t.Parallel()
	t.Run("unknown session", func(t *testing.T) {
		t.Parallel()
		b := setupAPI(t)
		_, err := b.p.ListMedia(context.Background(), "no-such-session")
		require.ErrorIs(t, err, providers.ErrRejected)
	})
	t.Run("invalid id never reaches the network", func(t *testing.T) {
		t.Parallel()
		b := setupAPI(t)
		for _, id := range []string{"", "../media/x", "a/b", "a?b", "a b", string(bytes.Repeat([]byte("a"), 200))} {
			_, err := b.p.ListMedia(context.Background(), id)
			require.ErrorIs(t, err, providers.ErrInvalidParams, "%q", id)
			_, err = b.p.OpenMedia(context.Background(), providers.Media{ID: id})
			require.ErrorIs(t, err, providers.ErrInvalidParams, "%q", id)
		}
		assert.Equal(t, 0, b.api.Calls("GET /v1/sessions/{id}/media")+b.api.Calls("GET /v1/media/{id}"))
	})
	t.Run("5xx then success", func(t *testing.T) {
		t.Parallel()
		b := setupAPI(t)
		b.api.AddSession("sess-1", "u")
		seen := failFirst(b.api, isMediaList, 2, http.StatusInternalServerError)
		media, err := b.p.ListMedia(context.Background(), "sess-1")
		require.NoError(t, err)
		assert.Len(t, media, 3)
		assert.EqualValues(t, 3, seen.Load())
	})
	for name, answer := range map[string]string{
		"malformed JSON":    `{"status":"success","images":[{"id":`,
		"no images":         `{"status":"success","videos":[]}`,
		"images not a list": `{"status":"success","images":{}}`,
		"image without id":  `{"status":"success","images":[{"context":"face","mimetype":"image/jpeg"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setupAPI(t)
			b.api.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
				_, _ = w.Write([]byte(answer))
				return true
			}
			_, err := b.p.ListMedia(context.Background(), "sess-1")
			require.ErrorIs(t, err, providers.ErrBadResponse)
		})
	}
}

func TestOpenMediaStreams(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	b.api.AddSession("sess-1", "u")
	media, err := b.p.ListMedia(context.Background(), "sess-1")
	require.NoError(t, err)
	rc, err := b.p.OpenMedia(context.Background(), media[2])
	require.NoError(t, err)
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.Equal(t, []byte("\x89PNG\r\n\x1a\n"), data[:8])

	t.Run("wrong secret is refused by Veriff", func(t *testing.T) {
		p := newProvider(t, veriff.Config{SharedSecret: "other", BaseURL: b.srv.URL, HTTP: fastHTTP()})
		_, err := p.OpenMedia(context.Background(), media[0])
		require.ErrorIs(t, err, providers.ErrRejected)
	})
}

// TestOpenMediaDoesNotBuffer shows OpenMedia returns as soon as the headers
// arrive, while the provider is still sending, and that a slow body is not
// cut by the per-attempt timeout.
func TestOpenMediaDoesNotBuffer(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	release := make(chan struct{})
	const chunk = 64 << 10
	b.api.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		assert.Equal(t, hmacHex(testSecret, []byte("big-image")), r.Header.Get("X-HMAC-SIGNATURE"), "signed over the media id")
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(bytes.Repeat([]byte{1}, chunk))
		w.(http.Flusher).Flush()
		<-release
		time.Sleep(400 * time.Millisecond) // twice the per-attempt timeout
		_, _ = w.Write(bytes.Repeat([]byte{2}, chunk))
		return true
	}
	rc, err := b.p.OpenMedia(context.Background(), providers.Media{ID: "big-image"})
	require.NoError(t, err, "returned while the server still holds back the rest")
	close(release)
	h := sha256.New()
	n, err := io.Copy(h, rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.EqualValues(t, 2*chunk, n)
	want := sha256.Sum256(append(bytes.Repeat([]byte{1}, chunk), bytes.Repeat([]byte{2}, chunk)...))
	assert.Equal(t, want[:], h.Sum(nil))
}

func TestOpenMediaCancelMidStream(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	b.api.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return true
	}
	ctx, cancel := context.WithCancel(context.Background())
	rc, err := b.p.OpenMedia(ctx, providers.Media{ID: "m1"})
	require.NoError(t, err)
	buf := make([]byte, 7)
	_, err = io.ReadFull(rc, buf)
	require.NoError(t, err)
	cancel()
	_, err = io.ReadAll(rc)
	require.ErrorIs(t, err, context.Canceled, "the caller's context ends the stream")
	require.NoError(t, rc.Close())
}

func TestFetchDecision(t *testing.T) {
	t.Parallel()
	b := setupAPI(t)
	b.api.AddSession("12df6045-3846-3e45-946a-14fa6136d78b", "u")
	ds, err := b.p.FetchDecision(context.Background(), "12df6045-3846-3e45-946a-14fa6136d78b")
	require.NoError(t, err)
	assert.Empty(t, ds, "no decision yet")

	body := fixture(t, "decision_approved.json")
	b.api.SetDecision("12df6045-3846-3e45-946a-14fa6136d78b", body)
	ds, err = b.p.FetchDecision(context.Background(), "12df6045-3846-3e45-946a-14fa6136d78b")
	require.NoError(t, err)
	hooked, err := b.p.Parse(body)
	require.NoError(t, err)
	assert.Equal(t, hooked, ds, "polled and delivered decisions de-duplicate")

	b.api.SetDecision("12df6045-3846-3e45-946a-14fa6136d78b", []byte(`{"status":"success","verification":{"status":"approved"}}`))
	_, err = b.p.FetchDecision(context.Background(), "12df6045-3846-3e45-946a-14fa6136d78b")
	require.ErrorIs(t, err, providers.ErrBadResponse)
}

func TestWebhookBuilderRoundTrip(t *testing.T) {
	t.Parallel()
	p := newProvider(t, veriff.Config{})
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	body := verifftest.DecisionBody(verifftest.Decision{
		SessionID: "sess-1", AttemptID: "att-1", VendorData: "user-1", Status: "approved", DecisionTime: at,
		DocumentType: "PASSPORT", DocumentCountry: "EE", DocumentNumber: "X1", DocumentValidUntil: "2030-01-01",
	})
	req, err := verifftest.NewWebhookRequest(context.Background(), "http://127.0.0.1/hook", testKey, testSecret, body)
	require.NoError(t, err)
	raw, err := io.ReadAll(req.Body)
	require.NoError(t, err)
	require.NoError(t, p.Verify(req.Header, raw))
	ds, err := p.Parse(raw)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, providers.OutcomeApproved, ds[0].Outcome)
	assert.Equal(t, "user-1", ds[0].SubjectRef)
	assert.Equal(t, at, ds[0].OccurredAt)
	assert.Equal(t, providers.DocumentFacts{Type: "PASSPORT", Country: "EE", Number: "X1", ValidUntil: date("2030-01-01")}, ds[0].Document)
}
