package httpadapter

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// logLines decodes the JSON log lines.
func logLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		out = append(out, m)
	}
	return out
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.do(req{method: "GET", path: "/api/v2/user/verification-status", token: tokOwner, header: map[string]string{HeaderRequestID: "req-42"}})
	require.Equal(t, 200, r.status)
	require.Equal(t, "req-42", r.header.Get(HeaderRequestID))
	r = b.do(req{method: "GET", path: "/api/v2/user/verification-status", token: tokOwner, header: map[string]string{HeaderRequestID: "bad id with spaces"}})
	generated := r.header.Get(HeaderRequestID)
	require.Regexp(t, `^[0-9a-f]{24}$`, generated)

	var access []map[string]any
	for _, l := range logLines(t, b.logs.String()) {
		if l["message"] == "http request" {
			access = append(access, l)
		}
	}
	require.Len(t, access, 2)
	l := access[0]
	require.Equal(t, "info", l["level"])
	require.Equal(t, "GET", l["method"])
	require.Equal(t, "GET /kyc/api/v2/user/verification-status", l["route"])
	require.EqualValues(t, 200, l["status"])
	require.Equal(t, "req-42", l["request_id"])
	require.Equal(t, "user", l["auth"])
	require.Contains(t, l, "duration")
	require.Greater(t, l["bytes"].(float64), 0.0)
	require.Equal(t, generated, access[1]["request_id"])

	// Refusals are logged at debug with the route and the kind, no body.
	b.get("/api/v2/my/verifications?limit=0", tokOwner)
	require.Contains(t, b.logs.String(), `"problem":"invalid_parameter limit"`)
}

// TestLogsNeverLeak sends tokens, identifiers, answers, files and signed
// URLs through every kind of route and checks none reaches the logs.
func TestLogsNeverLeak(t *testing.T) {
	t.Parallel()
	b := setup(t)
	secretAnswer := "987654"
	b.idSession(b.owner.ID, b.clock.Now())
	b.get("/api/v2/user/verification-status", tokOwner)
	b.do(req{method: "GET", path: "/api/v2/user/verification-status", token: keyAPI, header: map[string]string{HeaderUserIdentifier: b.owner.Identifier}})
	b.do(req{method: "GET", path: "/api/v2/user/verification-status", token: keyAPI, header: map[string]string{HeaderUserIdentifier: b.other.Identifier + "x"}})
	b.post("/api/v2/user/requirements/emailCode", tokOwner, `{"answer":"`+secretAnswer+`"}`)
	b.post("/api/v2/user/requirements/emailCode", tokOwnerExpired, `{"answer":"`+secretAnswer+`"}`)
	b.get("/external/api/v1/me/pending_verification_request?access_token="+tokOther, "")
	r := b.get("/api/v1/me/natural-person/id-verification", tokOwner)
	var body idVerificationJSON
	require.NoError(t, json.Unmarshal(r.body, &body))
	signed := strings.TrimPrefix(*body.Documents.DocumentFront, "https://kyc.example.com"+testPrefix)
	require.Equal(t, 200, b.get(signed, "").status)
	u, err := url.Parse(signed)
	require.NoError(t, err)
	upload, ct := multipartBody(t, [][2]string{{FieldDocumentType, "passport"}, {FieldSide, "back"}}, pngBytes)
	b.do(req{method: "POST", path: "/api/v2/my/verifications/files", token: tokOwner, body: upload, ctype: ct})
	b.get("/api/v2/verifications", tokAdmin)
	b.adapter.auth = AuthenticatorFunc(func(*http.Request) (Principal, error) { panic("boom") })
	b.get("/api/v2/verifications", tokAdminEU)

	logs := b.logs.String()
	require.Contains(t, logs, "http request")
	for _, secret := range []string{
		tokOwner, tokOwnerExpired, keyAPI, tokOther, tokAdmin, tokAdminEU, b.owner.Identifier, b.other.Identifier,
		secretAnswer, u.Query().Get("sig"), string(pngBytes[8:20]), *body.Documents.DocumentFront,
	} {
		require.NotContains(t, logs, secret)
	}
	require.Contains(t, logs, `"stack"`)
}

