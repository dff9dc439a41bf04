package httpadapter

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAbandonedRequestLoggedAtDebug: a request whose client went away (its
// context cancelled) is answered 503 as before but logged at debug, since
// nothing failed on the server's side; a request that runs past the
// adapter's RequestTimeout is still a server error, logged at error.
func TestAbandonedRequestLoggedAtDebug(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		level   string
		timeout time.Duration
	}{
		{"client gone", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, "debug", 0},
		{"timed out", func() (context.Context, context.CancelFunc) {
			return context.Background(), func() {}
		}, "error", time.Nanosecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{adapter: func(o *Options) { o.RequestTimeout = c.timeout }})
			ctx, cancel := c.ctx()
			defer cancel()
			hr := httptest.NewRequestWithContext(ctx, "GET", b.prefix+"/api/v2/user/verification-status", nil)
			hr.Header.Set("Authorization", "Bearer "+tokOwner)
			rec := httptest.NewRecorder()
			b.h.ServeHTTP(rec, hr)
			require.Equal(t, 503, rec.Code)
			var refused []map[string]any
			for _, l := range logLines(t, b.logs.String()) {
				if l["message"] == "httpadapter: request refused" {
					refused = append(refused, l)
				}
				if c.level == "debug" {
					require.NotEqual(t, "error", l["level"], "no error line for a request the client abandoned: %v", l)
				}
			}
			require.Len(t, refused, 1)
			require.Equal(t, c.level, refused[0]["level"])
			require.EqualValues(t, 503, refused[0]["status"])
		})
	}
}
