package httpadapter

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requestRecorder keeps every Request an Adapter reports.
type requestRecorder struct {
	mu   sync.Mutex
	reqs []Request
}

func (r *requestRecorder) Request(_ context.Context, req Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
}

func TestObserverGetsRoutePatternsNeverPaths(t *testing.T) {
	t.Parallel()
	rec := &requestRecorder{}
	b := setup(t, setupOpts{adapter: func(o *Options) { o.Observer = rec }})
	tests := []struct {
		name   string
		path   string
		token  string
		method string
		route  string
		status int
	}{
		{"status", "/api/v2/user/verification-status", tokOwner, "GET", testPrefix + "/api/v2/user/verification-status", 200},
		{"admin subject", fmt.Sprintf("/api/v2/verifications/%d", b.owner.ID), tokAdmin, "GET", testPrefix + "/api/v2/verifications/{verificationId}", 200},
		{"refused", fmt.Sprintf("/api/v2/verifications/%d", b.owner.ID), tokOwner, "GET", testPrefix + "/api/v2/verifications/{verificationId}", 403},
	}
	for _, tc := range tests {
		got := b.get(tc.path, tc.token)
		require.Equal(t, tc.status, got.status, tc.name)
	}
	require.Len(t, rec.reqs, len(tests))
	for i, tc := range tests {
		r := rec.reqs[i]
		assert.Equal(t, tc.method, r.Method, tc.name)
		assert.Equal(t, tc.route, r.Route, tc.name)
		assert.Equal(t, tc.status, r.Status, tc.name)
		assert.Positive(t, r.Duration, tc.name)
		assert.NotContains(t, r.Route, strconv.FormatInt(b.owner.ID, 10), "%s: the path's id must not reach the observer", tc.name)
		assert.NotContains(t, r.Route, b.owner.Identifier, tc.name)
	}
}
