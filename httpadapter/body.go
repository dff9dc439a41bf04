package httpadapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"
)

// validate checks decoded bodies; errors name fields by their JSON names.
var validate = func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		if name == "" {
			return f.Name
		}
		return name
	})
	return v
}()

// readBody reads the whole request body, refusing more than limit bytes and
// bodies that are not JSON. Content-Type may be application/json, absent,
// or application/x-www-form-urlencoded: curl's default for --data-raw, as
// in the wizard's documented example, which sends JSON under that type.
func (c *call) readBody(limit int64) ([]byte, error) {
	if ct := c.r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" && mt != "application/x-www-form-urlencoded" {
			return nil, paramProblem("Content-Type", "must be application/json")
		}
	}
	if c.r.ContentLength > limit {
		return nil, &problem{kind: pTooLarge, detail: fmt.Sprintf("the body must be at most %d bytes", limit)}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &problem{kind: pTooLarge, detail: fmt.Sprintf("the body must be at most %d bytes", limit)}
		}
		return nil, paramProblem("body", "could not be read")
	}
	return body, nil
}

// decodeJSON decodes body into dst strictly (unknown fields, trailing data
// and type mismatches are refused, naming the field) and validates dst
// with its validate tags. The body must be a JSON object: encoding/json
// reads null into a struct as a no-op, so a null body would pass as {}
// (which on the admin set-requirement route means "approve").
func decodeJSON(body []byte, dst any) error {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return paramProblem("body", "is required (a JSON object)")
	}
	if trimmed[0] != '{' {
		return paramProblem("body", "must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return paramProblem("body", "must hold a single JSON value")
	}
	return validateStruct(dst)
}

// jsonProblem names what a json decoding error is about.
func jsonProblem(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return paramProblem("body", "is not valid JSON (at byte %d)", se.Offset)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return paramProblem(clipParam(field), "must be %s", jsonType(te.Type))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return paramProblem("body", "is truncated JSON")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return paramProblem(clipParam(strings.Trim(name, `"`)), "is not a known field")
	}
	return paramProblem("body", "is not valid JSON")
}

// jsonType describes a Go type in JSON terms.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonType(t.Elem())
	}
	return "of another type"
}

// validateStruct runs validator/v10 and reports the first failure by its
// JSON path ("data.documents.type").
func validateStruct(v any) error {
	err := validate.Struct(v)
	if err == nil {
		return nil
	}
	var ves validator.ValidationErrors
	if !errors.As(err, &ves) || len(ves) == 0 {
		return internalProblem(err)
	}
	fe := ves[0]
	path := fe.Namespace()
	if _, rest, ok := strings.Cut(path, "."); ok {
		path = rest
	}
	return paramProblem(path, "%s", ruleText(fe))
}

// ruleText words a validator failure.
func ruleText(fe validator.FieldError) string {
	unit := ""
	switch fe.Kind() {
	case reflect.String:
		unit = " characters"
	case reflect.Slice, reflect.Array, reflect.Map:
		unit = " items"
	}
	switch fe.Tag() {
	case "required":
		return "is required"
	case "min":
		return "must have at least " + fe.Param() + unit
	case "max":
		return "must have at most " + fe.Param() + unit
	case "len":
		return "must have exactly " + fe.Param() + unit
	case "gt":
		return "must be greater than " + fe.Param()
	case "gte":
		return "must be at least " + fe.Param()
	case "oneof":
		return "must be one of " + strings.Join(strings.Fields(fe.Param()), ", ")
	case "uuid", "uuid4":
		return "must be a UUID"
	case "printascii":
		return "must be printable ASCII"
	case "dive":
		return "has an invalid item"
	}
	return "fails the " + fe.Tag() + " rule"
}
