package httpadapter

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// requireDialect asserts that r is an error answer with status in the
// shape of family f: seed 000's {"errors": {code: {...}}}, seed 002's
// {"error", "message"} or seed 003's {"error"}.
func requireDialect(t *testing.T, f family, r resp, status int, what string) {
	t.Helper()
	require.Equal(t, status, r.status, "%s: %s", what, r.body)
	require.Equal(t, "application/json", r.header.Get("Content-Type"), "%s: %s", what, r.body)
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.body, &m), "%s: not a JSON object: %s", what, r.body)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	switch f {
	case familyV2:
		require.Equal(t, []string{"errors"}, keys, "%s: %s", what, r.body)
		var errs map[verification.Code]v2Error
		require.NoError(t, json.Unmarshal(m["errors"], &errs), "%s: %s", what, r.body)
		require.Len(t, errs, 1, "%s: %s", what, r.body)
		for code, e := range errs {
			require.Equal(t, code, e.Code, what)
			require.Equal(t, entry(code).Solution, e.Solution, what)
			require.NotEmpty(t, e.Message, what)
		}
	case familyExternal:
		require.Equal(t, []string{"error", "message"}, keys, "%s: %s", what, r.body)
	case familyNaturalPerson:
		require.Equal(t, []string{"error"}, keys, "%s: %s", what, r.body)
	}
}

