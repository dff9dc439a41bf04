package console

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/httpadapter"
	"github.com/openkyc/kyc/verification"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/console.css
var staticFS embed.FS

// Router is what Register needs from a router: *http.ServeMux and chi's
// Mux both satisfy it (the same interface as httpadapter.Router).
type Router = httpadapter.Router

// Authenticator maps a request to its principal: the host's admin
// authentication (a session cookie, an SSO header). Only Admin principals
// reach the pages; httpadapter.Authenticator implementations fit as they are.
type Authenticator = httpadapter.Authenticator

// Defaults of Options.
const (
	// DefaultReviewTarget is how long a submitted application may wait for
	// review before the queue shows it late.
	DefaultReviewTarget = 24 * time.Hour
	// DefaultPageSize is how many applications a queue page lists.
	DefaultPageSize = 50
)

// RejectReasons are the reasons a reviewer picks from when rejecting a
// document side; "other" asks for a note.
var RejectReasons = []Reason{
	{Code: "blurry", Label: "Blurry or unreadable"},
	{Code: "expired", Label: "Document expired"},
	{Code: "wrong_type", Label: "Wrong document type"},
	{Code: "missing_page", Label: "Missing page or side"},
	{Code: "other", Label: "Other (explain in the note)"},
}

// Reason is one entry of the rejection reason list.
type Reason struct {
	// Code is the value the form sends and the start of the recorded reason.
	Code string
	// Label is what the reviewer reads.
	Label string
}

// Options configure a Console.
type Options struct {
	// Authenticator identifies the admin behind each request; required.
	// Any principal that is not an Admin gets 403.
	Authenticator Authenticator
	// Signer signs the one-hour document image URLs the case page embeds;
	// nil means a Signer with a random key made at New (URLs then do not
	// survive a restart, which is harmless for pages).
	Signer documents.URLSigner
	// ReviewTarget is how long a submitted application may wait: the
	// queue colours an application past half of it as due soon and one
	// past it as late. 0 means DefaultReviewTarget.
	ReviewTarget time.Duration
	// PageSize is how many applications a queue page lists; 0 means
	// DefaultPageSize (at most verification.MaxPageSize).
	PageSize int
	// LoginURL, when set, is where an unauthenticated visitor is sent
	// (with ?next=<the page>); otherwise it gets a plain 401 page.
	LoginURL string
	// LogoutURL, when set, adds a sign-out button to every page that POSTs
	// to it.
	LogoutURL string
	// Logger receives internal failures (Error) and refusals (Debug); nil
	// means silent. Identifiers, answers and document bytes are never logged.
	Logger *zerolog.Logger
}

// Console serves the review console pages over a verification.Service. It
// keeps no business rule: every page and action is one or a few Service
// calls made with the admin's verification.Actor, which decides what the
// admin may see and do. It is safe for concurrent use.
type Console struct {
	svc    *verification.Service
	auth   Authenticator
	signer documents.URLSigner
	target time.Duration
	size   int
	login  string
	logout string
	log    zerolog.Logger
	pages  map[string]*template.Template
	css    []byte
}

// New returns a Console for svc.
func New(svc *verification.Service, opts Options) (*Console, error) {
	if svc == nil {
		return nil, errors.New("console: a verification.Service is required")
	}
	if opts.Authenticator == nil {
		return nil, errors.New("console: Options.Authenticator is required")
	}
	if opts.ReviewTarget < 0 || opts.PageSize < 0 || opts.PageSize > verification.MaxPageSize {
		return nil, fmt.Errorf("console: ReviewTarget must not be negative and PageSize must be 0 to %d", verification.MaxPageSize)
	}
	c := &Console{svc: svc, auth: opts.Authenticator, signer: opts.Signer, target: opts.ReviewTarget, size: opts.PageSize, login: opts.LoginURL, logout: opts.LogoutURL, log: zerolog.Nop()}
	if c.target == 0 {
		c.target = DefaultReviewTarget
	}
	if c.size == 0 {
		c.size = DefaultPageSize
	}
	if opts.Logger != nil {
		c.log = *opts.Logger
	}
	if s, ok := c.signer.(*documents.Signer); ok && s == nil {
		c.signer = nil
	}
	if c.signer == nil {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		s, err := documents.NewSigner([]documents.SigningKey{{ID: "console", Secret: key}}, documents.SignerOptions{Now: svc.Now})
		if err != nil {
			return nil, err
		}
		c.signer = s
	}
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if c.css, err = fs.ReadFile(staticFS, "static/console.css"); err != nil {
		return nil, err
	}
	return c, nil
}

