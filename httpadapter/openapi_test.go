package httpadapter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// This file holds a validator for the JSON Schema subset openapi.json uses
// (type, properties, required, additionalProperties, items, enum, const,
// pattern, minimum, maximum, minItems, maxItems, minLength, maxLength,
// minProperties, maxProperties, propertyNames, anyOf, oneOf, local $ref),
// and checkOpenAPI, which every test request goes through: each response
// must be documented (path, method, status, content type) and its JSON body
// must match the schema.

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
	c, ok := rs.Content[mt]
	require.True(t, ok, "openapi: %s %s %d does not document content type %q", method, tmpl, r.status, mt)
	if mt != "application/json" || method == "HEAD" {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v), "response is not JSON: %s", r.body)
	if err := validateSchema(doc, c.Schema, v, "$"); err != nil {
		t.Fatalf("openapi: %s %s %d: %v\nbody: %s", method, tmpl, r.status, err, r.body)
	}
}

var patternCache sync.Map

func pattern(p string) *regexp.Regexp {
	if re, ok := patternCache.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(p)
	patternCache.Store(p, re)
	return re
}

func jsonTypeOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			return "number"
		}
		return "integer"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func num(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// equalJSON compares a decoded value with a schema constant.
func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// validateSchema checks v against schema (a decoded JSON Schema).
func validateSchema(doc *oapiDoc, schema any, v any, at string) error {
	s, ok := schema.(map[string]any)
	if !ok {
		if b, isBool := schema.(bool); isBool && !b {
			return fmt.Errorf("%s: not allowed", at)
		}
		return nil
	}
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		target, ok := doc.Components.Schemas[name]
		if !ok {
			return fmt.Errorf("%s: unknown $ref %s", at, ref)
		}
		return validateSchema(doc, target, v, at)
	}
	got := jsonTypeOf(v)
	if t, ok := s["type"]; ok {
		var types []string
		switch tt := t.(type) {
		case string:
			types = []string{tt}
		case []any:
			for _, x := range tt {
				types = append(types, x.(string))
			}
		}
		match := false
		for _, ty := range types {
			if ty == got || ty == "number" && got == "integer" {
				match = true
			}
		}
		if !match {
			return fmt.Errorf("%s: type %s, want %v", at, got, types)
		}
	}
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			if equalJSON(x, v) {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s: %v is not one of %v", at, v, e)
		}
	}
	if c, ok := s["const"]; ok && !equalJSON(c, v) {
		return fmt.Errorf("%s: %v, want %v", at, v, c)
	}
	if p, ok := s["pattern"].(string); ok {
		if str, isStr := v.(string); isStr && !pattern(p).MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", at, str, p)
		}
	}
	if str, isStr := v.(string); isStr {
		if m, ok := num(s["minLength"]); ok && float64(len([]rune(str))) < m {
			return fmt.Errorf("%s: shorter than %v", at, m)
		}
		if m, ok := num(s["maxLength"]); ok && float64(len([]rune(str))) > m {
			return fmt.Errorf("%s: longer than %v", at, m)
		}
	}
	if f, isNum := num(v); isNum {
		if m, ok := num(s["minimum"]); ok && f < m {
			return fmt.Errorf("%s: %v below minimum %v", at, f, m)
		}
		if m, ok := num(s["maximum"]); ok && f > m {
			return fmt.Errorf("%s: %v above maximum %v", at, f, m)
		}
	}
	if arr, ok := v.([]any); ok {
		if m, ok := num(s["minItems"]); ok && float64(len(arr)) < m {
			return fmt.Errorf("%s: fewer than %v items", at, m)
		}
		if m, ok := num(s["maxItems"]); ok && float64(len(arr)) > m {
			return fmt.Errorf("%s: more than %v items", at, m)
		}
		if items, ok := s["items"]; ok {
			for i, x := range arr {
				if err := validateSchema(doc, items, x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	}
	if obj, ok := v.(map[string]any); ok {
		if err := validateObject(doc, s, obj, at); err != nil {
			return err
		}
	}
	if branches, ok := s["anyOf"].([]any); ok {
		var errs []string
		for _, sub := range branches {
			err := validateSchema(doc, sub, v, at)
			if err == nil {
				errs = nil
				break
			}
			errs = append(errs, err.Error())
		}
		if errs != nil {
			return fmt.Errorf("%s: matches no anyOf branch: %s", at, strings.Join(errs, "; "))
		}
	}
	if one, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, sub := range one {
			if validateSchema(doc, sub, v, at) == nil {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: matches %d oneOf branches, want 1", at, n)
		}
	}
	return nil
}

func validateObject(doc *oapiDoc, s map[string]any, obj map[string]any, at string) error {
	if m, ok := num(s["minProperties"]); ok && float64(len(obj)) < m {
		return fmt.Errorf("%s: fewer than %v properties", at, m)
	}
	if m, ok := num(s["maxProperties"]); ok && float64(len(obj)) > m {
		return fmt.Errorf("%s: more than %v properties", at, m)
	}
	if req, ok := s["required"].([]any); ok {
		for _, r := range req {
			if _, has := obj[r.(string)]; !has {
				return fmt.Errorf("%s: missing required %q", at, r)
			}
		}
	}
	props, _ := s["properties"].(map[string]any)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if pn, ok := s["propertyNames"]; ok {
			if err := validateSchema(doc, pn, k, at+".(name)"); err != nil {
				return err
			}
		}
		if ps, ok := props[k]; ok {
			if err := validateSchema(doc, ps, obj[k], at+"."+k); err != nil {
				return err
			}
			continue
		}
		if ap, ok := s["additionalProperties"]; ok {
			if err := validateSchema(doc, ap, obj[k], at+"."+k); err != nil {
				return fmt.Errorf("%s: unexpected property %q: %w", at, k, err)
			}
		}
	}
	return nil
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
		RouteAudit,
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

func TestValidatorRejects(t *testing.T) {
	t.Parallel()
	doc, err := loadOpenAPI()
	require.NoError(t, err)
	grant := func(s string) any {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var v any
		require.NoError(t, dec.Decode(&v))
		return v
	}
	ref := map[string]any{"$ref": "#/components/schemas/Grant"}
	ok := `{"id":1,"clientId":2,"currentLevel":{"id":1,"name":"Level 0"},"previousLevel":null,"reason":{"name":"created"},"userId":null,"createTime":"2022-01-01T00:00:00+00:00"}`
	require.NoError(t, validateSchema(doc, ref, grant(ok), "$"))
	for name, bad := range map[string]string{
		"string userId": strings.Replace(ok, `"userId":null`, `"userId":"1"`, 1),
		"time format":   strings.Replace(ok, `+00:00`, `Z`, 1),
		"extra field":   strings.Replace(ok, `{"id":1,`, `{"id":1,"x":1,`, 1),
		"missing field": strings.Replace(ok, `"reason":{"name":"created"},`, ``, 1),
		"typo":          strings.Replace(ok, `previousLevel`, `previuosLevel`, 1),
	} {
		require.Error(t, validateSchema(doc, ref, grant(bad), "$"), name)
	}
}
