package fake

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/internal/sample"
	"github.com/openkyc/kyc/providers/internal/wire"
)

// Name is the provider's name in decisions and routes.
const Name = "fake"

// HeaderSignature carries the hex HMAC-SHA256 of the raw body under the
// configured secret.
const HeaderSignature = "X-Fake-Signature"

// ErrUnknownSession: Decide was asked about a session StartSession never
// created.
var ErrUnknownSession = errors.New("fake: unknown session")

// Config configures the fake provider.
type Config struct {
	// Secret signs and verifies webhooks. Required.
	Secret string
	// BaseURL is where Handler is reachable, e.g.
	// "http://127.0.0.1:8080/fake-provider"; session URLs are
	// BaseURL + "/sessions/{id}". Required.
	BaseURL string
	// WebhookURL is where the session page's buttons deliver decisions;
	// empty disables delivery from the page (Deliver still works).
	WebhookURL string
	// Client sends deliveries; default a client with a 10 s timeout.
	Client *http.Client
	// Now stamps decisions; default time.Now.
	Now func() time.Time
	// NewID makes session and event ids; default 16 random bytes in hex.
	NewID func() string
}

// Provider is a provider for tests and demos, with a sandbox's forced
// outcomes: StartSession returns a local URL, Decide makes a decision with
// the outcome the test wants, Deliver posts it signed to a webhook route.
// It implements providers.Provider and providers.MediaFetcher and is safe
// for concurrent use. Never expose Handler in production: anyone who can
// reach it can approve a session.
type Provider struct {
	secret     []byte
	base       *url.URL
	webhookURL string
	client     *http.Client
	now        func() time.Time
	newID      func() string

	mu       sync.Mutex
	sessions map[string]string // id -> subject reference
}

var (
	_ providers.Provider     = (*Provider)(nil)
	_ providers.MediaFetcher = (*Provider)(nil)
)

