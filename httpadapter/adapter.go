package httpadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/internal/slogbridge"
	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/verification"
)

// Routes, as "METHOD /path" patterns without the mount prefix (Register and
// RegisterAdmin prepend it). Only {name} wildcards are used, so the same
// patterns work on *http.ServeMux and chi.
const (
	// RouteVerificationStatus: the verification status (what the caller
	// still has to provide).
	RouteVerificationStatus = "GET /api/v2/user/verification-status"
	// RouteMyVerifications: verification history, the caller's grants.
	RouteMyVerifications = "GET /api/v2/my/verifications"
	// RouteMyVerification: verification history, one of the caller's grants.
	RouteMyVerification = "GET /api/v2/my/verifications/{verificationId}"
	// RouteWizard: the wizard, initialise the verification wizard.
	RouteWizard = "GET /api/v2/my/verifications/wizard"
	// RouteRunWizard: the wizard, submit a wizard step.
	RouteRunWizard = "POST /api/v2/my/verifications"
	// RouteUpload: extension, multipart upload of a document file.
	RouteUpload = "POST /api/v2/my/verifications/files"
	// RouteAnswer: extension, answer a non-document requirement.
	RouteAnswer = "POST /api/v2/user/requirements/{name}"
	// RoutePendingRequest: the pending verification request.
	RoutePendingRequest = "GET /external/api/v1/me/pending_verification_request"
	// RouteIDVerification: identity verification, the latest approved check.
	RouteIDVerification = "GET /api/v1/me/natural-person/id-verification"
	// RouteIDVerificationAlias: identity verification's compatibility alias.
	RouteIDVerificationAlias = "GET /api/v1/me/natural-person/id_verification"
	// RouteStartProviderSession: extension, start an identity provider's
	// hosted session for the caller (the wizard hands the user its URL).
	RouteStartProviderSession = "POST /api/v2/my/verifications/provider-sessions"
	// RouteFile: extension, a document file through a signed URL.
	RouteFile = "GET /api/v1/files/{fileId}"
	// RouteOpenAPI: the OpenAPI 3.1 description (Options.ServeOpenAPI).
	RouteOpenAPI = "GET /openapi.json"

	// RouteVerifications: admin history, every client's grant history (admin).
	RouteVerifications = "GET /api/v2/verifications"
	// RouteVerification: admin history, one grant (admin).
	RouteVerification = "GET /api/v2/verifications/{verificationId}"
	// RouteApplications: extension, list applications (admin).
	RouteApplications = "GET /api/v2/applications"
	// RouteApplication: extension, one application (admin).
	RouteApplication = "GET /api/v2/applications/{applicationId}"
	// RouteClaimApplication: extension, claim an application for review (admin).
	RouteClaimApplication = "POST /api/v2/applications/{applicationId}/claim"
	// RouteReleaseApplication: extension, release a claimed application (admin).
	RouteReleaseApplication = "POST /api/v2/applications/{applicationId}/release"
	// RouteDecideApplication: extension, approve or reject an application (admin).
	RouteDecideApplication = "POST /api/v2/applications/{applicationId}/decision"
	// RouteSetRequirement: extension, set a client's requirement (admin).
	RouteSetRequirement = "POST /api/v2/clients/{clientId}/requirements/{name}"
	// RouteReviewRequirement: extension, review a pending requirement (admin).
	RouteReviewRequirement = "POST /api/v2/clients/{clientId}/requirements/{name}/review"
	// RouteClient: extension, one client for review (admin).
	RouteClient = "GET /api/v2/clients/{clientId}"
	// RouteTimeline: extension, a client's history (admin).
	RouteTimeline = "GET /api/v2/clients/{clientId}/timeline"
	// RouteGrantLevel: extension, a manual level grant with a reason (admin).
	RouteGrantLevel = "POST /api/v2/clients/{clientId}/grants"
	// RouteResetRequirement: extension, reset a client's requirement (admin).
	RouteResetRequirement = "POST /api/v2/clients/{clientId}/requirements/{name}/reset"
	// RouteSetTags: extension, replace a client's tags (admin).
	RouteSetTags = "POST /api/v2/clients/{clientId}/tags"
	// RouteLegalHold: extension, place or lift a legal hold (admin).
	RouteLegalHold = "POST /api/v2/clients/{clientId}/legal-hold"
	// RouteErase: extension, erase a client's personal data (admin).
	RouteErase = "POST /api/v2/clients/{clientId}/erase"
	// RouteDeadLetters: extension, dead-lettered deliveries (admin without tags).
	RouteDeadLetters = "GET /api/v2/deliveries/dead"
	// RouteReplay: extension, replay a dead letter (admin without tags).
	RouteReplay = "POST /api/v2/deliveries/replay"
	// RouteAdminFile: extension, a document image for review (admin).
	RouteAdminFile = "GET /api/v2/files/{fileId}"
	// RouteAudit: extension, the audit trail as NDJSON or CSV (admin).
	RouteAudit = "GET /api/v2/audit"

	// RouteProviderWebhook: extension, an identity provider's signed
	// decision delivery (RegisterProviderWebhooks).
	RouteProviderWebhook = "POST /webhooks/providers/{provider}"
)

