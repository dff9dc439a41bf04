package httpadapter

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/verification"
)

// DefaultMaxWebhookBytes bounds a provider webhook's body (Options.MaxWebhookBytes).
const DefaultMaxWebhookBytes int64 = 1 << 20

// webhookRoutes lists the routes RegisterProviderWebhooks adds.
func (a *Adapter) webhookRoutes() []route {
	return []route{{RouteProviderWebhook, familyExternal, authNone, a.serveProviderWebhook}}
}

// RegisterProviderWebhooks adds RouteProviderWebhook under prefix: the
// route identity providers deliver their signed decisions to, one per
// provider of Options.Providers ({provider} is its Name). It takes no user
// credential: the provider's signature over the raw body is the
// credential, so register it where the providers can reach it, apart from
// the user and admin routes if the host likes.
func (a *Adapter) RegisterProviderWebhooks(r Router, prefix string) {
	a.register(r, cleanPrefix(prefix), a.webhookRoutes())
}

// webhookResult is one decision of a delivery in the webhook's answer.
type webhookResult struct {
	// Result is applied, stale, duplicate or unmatched.
	Result string `json:"result"`
	// EventKey identifies the decision.
	EventKey string `json:"eventKey"`
}

// serveProviderWebhook: the body is read (capped) as the provider sent it,
// the signature checked over those bytes before anything parses them, then
// each decision applied. 200 for applied, stale, duplicate and unmatched
// decisions (so the provider stops retrying), 401 for a bad signature, 400
// for a verified body the adapter cannot read, 404 for an unknown
// provider, 413 for a body over the cap, 503 when the store fails (so the
// provider retries; a retry of what was applied is a duplicate).
func (a *Adapter) serveProviderWebhook(c *call) error {
	p, ok := a.providers[c.r.PathValue("provider")]
	if !ok {
		return newProblem(pUnknownProvider)
	}
	if c.r.ContentLength > a.maxW {
		return &problem{kind: pTooLarge, detail: fmt.Sprintf("the body must be at most %d bytes", a.maxW)}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, a.maxW))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &problem{kind: pTooLarge, detail: fmt.Sprintf("the body must be at most %d bytes", a.maxW)}
		}
		return paramProblem("body", "could not be read")
	}
	if err := p.Verify(c.r.Header, body); err != nil {
		return &problem{kind: pWebhookSignature, cause: err}
	}
	decisions, err := p.Parse(body)
	if err != nil {
		return &problem{kind: pMalformedPayload, cause: err}
	}
	out := struct {
		Results []webhookResult `json:"results"`
	}{Results: []webhookResult{}}
	for _, d := range decisions {
		rec, err := a.svc.ApplyProviderDecision(c.ctx, d)
		switch {
		case errors.Is(err, verification.ErrInvalid):
			return &problem{kind: pMalformedPayload, cause: err}
		case err != nil:
			// The store (or the request's time budget) failed: 503, so the
			// provider delivers again.
			return &problem{kind: pUnavailable, cause: err}
		}
		out.Results = append(out.Results, webhookResult{Result: string(rec.Result), EventKey: d.EventKey})
	}
	c.json(http.StatusOK, out)
	return nil
}

// providerSessionBody is RouteStartProviderSession's body.
type providerSessionBody struct {
	// Provider names a provider the Service is configured with.
	Provider string `json:"provider" validate:"required,max=64"`
	// ReturnURL is where the provider sends the user back; optional.
	ReturnURL string `json:"returnUrl" validate:"omitempty,max=2048"`
}

// providerSessionJSON is RouteStartProviderSession's answer.
type providerSessionJSON struct {
	Provider  string  `json:"provider"`
	SessionID string  `json:"sessionId"`
	URL       string  `json:"url"`
	ExpiresAt *string `json:"expiresAt"`
}

// serveStartProviderSession: the wizard's extension that hands the user a
// provider's hosted session. The provider is called outside any store
// transaction, bounded by Options.ProviderTimeout; an outage answers 503.
func (a *Adapter) serveStartProviderSession(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	raw, err := c.readBody(a.maxB)
	if err != nil {
		return err
	}
	var body providerSessionBody
	if err := decodeJSON(raw, &body); err != nil {
		return err
	}
	if body.ReturnURL != "" {
		if u, err := url.Parse(body.ReturnURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return paramProblem("returnUrl", "must be an absolute http(s) URL")
		}
	}
	id, err := c.actor()
	if err != nil {
		return err
	}
	actor := verification.UserActor(id)
	if c.principal.Credential == APIKey {
		actor = verification.HostActor()
	}
	sess, err := a.svc.StartProviderSession(c.ctx, actor, verification.StartProviderSessionParams{
		SubjectID: id, Provider: body.Provider, ReturnURL: body.ReturnURL, Timeout: a.provTmo,
	})
	if errors.Is(err, verification.ErrNotFound) {
		return paramProblem("provider", "is not a configured identity provider")
	}
	if err != nil {
		return err
	}
	out := providerSessionJSON{Provider: sess.Provider, SessionID: sess.ID, URL: sess.URL}
	if !sess.ExpiresAt.IsZero() {
		t := sess.ExpiresAt.UTC().Format(time.RFC3339)
		out.ExpiresAt = &t
	}
	c.json(http.StatusCreated, out)
	return nil
}

// providerMap indexes the configured providers by name; each must be one
// the Service applies decisions of (else every delivery would fail).
func providerMap(svc *verification.Service, list []providers.Provider) (map[string]providers.Provider, error) {
	m := map[string]providers.Provider{}
	for _, p := range list {
		if p == nil || p.Name() == "" {
			return nil, errors.New("httpadapter: every provider of Options.Providers needs a name")
		}
		if _, dup := m[p.Name()]; dup {
			return nil, fmt.Errorf("httpadapter: duplicate provider %q in Options.Providers", p.Name())
		}
		if _, ok := svc.Provider(p.Name()); !ok {
			return nil, fmt.Errorf("httpadapter: provider %q of Options.Providers is not in the Service's verification.Options.Providers", p.Name())
		}
		m[p.Name()] = p
	}
	return m, nil
}
