package httpadapter

import (
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
)

// recordingSigner is a host's own documents.URLSigner: it signs by
// appending a token, or returns absolute URLs of another origin.
type recordingSigner struct {
	absolute bool
	mu       sync.Mutex
	signed   []string
}

func (s *recordingSigner) SignURL(method, path string) string {
	s.mu.Lock()
	s.signed = append(s.signed, method+" "+path)
	s.mu.Unlock()
	if s.absolute {
		return "https://bucket.example" + path + "?X-Amz-Signature=abc"
	}
	return path + "?token=" + method
}

func (s *recordingSigner) Verify(method, path string, q url.Values) error {
	if len(q) == 1 && q.Get("token") == method {
		return nil
	}
	if q.Get("token") == "old" {
		return documents.ErrURLExpired
	}
	return errors.New("bad token")
}

func TestCustomURLSigner(t *testing.T) {
	t.Parallel()

	t.Run("relative URLs get the base and are verified by the host's signer", func(t *testing.T) {
		t.Parallel()
		signer := &recordingSigner{}
		b := setup(t, setupOpts{adapter: func(o *Options) { o.Signer = signer }})
		b.idSession(b.owner.ID, b.clock.Now())

		r := b.get("/api/v1/me/natural-person/id-verification", tokOwner)
		require.Equal(t, 200, r.status, string(r.body))
		front := r.object(t)["documents"].(map[string]any)["documentFront"].(string)
		require.True(t, strings.HasPrefix(front, "https://kyc.example.com"+b.prefix+"/api/v1/files/"), front)
		require.True(t, strings.HasSuffix(front, "?token=GET"), front)
		require.Len(t, signer.signed, 3)

		path := strings.TrimPrefix(front, "https://kyc.example.com"+b.prefix)
		ok := b.get(path, "")
		require.Equal(t, 200, ok.status, string(ok.body))
		require.NotEmpty(t, ok.body)

		forged := b.get(strings.Replace(path, "token=GET", "token=PUT", 1), "")
		require.Equal(t, 403, forged.status)
		expired := b.get(strings.Replace(path, "token=GET", "token=old", 1), "")
		require.Equal(t, 403, expired.status)
		require.NotEqual(t, string(forged.body), string(expired.body), "an expired URL is told apart from a forged one")
	})

	t.Run("absolute URLs are handed out as they are", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{adapter: func(o *Options) { o.Signer = &recordingSigner{absolute: true} }})
		b.idSession(b.owner.ID, b.clock.Now())
		r := b.get("/api/v1/me/natural-person/id-verification", tokOwner)
		require.Equal(t, 200, r.status, string(r.body))
		front := r.object(t)["documents"].(map[string]any)["documentFront"].(string)
		require.True(t, strings.HasPrefix(front, "https://bucket.example"+b.prefix+"/api/v1/files/"), front)
	})

	t.Run("a nil *documents.Signer still means no signed routes", func(t *testing.T) {
		t.Parallel()
		var none *documents.Signer
		b := setup(t)
		a, err := New(b.svc, Options{Authenticator: b.auth, Signer: none})
		require.NoError(t, err)
		r := &recordingRouter{}
		a.Register(r, "")
		require.NotContains(t, r.patterns, RouteIDVerification)
		require.NotContains(t, r.patterns, RouteFile)
	})
}