func TestPanicRecoveryInEveryDialect(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct {
		family family
		body   string
	}{
		{familyV2, `{"errors":{"ER999":{"code":"ER999","message":"A general error has occurred. Please contact our support team.","solution":"Contact our support team."}}}`},
		{familyExternal, `{"error":"internal_server_error","message":"Something unexpected happened server side."}`},
		{familyNaturalPerson, `{"error":"Internal server error"}`},
	} {
		h := &routeHandler{a: b.adapter, rt: route{pattern: "GET /panic", family: tc.family, rule: authNone, serve: func(c *call) error {
			var m map[string]int
			//lint:ignore SA5000 a deliberate runtime panic (assignment to a nil map)
			m["x"]++
			return nil
		}}, pattern: "GET /panic"}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/panic", nil))
		require.Equal(t, 500, rec.Code)
		require.JSONEq(t, tc.body, rec.Body.String())
	}
	var panics int
	for _, l := range logLines(t, b.logs.String()) {
		if l["message"] == "httpadapter: panic in handler" {
			panics++
			require.Equal(t, "error", l["level"])
			require.Contains(t, l["stack"], "logging_test.go")
		}
	}
	require.Equal(t, 3, panics)

	// http.ErrAbortHandler is re-panicked for net/http to handle.
	h := &routeHandler{a: b.adapter, rt: route{pattern: "GET /abort", rule: authNone, serve: func(c *call) error { panic(http.ErrAbortHandler) }}}
	require.PanicsWithValue(t, http.ErrAbortHandler, func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/abort", nil)) })

	// A panic after the answer started cannot change it.
	h = &routeHandler{a: b.adapter, rt: route{pattern: "GET /late", rule: authNone, serve: func(c *call) error {
		c.json(200, map[string]string{"ok": "yes"})
		panic("late")
	}}}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/late", nil))
	require.Equal(t, 200, rec.Code)
	require.JSONEq(t, `{"ok":"yes"}`, rec.Body.String())
}

// TestDialectsRenderEveryProblem: every problem kind gets a documented
// status and a well-formed body in every dialect.
func TestDialectsRenderEveryProblem(t *testing.T) {
	t.Parallel()
	for k := problemKind(0); k < numProblems; k++ {
		for _, f := range []family{familyV2, familyExternal, familyNaturalPerson} {
			for _, cred := range []credClass{credUserToken, credToken, credAPIKey} {
				p := &problem{kind: k, cred: cred, param: "p", detail: "is wrong", scope: "s"}
				out := f.render(p)
				require.GreaterOrEqual(t, out.status, 400, "%s", k)
				require.Less(t, out.status, 600)
				b, err := json.Marshal(out.body)
				require.NoError(t, err)
				require.NotContains(t, string(b), `""`, "%s in family %d renders an empty text: %s", k, f, b)
				if f == familyV2 {
					code := problems[k].codes[cred]
					require.Equal(t, code, entry(code).Code, "%s renders %s, which has no catalog entry", k, code)
					require.Contains(t, string(b), `"`+string(code)+`"`, "%s", k)
				}
			}
		}
		require.NotContains(t, k.String(), "problem(")
	}
	require.Equal(t, fmt.Sprintf("problem(%d)", 200), problemKind(200).String())
	require.Equal(t, CodeGeneral, entry("ER123").Code, "an unknown code renders as ER999")
}

// TestCatalog: one entry per code, every entry with a message and a
// solution, seed 000's 17 codes plus the ten extensions, and the core's
// codes among them.
func TestCatalog(t *testing.T) {
	t.Parallel()
	all := Catalog()
	require.Len(t, all, 17+10)
	for i, e := range all {
		if i > 0 {
			require.Less(t, all[i-1].Code, e.Code, "codes are unique and in order")
		}
		require.NotEmpty(t, e.Message, e.Code)
		require.NotEmpty(t, e.Solution, e.Code)
	}
	for _, e := range verification.Catalog {
		require.Equal(t, e, entry(e.Code), "the core's entry %s is rendered as the core defines it", e.Code)
	}
}

// TestCatalogMatchesSeed000: seed 000's codes carry its exact texts.
func TestCatalogMatchesSeed000(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/catalog_seed000.json")
	require.NoError(t, err)
	var seed struct {
		Errors map[verification.Code]verification.CatalogEntry `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(b, &seed))
	n := 0
	for _, e := range Catalog() {
		want, ok := seed.Errors[e.Code]
		if !ok {
			require.GreaterOrEqual(t, e.Code, CodeInvalidRequest, "%s is not in seed 000: it must be an extension", e.Code)
			require.LessOrEqual(t, e.Code, CodeUploadQuota)
			continue
		}
		n++
		require.Equal(t, want.Message, e.Message, e.Code)
		require.Equal(t, want.Solution, e.Solution, e.Code)
	}
	require.Equal(t, len(seed.Errors), n, "every code of seed 000 is in the catalog")
}
