package httpadapter

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
)

// recordingRouter records the patterns Register passes.
type recordingRouter struct {
	patterns []string
	inner    Router
}

func (r *recordingRouter) Handle(pattern string, h http.Handler) {
	r.patterns = append(r.patterns, pattern)
	if r.inner != nil {
		r.inner.Handle(pattern, h)
	}
}

// TestMounts serves the same requests through a real net/http server on
// *http.ServeMux, chi, Handler and AdminHandler, and behind
// http.StripPrefix, under a prefix and under none: signed file URLs keep
// the path the client used and verify when fetched. chi v5.1+
// accepts "METHOD /path" patterns in Handle (go-chi/chi#897) and sets
// r.PathValue, so no adapter is needed for it.
func TestMounts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		opts   setupOpts
		prefix string
	}{
		{"ServeMux prefix", setupOpts{router: "mux"}, testPrefix},
		{"ServeMux deep prefix", setupOpts{router: "mux", prefix: "/internal/kyc"}, "/internal/kyc"},
		{"ServeMux no prefix", setupOpts{router: "mux", noPrefix: true}, ""},
		{"chi prefix", setupOpts{router: "chi"}, testPrefix},
		{"chi no prefix", setupOpts{router: "chi", noPrefix: true}, ""},
		{"Handler prefix", setupOpts{router: "handler"}, testPrefix},
		{"Handler no prefix", setupOpts{router: "handler", noPrefix: true}, ""},
		{"StripPrefix of Handler", setupOpts{router: "strip"}, testPrefix},
		{"StripPrefix of Handler deep prefix", setupOpts{router: "strip", prefix: "/internal/kyc"}, "/internal/kyc"},
		{"StripPrefix of routes at the root", setupOpts{router: "strip-unregistered"}, testPrefix},
		{"StripPrefix of routes at the root deep prefix", setupOpts{router: "strip-unregistered", prefix: "/internal/kyc"}, "/internal/kyc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.opts)
			require.Equal(t, tc.prefix, b.prefix)
			srv := httptest.NewServer(b.h)
			defer srv.Close()
			send := func(method, path, token string, body []byte, ctype string) (int, []byte) {
				t.Helper()
				var rd io.Reader
				if body != nil {
					rd = bytes.NewReader(body)
				}
				rq, err := http.NewRequest(method, srv.URL+tc.prefix+path, rd)
				require.NoError(t, err)
				if token != "" {
					rq.Header.Set("Authorization", "Bearer "+token)
				}
				if ctype != "" {
					rq.Header.Set("Content-Type", ctype)
				}
				res, err := srv.Client().Do(rq)
				require.NoError(t, err)
				defer res.Body.Close()
				out, err := io.ReadAll(res.Body)
				require.NoError(t, err)
				checkOpenAPI(t, method, strings.SplitN(path, "?", 2)[0], resp{status: res.StatusCode, header: res.Header, body: out})
				return res.StatusCode, out
			}
			st, body := send("GET", "/api/v2/user/verification-status", tokOwner, nil, "")
			require.Equal(t, 200, st, string(body))
			require.Contains(t, string(body), `"name":"isBusiness"`)

			// Path values, and the literal route next to the wildcard one.
			g := b.grants(b.owner.ID)[0]
			st, body = send("GET", fmt.Sprintf("/api/v2/my/verifications/%d", g.ID), tokOwner, nil, "")
			require.Equal(t, 200, st, string(body))
			st, body = send("GET", "/api/v2/my/verifications/wizard", tokOwner, nil, "")
			require.Equal(t, 200, st, string(body))
			require.Contains(t, string(body), `"workflow"`)

			// A POST with a body, and an upload.
			st, body = send("POST", "/api/v2/user/requirements/isBusiness", tokOwner, []byte(`{"answer":true}`), "application/json")
			require.Equal(t, 200, st, string(body))
			form, ct := multipartBody(t, [][2]string{{FieldDocumentType, "passport"}, {FieldSide, "front"}}, pngBytes)
			st, body = send("POST", "/api/v2/my/verifications/files", tokOwner, form, ct)
			require.Equal(t, 201, st, string(body))

			// Admin routes with a path value of two segments.
			st, body = send("POST", fmt.Sprintf("/api/v2/clients/%d/requirements/verificationFlag", b.owner.ID), tokAdmin, []byte(`{"value":true}`), "application/json")
			require.Equal(t, 200, st, string(body))
			st, body = send("GET", "/api/v2/verifications?filter[clientId]="+fmt.Sprint(b.owner.ID), tokAdmin, nil, "")
			require.Equal(t, 200, st, string(body))

			// The signed URLs of seed 003 point at this mount.
			b.idSession(b.owner.ID, b.clock.Now())
			st, body = send("GET", "/api/v1/me/natural-person/id-verification", tokOwner, nil, "")
			require.Equal(t, 200, st, string(body))
			var u string
			for _, part := range strings.Split(string(body), `"`) {
				if strings.HasPrefix(part, "https://kyc.example.com") {
					u = part
					break
				}
			}
			require.True(t, strings.HasPrefix(u, "https://kyc.example.com"+tc.prefix+"/api/v1/files/"), u)
			st, body = send("GET", strings.TrimPrefix(u, "https://kyc.example.com"+tc.prefix), "", nil, "")
			require.Equal(t, 200, st)
			require.Equal(t, pngBytes, body)

			// The OpenAPI description names the mount point.
			st, body = send("GET", "/openapi.json", "", nil, "")
			require.Equal(t, 200, st)
			require.Contains(t, string(body), `"servers":[{"url":"https://kyc.example.com`+tc.prefix+`"}]`)
		})
	}
}

