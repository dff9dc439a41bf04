package httpadapter

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/openkyc/kyc/verification"
)

// routeHandler runs one route's pipeline: request id, access log, panic
// recovery, authentication, then the route's own steps (parameters, body,
// idempotency, service call, encoding).
type routeHandler struct {
	a       *Adapter
	rt      route
	prefix  string
	pattern string // the registered pattern, prefix included (logged)
}

// call is one request in flight.
type call struct {
	a      *Adapter
	rt     *route
	prefix string
	w      http.ResponseWriter
	r      *http.Request
	// ctx is the context of every call the route makes: r's, with the
	// request timeout, and with the principal once authenticated (see
	// WithPrincipal). It is not r's: a request copied with WithContext
	// to carry it would cost an allocation of the whole request.
	ctx context.Context
	// pattern is the registered pattern, prefix included (for logs).
	pattern   string
	principal Principal
	// subjectID is the subject the request acts for, once resolved.
	subjectID int64
	// reqID is the request id every log line of the request carries.
	reqID string
	// sw is the response writer ServeHTTP wraps (c.w unless a route
	// swaps in a recorder); hdr backs the values of the headers every
	// answer has (see setHeader). Both live in the call, allocated once
	// per request.
	sw  statusWriter
	hdr [4]string
}

// The headers whose values hdr holds.
const (
	hdrRequestID = iota
	hdrContentType
	hdrCacheControl
	hdrContentTypeOptions
)

// setHeader sets h's key (in canonical form) to v, held in hdr[i]: one
// value, with its capacity capped so that an Add copies it out instead of
// writing past it. Header.Set would allocate the value's slice on every
// request.
func (c *call) setHeader(h http.Header, i int, key, v string) {
	c.hdr[i] = v
	h[key] = c.hdr[i : i+1 : i+1]
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (h *routeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	a := h.a
	reqID := a.requestID(r)
	c := &call{a: a, rt: &h.rt, prefix: h.prefix, r: r, ctx: r.Context(), pattern: h.pattern, reqID: reqID}
	sw := &c.sw
	sw.ResponseWriter, c.w = w, sw
	c.setHeader(w.Header(), hdrRequestID, a.reqIDHeader, reqID)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			a.log.Error().Str("request_id", reqID).Str("route", h.pattern).
				Str("panic", fmt.Sprint(p)).Bytes("stack", debug.Stack()).Msg("httpadapter: panic in handler")
			if sw.status == 0 {
				c.w = sw
				c.writeProblem(internalProblem(fmt.Errorf("panic: %v", p)), false)
			}
		}
		h.observe(r, sw, start)
		ev := a.log.Info()
		if ev.Enabled() {
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			ev.Str("method", r.Method).Str("route", h.pattern).Int("status", status).
				Int64("bytes", sw.bytes).Dur("duration", time.Since(start)).Str("request_id", reqID)
			if c.principal.Credential != 0 {
				ev.Str("auth", c.principal.Credential.String())
			}
			ev.Msg("http request")
		}
	}()
	if a.tmo > 0 {
		var cancel context.CancelFunc
		c.ctx, cancel = context.WithTimeout(c.ctx, a.tmo)
		defer cancel()
	}
	if err := c.authenticate(); err != nil {
		c.fail(err)
		return
	}
	if err := h.rt.serve(c); err != nil {
		c.fail(err)
	}
}

// requestID returns the request's id: the host's (RequestIDFunc, or
// WithRequestID), else a well-formed one from the request id header, else a
// generated one.
func (a *Adapter) requestID(r *http.Request) string {
	var host string
	if a.reqIDFunc != nil {
		host = a.reqIDFunc(r.Context())
	}
	if host == "" {
		host, _ = r.Context().Value(ctxRequestID).(string)
	}
	if hostRequestID(host) {
		return host
	}
	return requestID(r.Header.Get(a.reqIDHeader))
}

// requestID keeps a well-formed client request id (1-128 characters of
// letters, digits and "-_.:") or generates one.
func requestID(v string) string {
	if len(v) > 0 && len(v) <= 128 {
		ok := true
		for i := 0; i < len(v) && ok; i++ {
			c := v[i]
			ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.:", c) >= 0
		}
		if ok {
			return v
		}
	}
	return newRequestID()
}

