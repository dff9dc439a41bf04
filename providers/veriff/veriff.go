package veriff

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/internal/outbound"
	"github.com/openkyc/kyc/providers/internal/wire"
)

// Name is the provider's name in decisions and routes.
const Name = "veriff"

// DefaultBaseURL is Veriff's public API host. Integrations may be given
// another one in the Customer Portal; configure it with Config.BaseURL.
const DefaultBaseURL = "https://stationapi.veriff.com"

// The headers Veriff's scheme uses.
const (
	// HeaderSignature carries the hex HMAC-SHA256 of the raw body (webhooks,
	// POST requests) or of the id in the path (GET requests).
	HeaderSignature = "X-HMAC-SIGNATURE"
	// HeaderSignatureAlt is the header name some Veriff APIs use instead.
	HeaderSignatureAlt = "VRF-HMAC-SIGNATURE"
	// HeaderAuthClient carries the integration's API key.
	HeaderAuthClient = "X-AUTH-CLIENT"
)

// Config configures the adapter.
type Config struct {
	// APIKey is the integration's API key (X-AUTH-CLIENT). Required.
	APIKey string
	// SharedSecret is the integration's shared secret key, the HMAC key of
	// every signature. Required.
	SharedSecret string
	// BaseURL is the API's base URL; default DefaultBaseURL.
	BaseURL string
	// HTTP configures outbound calls (timeouts, retries, client).
	HTTP providers.HTTPOptions
}

// Provider is the Veriff adapter. It implements providers.Provider and
// providers.MediaFetcher and is safe for concurrent use.
type Provider struct {
	apiKey []byte
	secret []byte
	client *outbound.Client
}

var (
	_ providers.Provider     = (*Provider)(nil)
	_ providers.MediaFetcher = (*Provider)(nil)
)

