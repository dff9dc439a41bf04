package httpadapter

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// Fuzz targets. Seed corpora live in testdata/fuzz/<target>; run one
// target at a time, e.g. go test -run '^$' -fuzz '^FuzzQuery$' -fuzztime 10s.
// Every target asserts that no input yields a 5xx or an undocumented
// answer.

// serveRaw serves a request on the bundle's handler and checks the answer
// against the OpenAPI description.
func serveRaw(t *testing.T, b *testBundle, r *http.Request) resp {
	t.Helper()
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, r)
	out := resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	require.Less(t, out.status, 500, "%s %s: %s", r.Method, r.URL, out.body)
	routerAnswer := !strings.Contains(out.header.Get("Content-Type"), "json") &&
		(out.status == http.StatusNotFound || out.status == http.StatusMethodNotAllowed || out.status/100 == 3)
	if !routerAnswer {
		checkOpenAPI(t, r.Method, strings.TrimPrefix(r.URL.Path, b.prefix), out)
	}
	return out
}

// parseQueryByValues is parseQuery written on url.ParseQuery, the reading
// FuzzQuery holds parseQuery to.
func parseQueryByValues(rawQuery string, allowed ...string) (map[string]string, error) {
	if rawQuery == "" {
		return nil, nil
	}
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, paramProblem("query", "is not a valid query string")
	}
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		switch {
		case k == ParamAccessToken:
			continue
		case k == "":
			return nil, paramProblem("query", "has a parameter without a name")
		case !slices.Contains(allowed, k):
			return nil, unknownParam(clipParam(k))
		case len(vals[k]) > 1:
			return nil, paramProblem(k, "must be given once")
		}
		out[k] = vals[k][0]
	}
	return out, nil
}

func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"limit=10&offset=0&sort_order=desc&sort_by=createTime&filter[clientId]=222",
		"filter%5BclientId%5D=1", "limit=0", "limit=101", "offset=-1", "limit=1&limit=2", "%zz", "a=1;b=2",
		"sort_order=DESC", "access_token=x", "limit=99999999999999999999", "filter[status]=draft,submitted",
		"b=1&a=2&b=3", "&&limit=1&", "=1", "limit", "limit=a+b%20c", "access_token=1&access_token=2&zz=1",
		"offset=1&limit=2&offset=3&bogus=4", "a=1&a=2&b=1&b=2&c=1&c=2&d=1&d=2&e=1",
	} {
		f.Add(s)
	}
	b := setup(f)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseQuery(raw, applicationParamNames...)
		wantQ, wantErr := parseQueryByValues(raw, applicationParamNames...)
		require.Equal(t, wantQ, q, "parseQuery must read the query as url.ParseQuery does")
		if wantErr != nil {
			require.Error(t, err)
			require.Equal(t, asProblem(wantErr).param, asProblem(err).param, "the first problem, in name order")
			require.Equal(t, asProblem(wantErr).kind, asProblem(err).kind)
		} else {
			require.NoError(t, err)
		}
		if err != nil {
			p := asProblem(err)
			require.Contains(t, []problemKind{pUnknownParam, pInvalidParam}, p.kind)
			require.NotEmpty(t, p.param)
			require.Equal(t, 400, familyV2.render(p).status)
		} else {
			lp, err := parseList(q)
			if err == nil {
				require.True(t, lp.limit >= 1 && lp.limit <= MaxLimit)
				require.True(t, lp.offset >= 0 && lp.offset <= maxOffset)
			}
		}
		for _, path := range []string{"/api/v2/verifications", "/api/v2/my/verifications", "/api/v2/applications"} {
			r := httptest.NewRequest("GET", b.prefix+path, nil)
			r.URL.RawQuery = raw
			tok := tokAdmin
			if strings.HasPrefix(path, "/api/v2/my") {
				tok = tokOwner
			}
			if !strings.Contains(raw, ParamAccessToken) {
				r.Header.Set("Authorization", "Bearer "+tok)
			}
			out := serveRaw(t, b, r)
			require.Contains(t, []int{200, 400, 401, 403}, out.status, string(out.body))
		}
	})
}

func FuzzJSONBody(f *testing.F) {
	f.Add(uint8(0), []byte(`{"data":{"documents":{"type":1,"files":["id_card,jpeg","id_card_reverse_side.jpeg"]},"uuid":"36f59381-5b54-48bd-a0c7-3b908c476732"}}`))
	f.Add(uint8(1), []byte(`{"answer":true}`))
	f.Add(uint8(1), []byte(`{"answer":{"Question1":"answer1","Question2":"answer2"}}`))
	f.Add(uint8(2), []byte(`{"decision":"rejected","reason":"blurry"}`))
	f.Add(uint8(3), []byte(`{"value":true,"status":"approved"}`))
	f.Add(uint8(4), []byte(`{"decision":"approved","final":false}`))
	f.Add(uint8(0), []byte(`{"data":{"documents":{"type":"1"}}}`))
	f.Add(uint8(1), []byte(`{"answer":1e400}`))
	f.Add(uint8(1), []byte("\xff\xfe{}"))
	b := setup(f)
	app := b.submittedApplication(b.owner.ID)
	routes := []struct{ path, token string }{
		{"/api/v2/my/verifications", tokOwner},
		{"/api/v2/user/requirements/AMLD5Questions", tokOwner},
		{fmt.Sprintf("/api/v2/applications/%d/decision", app.ID), tokAdmin},
		{fmt.Sprintf("/api/v2/clients/%d/requirements/verificationFlag", b.owner.ID), tokAdmin},
		{fmt.Sprintf("/api/v2/clients/%d/requirements/idDocument/review", b.owner.ID), tokAdmin},
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		rt := routes[int(which)%len(routes)]
		r := httptest.NewRequest("POST", b.prefix+rt.path, bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+rt.token)
		r.Header.Set("Content-Type", "application/json")
		out := serveRaw(t, b, r)
		require.Contains(t, []int{200, 400, 403, 404, 409, 410, 413}, out.status, string(out.body))
	})
}