// Router is what Register needs from a router: *http.ServeMux (Go 1.22
// patterns) and chi's Mux (v5.1+, which accepts "METHOD /path" in Handle)
// both satisfy it.
type Router interface {
	Handle(pattern string, h http.Handler)
}

// Scopes names the scopes the scope-checked routes require.
type Scopes struct {
	// PendingRequest is required on RoutePendingRequest (the pending request);
	// default "/external/me/r".
	PendingRequest string
	// IDVerification is required of User tokens on RouteIDVerification
	// (identity verification); default "eprospera:person.id_verification.read".
	IDVerification string
	// AgentIDVerification is required of agent keys on RouteIDVerification;
	// default "agent:person.id_verification.read".
	AgentIDVerification string
}

// Default scopes (the pending request and identity verification routes).
const (
	DefaultPendingRequestScope      = "/external/me/r"
	DefaultIDVerificationScope      = "eprospera:person.id_verification.read"
	DefaultAgentIDVerificationScope = "agent:person.id_verification.read"
)

// WizardStages names the wizard API's "workflow" values, one per
// verification.WizardStage. Hosts whose clients expect other class names
// set them in Options.
type WizardStages struct {
	// Documents names verification.StageDocuments: the next step uploads a
	// document (data lists the accepted document types).
	Documents string
	// Answers names verification.StageAnswers: other requirements still
	// need answers (data null).
	Answers string
	// Done names verification.StageDone: nothing is left (done true).
	Done string
}

// DefaultWizardStages are the stage names used when Options.WizardStages
// leaves them empty; Done matches the verification history API's example.
var DefaultWizardStages = WizardStages{
	Documents: `B2B\TCA\Wizards\Workflow\DocumentsWorkflow`,
	Answers:   `B2B\TCA\Wizards\Workflow\AnswersWorkflow`,
	Done:      `B2B\TCA\Wizards\Workflow\TerminateWorkflow`,
}

func (w WizardStages) withDefaults() WizardStages {
	if w.Documents == "" {
		w.Documents = DefaultWizardStages.Documents
	}
	if w.Answers == "" {
		w.Answers = DefaultWizardStages.Answers
	}
	if w.Done == "" {
		w.Done = DefaultWizardStages.Done
	}
	return w
}

// name returns the wire name of a stage.
func (w WizardStages) name(st verification.WizardStage) string {
	switch st {
	case verification.StageDocuments:
		return w.Documents
	case verification.StageAnswers:
		return w.Answers
	}
	return w.Done
}

// WizardCodes are the wizard API's wizard "code" values.
type WizardCodes struct {
	// Continue is the code while steps remain; default 200.
	Continue int
	// Done is the code of the final step; default 202.
	Done int
}