func TestRegisterPatterns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pub, adm := &recordingRouter{}, &recordingRouter{}
	b.adapter.Register(pub, "/kyc/")
	b.adapter.RegisterAdmin(adm, "/admin")
	require.Contains(t, pub.patterns, "GET /kyc/api/v2/user/verification-status")
	require.Contains(t, pub.patterns, "GET /kyc/api/v2/my/verifications/{verificationId}")
	require.Contains(t, adm.patterns, "GET /admin/api/v2/verifications/{verificationId}")
	for _, p := range append(pub.patterns, adm.patterns...) {
		method, path, ok := strings.Cut(p, " ")
		require.True(t, ok)
		require.Contains(t, []string{"GET", "POST"}, method)
		require.NotContains(t, path, "...", "only {name} wildcards")
		require.NotContains(t, path, "{$}")
		require.NotContains(t, path, "//")
	}
	for _, p := range pub.patterns {
		require.NotContains(t, p, "/api/v2/verifications", "admin route on the public router")
	}

	// Public and admin routes can live on two listeners.
	pubMux, admMux := http.NewServeMux(), chi.NewRouter()
	b.adapter.Register(pubMux, "")
	b.adapter.RegisterAdmin(admMux, "/internal")
	rec := httptest.NewRecorder()
	pubMux.ServeHTTP(rec, adminRequest("/api/v2/verifications"))
	require.Equal(t, 404, rec.Code)
	rec = httptest.NewRecorder()
	admMux.ServeHTTP(rec, adminRequest("/internal/api/v2/verifications"))
	require.Equal(t, 200, rec.Code)

	// Without a Signer the seed 003 and file routes are not registered.
	a, err := New(b.svc, Options{Authenticator: b.auth})
	require.NoError(t, err)
	r := &recordingRouter{}
	a.Register(r, "")
	require.NotContains(t, r.patterns, RouteIDVerification)
	require.NotContains(t, r.patterns, RouteFile)
	require.NotContains(t, r.patterns, RouteOpenAPI)
	require.Contains(t, r.patterns, RouteVerificationStatus)

	for _, bad := range []string{"kyc", "/kyc/{x}", "/k yc", "/a//b", "/kyc?x"} {
		require.Panics(t, func() { b.adapter.Register(&recordingRouter{}, bad) }, bad)
	}
}

func adminRequest(path string) *http.Request {
	r := httptest.NewRequest("GET", path, nil)
	r.Header.Set("Authorization", "Bearer "+tokAdmin)
	return r
}

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := New(nil, Options{Authenticator: b.auth})
	require.Error(t, err)
	_, err = New(b.svc, Options{})
	require.ErrorContains(t, err, "Authenticator")
	_, err = New(b.svc, Options{Authenticator: b.auth, MaxBodyBytes: -1})
	require.Error(t, err)
	_, err = New(b.svc, Options{Authenticator: b.auth, BaseURL: "kyc.example.com"})
	require.ErrorContains(t, err, "BaseURL")
	a, err := New(b.svc, Options{Authenticator: b.auth})
	require.NoError(t, err)
	require.Equal(t, DefaultMaxBodyBytes, a.maxB)
	require.Equal(t, DefaultIdempotencyTTL, a.ttl)
	require.Equal(t, Scopes{DefaultPendingRequestScope, DefaultIDVerificationScope, DefaultAgentIDVerificationScope}, a.scopes)
	require.Equal(t, DefaultWizardStages, a.stages)
	require.Equal(t, DefaultWizardCodes, a.codes)
}

// TestHandlerSeparatesAdminRoutes: Handler serves only the public routes,
// AdminHandler only the admin ones, so a gin or echo host that mounts
// Handler on its public router exposes no reviewer route. A route's own
// answers are JSON; the router's "404 page not found" is not.
func TestHandlerSeparatesAdminRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pub, adm := b.adapter.Handler("/kyc"), b.adapter.AdminHandler("/kyc")
	// Without credentials a route answers 401 (or 403 for a signed URL);
	// what no route takes answers the fallback's 404 or 405, in JSON too.
	routed := func(h http.Handler, method, path, _ string) bool {
		r := httptest.NewRequest(method, "/kyc"+path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed
	}
	fill := strings.NewReplacer("{verificationId}", "1", "{applicationId}", "1", "{clientId}", "1", "{name}", "isBusiness", "{fileId}", "f1")
	for _, rt := range b.adapter.adminRoutes() {
		method, path := rt.split()
		require.False(t, routed(pub, method, fill.Replace(path), tokAdmin), "Handler serves admin route %s", rt.pattern)
		require.True(t, routed(adm, method, fill.Replace(path), tokAdmin), "AdminHandler lacks %s", rt.pattern)
	}
	for _, rt := range b.adapter.publicRoutes() {
		method, path := rt.split()
		require.True(t, routed(pub, method, fill.Replace(path), tokOwner), "Handler lacks %s", rt.pattern)
		require.False(t, routed(adm, method, fill.Replace(path), tokOwner), "AdminHandler serves public route %s", rt.pattern)
	}
}