// New returns the fake provider; the error names the missing or invalid setting.
func New(cfg Config) (*Provider, error) {
	if cfg.Secret == "" {
		return nil, errors.New("fake: Config.Secret is required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("fake: Config.BaseURL %q must be an absolute http(s) URL without a query", cfg.BaseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = randomID
	}
	return &Provider{
		secret: []byte(cfg.Secret), base: u, webhookURL: cfg.WebhookURL, client: cfg.Client,
		now: cfg.Now, newID: cfg.NewID, sessions: map[string]string{},
	}, nil
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Name returns "fake".
func (p *Provider) Name() string { return Name }

// Sign returns the X-Fake-Signature of body.
func (p *Provider) Sign(body []byte) string { return providers.SignHMAC(sha256.New, p.secret, body) }

// Verify checks X-Fake-Signature, the hex HMAC-SHA256 of the raw body, in
// constant time. Errors match providers.ErrBadSignature.
func (p *Provider) Verify(header http.Header, body []byte) error {
	sig := header.Get(HeaderSignature)
	if sig == "" {
		return fmt.Errorf("%w: no %s header", providers.ErrBadSignature, HeaderSignature)
	}
	return providers.VerifyHMAC(sha256.New, p.secret, body, sig)
}

// event is the fake provider's webhook body: one decision, with an event
// id (unlike the real providers), so EventKey = "fake:" + eventId.
type event struct {
	EventID     string      `json:"eventId"`
	SessionID   string      `json:"sessionId"`
	AttemptID   string      `json:"attemptId,omitempty"`
	SubjectRef  string      `json:"subjectRef,omitempty"`
	Outcome     string      `json:"outcome"`
	Final       bool        `json:"final"`
	ReasonCodes []string    `json:"reasonCodes,omitempty"`
	Reason      string      `json:"reason,omitempty"`
	Document    *document   `json:"document,omitempty"`
	OccurredAt  wire.String `json:"occurredAt,omitempty"`
}

type document struct {
	Type       string `json:"type,omitempty"`
	Country    string `json:"country,omitempty"`
	Number     string `json:"number,omitempty"`
	ValidUntil string `json:"validUntil,omitempty"`
}

// Encode returns the webhook body for d (which must be one of this
// provider's decisions, with an EventKey of the form "fake:<eventId>").
func (p *Provider) Encode(d providers.Decision) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	id, ok := strings.CutPrefix(d.EventKey, Name+":")
	if d.Provider != Name || !ok || id == "" {
		return nil, fmt.Errorf("fake: Encode: decision of provider %q with event key %q is not a fake decision", d.Provider, d.EventKey)
	}
	ev := event{
		EventID: id, SessionID: d.SessionID, AttemptID: d.AttemptID, SubjectRef: d.SubjectRef,
		Outcome: string(d.Outcome), Final: d.Final, ReasonCodes: d.ReasonCodes, Reason: d.Reason,
	}
	if !d.OccurredAt.IsZero() {
		ev.OccurredAt = wire.String(d.OccurredAt.UTC().Format(time.RFC3339Nano))
	}
	if !d.Document.IsZero() {
		ev.Document = &document{Type: d.Document.Type, Country: d.Document.Country, Number: d.Document.Number}
		if !d.Document.ValidUntil.IsZero() {
			ev.Document.ValidUntil = d.Document.ValidUntil.Format(time.DateOnly)
		}
	}
	return json.Marshal(ev)
}

// Parse reads a verified body Encode produced. Unknown members are refused.
func (p *Provider) Parse(body []byte) ([]providers.Decision, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var ev event
	if err := dec.Decode(&ev); err != nil {
		return nil, providers.MalformedPayload(Name, "not the fake provider's event object")
	}
	if dec.More() {
		return nil, providers.MalformedPayload(Name, "data after the event object")
	}
	at, err := wire.Time(string(ev.OccurredAt))
	if err != nil {
		return nil, providers.MalformedPayload(Name, "occurredAt is not an RFC 3339 time")
	}
	d := providers.Decision{
		Provider: Name, EventKey: Name + ":" + ev.EventID, SessionID: ev.SessionID, AttemptID: ev.AttemptID,
		SubjectRef: ev.SubjectRef, Outcome: providers.Outcome(ev.Outcome), Final: ev.Final,
		ReasonCodes: ev.ReasonCodes, Reason: ev.Reason, OccurredAt: at,
	}
	if ev.EventID == "" {
		d.EventKey = ""
	}
	if doc := ev.Document; doc != nil {
		d.Document = providers.DocumentFacts{Type: doc.Type, Country: doc.Country, Number: doc.Number, ValidUntil: wire.Date(doc.ValidUntil)}
	}
	if err := d.Validate(); err != nil {
		return nil, providers.MalformedPayload(Name, "%v", err)
	}
	return []providers.Decision{d}, nil
}

// StartSession records a session for p.SubjectRef and returns its page,
// BaseURL + "/sessions/{id}". Nothing goes over the network.
func (p *Provider) StartSession(ctx context.Context, sp providers.StartParams) (providers.Session, error) {
	if err := sp.Validate(); err != nil {
		return providers.Session{}, err
	}
	if err := ctx.Err(); err != nil {
		return providers.Session{}, err
	}
	id := p.newID()
	p.mu.Lock()
	p.sessions[id] = sp.SubjectRef
	p.mu.Unlock()
	return providers.Session{Provider: Name, ID: id, URL: p.base.String() + "/sessions/" + url.PathEscape(id), SubjectRef: sp.SubjectRef}, nil
}

// Decide is the sandbox's forced outcome: a decision for a session
// StartSession created, with outcome o, Final = o.Final(), a new event id
// and OccurredAt = now. Adjust the fields (reasons, document, time) before
// Encode or Deliver if the test needs them. Unknown sessions give
// ErrUnknownSession, invalid outcomes providers.ErrInvalidParams.
func (p *Provider) Decide(sessionID string, o providers.Outcome) (providers.Decision, error) {
	if !o.Valid() {
		return providers.Decision{}, providers.InvalidParams(fmt.Sprintf("fake: unknown outcome %q", o))
	}
	p.mu.Lock()
	ref, ok := p.sessions[sessionID]
	p.mu.Unlock()
	if !ok {
		return providers.Decision{}, ErrUnknownSession
	}
	return providers.Decision{
		Provider: Name, EventKey: Name + ":" + p.newID(), SessionID: sessionID, AttemptID: sessionID + "-1",
		SubjectRef: ref, Outcome: o, Final: o.Final(), OccurredAt: p.now().UTC(),
	}, nil
}

// NewWebhookRequest builds the signed POST delivering d to target.
func (p *Provider) NewWebhookRequest(ctx context.Context, target string, d providers.Decision) (*http.Request, error) {
	body, err := p.Encode(d)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderSignature, p.Sign(body))
	return req, nil
}