// DefaultWizardCodes are the wizard API's codes: 200 while steps remain, 202 at
// the final step.
var DefaultWizardCodes = WizardCodes{Continue: 200, Done: 202}

// code returns the wire code of a step.
func (w WizardCodes) code(step verification.WizardStep) int {
	if step.Done() {
		return w.Done
	}
	return w.Continue
}

// Defaults of Options.
const (
	DefaultMaxBodyBytes   int64 = 64 << 10
	DefaultIdempotencyTTL       = 24 * time.Hour
)

// Options configure an Adapter.
type Options struct {
	// Authenticator maps requests to principals; required.
	Authenticator Authenticator
	// Logger receives the access log (Info), expected refusals (Debug) and
	// internal failures with their cause (Error); nil means silent.
	Logger *zerolog.Logger
	// Slog, for hosts that log with log/slog, receives the same lines as
	// Logger would, as slog records (message, level and fields). Set Logger
	// or Slog, not both.
	Slog *slog.Logger
	// RequestIDHeader names the request header whose value (1-128 letters,
	// digits or "-_.:") is the request id logged with every line and echoed
	// in the answer; empty means HeaderRequestID ("X-Request-Id").
	RequestIDHeader string
	// RequestIDFunc, when set, returns the request id the host's middleware
	// assigned (e.g. chi's middleware.GetReqID); a non-empty answer wins
	// over the header. A request id stored with WithRequestID is used
	// otherwise; without any, one is generated.
	RequestIDFunc func(ctx context.Context) string
	// Signer signs the file URLs of the identity verification API and verifies them on
	// RouteFile. Without it those routes are not registered. A
	// *documents.Signer (HMAC-SHA256) is the usual value; any
	// documents.URLSigner works (a KMS, S3 presigned URLs). A root-relative
	// signed URL gets BaseURL prepended; an absolute one is used as is.
	Signer documents.URLSigner
	// BaseURL ("https://kyc.example.com") is prepended to signed URLs;
	// empty means root-relative URLs ("/kyc/api/v1/files/...").
	BaseURL string
	// MaxBodyBytes bounds JSON request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxUploadBytes bounds a whole multipart upload request; 0 means
	// documents.DefaultMaxFileSize plus 64 KiB for the form fields.
	MaxUploadBytes int64
	// Scopes overrides the default scopes.
	Scopes Scopes
	// IdempotencyTTL is how long an Idempotency-Key is remembered; 0 means
	// DefaultIdempotencyTTL.
	IdempotencyTTL time.Duration
	// RequestTimeout, when positive, bounds each request's service calls.
	RequestTimeout time.Duration
	// NowFunc is the clock for idempotency records; nil means the
	// Service's clock.
	NowFunc func() time.Time
	// ServeOpenAPI registers RouteOpenAPI with the public routes.
	ServeOpenAPI bool
	// WizardStages names the wizard's workflow stages; empty fields take
	// DefaultWizardStages.
	WizardStages WizardStages
	// WizardCodes are the wizard's codes; zero fields take
	// DefaultWizardCodes.
	WizardCodes WizardCodes
	// Providers are the identity providers whose webhooks
	// RegisterProviderWebhooks serves, by Name. The Service must be
	// configured with the same providers (verification.Options.Providers)
	// to apply their decisions.
	Providers []providers.Provider
	// MaxWebhookBytes bounds a provider webhook's body; 0 means
	// DefaultMaxWebhookBytes.
	MaxWebhookBytes int64
	// ProviderTimeout bounds the provider call of
	// RouteStartProviderSession; 0 means verification.DefaultStartTimeout.
	ProviderTimeout time.Duration
	// Observer receives each request's route pattern, status and duration
	// (for metrics: contrib/otelkyc); nil means NopObserver.
	Observer Observer
}

