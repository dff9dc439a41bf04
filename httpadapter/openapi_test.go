package httpadapter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkOpenAPI, which every test request goes through, checks that each
// answer is documented (path, method, status, content type). Its body is
// validated against the schemas by an independent validator,
// github.com/pb33f/libopenapi-validator, in the nested module
// contrib/openapitest (kept out of this module's go.mod): with
// OPENKYC_OPENAPI_RECORD=<dir> set, checkOpenAPI records every answer
// there, and that module's TestRecordedAnswers validates them (.ci/run
// does both).

type oapiDoc struct {
	Paths      map[string]map[string]oapiOperation `json:"paths"`
	Components struct {
		Schemas map[string]any `json:"schemas"`
	} `json:"components"`
}

type oapiOperation struct {
	Responses map[string]struct {
		Content map[string]struct {
			Schema any `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

var (
	oapiOnce sync.Once
	oapi     oapiDoc
	oapiErr  error
)

func loadOpenAPI() (*oapiDoc, error) {
	oapiOnce.Do(func() {
		dec := json.NewDecoder(bytes.NewReader(openAPI))
		dec.UseNumber()
		oapiErr = dec.Decode(&oapi)
	})
	return &oapi, oapiErr
}

// findOperation matches a request path against the documented templates,
// preferring the template with the most literal segments.
func (d *oapiDoc) findOperation(method, path string) (string, *oapiOperation) {
	segs := strings.Split(path, "/")
	best, bestLit := "", -1
	var bestOp *oapiOperation
	for tmpl, ops := range d.Paths {
		op, ok := ops[strings.ToLower(method)]
		if !ok && method == "HEAD" {
			op, ok = ops["get"]
		}
		if !ok {
			continue
		}
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		lit, match := 0, true
		for i := range ts {
			switch {
			case strings.HasPrefix(ts[i], "{"):
			case ts[i] == segs[i]:
				lit++
			default:
				match = false
			}
		}
		if match && lit > bestLit {
			best, bestLit = tmpl, lit
			o := op
			bestOp = &o
		}
	}
	return best, bestOp
}

// checkOpenAPI fails the test when a response is not documented.
func checkOpenAPI(t testing.TB, method, path string, r resp) {
	t.Helper()
	if r.status == 405 && !strings.Contains(r.header.Get("Content-Type"), "json") {
		return // the router's own answer for a method it does not route
	}
	doc, err := loadOpenAPI()
	require.NoError(t, err)
	tmpl, op := doc.findOperation(method, path)
	if op == nil && (r.status == 404 || r.status == 405) {
		return // the Fallback's answer for a path or method no operation has (TestUnmatchedRequestsAnswerInTheFamilysDialect)
	}
	require.NotNil(t, op, "openapi: no operation for %s %s", method, path)
	rs, ok := op.Responses[fmt.Sprint(r.status)]
	require.True(t, ok, "openapi: %s %s does not document status %d (body %s)", method, tmpl, r.status, r.body)
	mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	_, ok = rs.Content[mt]
	require.True(t, ok, "openapi: %s %s %d does not document content type %q", method, tmpl, r.status, mt)
	if mt == "application/json" && method != "HEAD" {
		require.True(t, json.Valid(r.body), "openapi: %s %s %d: the answer is not JSON: %s", method, tmpl, r.status, r.body)
	}
	recordAnswer(t, method, path, r)
}

// recorder appends answers to OPENKYC_OPENAPI_RECORD/httpadapter-<pid>.jsonl
// for contrib/openapitest's TestRecordedAnswers.
var recorder struct {
	once sync.Once
	mu   sync.Mutex
	f    *os.File
	err  error
}

// recordedAnswer is one line of the record (the format TestRecordedAnswers reads).
type recordedAnswer struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	Status      int    `json:"status"`
	ContentType string `json:"contentType"`
	Body        []byte `json:"body"`
}

func recordAnswer(t testing.TB, method, path string, r resp) {
	t.Helper()
	dir := os.Getenv("OPENKYC_OPENAPI_RECORD")
	if dir == "" || method == "HEAD" || len(r.body) > 1<<20 {
		return
	}
	recorder.once.Do(func() {
		recorder.f, recorder.err = os.OpenFile(filepath.Join(dir, fmt.Sprintf("httpadapter-%d.jsonl", os.Getpid())), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	})
	require.NoError(t, recorder.err)
	line, err := json.Marshal(recordedAnswer{Method: method, Path: path, Status: r.status, ContentType: r.header.Get("Content-Type"), Body: r.body})
	require.NoError(t, err)
	recorder.mu.Lock()
	defer recorder.mu.Unlock()
	_, err = recorder.f.Write(append(line, '\n'))
	require.NoError(t, err)
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	doc, err := loadOpenAPI()
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(openAPI, &raw))
	require.Equal(t, "3.1.0", raw["openapi"])
	// Every route constant is documented, and nothing else is.
	routes := []string{
		RouteVerificationStatus, RouteMyVerifications, RouteMyVerification, RouteWizard, RouteRunWizard, RouteUpload,
		RouteAnswer, RoutePendingRequest, RouteIDVerification, RouteIDVerificationAlias, RouteFile, RouteOpenAPI,
		RouteVerifications, RouteVerification, RouteApplications, RouteDecideApplication, RouteSetRequirement,
		RouteReviewRequirement, RouteAdminFile, RouteApplication, RouteClaimApplication, RouteReleaseApplication,
		RouteClient, RouteTimeline, RouteGrantLevel, RouteResetRequirement,
		RouteSetTags, RouteLegalHold, RouteErase, RouteDeadLetters, RouteReplay,
		RouteStartProviderSession, RouteProviderWebhook, RouteAudit,
	}
	documented := 0
	for _, ops := range doc.Paths {
		documented += len(ops)
	}
	require.Equal(t, len(routes), documented)
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		ops, ok := doc.Paths[path]
		require.True(t, ok, "path %s undocumented", path)
		_, ok = ops[strings.ToLower(method)]
		require.True(t, ok, "%s undocumented", r)
	}
	// Every $ref resolves and every pattern compiles.
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				_, ok := doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
				require.True(t, ok, "dangling %s", ref)
			}
			if p, ok := x["pattern"].(string); ok {
				_, err := regexp.Compile(p)
				require.NoError(t, err)
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(raw)
}