// Deliver posts d, signed, to target and returns the route's status. A
// non-2xx status gives an error matching providers.ErrRejected (4xx) or
// providers.ErrUnavailable (5xx, or no answer).
func (p *Provider) Deliver(ctx context.Context, target string, d providers.Decision) (int, error) {
	req, err := p.NewWebhookRequest(ctx, target, d)
	if err != nil {
		return 0, err
	}
	res, err := p.client.Do(req)
	if err != nil {
		return 0, &providers.CallError{Provider: Name, Op: "POST webhook", Attempts: 1, Err: providers.ErrUnavailable, Cause: errors.New("no answer")}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
	res.Body.Close()
	switch {
	case res.StatusCode >= 200 && res.StatusCode <= 299:
		return res.StatusCode, nil
	case res.StatusCode >= 500:
		return res.StatusCode, &providers.CallError{Provider: Name, Op: "POST webhook", StatusCode: res.StatusCode, Attempts: 1, Err: providers.ErrUnavailable}
	default:
		return res.StatusCode, &providers.CallError{Provider: Name, Op: "POST webhook", StatusCode: res.StatusCode, Attempts: 1, Err: providers.ErrRejected}
	}
}

var mediaKinds = []providers.MediaKind{providers.MediaFront, providers.MediaBack, providers.MediaFace}

// ListMedia lists a front, a back and a face PNG for any session
// StartSession created (ErrUnknownSession otherwise).
func (p *Provider) ListMedia(ctx context.Context, sessionID string) ([]providers.Media, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	_, ok := p.sessions[sessionID]
	p.mu.Unlock()
	if !ok {
		return nil, ErrUnknownSession
	}
	out := make([]providers.Media, 0, len(mediaKinds))
	for _, k := range mediaKinds {
		out = append(out, providers.Media{ID: sessionID + "." + string(k), Kind: k, ContentType: "image/png", Size: int64(len(picture(k)))})
	}
	return out, nil
}

// OpenMedia streams one of ListMedia's pictures.
func (p *Provider) OpenMedia(ctx context.Context, m providers.Media) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sessionID, kind, ok := strings.Cut(m.ID, ".")
	p.mu.Lock()
	_, known := p.sessions[sessionID]
	p.mu.Unlock()
	if !ok || !known || picture(providers.MediaKind(kind)) == nil {
		return nil, ErrUnknownSession
	}
	return io.NopCloser(bytes.NewReader(picture(providers.MediaKind(kind)))), nil
}

func picture(k providers.MediaKind) []byte {
	switch k {
	case providers.MediaFront:
		return sample.PNG(sample.Front)
	case providers.MediaBack:
		return sample.PNG(sample.Back)
	case providers.MediaFace:
		return sample.PNG(sample.Face)
	}
	return nil
}

var page = template.Must(template.New("session").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fake identity provider</title></head>
<body>
<h1>Fake identity provider (sandbox)</h1>
<p>Session {{.ID}}. Choose the outcome this session's decision webhook reports.</p>
{{if .Delivered}}<p role="status">Delivered "{{.Delivered}}": HTTP {{.Status}}.</p>{{end}}
{{if .CanDeliver}}<form method="post">
{{range .Outcomes}}<button name="outcome" value="{{.}}">{{.}}</button>
{{end}}</form>{{else}}<p>No webhook URL is configured; use Deliver from Go.</p>{{end}}
</body></html>
`))

// Handler serves the session pages under BaseURL's path: GET
// /sessions/{id} shows a button per outcome, POST /sessions/{id}
// (outcome=approved, ...) decides the session with it and delivers the
// decision to WebhookURL. For tests and demos only.
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	prefix := p.base.Path
	mux.HandleFunc("GET "+prefix+"/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		p.render(w, r.PathValue("id"), "", 0)
	})
	mux.HandleFunc("POST "+prefix+"/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		if p.webhookURL == "" {
			http.Error(w, "no webhook URL configured", http.StatusConflict)
			return
		}
		d, err := p.Decide(id, providers.Outcome(r.PostFormValue("outcome")))
		switch {
		case errors.Is(err, ErrUnknownSession):
			http.NotFound(w, r)
			return
		case err != nil:
			http.Error(w, "unknown outcome", http.StatusBadRequest)
			return
		}
		status, err := p.Deliver(r.Context(), p.webhookURL, d)
		if err != nil && status == 0 {
			http.Error(w, "the webhook route did not answer", http.StatusBadGateway)
			return
		}
		p.render(w, id, string(d.Outcome), status)
	})
	return mux
}

func (p *Provider) render(w http.ResponseWriter, id, delivered string, status int) {
	p.mu.Lock()
	_, ok := p.sessions[id]
	p.mu.Unlock()
	if !ok {
		http.Error(w, "unknown session", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, map[string]any{
		"ID": id, "Outcomes": providers.Outcomes, "CanDeliver": p.webhookURL != "",
		"Delivered": delivered, "Status": status,
	})
}