// Adapter serves the documented routes over a verification.Service. It is
// safe for concurrent use; one Adapter may be registered on several routers
// and prefixes.
type Adapter struct {
	svc    *verification.Service
	auth   Authenticator
	log    zerolog.Logger
	signer documents.URLSigner
	base   string
	maxB   int64
	maxU   int64
	scopes Scopes
	ttl    time.Duration
	tmo    time.Duration
	now    func() time.Time
	oapi   bool
	stages WizardStages
	codes  WizardCodes

	providers map[string]providers.Provider
	maxW      int64
	provTmo   time.Duration

	// fallbacks answer what no route takes on each ServeMux (fallback.go).
	fbMu      sync.Mutex
	fallbacks map[fallbackKey]*fallback
	// reqIDHeader and reqIDFunc say where the host's request id comes from.
	reqIDHeader string
	reqIDFunc   func(ctx context.Context) string
	obs         Observer
}

// New returns an Adapter for svc. The Authenticator is required.
func New(svc *verification.Service, opts Options) (*Adapter, error) {
	if svc == nil {
		return nil, errors.New("httpadapter: a verification.Service is required")
	}
	if opts.Authenticator == nil {
		return nil, errors.New("httpadapter: Options.Authenticator is required")
	}
	if opts.MaxBodyBytes < 0 || opts.MaxUploadBytes < 0 || opts.IdempotencyTTL < 0 || opts.RequestTimeout < 0 ||
		opts.MaxWebhookBytes < 0 || opts.ProviderTimeout < 0 {
		return nil, errors.New("httpadapter: limits, TTL and timeout must not be negative")
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	if base != "" && !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
		return nil, fmt.Errorf("httpadapter: BaseURL %q must start with https:// or http://", opts.BaseURL)
	}
	a := &Adapter{
		svc: svc, auth: opts.Authenticator, log: zerolog.Nop(), signer: opts.Signer, base: base,
		maxB: opts.MaxBodyBytes, maxU: opts.MaxUploadBytes, scopes: opts.Scopes, ttl: opts.IdempotencyTTL,
		tmo: opts.RequestTimeout, now: opts.NowFunc, oapi: opts.ServeOpenAPI,
		stages: opts.WizardStages.withDefaults(), codes: opts.WizardCodes,
	}
	a.obs = observerOr(opts.Observer)
	pm, err := providerMap(svc, opts.Providers)
	if err != nil {
		return nil, err
	}
	a.providers, a.maxW, a.provTmo = pm, opts.MaxWebhookBytes, opts.ProviderTimeout
	if a.maxW == 0 {
		a.maxW = DefaultMaxWebhookBytes
	}
	if a.codes.Continue == 0 {
		a.codes.Continue = DefaultWizardCodes.Continue
	}
	if a.codes.Done == 0 {
		a.codes.Done = DefaultWizardCodes.Done
	}
	switch {
	case opts.Logger != nil && opts.Slog != nil:
		return nil, errors.New("httpadapter: set Options.Logger or Options.Slog, not both")
	case opts.Logger != nil:
		a.log = *opts.Logger
	case opts.Slog != nil:
		a.log = slogbridge.New(opts.Slog)
	}
	a.reqIDHeader, a.reqIDFunc = opts.RequestIDHeader, opts.RequestIDFunc
	if a.reqIDHeader == "" {
		a.reqIDHeader = HeaderRequestID
	}
	if !validHeaderName(a.reqIDHeader) {
		return nil, fmt.Errorf("httpadapter: RequestIDHeader %q is not a header name", opts.RequestIDHeader)
	}
	a.reqIDHeader = http.CanonicalHeaderKey(a.reqIDHeader) // the key Header.Set would use
	if s, ok := a.signer.(*documents.Signer); ok && s == nil {
		a.signer = nil // a nil *Signer means no signer, as before URLSigner
	}
	if a.maxB == 0 {
		a.maxB = DefaultMaxBodyBytes
	}
	if a.maxU == 0 {
		a.maxU = documents.DefaultMaxFileSize + 64<<10
	}
	if a.scopes.PendingRequest == "" {
		a.scopes.PendingRequest = DefaultPendingRequestScope
	}
	if a.scopes.IDVerification == "" {
		a.scopes.IDVerification = DefaultIDVerificationScope
	}
	if a.scopes.AgentIDVerification == "" {
		a.scopes.AgentIDVerification = DefaultAgentIDVerificationScope
	}
	if a.ttl == 0 {
		a.ttl = DefaultIdempotencyTTL
	}
	if a.now == nil {
		a.now = svc.Now
	}
	return a, nil
}

