package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/webhooks"
)

// whSecret and whOldSecret are fixed 32-byte secrets for the tests.
var (
	whSecret    = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	whOldSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))
)

// whHeaders builds the three Standard Webhooks headers.
func whHeaders(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set(webhooks.HeaderID, id)
	h.Set(webhooks.HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(webhooks.HeaderSignature, sig)
	return h
}

// hmacSig is an independent implementation of the v1 scheme.
func hmacSig(t *testing.T, secret, id string, ts int64, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestWebhookKnownAnswers(t *testing.T) {
	t.Parallel()
	vectors := []struct {
		name, secret, id string
		ts               int64
		body             string
		want             string
	}{
		// The example of the Standard Webhooks specification (and of the
		// Svix libraries' tests): a receiver using them must accept ours.
		{"standard-webhooks-spec", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, `{"test": 2432232314}`, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
		// Computed once with Python's hmac module:
		// base64(HMAC-SHA256(base64decode(secret[6:]), "msg_id.1674087231." + body)).
		{"msg_id", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "msg_id", 1674087231, `{"type":"level.granted","subjectId":42}`, "QIE7mDpoBfcFN2QZEkXLxWMIf/ee9jtM95fBJLw63Fw="},
	}
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, v.want, hmacSig(t, v.secret, v.id, v.ts, []byte(v.body)), "the independent HMAC computation")
			ts := time.Unix(v.ts, 0)
			sig, err := webhooks.Sign([]string{v.secret}, v.id, ts, []byte(v.body))
			require.NoError(t, err)
			require.Equal(t, "v1,"+v.want, sig)
			require.NoError(t, webhooks.Verify([]string{v.secret}, whHeaders(v.id, v.ts, "v1,"+v.want), []byte(v.body), ts))
		})
	}
}

