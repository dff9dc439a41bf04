package httpadapter

import (
	"net/http"
	"net/url"
	"strings"
)

// Mounting behind a prefix-stripping router.
//
// http.StripPrefix (and routers that work like it) hand the adapter a
// request whose URL.Path lacks the part of the path the host stripped,
// while RequestURI keeps the path the client sent. Signed file URLs and
// the OpenAPI server URL must name the path a client can fetch, and a
// signature is checked over the path it was made for; both therefore use
// the client's path: the stripped part, then the registered prefix.

// strippedPrefix returns the part of the client's path that a router in
// front of the adapter stripped from r.URL.Path: "" when nothing was (or
// when r.RequestURI is absent or does not end with r.URL.Path, as after a
// rewrite the adapter cannot follow).
func strippedPrefix(r *http.Request) string {
	if r.RequestURI == "" || r.RequestURI == "*" || strings.HasPrefix(r.RequestURI, r.URL.Path) {
		// No request line, or the path the client sent is this one (the
		// fast path: no parse): nothing was stripped.
		return ""
	}
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return ""
	}
	orig := u.Path
	if orig == r.URL.Path || !strings.HasSuffix(orig, r.URL.Path) {
		return ""
	}
	return strings.TrimRight(orig[:len(orig)-len(r.URL.Path)], "/")
}

// mountPath is where this request's route family lives as the client sees
// it: the stripped part, if any, then the registered prefix.
func (c *call) mountPath() string { return strippedPrefix(c.r) + c.prefix }

// clientPath is the request path as the client sent it.
func (c *call) clientPath() string { return strippedPrefix(c.r) + c.r.URL.Path }

// prefixHandler serves a private ServeMux whose patterns carry prefix,
// both for routers that pass the full path (gin, echo, chi's Mount) and
// behind http.StripPrefix(prefix, ...), whose requests arrive without the
// prefix: it is put back before routing.
type prefixHandler struct {
	prefix string
	mux    http.Handler
}

func (h *prefixHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.prefix != "" && h.restore(r) {
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = h.prefix + r.URL.Path
		if r.URL.RawPath != "" {
			u.RawPath = h.prefix + r.URL.RawPath
		}
		r2.URL = &u
		r = r2
	}
	h.mux.ServeHTTP(w, r)
}

// restore reports whether the prefix was stripped from r's path.
func (h *prefixHandler) restore(r *http.Request) bool {
	if s := strippedPrefix(r); s != "" {
		return strings.HasSuffix(s, h.prefix)
	}
	if r.RequestURI != "" {
		return false // the client's path is the path: nothing was stripped
	}
	return r.URL.Path != h.prefix && !strings.HasPrefix(r.URL.Path, h.prefix+"/")
}