// authRule is who may call a route.
type authRule uint8

const (
	// authNone: anyone (the OpenAPI description).
	authNone authRule = iota
	// authActor: a User token acting for its subject, or an API key acting
	// for the subject named by X-User-Identifier (the verification status API).
	authActor
	// authAdmin: an Admin principal.
	authAdmin
	// authPendingRequest: a User token with Scopes.PendingRequest (the pending request).
	authPendingRequest
	// authIDVerification: a User token with Scopes.IDVerification or an
	// agent key with Scopes.AgentIDVerification (identity verification).
	authIDVerification
	// authSigned: no principal; the handler verifies a signed URL.
	authSigned
)

// route is one registered endpoint.
type route struct {
	pattern string // one of the Route constants
	family  family
	rule    authRule
	serve   func(c *call) error
}

func (rt route) split() (method, path string) {
	method, path, _ = strings.Cut(rt.pattern, " ")
	return method, path
}

// publicRoutes lists the routes Register adds.
func (a *Adapter) publicRoutes() []route {
	rs := []route{
		{RouteVerificationStatus, familyV2, authActor, a.serveStatus},
		{RouteMyVerifications, familyV2, authActor, a.serveMyVerifications},
		{RouteMyVerification, familyV2, authActor, a.serveMyVerification},
		{RouteWizard, familyV2, authActor, a.serveWizard},
		{RouteRunWizard, familyV2, authActor, a.serveRunWizard},
		{RouteUpload, familyV2, authActor, a.serveUpload},
		{RouteAnswer, familyV2, authActor, a.serveAnswer},
		{RouteStartProviderSession, familyV2, authActor, a.serveStartProviderSession},
		{RoutePendingRequest, familyExternal, authPendingRequest, a.servePendingRequest},
	}
	if a.signer != nil {
		rs = append(rs,
			route{RouteIDVerification, familyNaturalPerson, authIDVerification, a.serveIDVerification},
			route{RouteIDVerificationAlias, familyNaturalPerson, authIDVerification, a.serveIDVerification},
			route{RouteFile, familyNaturalPerson, authSigned, a.serveFile},
		)
	}
	if a.oapi {
		rs = append(rs, route{RouteOpenAPI, familyV2, authNone, a.serveOpenAPI})
	}
	return rs
}

// adminRoutes lists the routes RegisterAdmin adds.
func (a *Adapter) adminRoutes() []route {
	return []route{
		{RouteVerifications, familyV2, authAdmin, a.serveVerifications},
		{RouteVerification, familyV2, authAdmin, a.serveVerification},
		{RouteApplications, familyV2, authAdmin, a.serveApplications},
		{RouteApplication, familyV2, authAdmin, a.serveApplication},
		{RouteClaimApplication, familyV2, authAdmin, a.serveClaimApplication},
		{RouteReleaseApplication, familyV2, authAdmin, a.serveClaimApplication},
		{RouteDecideApplication, familyV2, authAdmin, a.serveDecideApplication},
		{RouteSetRequirement, familyV2, authAdmin, a.serveSetRequirement},
		{RouteReviewRequirement, familyV2, authAdmin, a.serveReviewRequirement},
		{RouteAdminFile, familyV2, authAdmin, a.serveAdminFile},
		{RouteClient, familyV2, authAdmin, a.serveClient},
		{RouteTimeline, familyV2, authAdmin, a.serveTimeline},
		{RouteGrantLevel, familyV2, authAdmin, a.serveGrantLevel},
		{RouteResetRequirement, familyV2, authAdmin, a.serveResetRequirement},
		{RouteSetTags, familyV2, authAdmin, a.serveSetTags},
		{RouteLegalHold, familyV2, authAdmin, a.serveLegalHold},
		{RouteErase, familyV2, authAdmin, a.serveErase},
		{RouteDeadLetters, familyV2, authAdmin, a.serveDeadLetters},
		{RouteReplay, familyV2, authAdmin, a.serveReplay},
		{RouteAudit, familyV2, authAdmin, a.serveAudit},
	}
}