// New returns the adapter; the error names the missing or invalid setting.
func New(cfg Config) (*Provider, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("veriff: Config.APIKey is required")
	}
	if cfg.SharedSecret == "" {
		return nil, errors.New("veriff: Config.SharedSecret is required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	c, err := outbound.New(Name, cfg.BaseURL, cfg.HTTP)
	if err != nil {
		return nil, err
	}
	return &Provider{apiKey: []byte(cfg.APIKey), secret: []byte(cfg.SharedSecret), client: c}, nil
}

// Name returns "veriff".
func (p *Provider) Name() string { return Name }

// Sign returns the X-HMAC-SIGNATURE Veriff expects for msg: the raw body of
// a webhook or POST request, or the id in the path of a GET request. Tests
// and demos use it to sign deliveries as Veriff would.
func (p *Provider) Sign(msg []byte) string { return providers.SignHMAC(sha256.New, p.secret, msg) }

// Verify checks a webhook delivery: X-AUTH-CLIENT must be the configured
// API key and X-HMAC-SIGNATURE (or VRF-HMAC-SIGNATURE) the hex HMAC-SHA256
// of the raw body under the shared secret. Both comparisons take constant
// time. Errors match providers.ErrBadSignature.
func (p *Provider) Verify(header http.Header, body []byte) error {
	sig := header.Get(HeaderSignature)
	if sig == "" {
		sig = header.Get(HeaderSignatureAlt)
	}
	if sig == "" {
		return fmt.Errorf("%w: no %s header", providers.ErrBadSignature, HeaderSignature)
	}
	if subtle.ConstantTimeCompare([]byte(header.Get(HeaderAuthClient)), p.apiKey) != 1 {
		return fmt.Errorf("%w: %s is not this integration's API key", providers.ErrBadSignature, HeaderAuthClient)
	}
	return providers.VerifyHMAC(sha256.New, p.secret, body, sig)
}

// payload is the union of Veriff's decision webhook (and decision API
// answer) and event webhook bodies.
type payload struct {
	Status       string        `json:"status"`
	Verification *verification `json:"verification"`
	// The event webhook's members.
	ID         wire.String `json:"id"`
	AttemptID  wire.String `json:"attemptId"`
	Code       wire.String `json:"code"`
	Action     wire.String `json:"action"`
	VendorData wire.String `json:"vendorData"`
}

type verification struct {
	ID             wire.String `json:"id"`
	AttemptID      wire.String `json:"attemptId"`
	Code           wire.String `json:"code"`
	Status         wire.String `json:"status"`
	Reason         wire.String `json:"reason"`
	ReasonCode     wire.String `json:"reasonCode"`
	DecisionTime   wire.String `json:"decisionTime"`
	AcceptanceTime wire.String `json:"acceptanceTime"`
	VendorData     wire.String `json:"vendorData"`
	Document       *struct {
		Type       wire.String `json:"type"`
		Number     wire.String `json:"number"`
		Country    wire.String `json:"country"`
		ValidUntil wire.String `json:"validUntil"`
	} `json:"document"`
}

// Parse reads a verified decision webhook (a "verification" object) or
// event webhook ("id" and "action") into one decision; see the package
// docs for the mapping and the event keys. Event webhooks other than
// "started" and "submitted" give no decision.
func (p *Provider) Parse(body []byte) ([]providers.Decision, error) {
	var pl payload
	if err := json.Unmarshal(body, &pl); err != nil {
		return nil, providers.MalformedPayload(Name, "not the documented JSON object: %v", jsonProblem(err))
	}
	if pl.Verification != nil {
		d, err := decisionFrom(pl.Verification)
		if err != nil {
			return nil, err
		}
		return []providers.Decision{d}, nil
	}
	if pl.ID != "" && pl.Action != "" {
		return eventFrom(pl)
	}
	return nil, providers.MalformedPayload(Name, `neither a decision ("verification") nor an event ("id", "action")`)
}

func decisionFrom(v *verification) (providers.Decision, error) {
	if v.ID == "" {
		return providers.Decision{}, providers.MalformedPayload(Name, "verification.id is missing")
	}
	outcome, final, ok := outcomeOf(string(v.Status), string(v.Code))
	if !ok {
		return providers.Decision{}, providers.MalformedPayload(Name, "verification.status %q / code %q is not a documented status", v.Status, v.Code)
	}
	at, err := wire.Time(string(v.DecisionTime))
	if err != nil {
		return providers.Decision{}, providers.MalformedPayload(Name, "verification.decisionTime is not an RFC 3339 time")
	}
	if at.IsZero() {
		if at, err = wire.Time(string(v.AcceptanceTime)); err != nil {
			return providers.Decision{}, providers.MalformedPayload(Name, "verification.acceptanceTime is not an RFC 3339 time")
		}
	}
	d := providers.Decision{
		Provider:   Name,
		EventKey:   providers.DeriveEventKey(Name, "decision", string(v.ID), string(v.AttemptID), string(v.Status), string(v.Code), string(v.DecisionTime), string(v.AcceptanceTime)),
		SessionID:  string(v.ID),
		AttemptID:  string(v.AttemptID),
		SubjectRef: string(v.VendorData),
		Outcome:    outcome,
		Final:      final,
		Reason:     string(v.Reason),
		OccurredAt: at,
	}
	if v.ReasonCode != "" {
		d.ReasonCodes = []string{string(v.ReasonCode)}
	}
	if doc := v.Document; doc != nil {
		d.Document = providers.DocumentFacts{
			Type:       string(doc.Type),
			Number:     string(doc.Number),
			Country:    string(doc.Country),
			ValidUntil: wire.Date(string(doc.ValidUntil)),
		}
	}
	return d, nil
}

func eventFrom(pl payload) ([]providers.Decision, error) {
	var outcome providers.Outcome
	switch pl.Action {
	case "started":
		outcome = providers.OutcomeStarted
	case "submitted":
		outcome = providers.OutcomeSubmitted
	default:
		return nil, nil
	}
	return []providers.Decision{{
		Provider:   Name,
		EventKey:   providers.DeriveEventKey(Name, "event", string(pl.ID), string(pl.AttemptID), string(pl.Action), string(pl.Code)),
		SessionID:  string(pl.ID),
		AttemptID:  string(pl.AttemptID),
		SubjectRef: string(pl.VendorData),
		Outcome:    outcome,
	}}, nil
}

// outcomeOf maps Veriff's status label, or its code when the label is
// missing, to an outcome and finality (the status codes table).
func outcomeOf(status, code string) (providers.Outcome, bool, bool) {
	switch status {
	case "approved":
		return providers.OutcomeApproved, true, true
	case "declined":
		return providers.OutcomeDeclined, true, true
	case "resubmission_requested":
		return providers.OutcomeResubmissionRequested, false, true
	case "expired", "abandoned":
		return providers.OutcomeExpired, true, true
	case "review":
		return providers.OutcomeReview, false, true
	case "submitted":
		return providers.OutcomeSubmitted, false, true
	case "started":
		return providers.OutcomeStarted, false, true
	case "":
	default:
		return "", false, false
	}
	switch code {
	case "9001":
		return providers.OutcomeApproved, true, true
	case "9102":
		return providers.OutcomeDeclined, true, true
	case "9103":
		return providers.OutcomeResubmissionRequested, false, true
	case "9104":
		return providers.OutcomeExpired, true, true
	case "9121":
		return providers.OutcomeReview, false, true
	case "7002":
		return providers.OutcomeSubmitted, false, true
	case "7001":
		return providers.OutcomeStarted, false, true
	}
	return "", false, false
}

// jsonProblem describes a decoding error without quoting the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return fmt.Sprintf("%s has the wrong type", te.Field)
	}
	return "cannot decode"
}

