package openapitest

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/stretchr/testify/require"
)

// specPath is the document under test.
const specPath = "../../httpadapter/openapi.json"

var (
	specOnce sync.Once
	spec     validator.Validator
	specErr  error
)

// openAPIValidator returns the validator of the document (built once).
func openAPIValidator(t testing.TB) validator.Validator {
	t.Helper()
	specOnce.Do(func() {
		b, err := os.ReadFile(specPath)
		if err != nil {
			specErr = err
			return
		}
		doc, err := libopenapi.NewDocument(b)
		if err != nil {
			specErr = err
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			specErr = errs[0]
			return
		}
		if ok, verrs := v.ValidateDocument(); !ok {
			specErr = verrs[0]
			return
		}
		spec = v
	})
	require.NoError(t, specErr, "loading %s", specPath)
	return spec
}

// checkResponse validates one answer (status, content type, headers and
// body) against the document; the request only locates the operation.
func checkResponse(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if status == http.StatusMethodNotAllowed && !strings.Contains(header.Get("Content-Type"), "json") {
		return // the router's own answer for a method it does not route
	}
	r := req.Clone(req.Context())
	r.Body = http.NoBody
	res := &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)), Request: r}
	if ok, errs := openAPIValidator(t).ValidateHttpResponse(r, res); !ok {
		var msgs []string
		for _, e := range errs {
			msg := e.Message + ": " + e.Reason
			for _, se := range e.SchemaValidationErrors {
				msg += "; " + se.FieldPath + ": " + se.Reason
			}
			msgs = append(msgs, msg)
		}
		t.Errorf("openapi: %s %s answered %d, not as documented:\n  %s\nbody: %.600s", req.Method, req.URL.Path, status, strings.Join(msgs, "\n  "), body)
	}
}

// validating is an http.RoundTripper that validates every answer it
// carries and counts them.
type validating struct {
	t    testing.TB
	next http.RoundTripper
	mu   sync.Mutex
	n    int
}

func (v *validating) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := v.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	checkResponse(v.t, req, res.StatusCode, res.Header, body)
	v.mu.Lock()
	v.n++
	v.mu.Unlock()
	return res, nil
}

// TestValidatorRejects: the validator is not a rubber stamp.
func TestValidatorRejects(t *testing.T) {
	t.Parallel()
	v := openAPIValidator(t)
	req, err := http.NewRequest("GET", "http://127.0.0.1/api/v2/my/verifications", nil)
	require.NoError(t, err)
	ok := `{"total":1,"data":[{"id":1,"clientId":2,"currentLevel":{"id":1,"name":"Level 0"},"previousLevel":null,"reason":{"name":"created"},"userId":null,"createTime":"2022-01-01T00:00:00+00:00"}]}`
	check := func(status int, ctype, body string) bool {
		h := http.Header{"Content-Type": {ctype}}
		res := &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: req}
		good, _ := v.ValidateHttpResponse(req, res)
		return good
	}
	require.True(t, check(200, "application/json", ok))
	for name, bad := range map[string]string{
		"string userId": strings.Replace(ok, `"userId":null`, `"userId":"1"`, 1),
		"time format":   strings.Replace(ok, `+00:00`, `Z`, 1),
		"extra field":   strings.Replace(ok, `{"id":1,`, `{"id":1,"x":1,`, 1),
		"missing field": strings.Replace(ok, `"reason":{"name":"created"},`, ``, 1),
		"typo":          strings.Replace(ok, `previousLevel`, `previuosLevel`, 1),
	} {
		require.False(t, check(200, "application/json", bad), name)
	}
	require.False(t, check(418, "application/json", ok), "undocumented status")
	require.False(t, check(400, "application/json", `{"error":"x"}`), "another dialect's error")
	require.True(t, check(400, "application/json", `{"errors":{"ER710":{"code":"ER710","message":"m","solution":"s"}}}`))

	// A requirement's data must fit its kind (the discriminator).
	req, err = http.NewRequest("GET", "http://127.0.0.1/api/v2/user/verification-status", nil)
	require.NoError(t, err)
	require.True(t, check(200, "application/json", `[{"name":"n","type":"choice","status":"missing","data":{"Netherlands":"NL"}}]`))
	require.False(t, check(200, "application/json", `[{"name":"n","type":"choice","status":"missing","data":[{"key":"k","label":"l","answerOptions":["a"]}]}]`))
	require.False(t, check(200, "application/json", `[{"name":"n","type":"boolean","status":"approved"}]`))
}
