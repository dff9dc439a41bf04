package httpadapter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

func TestCredential(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		headers map[string][]string
		query   string
		want    string
		err     error
	}{
		{"none", nil, "", "", ErrNoCredentials},
		{"bearer", map[string][]string{"Authorization": {"Bearer abc"}}, "", "abc", nil},
		{"bearer any case", map[string][]string{"Authorization": {"bearer  abc "}}, "", "abc", nil},
		{"empty header is none", map[string][]string{"Authorization": {"  "}}, "", "", ErrNoCredentials},
		{"basic scheme", map[string][]string{"Authorization": {"Basic dXNlcjpwYXNz"}}, "", "", ErrCredentialsInvalid},
		{"bearer without token", map[string][]string{"Authorization": {"Bearer"}}, "", "", ErrCredentialsInvalid},
		{"api key header", map[string][]string{"X-Api-Key": {"sk-1"}}, "", "sk-1", nil},
		{"query token", nil, "access_token=q1", "q1", nil},
		{"two authorization headers", map[string][]string{"Authorization": {"Bearer a", "Bearer b"}}, "", "", ErrMultipleMethods},
		{"header and api key", map[string][]string{"Authorization": {"Bearer a"}, "X-Api-Key": {"sk-1"}}, "", "", ErrMultipleMethods},
		{"header and query", map[string][]string{"Authorization": {"Bearer a"}}, "access_token=b", "", ErrMultipleMethods},
		{"bad scheme and api key", map[string][]string{"Authorization": {"Basic x"}, "X-Api-Key": {"sk-1"}}, "", "", ErrMultipleMethods},
		{"two query tokens", nil, "access_token=a&access_token=b", "", ErrMultipleMethods},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/x?"+tc.query, nil)
			for k, vs := range tc.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			got, err := Credential(r)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestStaticAuthenticator(t *testing.T) {
	t.Parallel()
	clock := verificationtest.NewClock(verificationtest.Start)
	exp := verificationtest.Start.Add(time.Hour)
	a, err := NewStaticAuthenticator(map[string]StaticToken{
		"u1": {Principal: Principal{Credential: User, SubjectID: 1, Scopes: []string{"s"}}, ExpiresAt: exp},
		"ad": {Principal: Principal{Credential: Admin, AdminID: 2, AdminTags: []string{}}},
	}, clock.Now)
	require.NoError(t, err)
	auth := func(tok string) (Principal, error) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return a.Authenticate(r)
	}
	p, err := auth("u1")
	require.NoError(t, err)
	require.Equal(t, Principal{Credential: User, SubjectID: 1, Scopes: []string{"s"}}, p)
	p.Scopes[0] = "changed"
	p, _ = auth("u1")
	require.Equal(t, "s", p.Scopes[0], "principals are copies")
	p, err = auth("ad")
	require.NoError(t, err)
	require.NotNil(t, p.AdminTags, "empty tags stay empty, not nil")
	_, err = auth("nope")
	require.ErrorIs(t, err, ErrCredentialsInvalid)
	clock.Set(exp.Add(-time.Nanosecond))
	_, err = auth("u1")
	require.NoError(t, err)
	clock.Set(exp)
	_, err = auth("u1")
	require.ErrorIs(t, err, ErrCredentialsExpired)
	a.Remove("ad")
	_, err = auth("ad")
	require.ErrorIs(t, err, ErrCredentialsInvalid)

	for name, bad := range map[string]StaticToken{
		"no kind":           {},
		"user without id":   {Principal: Principal{Credential: User}},
		"agent without id":  {Principal: Principal{Credential: AgentKey}},
		"admin without id":  {Principal: Principal{Credential: Admin}},
		"kind out of range": {Principal: Principal{Credential: 9, SubjectID: 1}},
	} {
		require.Error(t, a.Add("t", bad), name)
	}
	require.Error(t, a.Add("", StaticToken{Principal: Principal{Credential: APIKey}}))
	require.Error(t, a.Add("a b", StaticToken{Principal: Principal{Credential: APIKey}}))
	_, err = NewStaticAuthenticator(map[string]StaticToken{"x": {}}, nil)
	require.Error(t, err)
	require.Equal(t, "agent_key", AgentKey.String())
	require.Equal(t, "Kind(9)", CredentialKind(9).String())
}

func TestContextAuthenticator(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{adapter: func(o *Options) { o.Authenticator = ContextAuthenticator{} }})
	// The host's middleware authenticates and stores the principal.
	host := func(p *Principal, authErr error) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			if p != nil {
				ctx = WithPrincipal(ctx, *p)
			}
			if authErr != nil {
				ctx = WithAuthError(ctx, authErr)
			}
			b.h.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	serve := func(h http.Handler) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", testPrefix+"/api/v2/user/verification-status", nil))
		checkOpenAPI(t, "GET", "/api/v2/user/verification-status", resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()})
		return rec
	}
	rec := serve(host(&Principal{Credential: User, SubjectID: b.owner.ID}, nil))
	require.Equal(t, 200, rec.Code, rec.Body.String())
	rec = serve(host(nil, nil))
	requireCatalogText(t, resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, 401, CodeUserTokenNotFound)
	rec = serve(host(nil, ErrCredentialsExpired))
	requireCatalogText(t, resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, 401, CodeUserTokenExpired)

	p, ok := PrincipalFromContext(WithPrincipal(context.Background(), Principal{Credential: Admin, AdminID: 3}))
	require.True(t, ok)
	require.Equal(t, int64(3), p.AdminID)
	_, ok = PrincipalFromContext(context.Background())
	require.False(t, ok)
}