// StartSession creates a session with POST /v1/sessions: vendorData is
// p.SubjectRef, callback p.ReturnURL, person the names when given. The
// answer's verification.id and verification.url are the session id and
// the URL to send the user to. Locale is not sent (the user picks the
// language in Veriff's flow).
func (p *Provider) StartSession(ctx context.Context, sp providers.StartParams) (providers.Session, error) {
	if err := sp.Validate(); err != nil {
		return providers.Session{}, err
	}
	type person struct {
		FirstName string `json:"firstName,omitempty"`
		LastName  string `json:"lastName,omitempty"`
	}
	var req struct {
		Verification struct {
			Callback   string  `json:"callback,omitempty"`
			Person     *person `json:"person,omitempty"`
			VendorData string  `json:"vendorData"`
		} `json:"verification"`
	}
	req.Verification.Callback = sp.ReturnURL
	req.Verification.VendorData = sp.SubjectRef
	if sp.FirstName != "" || sp.LastName != "" {
		req.Verification.Person = &person{FirstName: sp.FirstName, LastName: sp.LastName}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return providers.Session{}, providers.InvalidParams("cannot encode the session request")
	}
	var answer struct {
		Status       string `json:"status"`
		Verification *struct {
			ID  string `json:"id"`
			URL string `json:"url"`
		} `json:"verification"`
	}
	op := "POST /v1/sessions"
	if err := p.client.JSON(ctx, p.request(op, http.MethodPost, "/v1/sessions", body, body), &answer); err != nil {
		return providers.Session{}, err
	}
	if answer.Verification == nil || answer.Verification.ID == "" || answer.Verification.URL == "" {
		return providers.Session{}, badAnswer(op, "verification.id and verification.url are required")
	}
	if err := outbound.CheckID("session id", answer.Verification.ID); err != nil {
		return providers.Session{}, badAnswer(op, "verification.id is not a valid id")
	}
	return providers.Session{
		Provider:   Name,
		ID:         answer.Verification.ID,
		URL:        answer.Verification.URL,
		SubjectRef: sp.SubjectRef,
	}, nil
}

