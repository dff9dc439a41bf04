package httpadapter

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// Observer receives every request an Adapter served, for metrics
// (Options.Observer; contrib/otelkyc implements it with OpenTelemetry). It
// gets the registered route pattern, never the request's path, so no
// subject id, file id or token reaches it. Request is called once per
// request, after the response is written, on the request's goroutine: it
// must not block. Embed NopObserver in an implementation so that methods
// added to Observer later have a default.
type Observer interface {
	// Request is called when a request has been answered.
	Request(ctx context.Context, r Request)
}

// Request is what an Observer learns of one request.
type Request struct {
	// Method is the route's method, e.g. "GET" (a method no route takes is
	// reported as its route's, never as sent).
	Method string
	// Route is the registered pattern, prefix included, without the
	// method: "/kyc/resources/users/{userId}/status", never the path.
	Route string
	// Status is the response's HTTP status.
	Status int
	// Duration is the time from the request's arrival to the end of its
	// response.
	Duration time.Duration
}

// NopObserver is the Observer that does nothing, the Adapter's default.
type NopObserver struct{}

var _ Observer = NopObserver{}

// Request does nothing.
func (NopObserver) Request(context.Context, Request) {}

// observerOr returns o, or NopObserver when o is nil.
func observerOr(o Observer) Observer {
	if o == nil {
		return NopObserver{}
	}
	return o
}

// code is the status the response was answered with (200 when nothing
// set it).
func (s *statusWriter) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// observe reports the request h served to the Adapter's Observer.
func (h *routeHandler) observe(r *http.Request, sw *statusWriter, start time.Time) {
	method, route, _ := strings.Cut(h.pattern, " ")
	h.a.obs.Request(r.Context(), Request{Method: method, Route: route, Status: sw.code(), Duration: time.Since(start)})
}
