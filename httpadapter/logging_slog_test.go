package httpadapter

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSlogLogger: with Options.Slog the access log, refusals and their
// request ids reach the host's slog handler.
func TestSlogLogger(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	b := setup(t, setupOpts{adapter: func(o *Options) {
		o.Logger = nil
		o.Slog = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}})
	r := b.do(req{method: "GET", path: "/api/v2/user/verification-status", token: tokOwner, header: map[string]string{HeaderRequestID: "req-slog-1"}})
	require.Equal(t, 200, r.status)
	b.do(req{method: "GET", path: "/api/v2/my/verifications?limit=0", token: tokOwner, header: map[string]string{HeaderRequestID: "req-slog-2"}})
	require.Empty(t, b.logs.String(), "nothing goes to the zerolog logger")

	lines := logLines(t, buf.String())
	var access, refused []map[string]any
	for _, l := range lines {
		switch l["msg"] {
		case "http request":
			access = append(access, l)
		case "httpadapter: request refused":
			refused = append(refused, l)
		}
	}
	require.Len(t, access, 2, buf.String())
	require.Equal(t, "INFO", access[0]["level"])
	require.Equal(t, "GET /kyc/api/v2/user/verification-status", access[0]["route"])
	require.EqualValues(t, 200, access[0]["status"])
	require.Equal(t, "req-slog-1", access[0]["request_id"])
	require.Equal(t, "user", access[0]["auth"])
	require.Len(t, refused, 1)
	require.Equal(t, "DEBUG", refused[0]["level"])
	require.Equal(t, "req-slog-2", refused[0]["request_id"])
	require.Equal(t, "invalid_parameter limit", refused[0]["problem"])

	// Info and above only: the refusal is not built.
	var infoOnly syncBuffer
	b = setup(t, setupOpts{adapter: func(o *Options) {
		o.Logger = nil
		o.Slog = slog.New(slog.NewJSONHandler(&infoOnly, nil))
	}})
	b.get("/api/v2/my/verifications?limit=0", tokOwner)
	require.NotContains(t, infoOnly.String(), "request refused")
	require.Contains(t, infoOnly.String(), "http request")

	_, err := New(b.svc, Options{Authenticator: b.auth, Logger: &b.adapter.log, Slog: slog.Default()})
	require.ErrorContains(t, err, "not both")
}

// TestHostRequestID: the host's request id, from its middleware's context
// or from a header it names, is the one logged and echoed.
func TestHostRequestID(t *testing.T) {
	t.Parallel()
	type hostKey struct{}
	fromHost := func(ctx context.Context) string { s, _ := ctx.Value(hostKey{}).(string); return s }
	for _, tc := range []struct {
		name   string
		opts   func(*Options)
		ctx    func(context.Context) context.Context
		header map[string]string
		echo   string // the response header that carries the id
		want   string // "" means generated
	}{
		{"default header", nil, nil, map[string]string{"X-Request-Id": "abc-1"}, "X-Request-Id", "abc-1"},
		{"custom header", func(o *Options) { o.RequestIDHeader = "X-Correlation-Id" }, nil,
			map[string]string{"X-Correlation-Id": "corr-7", "X-Request-Id": "ignored"}, "X-Correlation-Id", "corr-7"},
		{"RequestIDFunc wins over the header", func(o *Options) { o.RequestIDFunc = fromHost },
			func(ctx context.Context) context.Context {
				return context.WithValue(ctx, hostKey{}, "myhost/Ab3-000042")
			},
			map[string]string{"X-Request-Id": "from-client"}, "X-Request-Id", "myhost/Ab3-000042"},
		{"RequestIDFunc empty: the header", func(o *Options) { o.RequestIDFunc = fromHost }, nil,
			map[string]string{"X-Request-Id": "from-client"}, "X-Request-Id", "from-client"},
		{"WithRequestID", nil, func(ctx context.Context) context.Context { return WithRequestID(ctx, "mw-99") },
			map[string]string{"X-Request-Id": "from-client"}, "X-Request-Id", "mw-99"},
		{"unprintable host id: the header", nil, func(ctx context.Context) context.Context { return WithRequestID(ctx, "bad id\n") },
			map[string]string{"X-Request-Id": "from-client"}, "X-Request-Id", "from-client"},
		{"malformed header: generated", nil, nil, map[string]string{"X-Request-Id": "bad id"}, "X-Request-Id", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{adapter: tc.opts})
			hr := httptest.NewRequest("GET", b.prefix+"/api/v2/user/verification-status", nil)
			hr.Header.Set("Authorization", "Bearer "+tokOwner)
			for k, v := range tc.header {
				hr.Header.Set(k, v)
			}
			if tc.ctx != nil {
				hr = hr.WithContext(tc.ctx(hr.Context()))
			}
			rec := httptest.NewRecorder()
			b.h.ServeHTTP(rec, hr)
			require.Equal(t, http.StatusOK, rec.Code)
			got := rec.Header().Get(tc.echo)
			if tc.want == "" {
				require.Regexp(t, `^[0-9a-f]{24}$`, got)
			} else {
				require.Equal(t, tc.want, got)
			}
			var logged []string
			for _, l := range logLines(t, b.logs.String()) {
				if l["message"] == "http request" {
					logged = append(logged, l["request_id"].(string))
				}
			}
			require.Equal(t, []string{got}, logged)
		})
	}
	b := setup(t)
	_, err := New(b.svc, Options{Authenticator: b.auth, RequestIDHeader: "X Bad"})
	require.ErrorContains(t, err, "RequestIDHeader")
}