func FuzzMultipart(f *testing.F) {
	good, ct := multipartBody(f, [][2]string{{FieldDocumentType, "passport"}, {FieldSide, "front"}}, pngBytes)
	boundary := strings.TrimPrefix(ct, "multipart/form-data; boundary=")
	f.Add(boundary, good)
	f.Add("B", []byte("--B\r\nContent-Disposition: form-data; name=\"documentType\"\r\n\r\npassport\r\n--B\r\nContent-Disposition: form-data; name=\"side\"\r\n\r\nback\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF-1.7\r\n--B--\r\n"))
	f.Add("B", []byte("--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nxx\r\n--B--\r\n"))
	f.Add("B", []byte("--B\r\nContent-Disposition: form-data; name=\"documentType\"\r\n\r\npassport\r\n--B"))
	f.Add("", []byte("garbage"))
	b := setup(f, setupOpts{adapter: func(o *Options) { o.MaxUploadBytes = 16 << 10 }})
	count := func(t *testing.T) int {
		list, err := b.store.ListFiles(b.ctx, verification.FileFilter{SubjectID: b.owner.ID})
		require.NoError(t, err)
		return len(list)
	}
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		before := count(t)
		r := httptest.NewRequest("POST", b.prefix+"/api/v2/my/verifications/files", bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+tokOwner)
		r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		out := serveRaw(t, b, r)
		require.Contains(t, []int{201, 400, 409, 413, 415}, out.status, string(out.body))
		after := count(t)
		if out.status == 201 {
			require.Equal(t, before+1, after)
		} else {
			require.Equal(t, before, after, "a refused upload stored a file")
		}
	})
}

func FuzzCredentials(f *testing.F) {
	f.Add("Bearer tok-owner", "", "", "")
	f.Add("Bearer sk-test-key", "", "testsubject0000000000000000000000001", "")
	f.Add("", "sk-test-key", "short", "")
	f.Add("Basic dXNlcjpwYXNz", "", "", "")
	f.Add("Bearer tok-owner", "sk-test-key", "", "access_token=tok-other")
	f.Add("bearer   ak-owner", "", "", "")
	f.Add("", "", "", "access_token=tok-owner-expired")
	b := setup(f)
	valid := []string{tokOwner, tokOwnerNoScope, tokOther, keyAPI, keyAgent, tokAdmin}
	f.Fuzz(func(t *testing.T, authorization, apiKey, ident, query string) {
		for _, path := range []string{"/api/v2/user/verification-status", "/external/api/v1/me/pending_verification_request", "/api/v1/me/natural-person/id-verification", "/api/v2/verifications"} {
			r := httptest.NewRequest("GET", b.prefix+path, nil)
			r.URL.RawQuery = query
			if authorization != "" {
				r.Header["Authorization"] = []string{authorization}
			}
			if apiKey != "" {
				r.Header["X-Api-Key"] = []string{apiKey}
			}
			if ident != "" {
				r.Header["X-User-Identifier"] = []string{ident}
			}
			out := serveRaw(t, b, r)
			require.Contains(t, []int{200, 400, 401, 403, 404}, out.status, string(out.body))
			if out.status == 200 {
				// Only a known credential opens a route.
				known := false
				for _, v := range valid {
					if strings.Contains(authorization, v) || strings.Contains(apiKey, v) || strings.Contains(query, v) {
						known = true
					}
				}
				require.True(t, known, "200 for %q %q %q", authorization, apiKey, query)
			}
		}
	})
}

func FuzzSignedURL(f *testing.F) {
	b := setup(f)
	id := b.upload(b.owner.ID, "passport", "front")
	signed := b.signer.SignURL("GET", b.prefix+"/api/v1/files/"+id)
	u, err := url.Parse(signed)
	require.NoError(f, err)
	f.Add(id, u.RawQuery)
	f.Add(id, "exp=1&kid=k1&sig=AAAA")
	f.Add("nope", u.RawQuery)
	f.Add(id, u.RawQuery+"&x=1")
	f.Add(id, "")
	f.Fuzz(func(t *testing.T, file, rawQuery string) {
		if !validFileID(file) {
			file = url.PathEscape(file)
		}
		if file == "" || file == "." || file == ".." || strings.ContainsAny(file, "%") {
			return // not one path segment the router would route here
		}
		r := httptest.NewRequest("GET", b.prefix+"/api/v1/files/"+file, nil)
		r.URL.RawQuery = rawQuery
		out := serveRaw(t, b, r)
		require.Contains(t, []int{200, 403, 404}, out.status, string(out.body))
		if out.status == 200 {
			q, err := url.ParseQuery(rawQuery)
			require.NoError(t, err)
			require.NoError(t, b.signer.Verify("GET", r.URL.Path, q), "200 without a valid signature")
		}
	})
}
