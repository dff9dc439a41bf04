package httpadapter

import (
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// The namespaces of the route families, used when the prefix is empty (the
// adapter then claims only these) and to pick the dialect of a path that
// matches no route: the longest one it starts with wins, /api/v2 otherwise.
const (
	nsV2            = "/api/v2"
	nsExternal      = "/external/api/v1"
	nsNaturalPerson = "/api/v1"
)

// familyOfPath returns the family whose namespace rest (a path below the
// prefix) is in.
func familyOfPath(rest string) family {
	in := func(ns string) bool { return rest == ns || strings.HasPrefix(rest, ns+"/") }
	switch {
	case in(nsExternal):
		return familyExternal
	case in(nsNaturalPerson):
		return familyNaturalPerson
	}
	return familyV2
}

// below returns p without prefix when p is prefix or below it. With the
// empty prefix only the families' namespaces are the adapter's.
func below(prefix, p string) (string, bool) {
	if prefix != "" {
		if p == prefix {
			return "", true
		}
		rest, ok := strings.CutPrefix(p, prefix)
		return rest, ok && strings.HasPrefix(rest, "/")
	}
	for _, ns := range []string{nsV2, nsExternal, nsNaturalPerson} {
		if p == ns || strings.HasPrefix(p, ns+"/") {
			return p, true
		}
	}
	return "", false
}

// matchPath reports whether p matches pattern, a route path whose {name}
// wildcards stand for one non-empty segment each.
func matchPath(pattern, p string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(p, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i, seg := range ps {
		if strings.HasPrefix(seg, "{") {
			if xs[i] == "" {
				return false
			}
		} else if seg != xs[i] {
			return false
		}
	}
	return true
}

// isClean reports whether ServeMux would route p as it is, rather than
// redirect it (307) to its cleaned form: no empty, "." or ".." segment.
func isClean(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// fallback answers the requests under prefix that reach no route of its
// router: 405 with Allow when a route has the path, 404 otherwise, in the
// dialect of the family the path belongs to (never net/http's plain text).
type fallback struct {
	a      *Adapter
	prefix string

	mu      sync.RWMutex
	routes  []route
	handled map[string]bool // patterns registered on the router
}

// add records routes registered on the fallback's router.
func (f *fallback) add(rs []route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes = append(f.routes, rs...)
}

func (f *fallback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ours := below(f.prefix, r.URL.Path)
	if !ours && f.prefix == "" {
		rest = r.URL.Path // a route outside the namespaces (/openapi.json)
	}
	fam := familyOfPath(rest)
	var allow []string
	f.mu.RLock()
	for _, rt := range f.routes {
		method, p := rt.split()
		if (ours || f.prefix == "") && matchPath(p, rest) {
			fam = rt.family
			allow = append(allow, method)
			if method == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	f.mu.RUnlock()
	if !ours && len(allow) == 0 {
		http.NotFound(w, r) // not the adapter's path: the router's usual answer
		return
	}
	slices.Sort(allow)
	allow = slices.Compact(allow)
	p := newProblem(pNoRoute)
	if len(allow) > 0 && !slices.Contains(allow, r.Method) && isClean(r.URL.EscapedPath()) {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		p = &problem{kind: pMethodNotAllowed, detail: strings.Join(allow, ", ")}
	}
	f.a.unmatched(w, r, fam, p)
}

// unmatchedRoute names requests no route took in the logs.
const unmatchedRoute = "(unmatched)"

// unmatched answers a request no route took with p in family fam, and
// logs it as the routes log theirs.
func (a *Adapter) unmatched(w http.ResponseWriter, r *http.Request, fam family, p *problem) {
	start := time.Now()
	reqID := requestID(r.Header.Get(HeaderRequestID))
	w.Header().Set(HeaderRequestID, reqID)
	sw := &statusWriter{ResponseWriter: w}
	c := &call{a: a, rt: &route{family: fam}, w: sw, r: r, pattern: unmatchedRoute}
	c.writeProblem(p, true)
	a.log.Info().Str("method", r.Method).Str("route", unmatchedRoute).Int("status", sw.status).
		Int64("bytes", sw.bytes).Dur("duration", time.Since(start)).Str("request_id", reqID).Msg("http request")
}

// fallbackKey identifies the fallback of one ServeMux and prefix.
type fallbackKey struct {
	mux    *http.ServeMux
	prefix string
}

// fallbackOn records rs, just registered on mux under prefix, with the
// mux's fallback, registering the fallback's patterns on the mux the first
// time: prefix and the subtree prefix+"/" (with the empty prefix, the
// families' namespaces and each route path outside them), without a method,
// so that ServeMux hands the fallback what no route takes instead of
// answering 404, 405 or a trailing-slash redirect in plain text. ServeMux
// prefers the routes' patterns, which are more specific.
func (a *Adapter) fallbackOn(mux *http.ServeMux, prefix string, rs []route) {
	a.fbMu.Lock()
	defer a.fbMu.Unlock()
	if a.fallbacks == nil {
		a.fallbacks = map[fallbackKey]*fallback{}
	}
	k := fallbackKey{mux, prefix}
	f := a.fallbacks[k]
	if f == nil {
		f = &fallback{a: a, prefix: prefix, handled: map[string]bool{}}
		a.fallbacks[k] = f
	}
	f.add(rs)
	var patterns []string
	if prefix != "" {
		patterns = []string{prefix, prefix + "/"}
	} else {
		for _, ns := range []string{nsV2, nsExternal, nsNaturalPerson} {
			patterns = append(patterns, ns, ns+"/")
		}
		for _, rt := range rs {
			if _, p := rt.split(); !strings.HasPrefix(p, nsV2+"/") && !strings.HasPrefix(p, nsExternal+"/") && !strings.HasPrefix(p, nsNaturalPerson+"/") {
				patterns = append(patterns, p)
			}
		}
	}
	for _, p := range patterns {
		if !f.handled[p] {
			f.handled[p] = true
			mux.Handle(p, f)
		}
	}
}

// Fallback returns the handler that answers, in the route family's
// dialect, the requests under prefix that match no route (public or admin):
// 405 with an Allow header when a route has the path, 404 otherwise;
// requests outside prefix get net/http's plain 404. Register and
// RegisterAdmin install it on an *http.ServeMux themselves; on another
// router make it the router's not-found and method-not-allowed handler
// (chi: r.NotFound(fb.ServeHTTP) and r.MethodNotAllowed(fb.ServeHTTP)).
func (a *Adapter) Fallback(prefix string) http.Handler {
	f := &fallback{a: a, prefix: cleanPrefix(prefix)}
	f.add(a.publicRoutes())
	f.add(a.adminRoutes())
	return f
}

// Guard wraps the host's router so that a request under prefix whose path
// ServeMux would redirect to a cleaned form (307 for an empty, "." or ".."
// segment) is answered 404 in the route family's dialect instead: no
// documented route has such a path, and a redirect would make clients
// resend their credentials and body to a URL the adapter computed. Every
// other request goes to next. Handler includes it.
func (a *Adapter) Guard(prefix string, next http.Handler) http.Handler {
	prefix = cleanPrefix(prefix)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			if p := r.URL.EscapedPath(); !isClean(p) {
				if rest, ok := below(prefix, p); ok {
					a.unmatched(w, r, familyOfPath(rest), newProblem(pNoRoute))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