// FetchDecision polls GET /v1/sessions/{id}/decision, Veriff's fallback
// when webhook delivery fails. The answer has the decision webhook's shape,
// so a decision fetched here has the same EventKey as the same decision
// delivered by webhook, and applying both is a no-op the second time. It
// returns no decision while Veriff has none ("verification": null).
func (p *Provider) FetchDecision(ctx context.Context, sessionID string) ([]providers.Decision, error) {
	if err := outbound.CheckID("session id", sessionID); err != nil {
		return nil, err
	}
	op := "GET /v1/sessions/{id}/decision"
	var pl payload
	if err := p.client.JSON(ctx, p.request(op, http.MethodGet, "/v1/sessions/"+sessionID+"/decision", nil, []byte(sessionID)), &pl); err != nil {
		return nil, err
	}
	if pl.Verification == nil {
		return nil, nil
	}
	d, err := decisionFrom(pl.Verification)
	if err != nil {
		return nil, badAnswer(op, err.Error())
	}
	return []providers.Decision{d}, nil
}

// The media contexts Veriff labels images with, and the kinds they are.
var mediaContexts = []struct {
	context string
	kind    providers.MediaKind
}{
	{"document-front", providers.MediaFront},
	{"document-back", providers.MediaBack},
	{"face", providers.MediaFace},
}

// ListMedia lists a session's images with GET /v1/sessions/{id}/media
// (signed over the session id): for each of the contexts document-front,
// document-back and face, the first image Veriff lists (Veriff sorts them
// best first). The "-pre" and other contexts are left out.
func (p *Provider) ListMedia(ctx context.Context, sessionID string) ([]providers.Media, error) {
	if err := outbound.CheckID("session id", sessionID); err != nil {
		return nil, err
	}
	op := "GET /v1/sessions/{id}/media"
	var answer struct {
		Status string `json:"status"`
		Images *[]struct {
			ID       string      `json:"id"`
			Context  string      `json:"context"`
			Mimetype string      `json:"mimetype"`
			Size     wire.String `json:"size"`
		} `json:"images"`
	}
	if err := p.client.JSON(ctx, p.request(op, http.MethodGet, "/v1/sessions/"+sessionID+"/media", nil, []byte(sessionID)), &answer); err != nil {
		return nil, err
	}
	if answer.Images == nil {
		return nil, badAnswer(op, "images is missing")
	}
	var out []providers.Media
	for _, c := range mediaContexts {
		for _, img := range *answer.Images {
			if img.Context != c.context {
				continue
			}
			if outbound.CheckID("media id", img.ID) != nil {
				return nil, badAnswer(op, "an image has no valid id")
			}
			size, _ := strconv.ParseInt(string(img.Size), 10, 64)
			out = append(out, providers.Media{ID: img.ID, Kind: c.kind, ContentType: img.Mimetype, Size: max(size, 0)})
			break
		}
	}
	return out, nil
}

// OpenMedia streams an image with GET /v1/media/{id}, signed over the media
// id. The caller closes the stream.
func (p *Provider) OpenMedia(ctx context.Context, m providers.Media) (io.ReadCloser, error) {
	if err := outbound.CheckID("media id", m.ID); err != nil {
		return nil, err
	}
	body, _, err := p.client.Stream(ctx, p.request("GET /v1/media/{id}", http.MethodGet, "/v1/media/"+m.ID, nil, []byte(m.ID)))
	return body, err
}

// request builds an API call signed over signed (the body, or the id in
// the path) with X-AUTH-CLIENT set.
func (p *Provider) request(op, method, path string, body, signed []byte) outbound.Request {
	h := http.Header{}
	h.Set(HeaderAuthClient, string(p.apiKey))
	h.Set(HeaderSignature, p.Sign(signed))
	// Veriff's documentation asks for this content type on every API request.
	h.Set("Content-Type", "application/json")
	return outbound.Request{Op: op, Method: method, Path: path, Body: body, Header: h}
}

func badAnswer(op, msg string) error {
	return &providers.CallError{Provider: Name, Op: op, StatusCode: http.StatusOK, Err: providers.ErrBadResponse, Cause: errors.New(msg)}
}