// RegisterConsole builds a Console for svc with opts and registers its
// pages on r under prefix ("/console"): the one call a host makes.
func RegisterConsole(r Router, prefix string, svc *verification.Service, opts Options) (*Console, error) {
	c, err := New(svc, opts)
	if err != nil {
		return nil, err
	}
	c.Register(r, prefix)
	return c, nil
}

// Routes, as "METHOD /path" patterns without the mount prefix.
const (
	// RouteQueue is the review queue.
	RouteQueue = "GET /{$}"
	// RouteClaimNext claims the oldest unassigned submitted application.
	RouteClaimNext = "POST /claim-next"
	// RouteApplication is the case page of one application.
	RouteApplication = "GET /applications/{applicationId}"
	// RouteClaim claims an application.
	RouteClaim = "POST /applications/{applicationId}/claim"
	// RouteRelease releases a claimed application.
	RouteRelease = "POST /applications/{applicationId}/release"
	// RouteDecide approves or rejects an application (with confirmation).
	RouteDecide = "POST /applications/{applicationId}/decision"
	// RouteClient is the case page of one client.
	RouteClient = "GET /clients/{clientId}"
	// RouteGrant grants a level with a reason (with confirmation).
	RouteGrant = "POST /clients/{clientId}/grant"
	// RouteReset resets a requirement (with confirmation).
	RouteReset = "POST /clients/{clientId}/requirements/{name}/reset"
	// RouteTags replaces a client's tags (with confirmation).
	RouteTags = "POST /clients/{clientId}/tags"
	// RouteHold places or lifts a legal hold (with confirmation).
	RouteHold = "POST /clients/{clientId}/hold"
	// RouteErase erases a client's personal data (with confirmation).
	RouteErase = "POST /clients/{clientId}/erase"
	// RouteReviewFile approves or rejects one document side (with confirmation).
	RouteReviewFile = "POST /files/{fileId}/review"
	// RouteFile serves one document side through a signed URL.
	RouteFile = "GET /files/{fileId}"
	// RouteDeliveries lists dead-lettered deliveries.
	RouteDeliveries = "GET /deliveries"
	// RouteReplay replays a dead letter (with confirmation).
	RouteReplay = "POST /deliveries/replay"
	// RouteStylesheet is the console's only asset.
	RouteStylesheet = "GET /static/console.css"
)

// page is one registered route's handler.
type page func(c *Console, rq *request) error

func (c *Console) routes() map[string]page {
	return map[string]page{
		RouteQueue:       (*Console).queue,
		RouteClaimNext:   (*Console).claimNext,
		RouteApplication: (*Console).application,
		RouteClaim:       (*Console).claimAction,
		RouteRelease:     (*Console).releaseAction,
		RouteDecide:      (*Console).decide,
		RouteClient:      (*Console).client,
		RouteGrant:       (*Console).grant,
		RouteReset:       (*Console).reset,
		RouteTags:        (*Console).tags,
		RouteHold:        (*Console).hold,
		RouteErase:       (*Console).erase,
		RouteReviewFile:  (*Console).reviewFile,
		RouteFile:        (*Console).file,
		RouteDeliveries:  (*Console).deliveries,
		RouteReplay:      (*Console).replay,
	}
}

// Register adds the console's pages to r under prefix ("/console"; a
// trailing slash is ignored). Every page answers only Admin principals,
// with a strict Content-Security-Policy, Cache-Control: no-store and
// cross-origin request protection (http.CrossOriginProtection) on every
// unsafe method.
func (c *Console) Register(r Router, prefix string) {
	prefix = strings.TrimRight(prefix, "/")
	if prefix != "" && (prefix[0] != '/' || strings.ContainsAny(prefix, "{} \t\r\n?#")) {
		panic(fmt.Sprintf("console: invalid prefix %q", prefix))
	}
	cop := http.NewCrossOriginProtection()
	for pattern, p := range c.routes() {
		method, path, _ := strings.Cut(pattern, " ")
		h := &handler{c: c, page: p, prefix: prefix}
		r.Handle(method+" "+prefix+path, secure(cop.Handler(h)))
	}
	_, css, _ := strings.Cut(RouteStylesheet, " ")
	r.Handle("GET "+prefix+css, secure(http.HandlerFunc(c.stylesheet)))
	if prefix != "" {
		r.Handle("GET "+prefix, secure(http.RedirectHandler(prefix+"/", http.StatusMovedPermanently)))
	}
}