// reqIDPrefix (random per process) and reqIDSeq make the generated request
// ids: 24 hex digits, the prefix's 12 then a counter's 12, unique within a
// process for 2^48 requests and across processes but by a 48-bit chance.
// A request id is a correlation handle, not a secret: a counter costs a
// fraction of crypto/rand per request.
var (
	reqIDPrefix = func() (p [6]byte) {
		_, _ = rand.Read(p[:])
		return p
	}()
	reqIDSeq atomic.Uint64
)

// newRequestID returns the next generated request id.
func newRequestID() string {
	const digits = "0123456789abcdef"
	var b [24]byte
	hex.Encode(b[:12], reqIDPrefix[:])
	n := reqIDSeq.Add(1)
	for i := 23; i >= 12; i-- {
		b[i] = digits[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

// authenticate runs the Authenticator and the route's rule.
func (c *call) authenticate() error {
	rule := c.rt.rule
	if rule == authNone || rule == authSigned {
		return nil
	}
	p, err := c.a.auth.Authenticate(c.r)
	if err != nil {
		return c.authProblem(err)
	}
	if err := p.validate(); err != nil {
		return internalProblem(fmt.Errorf("authenticator returned an invalid principal: %w", err))
	}
	c.principal = p
	c.ctx = WithPrincipal(c.ctx, p)
	switch rule {
	case authActor:
		if p.Credential != User && p.Credential != APIKey {
			return &problem{kind: pForbidden, detail: "this route acts for a user: use a user token or an API key with " + HeaderUserIdentifier}
		}
		if p.Credential == User {
			c.subjectID = p.SubjectID
		}
	case authAdmin:
		if p.Credential != Admin {
			return &problem{kind: pForbidden, detail: "this route needs an admin token"}
		}
	case authPendingRequest:
		if p.Credential != User {
			return newProblem(pForbidden)
		}
		if !p.HasScope(c.a.scopes.PendingRequest) {
			return &problem{kind: pMissingScope, scope: c.a.scopes.PendingRequest}
		}
		c.subjectID = p.SubjectID
	case authIDVerification:
		switch {
		case p.Credential == User && p.HasScope(c.a.scopes.IDVerification),
			p.Credential == AgentKey && p.HasScope(c.a.scopes.AgentIDVerification):
			c.subjectID = p.SubjectID
		case p.Credential == User:
			return &problem{kind: pMissingScope, scope: c.a.scopes.IDVerification}
		default:
			return newProblem(pForbidden)
		}
	}
	return nil
}

// authProblem maps an Authenticator error to a problem, choosing the ER7xx/ER8xx code family from what the request presented and the route.
func (c *call) authProblem(err error) error {
	var k problemKind
	switch {
	case errors.Is(err, ErrMultipleMethods):
		k = pMultipleMethods
	case errors.Is(err, ErrNoCredentials):
		k = pNoCredentials
	case errors.Is(err, ErrCredentialsExpired):
		k = pCredentialsExpired
	case errors.Is(err, ErrCredentialsInvalid):
		k = pCredentialsInvalid
	default:
		return internalProblem(fmt.Errorf("authenticator: %w", err))
	}
	p := &problem{kind: k, cred: credUserToken}
	switch presentation(c.r) {
	case presentedAPIKey:
		p.cred = credAPIKey
	case presentedAgentKey:
		p.cred = credToken
	case presentedNone:
		if strings.TrimSpace(c.r.Header.Get(HeaderUserIdentifier)) != "" && c.rt.rule == authActor {
			// An identifier without a key: the client meant to use an API key.
			p.cred = credAPIKey
		} else if c.rt.rule != authActor {
			p.cred = credToken
		}
	default:
		if c.rt.rule != authActor {
			p.cred = credToken
		}
	}
	return p
}

// actor resolves the subject a user-acting request acts for: the token's
// subject (checked against an X-User-Identifier header if one is sent), or
// the subject an API key names with X-User-Identifier. Call it after the
// parameters are validated: it may read the store.
func (c *call) actor() (int64, error) {
	if c.principal.Credential == APIKey {
		ident, err := c.apiKeyIdentifier()
		if err != nil {
			return 0, err
		}
		sub, err := c.a.svc.SubjectByIdentifier(c.ctx, verification.HostActor(), ident)
		if err != nil {
			return 0, err
		}
		c.subjectID = sub.ID
		return sub.ID, nil
	}
	ident, many := identifierHeader(c.r)
	if c.subjectID <= 0 {
		return 0, internalProblem(errors.New("actor: no subject resolved"))
	}
	if ident != "" || many {
		if many || !verification.ValidIdentifier(ident) {
			return 0, newProblem(pIdentifierMalformed)
		}
		sub, err := c.a.svc.Subject(c.ctx, verification.UserActor(c.subjectID), c.subjectID)
		if err != nil {
			return 0, err
		}
		if sub.Identifier != ident {
			return 0, newProblem(pIdentifierNotTokenUser)
		}
	}
	return c.subjectID, nil
}

// apiKeyIdentifier returns the X-User-Identifier an API key's request
// names its subject with: a problem when it is missing, sent twice or
// malformed.
func (c *call) apiKeyIdentifier() (string, error) {
	ident, many := identifierHeader(c.r)
	switch {
	case many:
		return "", newProblem(pIdentifierMalformed)
	case ident == "":
		return "", newProblem(pIdentifierMissing)
	case !verification.ValidIdentifier(ident):
		return "", newProblem(pIdentifierMalformed)
	}
	return ident, nil
}

// admin is the Actor of an admin route: the principal's admin id and tags.
// The Service decides from it what the admin may see and change.
func (c *call) admin() verification.Actor {
	return verification.AdminActor(c.principal.AdminID, c.principal.AdminTags)
}

// identifierHeader returns the X-User-Identifier value and whether it was
// sent more than once.
func identifierHeader(r *http.Request) (string, bool) {
	vs := r.Header.Values(HeaderUserIdentifier)
	n := 0
	v := ""
	for _, x := range vs {
		if x = strings.TrimSpace(x); x != "" {
			n++
			v = x
		}
	}
	return v, n > 1
}

// fail answers err in the route's dialect and logs it.
func (c *call) fail(err error) {
	c.writeProblem(asProblem(err), true)
}

func (c *call) writeProblem(p *problem, logIt bool) {
	out := c.rt.family.render(p)
	if logIt {
		var ev *zerolog.Event
		if out.status >= 500 && !c.clientGone(p) {
			ev = c.a.log.Error()
			if p.cause != nil {
				ev = ev.AnErr("cause", p.cause)
			}
		} else {
			ev = c.a.log.Debug()
		}
		ev.Str("route", c.pattern).Int("status", out.status).Str("request_id", c.reqID).
			Str("problem", problemName(p)).Msg("httpadapter: request refused")
	}
	h := c.w.Header()
	if out.status == http.StatusUnauthorized && p.kind != pWebhookSignature {
		if p.kind == pNoCredentials {
			h.Set("WWW-Authenticate", `Bearer`)
		} else {
			h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
	}
	c.json(out.status, out.body)
}

// clientGone reports whether p answers a request whose client went away
// (its context cancelled, not timed out): nothing failed on the server's
// side, so it is logged at debug, not as a 503 error.
func (c *call) clientGone(p *problem) bool {
	return p.kind == pUnavailable && errors.Is(c.ctx.Err(), context.Canceled)
}

func problemName(p *problem) string {
	if p.param != "" {
		return p.kind.String() + " " + p.param
	}
	return p.kind.String()
}

// marshal encodes v without HTML escaping (signed URLs keep their "&").
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// json writes v as the response body.
func (c *call) json(status int, v any) {
	b, err := marshal(v)
	if err != nil {
		c.a.log.Error().Err(err).Str("route", c.pattern).Msg("httpadapter: encoding response")
		out := c.rt.family.render(internalProblem(err))
		b, _ = marshal(out.body)
		status = out.status
	}
	c.write(status, b)
}

// write sends b, a JSON body, with the headers every JSON answer has.
func (c *call) write(status int, b []byte) {
	h := c.w.Header()
	c.setHeader(h, hdrContentType, "Content-Type", "application/json")
	c.setHeader(h, hdrCacheControl, "Cache-Control", "no-store")
	c.setHeader(h, hdrContentTypeOptions, "X-Content-Type-Options", "nosniff")
	c.w.WriteHeader(status)
	_, _ = c.w.Write(b)
}
