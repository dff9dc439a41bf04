package outbound_test

import (
	"context"
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
	"github.com/openkyc/kyc/providers/internal/outbound"
)

func client(t *testing.T, h http.HandlerFunc, opts providers.HTTPOptions) *outbound.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if opts.InitialBackoff == 0 {
		opts.InitialBackoff, opts.MaxBackoff = time.Millisecond, 5*time.Millisecond
	}
	if opts.Timeout == 0 {
		opts.Timeout = 200 * time.Millisecond
	}
	c, err := outbound.New("test", srv.URL+"/prefix/", opts)
	require.NoError(t, err)
	return c
}

func TestNewValidatesBaseURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "example.com", "ftp://example.com", "https://", "https://example.com/?x=1", "https://example.com/#f", "://bad"} {
		_, err := outbound.New("test", u, providers.HTTPOptions{})
		require.Error(t, err, u)
	}
	_, err := outbound.New("test", "https://api.example.com/v3", providers.HTTPOptions{})
	require.NoError(t, err)
}

func TestJSONPathQueryAndSigning(t *testing.T) {
	t.Parallel()
	var attempts atomic.Int32
	c := client(t, func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/prefix/resources/applicants/-;externalUserId=a%20b%2Fc/one", r.URL.EscapedPath())
		assert.Equal(t, "levelName=basic+kyc", r.URL.RawQuery)
		assert.Equal(t, "fixed", r.Header.Get("X-Fixed"))
		n := attempts.Add(1)
		assert.Equal(t, "attempt-"+string(rune('0'+n)), r.Header.Get("X-Signed"), "each attempt is signed anew")
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{"id":"x1"}`))
	}, providers.HTTPOptions{})
	var signs atomic.Int32
	var out struct{ ID string }
	err := c.JSON(context.Background(), outbound.Request{
		Op: "GET /resources/applicants/-;externalUserId={id}/one", Method: http.MethodGet,
		Path:   "/resources/applicants/-;externalUserId=a%20b%2Fc/one",
		Query:  map[string][]string{"levelName": {"basic kyc"}},
		Header: http.Header{"X-Fixed": {"fixed"}},
		Sign: func(req *http.Request, _ []byte) {
			req.Header.Set("X-Signed", "attempt-"+string(rune('0'+signs.Add(1))))
			assert.Equal(t, "/prefix/resources/applicants/-;externalUserId=a%20b%2Fc/one?levelName=basic+kyc", req.URL.RequestURI(), "signers see the URI as sent")
		},
	}, &out)
	require.NoError(t, err)
	assert.Equal(t, "x1", out.ID)
	assert.EqualValues(t, 2, attempts.Load())
}

func TestRetryAfterIsHonouredUpToMaxBackoff(t *testing.T) {
	t.Parallel()
	var attempts atomic.Int32
	c := client(t, func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) == 1 {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}, providers.HTTPOptions{InitialBackoff: time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	start := time.Now()
	require.NoError(t, c.JSON(context.Background(), outbound.Request{Op: "GET /x", Method: http.MethodGet, Path: "/x"}, nil))
	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, 50*time.Millisecond, "waited the capped Retry-After")
	assert.Less(t, elapsed, 30*time.Second, "never the full hour")
}

func TestClassification(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status   int
		kind     error
		attempts int32
	}{
		{http.StatusBadRequest, providers.ErrRejected, 1},
		{http.StatusUnauthorized, providers.ErrRejected, 1},
		{http.StatusNotFound, providers.ErrRejected, 1},
		{http.StatusConflict, providers.ErrRejected, 1},
		{http.StatusTooManyRequests, providers.ErrUnavailable, 3},
		{http.StatusInternalServerError, providers.ErrUnavailable, 3},
		{http.StatusServiceUnavailable, providers.ErrUnavailable, 3},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			t.Parallel()
			var attempts atomic.Int32
			c := client(t, func(w http.ResponseWriter, r *http.Request) {
				attempts.Add(1)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(`{"error":"applicant jane@example.com exists"}`))
			}, providers.HTTPOptions{})
			err := c.JSON(context.Background(), outbound.Request{Op: "POST /x", Method: http.MethodPost, Path: "/x", Body: []byte(`{}`)}, nil)
			require.ErrorIs(t, err, tc.kind)
			var ce *providers.CallError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.status, ce.StatusCode)
			assert.Equal(t, tc.attempts, attempts.Load())
			assert.NotContains(t, err.Error(), "jane", "error bodies are never kept")
		})
	}
}

func TestAnswerTooLarge(t *testing.T) {
	t.Parallel()
	c := client(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"a":"` + strings.Repeat("x", outbound.MaxJSONAnswer) + `"}`))
	}, providers.HTTPOptions{})
	var out map[string]string
	err := c.JSON(context.Background(), outbound.Request{Op: "GET /x", Method: http.MethodGet, Path: "/x"}, &out)
	require.ErrorIs(t, err, providers.ErrBadResponse)
}

func TestStreamTimeoutBeforeHeadersIsRetried(t *testing.T) {
	t.Parallel()
	var attempts atomic.Int32
	c := client(t, func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Second):
			}
			return
		}
		_, _ = w.Write([]byte("bytes"))
	}, providers.HTTPOptions{Timeout: 100 * time.Millisecond})
	rc, _, err := c.Stream(context.Background(), outbound.Request{Op: "GET /m", Method: http.MethodGet, Path: "/m"})
	require.NoError(t, err)
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.Equal(t, "bytes", string(b))
	assert.EqualValues(t, 2, attempts.Load())
}

func TestConnectionRefusedIsUnavailable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := outbound.New("test", url, providers.HTTPOptions{MaxAttempts: 2, InitialBackoff: time.Millisecond})
	require.NoError(t, err)
	err = c.JSON(context.Background(), outbound.Request{Op: "GET /sessions/{id}", Method: http.MethodGet, Path: "/sessions/secret-session-id"}, nil)
	require.ErrorIs(t, err, providers.ErrUnavailable)
	assert.NotContains(t, err.Error(), "secret-session-id", "transport errors lose the URL")
	var ce *providers.CallError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 2, ce.Attempts)
}

func TestCheckID(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"12df6045-3846-3e45-946a-14fa6136d78b", "5cb56e8e0a975a35f333cb83", "profile_1eb92", "a.b~c"} {
		require.NoError(t, outbound.CheckID("id", ok), ok)
	}
	for _, bad := range []string{"", "..%2f", "a/b", "a b", "a?b", "a#b", "a;b", strings.Repeat("a", 129), "é"} {
		err := outbound.CheckID("session id", bad)
		require.ErrorIs(t, err, providers.ErrInvalidParams, bad)
		if bad != "" {
			assert.NotContains(t, err.Error(), bad)
		}
	}
}