// ContentSecurityPolicy is the policy every console response carries: no
// script at all, styles and images from the console's origin only, forms
// posting back to it, no framing.
const ContentSecurityPolicy = "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secure sets the headers every console response carries.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", ContentSecurityPolicy)
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		// Signed image URLs must not leak through the Referer header.
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

func (c *Console) stylesheet(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, _ = w.Write(c.css)
}

// handler authenticates the admin and runs one page.
type handler struct {
	c      *Console
	page   page
	prefix string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := h.c
	p, err := c.auth.Authenticate(r)
	if err != nil {
		if c.login != "" && r.Method == http.MethodGet {
			http.Redirect(w, r, c.login+"?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		c.render(w, http.StatusUnauthorized, "error", errorView{base: base{Prefix: h.prefix, Title: "Sign in required"}, Message: "Sign in as an admin to use the review console.", Login: c.login})
		return
	}
	if p.Credential != httpadapter.Admin || p.AdminID <= 0 {
		c.render(w, http.StatusForbidden, "error", errorView{base: base{Prefix: h.prefix, Title: "Forbidden"}, Message: "The review console is for admins only."})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	rq := &request{w: w, r: r.WithContext(ctx), prefix: h.prefix, logout: c.logout, actor: verification.AdminActor(p.AdminID, p.AdminTags), adminID: p.AdminID, scoped: p.AdminTags != nil}
	if err := h.page(c, rq); err != nil {
		c.fail(rq, err)
	}
}

// request is one authenticated console request.
type request struct {
	w       http.ResponseWriter
	r       *http.Request
	prefix  string
	logout  string
	actor   verification.Actor
	adminID int64
	scoped  bool
}

// base returns the fields every page shares.
func (rq *request) base(title string) base {
	return base{Prefix: rq.prefix, Title: title, AdminID: rq.adminID, Scoped: rq.scoped, Flash: rq.r.URL.Query().Get("done"), Logout: rq.logout}
}

// redirect answers a successful form with 303 See Other (POST-redirect-GET).
func (rq *request) redirect(path, done string) error {
	to := rq.prefix + path
	if done != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + "done=" + urlQueryEscape(done)
	}
	http.Redirect(rq.w, rq.r, to, http.StatusSeeOther)
	return nil
}

// render executes a page template; it buffers one page (pages are small),
// so a template failure never sends half a page.
func (c *Console) render(w http.ResponseWriter, status int, name string, data any) {
	t := c.pages[name]
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		c.log.Error().Err(err).Str("page", name).Msg("console: rendering a page")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// fail renders a Service error as an error page with the status its kind
// means; internal failures are logged with their cause and shown without it.
func (c *Console) fail(rq *request, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong; the failure was logged."
	var ve *verification.Error
	switch {
	case errors.Is(err, verification.ErrNotFound), errors.Is(err, verification.ErrDeleted):
		status, msg = http.StatusNotFound, "Not found, or not in your scope."
	case errors.Is(err, verification.ErrForbidden):
		status, msg = http.StatusForbidden, "You may not do this."
	case errors.Is(err, verification.ErrConflict), errors.Is(err, verification.ErrExpired), errors.Is(err, verification.ErrLegalHold), errors.Is(err, verification.ErrRejectedFinal):
		status, msg = http.StatusConflict, "Not possible now."
	case errors.Is(err, verification.ErrInvalid), errors.Is(err, errBadForm):
		status, msg = http.StatusBadRequest, "The form is not valid."
	}
	if status == http.StatusInternalServerError {
		c.log.Error().Err(err).Str("path", rq.r.URL.Path).Msg("console: internal failure")
	} else {
		c.log.Debug().Err(err).Str("path", rq.r.URL.Path).Msg("console: refused")
		if errors.As(err, &ve) && ve.Message != "" {
			msg += " " + ve.Message
		} else if errors.Is(err, errBadForm) {
			msg += " " + strings.TrimPrefix(err.Error(), errBadForm.Error()+": ")
		}
	}
	c.render(rq.w, status, "error", errorView{base: rq.base(http.StatusText(status)), Message: msg})
}

// errBadForm marks an invalid form field.
var errBadForm = errors.New("console: bad form")

func badForm(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadForm, fmt.Sprintf(format, args...))
}