// TestPrincipalInRouteContext: the adapter stores the principal it
// authenticated in the context the route passes to the service (and so to
// its hooks).
func TestPrincipalInRouteContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var seen Principal
	b.adapter.auth = AuthenticatorFunc(func(r *http.Request) (Principal, error) {
		return Principal{Credential: User, SubjectID: b.owner.ID}, nil
	})
	h := &routeHandler{a: b.adapter, rt: route{pattern: "GET /probe", family: familyV2, rule: authActor, serve: func(c *call) error {
		seen, _ = PrincipalFromContext(c.ctx)
		c.json(200, map[string]string{})
		return nil
	}}, pattern: "GET /probe"}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/probe", nil))
	require.Equal(t, 200, rec.Code)
	require.Equal(t, b.owner.ID, seen.SubjectID)
}

// TestUserIdentifierRules runs on the status route and on the wizard resume,
// which resolves an API key's identifier in its own read
// (InitWizardByIdentifier): both must answer every case alike.
func TestUserIdentifierRules(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/api/v2/user/verification-status", "/api/v2/my/verifications/wizard"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			userIdentifierRules(t, path)
		})
	}
}

func userIdentifierRules(t *testing.T, path string) {
	b := setup(t)
	with := func(token string, idents ...string) resp {
		r := httptest.NewRequest("GET", b.prefix+path, nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		for _, id := range idents {
			r.Header.Add(HeaderUserIdentifier, id)
		}
		rec := httptest.NewRecorder()
		b.h.ServeHTTP(rec, r)
		out := resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
		checkOpenAPI(t, "GET", path, out)
		return out
	}
	// A user token may name its own user.
	require.Equal(t, 200, with(tokOwner, b.owner.Identifier).status)
	requireCatalogText(t, with(tokOwner, b.other.Identifier), 403, CodeIdentifierNotTokenUser)
	requireCatalogText(t, with(tokOwner, verificationtest.Identifier()), 403, CodeIdentifierNotTokenUser)
	requireCatalogText(t, with(tokOwner, "short"), 400, verification.CodeIdentifierMalformed)
	requireCatalogText(t, with(tokOwner, b.owner.Identifier, b.owner.Identifier), 400, verification.CodeIdentifierMalformed)
	// An API key needs exactly one well-formed, linked, live identifier.
	require.Equal(t, 200, with(keyAPI, b.owner.Identifier).status)
	requireCatalogText(t, with(keyAPI), 400, CodeIdentifierMissing)
	requireCatalogText(t, with(keyAPI, "  "), 400, CodeIdentifierMissing)
	requireCatalogText(t, with(keyAPI, b.owner.Identifier+"!"), 400, verification.CodeIdentifierMalformed)
	requireCatalogText(t, with(keyAPI, b.owner.Identifier, b.other.Identifier), 400, verification.CodeIdentifierMalformed)
	requireCatalogText(t, with(keyAPI, verificationtest.Identifier()), 404, verification.CodeIdentifierNotLinked)
	requireCatalogText(t, with("sk-unknown", b.owner.Identifier), 401, CodeAPIKeyInvalid)
	// A deleted user: ER709 for the key and for the user's own token.
	require.NoError(t, b.svc.DeleteSubject(b.ctx, verification.SystemActor(), b.owner.ID))
	requireCatalogText(t, with(keyAPI, b.owner.Identifier), 404, verification.CodeUserDeleted)
	requireCatalogText(t, with(tokOwner), 404, verification.CodeUserDeleted)
	requireCatalogText(t, with(tokOwner, b.owner.Identifier), 404, verification.CodeUserDeleted)

	// The API key in its own header works too; with Authorization as well
	// it is two methods.
	r := b.do(req{method: "GET", path: path, header: map[string]string{HeaderAPIKey: keyAPI, HeaderUserIdentifier: b.other.Identifier}})
	require.Equal(t, 200, r.status)
	r = b.do(req{method: "GET", path: path, header: map[string]string{HeaderAPIKey: "sk-wrong", HeaderUserIdentifier: b.other.Identifier}})
	requireCatalogText(t, r, 401, CodeAPIKeyInvalid)
	r = b.do(req{method: "GET", path: path + "?access_token=" + tokOther, token: tokOther})
	requireCatalogText(t, r, 400, CodeMultipleAuthMethods)
}

func TestWrongPrincipalKinds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tok := range []string{keyAgent, tokAdmin} {
		r := b.get("/api/v2/user/verification-status", tok)
		requireV2Error(t, r, 403, CodeForbidden)
	}
	for _, tok := range []string{tokOwner, keyAgent} {
		requireV2Error(t, b.get("/api/v2/verifications", tok), 403, CodeForbidden)
	}
	r := b.do(req{method: "GET", path: "/api/v2/verifications", token: keyAPI, header: map[string]string{HeaderUserIdentifier: b.owner.Identifier}})
	requireV2Error(t, r, 403, CodeForbidden)
	// An agent key that the authenticator does not know is "another token".
	requireCatalogText(t, b.get("/api/v2/user/verification-status", "ak-unknown"), 401, CodeTokenInvalid)

	// An Authenticator returning an incomplete principal is a host bug: 500.
	b.adapter.auth = AuthenticatorFunc(func(*http.Request) (Principal, error) { return Principal{Credential: User}, nil })
	requireCatalogText(t, b.get("/api/v2/user/verification-status", tokOwner), 500, CodeGeneral)
	require.Contains(t, b.logs.String(), "invalid principal")
}