// serveOn serves one request on h, without the OpenAPI check (these
// answers are the router's, not an operation's).
func serveOn(h http.Handler, method, target, token string) resp {
	rq := httptest.NewRequest(method, target, nil)
	if token != "" {
		rq.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, rq)
	return resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// TestUnmatchedRequestsAnswerInTheFamilysDialect: wrong methods on every
// route (405 with Allow), unknown paths under the prefix and the paths the
// router would redirect (307) answer in the JSON shape of the route family
// the path belongs to, on ServeMux (Register and RegisterAdmin, the
// request wrapped by Guard), through Handler, and on chi with Fallback as
// its NotFound and MethodNotAllowed handler.
func TestUnmatchedRequestsAnswerInTheFamilysDialect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		router string
		prefix string
	}{
		{"ServeMux prefix", "mux", "/kyc"},
		{"ServeMux no prefix", "mux", ""},
		{"Handler prefix", "handler", "/kyc"},
		{"Handler no prefix", "handler", ""},
		{"chi prefix", "chi", "/kyc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{prefix: tc.prefix, noPrefix: tc.prefix == ""})
			var h http.Handler
			switch tc.router {
			case "mux":
				mux := http.NewServeMux()
				mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
				b.adapter.Register(mux, tc.prefix)
				b.adapter.RegisterAdmin(mux, tc.prefix)
				h = b.adapter.Guard(tc.prefix, mux)
			case "handler":
				h = b.adapter.Handler(tc.prefix)
			case "chi":
				r := chi.NewRouter()
				b.adapter.Register(r, tc.prefix)
				b.adapter.RegisterAdmin(r, tc.prefix)
				fb := b.adapter.Fallback(tc.prefix)
				r.NotFound(fb.ServeHTTP)
				r.MethodNotAllowed(fb.ServeHTTP)
				h = r
			}
			p := tc.prefix
			cases := 0

			// Every route path: each method it does not take is 405, with
			// Allow naming the ones it does (GET includes HEAD).
			allowed := map[string][]string{} // path -> methods
			fam := map[string]family{}
			all := append(b.adapter.publicRoutes(), b.adapter.adminRoutes()...)
			if tc.router == "handler" {
				all = b.adapter.publicRoutes() // Handler serves no admin route
			}
			// routed: another route takes m on that path (a wildcard
			// next to a literal, as {verificationId} and files).
			routed := func(m, concrete string) bool {
				for _, rt := range all {
					if method, path := rt.split(); (method == m || m == "HEAD" && method == "GET") && matchPath(path, concrete) {
						return true
					}
				}
				return false
			}
			for _, rt := range all {
				method, path := rt.split()
				allowed[path] = append(allowed[path], method)
				if method == "GET" {
					allowed[path] = append(allowed[path], "HEAD")
				}
				fam[path] = rt.family
			}
			require.Equal(t, []string{"GET", "HEAD", "POST"}, sorted(allowed["/api/v2/my/verifications"]))
			if tc.router != "handler" {
				require.Equal(t, []string{"POST"}, allowed["/api/v2/clients/{clientId}/requirements/{name}"])
			}
			for path, methods := range allowed {
				concrete := strings.NewReplacer("{verificationId}", "1", "{clientId}", "1", "{name}", "isBusiness",
					"{applicationId}", "1", "{fileId}", "f1").Replace(path)
				for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
					if slices.Contains(methods, m) || routed(m, concrete) {
						continue
					}
					// Allow names the methods of every route with this
					// path, as ServeMux's own answer does.
					var want []string
					for _, x := range []string{"GET", "HEAD", "POST"} {
						if routed(x, concrete) {
							want = append(want, x)
						}
					}
					require.Subset(t, want, methods, concrete)
					what := m + " " + concrete
					r := serveOn(h, m, p+concrete, tokOwner)
					requireDialect(t, fam[path], r, http.StatusMethodNotAllowed, what)
					require.Equal(t, strings.Join(want, ", "), r.header.Get("Allow"), what)
					cases++
				}
			}

			// Unknown paths under the prefix and the paths ServeMux would
			// redirect: 404 in the dialect of the namespace they are in.
			unknown := []struct {
				path string
				f    family
			}{
				{"/api/v2/nope", familyV2},
				{"/api/v2/user/verification-status/", familyV2},
				{"/api/v2/my/verifications/1/extra", familyV2},
				{"/api/v2", familyV2},
				{"/api/v2/", familyV2},
				{"/external/api/v1/me/nope", familyExternal},
				{"/external/api/v1", familyExternal},
				{"/external/api/v1/me/pending_verification_request/", familyExternal},
				{"/api/v1/me/natural-person/nope", familyNaturalPerson},
				{"/api/v1/files", familyNaturalPerson},
				{"/api/v1", familyNaturalPerson},
				// Paths ServeMux cleans with a 307 redirect.
				{"/api/v2//user/verification-status", familyV2},
				{"/api/v2/./my/verifications", familyV2},
				{"/api/v2/my/x/../verifications", familyV2},
				{"/external/api/v1//me/pending_verification_request", familyExternal},
				{"/api/v1/me/natural-person/./id-verification", familyNaturalPerson},
			}
			if p != "" {
				unknown = append(unknown, []struct {
					path string
					f    family
				}{{"", familyV2}, {"/", familyV2}, {"/nope", familyV2}, {"//api/v2/user/verification-status", familyV2}}...)
			}
			for _, u := range unknown {
				if tc.router == "chi" && strings.Contains(u.path, "/.") {
					continue // chi routes the raw path; no redirect to answer
				}
				for _, m := range []string{"GET", "POST"} {
					r := serveOn(h, m, p+u.path, tokOwner)
					requireDialect(t, u.f, r, http.StatusNotFound, m+" "+p+u.path)
					require.Empty(t, r.header.Get("Location"), "no redirect")
					cases++
				}
			}
			t.Logf("%d unmatched requests answered in their family's dialect", cases)

			// The routes themselves, and the host's own, still work.
			r := serveOn(h, "GET", p+"/api/v2/user/verification-status", tokOwner)
			require.Equal(t, http.StatusOK, r.status, string(r.body))
			if tc.router != "chi" { // chi routes HEAD only with its GetHead middleware
				r = serveOn(h, "HEAD", p+"/api/v2/user/verification-status", tokOwner)
				require.Equal(t, http.StatusOK, r.status, string(r.body))
			}
			if tc.router == "mux" {
				require.Equal(t, http.StatusNoContent, serveOn(h, "GET", "/healthz", "").status)
				// Outside the adapter's paths the host's router answers.
				require.Equal(t, "404 page not found\n", string(serveOn(h, "GET", "/elsewhere", "").body))
			}
		})
	}
}

// TestFallbackOnlyKnowsTheRoutesOfItsRouter: with the public and admin
// routes on two ServeMuxes, an admin path on the public one is unknown
// (404), not a wrong method.
func TestFallbackOnlyKnowsTheRoutesOfItsRouter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pub, adm := http.NewServeMux(), http.NewServeMux()
	b.adapter.Register(pub, "/kyc")
	b.adapter.RegisterAdmin(adm, "/kyc")
	requireDialect(t, familyV2, serveOn(pub, "POST", "/kyc/api/v2/verifications", tokAdmin), http.StatusNotFound, "admin path on the public mux")
	r := serveOn(adm, "POST", "/kyc/api/v2/verifications", tokAdmin)
	requireDialect(t, familyV2, r, http.StatusMethodNotAllowed, "wrong method on the admin mux")
	require.Equal(t, "GET, HEAD", r.header.Get("Allow"))
	requireDialect(t, familyV2, serveOn(adm, "GET", "/kyc/api/v2/user/verification-status", tokOwner), http.StatusNotFound, "public path on the admin mux")
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
