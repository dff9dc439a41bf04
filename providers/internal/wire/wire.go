// Package wire holds the JSON decoding helpers the provider adapters share.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// String decodes a JSON string, number, boolean or null (as ""), or an
// object whose "value" member is one of those: providers send reason
// codes as numbers or strings and, in newer payload versions, wrap
// extracted fields as {"value": ..., "confidenceCategory": ...}.
type String string

// UnmarshalJSON implements json.Unmarshaler.
func (s *String) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return errors.New("empty value")
	case string(b) == "null":
		*s = ""
		return nil
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = String(v)
		return nil
	case b[0] == '{':
		var obj struct {
			Value *String `json:"value"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		if obj.Value == nil {
			*s = ""
			return nil
		}
		*s = *obj.Value
		return nil
	case b[0] == '[':
		return errors.New("a list where a single value is documented")
	default:
		var n json.Number
		if string(b) == "true" || string(b) == "false" {
			*s = String(b)
			return nil
		}
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*s = String(n.String())
		return nil
	}
}

// Strings decodes a list of String, or null as an empty list.
type Strings []String

// Plain returns the list as []string, dropping empty entries; nil when empty.
func (l Strings) Plain() []string {
	var out []string
	for _, s := range l {
		if v := strings.TrimSpace(string(s)); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Time parses an RFC 3339 time (fractional seconds optional); "" gives the
// zero time.
func Time(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// Date parses a calendar date ("2006-01-02") as midnight UTC; anything
// else, including "", gives the zero time.
func Date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return t
}