func TestVerifyWebhookVectors(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	body := []byte(`{"id":"ev-1","type":"level.granted","subjectId":7,"occurredAt":"2024-01-14T12:00:00Z","data":{"level":2}}`)
	const id = "ev-1"
	sigAt := func(secret string, ts int64, b []byte) string { return "v1," + hmacSig(t, secret, id, ts, b) }
	valid := sigAt(whSecret, now.Unix(), body)
	tol := int64(webhooks.Tolerance / time.Second)
	without := func(name string) http.Header {
		h := whHeaders(id, now.Unix(), valid)
		h.Del(name)
		return h
	}
	tests := []struct {
		name    string
		secrets []string
		h       http.Header
		body    []byte
		want    error
	}{
		{"valid", []string{whSecret}, whHeaders(id, now.Unix(), valid), body, nil},
		{"tampered body", []string{whSecret}, whHeaders(id, now.Unix(), valid), append([]byte(`{"x":1,`), body[1:]...), webhooks.ErrSignature},
		{"one byte appended", []string{whSecret}, whHeaders(id, now.Unix(), valid), append(append([]byte(nil), body...), ' '), webhooks.ErrSignature},
		{"tampered id", []string{whSecret}, whHeaders("ev-2", now.Unix(), valid), body, webhooks.ErrSignature},
		{"wrong secret", []string{whOldSecret}, whHeaders(id, now.Unix(), valid), body, webhooks.ErrSignature},
		{"stale: tolerance+1s old", []string{whSecret}, whHeaders(id, now.Unix()-tol-1, sigAt(whSecret, now.Unix()-tol-1, body)), body, webhooks.ErrTimestamp},
		{"stale: tolerance+1s ahead", []string{whSecret}, whHeaders(id, now.Unix()+tol+1, sigAt(whSecret, now.Unix()+tol+1, body)), body, webhooks.ErrTimestamp},
		{"exactly tolerance old", []string{whSecret}, whHeaders(id, now.Unix()-tol, sigAt(whSecret, now.Unix()-tol, body)), body, nil},
		{"exactly tolerance ahead", []string{whSecret}, whHeaders(id, now.Unix()+tol, sigAt(whSecret, now.Unix()+tol, body)), body, nil},
		{"timestamp shifted, signature of the original", []string{whSecret}, whHeaders(id, now.Unix()+1, valid), body, webhooks.ErrSignature},
		{"malformed timestamp", []string{whSecret}, func() http.Header {
			h := whHeaders(id, now.Unix(), valid)
			h.Set(webhooks.HeaderTimestamp, "2024-01-14T12:00:00Z")
			return h
		}(), body, webhooks.ErrTimestamp},
		{"missing webhook-id", []string{whSecret}, without(webhooks.HeaderID), body, webhooks.ErrMissingHeader},
		{"missing webhook-timestamp", []string{whSecret}, without(webhooks.HeaderTimestamp), body, webhooks.ErrMissingHeader},
		{"missing webhook-signature", []string{whSecret}, without(webhooks.HeaderSignature), body, webhooks.ErrMissingHeader},
		{"no headers", []string{whSecret}, http.Header{}, body, webhooks.ErrMissingHeader},
		{"two signatures, the second valid", []string{whSecret}, whHeaders(id, now.Unix(), sigAt(whOldSecret, now.Unix(), body)+" "+valid), body, nil},
		{"two signatures, the first valid", []string{whSecret}, whHeaders(id, now.Unix(), valid+" "+sigAt(whOldSecret, now.Unix(), body)), body, nil},
		{"two signatures, none valid", []string{whSecret}, whHeaders(id, now.Unix(), sigAt(whOldSecret, now.Unix(), body)+" v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))), body, webhooks.ErrSignature},
		{"two receiver secrets, the old one matches", []string{whSecret, whOldSecret}, whHeaders(id, now.Unix(), sigAt(whOldSecret, now.Unix(), body)), body, nil},
		{"valid signature under v2 is ignored", []string{whSecret}, whHeaders(id, now.Unix(), "v2,"+strings.TrimPrefix(valid, "v1,")), body, webhooks.ErrSignature},
		{"entry without a comma is ignored", []string{whSecret}, whHeaders(id, now.Unix(), "v1"+strings.TrimPrefix(valid, "v1,")), body, webhooks.ErrSignature},
		{"malformed entries before a valid one", []string{whSecret}, whHeaders(id, now.Unix(), "garbage v2,abc v1 "+valid), body, nil},
		{"signature of an empty body", []string{whSecret}, whHeaders(id, now.Unix(), sigAt(whSecret, now.Unix(), nil)), body, webhooks.ErrSignature},
		{"malformed receiver secret", []string{"whsec_short"}, whHeaders(id, now.Unix(), valid), body, webhooks.ErrSecret},
		{"no receiver secret", nil, whHeaders(id, now.Unix(), valid), body, webhooks.ErrSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := webhooks.Verify(tt.secrets, tt.h, tt.body, now)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestSignWebhookRotation(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	body := []byte(`{"hello":"world"}`)
	sig, err := webhooks.Sign([]string{whSecret, whOldSecret}, "ev-9", now, body)
	require.NoError(t, err)
	parts := strings.Fields(sig)
	require.Len(t, parts, 2, "one signature per secret, space-separated: %q", sig)
	require.Equal(t, "v1,"+hmacSig(t, whSecret, "ev-9", now.Unix(), body), parts[0], "the new secret's signature first")
	require.Equal(t, "v1,"+hmacSig(t, whOldSecret, "ev-9", now.Unix(), body), parts[1])
	h := whHeaders("ev-9", now.Unix(), sig)
	require.NoError(t, webhooks.Verify([]string{whOldSecret}, h, body, now), "a receiver still on the old secret")
	require.NoError(t, webhooks.Verify([]string{whSecret}, h, body, now), "a receiver already on the new secret")
	third := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a third secret of 32 bytes!!!!!!"))
	require.ErrorIs(t, webhooks.Verify([]string{third}, h, body, now), webhooks.ErrSignature)
}

func TestWebhookSecretsRefused(t *testing.T) {
	t.Parallel()
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", n))) }
	bad := map[string]string{
		"23 bytes":        "whsec_" + b64(23),
		"no prefix":       b64(32),
		"other prefix":    "whsk_" + b64(32),
		"not base64":      "whsec_" + strings.Repeat("!", 40),
		"empty":           "",
		"prefix only":     "whsec_",
		"raw-url base64":  "whsec_" + base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("\xff", 32))),
		"uppercase WHSEC": "WHSEC_" + b64(32),
	}
	for name, s := range bad {
		_, err := webhooks.Sign([]string{s}, "ev-1", time.Unix(0, 0), nil)
		require.ErrorIs(t, err, webhooks.ErrSecret, "SignWebhook with %s", name)
		_, err = webhooks.Sign([]string{whSecret, s}, "ev-1", time.Unix(0, 0), nil)
		require.ErrorIs(t, err, webhooks.ErrSecret, "SignWebhook with a good secret and %s", name)
		_, err = webhooks.New("hook", "https://example.com/hook", webhooks.Options{Secrets: []string{s}})
		require.ErrorIs(t, err, webhooks.ErrOptions, "NewWebhook with %s", name)
		_, err = webhooks.New("hook", "https://example.com/hook", webhooks.Options{Secrets: []string{whSecret, s}})
		require.ErrorIs(t, err, webhooks.ErrOptions, "NewWebhook with a good secret and %s", name)
	}
	_, err := webhooks.Sign(nil, "ev-1", time.Unix(0, 0), nil)
	require.ErrorIs(t, err, webhooks.ErrSecret, "SignWebhook without secrets")
	_, err = webhooks.New("hook", "https://example.com/hook", webhooks.Options{})
	require.ErrorIs(t, err, webhooks.ErrOptions, "NewWebhook without secrets")

	_, err = webhooks.Sign([]string{"whsec_" + b64(24)}, "ev-1", time.Unix(0, 0), nil)
	require.NoError(t, err, "24 bytes is the minimum")
	fresh := webhooks.NewSecret()
	require.True(t, strings.HasPrefix(fresh, "whsec_"), fresh)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(fresh, "whsec_"))
	require.NoError(t, err)
	require.Len(t, key, 32)
	require.NotEqual(t, fresh, webhooks.NewSecret(), "secrets are random")
	_, err = webhooks.New("hook", "https://example.com/hook", webhooks.Options{Secrets: []string{fresh}})
	require.NoError(t, err)
}

func TestNewWebhookValidation(t *testing.T) {
	t.Parallel()
	opts := webhooks.Options{Secrets: []string{whSecret}}
	for _, u := range []string{"", "example.com/hook", "ftp://example.com/hook", "http://", "https:///path", "http://exa mple.com/%zz?token=secret", "/relative"} {
		_, err := webhooks.New("hook", u, opts)
		require.ErrorIs(t, err, webhooks.ErrOptions, "NewWebhook(%q)", u)
		require.NotContains(t, err.Error(), "token=secret", "the error must not repeat the URL")
	}
	_, err := webhooks.New("", "https://example.com/hook", opts)
	require.ErrorIs(t, err, webhooks.ErrOptions, "a webhook needs a name")
	w, err := webhooks.New("hook", "http://127.0.0.1:9/hook?token=x", opts)
	require.NoError(t, err)
	require.Equal(t, "hook", w.Name())
}

// capturedRequest is what a test receiver saw.
type capturedRequest struct {
	method string
	header http.Header
	body   []byte
}

func TestWebhookDeliver(t *testing.T) {
	t.Parallel()
	reqs := make(chan capturedRequest, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		reqs <- capturedRequest{r.Method, r.Header.Clone(), b}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	stamp := time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC)
	w, err := webhooks.New("crm", srv.URL+"/hooks/kyc?token=secret", webhooks.Options{
		Secrets: []string{whSecret, whOldSecret},
		NowFunc: func() time.Time { return stamp },
	})
	require.NoError(t, err)
	occurred := time.Date(2024, 1, 14, 12, 0, 0, 123456000, time.FixedZone("CET", 3600))
	e := verification.Event{ID: "ev-42", Seq: 7, SubjectID: 11, Type: verification.EventLevelGranted, Data: json.RawMessage(`{"level":2,"previousLevel":1}`), OccurredAt: occurred}
	require.NoError(t, w.Deliver(t.Context(), e))

	got := <-reqs
	require.Equal(t, http.MethodPost, got.method)
	require.Equal(t, "application/json", got.header.Get("Content-Type"))
	require.Equal(t, "ev-42", got.header.Get("webhook-id"), "webhook-id is the event id, stable across retries")
	require.Equal(t, strconv.FormatInt(stamp.Unix(), 10), got.header.Get("webhook-timestamp"))
	require.Len(t, strings.Fields(got.header.Get("webhook-signature")), 2, "one signature per secret")
	require.NoError(t, webhooks.Verify([]string{whSecret}, got.header, got.body, stamp.Add(time.Minute)))
	require.NoError(t, webhooks.Verify([]string{whOldSecret}, got.header, got.body, stamp.Add(-time.Minute)))
	require.ErrorIs(t, webhooks.Verify([]string{whSecret}, got.header, got.body, stamp.Add(6*time.Minute)), webhooks.ErrTimestamp)

	var body map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(got.body, &body))
	require.ElementsMatch(t, []string{"id", "type", "subjectId", "occurredAt", "data"}, keys(body))
	require.JSONEq(t, `"ev-42"`, string(body["id"]))
	require.JSONEq(t, `"level.granted"`, string(body["type"]))
	require.JSONEq(t, `11`, string(body["subjectId"]))
	require.JSONEq(t, `"2024-01-14T11:00:00.123456Z"`, string(body["occurredAt"]), "occurredAt is RFC 3339 in UTC")
	require.JSONEq(t, `{"level":2,"previousLevel":1}`, string(body["data"]))

	// An event without data still sends an object.
	require.NoError(t, w.Deliver(t.Context(), verification.Event{ID: "ev-43", SubjectID: 11, Type: verification.EventSubjectDeleted, OccurredAt: occurred}))
	got = <-reqs
	var p webhooks.Payload
	require.NoError(t, json.Unmarshal(got.body, &p))
	require.JSONEq(t, `{}`, string(p.Data))
	require.NoError(t, webhooks.Verify([]string{whSecret}, got.header, got.body, stamp))
}

func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestWebhookDeliverFailures(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	status := http.StatusOK
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		code := status
		mu.Unlock()
		if code == http.StatusFound {
			http.Redirect(w, r, "/elsewhere", code)
			return
		}
		if r.URL.Path == "/hang" {
			// Read the body so the server notices the client hanging up.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-stop:
			}
			return
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte("receiver says: token=secret"))
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first
	e := verification.Event{ID: "ev-1", SubjectID: 1, Type: verification.EventSubjectCreated, OccurredAt: time.Now()}
	hook := func(t *testing.T, url string, opts webhooks.Options) *webhooks.Endpoint {
		t.Helper()
		opts.Secrets = []string{whSecret}
		w, err := webhooks.New("crm", url, opts)
		require.NoError(t, err)
		return w
	}
	w := hook(t, srv.URL+"/hook?token=secret", webhooks.Options{})

	for _, code := range []int{http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent} {
		mu.Lock()
		status = code
		mu.Unlock()
		require.NoError(t, w.Deliver(t.Context(), e), "answer %d is success", code)
	}
	for _, code := range []int{http.StatusFound, http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusGone, http.StatusInternalServerError, http.StatusServiceUnavailable} {
		mu.Lock()
		status = code
		mu.Unlock()
		err := w.Deliver(t.Context(), e)
		require.Error(t, err, "answer %d is a failure", code)
		require.Contains(t, err.Error(), strconv.Itoa(code), "the error names the status")
		require.NotContains(t, err.Error(), "secret", "the error must not repeat the URL's query or the answer")
	}

	// A hanging receiver: the per-request timeout (option, then context).
	start := time.Now()
	err := hook(t, srv.URL+"/hang?token=secret", webhooks.Options{Timeout: 100 * time.Millisecond}).Deliver(t.Context(), e)
	require.Error(t, err)
	require.Less(t, time.Since(start), 5*time.Second)
	require.NotContains(t, err.Error(), "secret")
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err = hook(t, srv.URL+"/hang?token=secret", webhooks.Options{}).Deliver(ctx, e)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotContains(t, err.Error(), "secret")

	// A dead endpoint.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/hook?token=secret"
	dead.Close()
	err = hook(t, deadURL, webhooks.Options{}).Deliver(t.Context(), e)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "token", "the error must not repeat the URL's query")
	require.NotContains(t, err.Error(), "secret", "the error must not repeat the URL's query")
	require.Contains(t, err.Error(), "crm", "the error names the sink")
}