// cleanPrefix validates a mount prefix: "" or "/seg/seg" without a
// trailing slash, wildcards or spaces. A trailing slash is dropped.
func cleanPrefix(prefix string) string {
	p := strings.TrimRight(prefix, "/")
	if p == "" {
		return ""
	}
	if p[0] != '/' || strings.ContainsAny(p, "{} \t\r\n?#") || strings.Contains(p, "//") {
		panic(fmt.Sprintf("httpadapter: invalid prefix %q: want \"\" or \"/path\" without wildcards", prefix))
	}
	return p
}

// Register adds the public routes to r under prefix ("" or "/kyc"; a
// trailing slash is ignored), as full "METHOD /prefix/path" patterns. It
// panics on an invalid prefix, as http.ServeMux does on invalid patterns.
// On an *http.ServeMux it also installs the Fallback for prefix (the
// patterns prefix and prefix+"/", or with the empty prefix the routes'
// namespaces /api/v2/, /api/v1/ and /external/api/v1/), so wrong methods and
// unknown paths there are answered in the route family's dialect; wrap the
// mux in Guard for the paths ServeMux would redirect.
func (a *Adapter) Register(r Router, prefix string) {
	a.register(r, cleanPrefix(prefix), a.publicRoutes())
}

// RegisterAdmin adds the admin routes to r under prefix, so that a host can
// serve them on an internal listener.
func (a *Adapter) RegisterAdmin(r Router, prefix string) {
	a.register(r, cleanPrefix(prefix), a.adminRoutes())
}

// Handler returns one http.Handler serving the public routes (those
// Register adds, never the admin ones) and, when Options.Providers names
// any, the provider webhooks, under prefix, for hosts (gin, echo) that
// mount a single handler. It serves requests with their full path
// ("/kyc/api/...": gin, echo, chi's Mount) and requests whose prefix a
// router stripped (http.StripPrefix("/kyc", a.Handler("/kyc"))); signed
// file URLs name the path the client used either way. Requests no route
// takes are answered in the route family's dialect (see Fallback and
// Guard). Serve the admin routes with AdminHandler, on an internal
// listener or behind the host's admin authentication.
func (a *Adapter) Handler(prefix string) http.Handler {
	p := cleanPrefix(prefix)
	mux := http.NewServeMux()
	a.register(mux, p, a.publicRoutes())
	if len(a.providers) > 0 {
		a.RegisterProviderWebhooks(mux, prefix)
	}
	return &prefixHandler{prefix: p, mux: a.Guard(p, mux)}
}

// AdminHandler returns one http.Handler serving the admin routes (those
// RegisterAdmin adds) under prefix, mounted as Handler is.
func (a *Adapter) AdminHandler(prefix string) http.Handler {
	p := cleanPrefix(prefix)
	mux := http.NewServeMux()
	a.register(mux, p, a.adminRoutes())
	return &prefixHandler{prefix: p, mux: a.Guard(p, mux)}
}

func (a *Adapter) register(r Router, prefix string, rs []route) {
	for _, rt := range rs {
		method, path := rt.split()
		r.Handle(method+" "+prefix+path, &routeHandler{a: a, rt: rt, prefix: prefix, pattern: method + " " + prefix + path})
	}
	if mux, ok := r.(*http.ServeMux); ok {
		a.fallbackOn(mux, prefix, rs)
	}
}
