package httpadapter

import (
	"context"
	"strings"
)

// requestIDKey is the context key of WithRequestID.
type requestIDKey struct{}

var ctxRequestID requestIDKey

// WithRequestID returns ctx carrying the host's request id, for hosts whose
// middleware assigns one: the adapter logs it on every line of the request
// and echoes it in the request id header of the answer (see
// Options.RequestIDFunc for middleware that stores it under its own key).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxRequestID, id)
}

// hostRequestID reports whether a request id from the host's context can
// be logged and sent as a header value: 1-128 printable ASCII characters
// without spaces (chi's "host/abc-000001" included).
func hostRequestID(v string) bool {
	if v == "" || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return false
		}
	}
	return true
}

// validHeaderName reports whether name is a valid HTTP header field name
// (an RFC 9110 token).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
