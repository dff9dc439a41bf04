package httpadapter

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// CredentialKind is the kind of credential a Principal authenticated with.
type CredentialKind uint8

// The credential kinds (DESIGN.md "HTTP adapter").
const (
	// User is a user access token acting for one subject and carrying
	// scopes: the verification status API's user authorization token and the OAuth / identity
	// access tokens of the pending request and identity verification routes are this one kind.
	User CredentialKind = iota + 1
	// APIKey is a standard API key ("sk-..."): the host's backend acting for
	// the user named in the X-User-Identifier header.
	APIKey
	// AgentKey is an agent key ("ak-..."): acts for one subject, carries
	// scopes (identity verification).
	AgentKey
	// Admin is an admin user's token: admin routes only, optionally limited
	// to the clients carrying one of its tags (the admin history).
	Admin
)

// String returns the kind's name as logged: "user", "api_key", "agent_key"
// or "admin".
func (k CredentialKind) String() string {
	switch k {
	case User:
		return "user"
	case APIKey:
		return "api_key"
	case AgentKey:
		return "agent_key"
	case Admin:
		return "admin"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

func (k CredentialKind) valid() bool { return k >= User && k <= Admin }

// Principal is who a request acts as, as the host's Authenticator sees it.
type Principal struct {
	// Credential is the credential kind.
	Credential CredentialKind
	// SubjectID is the subject (clientId) a User or AgentKey principal acts
	// for; unused for APIKey (the X-User-Identifier header names the
	// subject) and Admin.
	SubjectID int64
	// Scopes are the token's OAuth-style scopes (User and AgentKey).
	Scopes []string
	// AdminID is the admin user's id (Admin): recorded as userId on the
	// grants and reviews the admin causes.
	AdminID int64
	// AdminTags limits an Admin to the clients carrying at least one of
	// these tags. nil means the admin sees every client; an empty non-nil
	// slice means it sees none.
	AdminTags []string
}

// HasScope reports whether the principal carries scope.
func (p Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// validate reports what is wrong with a principal an Authenticator returned.
func (p Principal) validate() error {
	switch {
	case !p.Credential.valid():
		return fmt.Errorf("principal has an unknown kind %d", p.Credential)
	case (p.Credential == User || p.Credential == AgentKey) && p.SubjectID <= 0:
		return fmt.Errorf("%s principal without a positive SubjectID", p.Credential)
	case p.Credential == Admin && p.AdminID <= 0:
		return errors.New("admin principal without a positive AdminID")
	}
	return nil
}

// Sentinel errors an Authenticator returns (wrapped or not); the adapter
// answers each in the route's dialect (see the package documentation for
// the ER7xx/ER8xx codes). Any other error is an internal failure (ER999).
var (
	// ErrNoCredentials: the request carries no credential.
	ErrNoCredentials = errors.New("httpadapter: no credentials")
	// ErrCredentialsExpired: the credential was valid but has expired.
	ErrCredentialsExpired = errors.New("httpadapter: credentials expired")
	// ErrCredentialsInvalid: the credential is malformed, unknown or revoked.
	ErrCredentialsInvalid = errors.New("httpadapter: credentials invalid")
	// ErrMultipleMethods: more than one authentication method was used on
	// one request (catalog ER803).
	ErrMultipleMethods = errors.New("httpadapter: more than one authentication method")
)

// Authenticator maps a request to the Principal it acts as. The host
// implements it over its own sessions, OAuth server or key table; it must
// not read the request body. It returns one of the sentinel errors above
// when the request is not authenticated.
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (Principal, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (Principal, error) { return f(r) }

// Request headers and parameters the adapter reads.
const (
	// HeaderAuthorization carries "Bearer <token>": a user token, an API
	// key (sk-), an agent key (ak-) or an admin token.
	HeaderAuthorization = "Authorization"
	// HeaderAPIKey carries an API key on its own (an alternative method).
	HeaderAPIKey = "X-API-Key"
	// ParamAccessToken is the RFC 6750 query parameter carrying a token (an
	// alternative method; avoid it, URLs end up in logs). Query validation
	// skips it.
	ParamAccessToken = "access_token"
	// HeaderUserIdentifier names the user an API key acts for (the verification status API).
	HeaderUserIdentifier = "X-User-Identifier"
	// HeaderIdempotencyKey makes a POST safe to retry.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderIdempotentReplayed is set to "true" on a replayed response.
	HeaderIdempotentReplayed = "Idempotent-Replayed"
	// HeaderRequestID correlates a request with its access log line; the
	// client's value is kept when well formed, otherwise one is generated.
	HeaderRequestID = "X-Request-Id"
)

// apiKeyHeaderKey is HeaderAPIKey in net/http's canonical form
// ("X-Api-Key"), the key a parsed request's Header holds it under: looked
// up directly, so that Header.Values does not canonicalize (and allocate)
// the name on every request.
var apiKeyHeaderKey = http.CanonicalHeaderKey(HeaderAPIKey)

// Prefixes of key credentials (as identity verification uses them).
const (
	APIKeyPrefix   = "sk-"
	AgentKeyPrefix = "ak-"
)

// Credential returns the single credential the request presents, for
// Authenticators that look tokens up themselves. An authentication method
// is one non-empty occurrence of: the Authorization header (which must read
// "Bearer <credential>"), the X-API-Key header, or the access_token query
// parameter. It returns ErrNoCredentials when there is none,
// ErrMultipleMethods when there are several (two Authorization headers
// count as two), and ErrCredentialsInvalid for an Authorization header of
// another scheme or without a credential.
func Credential(r *http.Request) (string, error) {
	var buf [2]string // one credential, or two to refuse: no allocation
	found := buf[:0]
	invalid := false
	for _, v := range r.Header.Values(HeaderAuthorization) {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		scheme, tok, ok := strings.Cut(v, " ")
		tok = strings.TrimSpace(tok)
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			invalid = true
			found = append(found, "")
			continue
		}
		found = append(found, tok)
	}
	for _, v := range r.Header[apiKeyHeaderKey] {
		if v = strings.TrimSpace(v); v != "" {
			found = append(found, v)
		}
	}
	if r.URL != nil && strings.Contains(r.URL.RawQuery, ParamAccessToken) {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		for _, v := range q[ParamAccessToken] {
			if v = strings.TrimSpace(v); v != "" {
				found = append(found, v)
			}
		}
	}
	switch {
	case len(found) == 0:
		return "", ErrNoCredentials
	case len(found) > 1:
		return "", ErrMultipleMethods
	case invalid:
		return "", ErrCredentialsInvalid
	}
	return found[0], nil
}

// presented classifies the credential a request shows, to pick the ER7xx/ER8xx code for an authentication failure: API keys get ER80[56], other
// tokens on user routes ER70[0-2], on other routes ER80[0-2].
type presented uint8

const (
	presentedNone presented = iota
	presentedToken
	presentedAPIKey
	presentedAgentKey
)

func presentation(r *http.Request) presented {
	for _, v := range r.Header[apiKeyHeaderKey] {
		if strings.TrimSpace(v) != "" {
			return presentedAPIKey
		}
	}
	tok := ""
	for _, v := range r.Header.Values(HeaderAuthorization) {
		if v = strings.TrimSpace(v); v != "" {
			_, tok, _ = strings.Cut(v, " ")
			tok = strings.TrimSpace(tok)
			if tok == "" {
				tok = v
			}
			break
		}
	}
	if tok == "" && r.URL != nil && strings.Contains(r.URL.RawQuery, ParamAccessToken) {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		tok = strings.TrimSpace(q.Get(ParamAccessToken))
	}
	switch {
	case tok == "":
		return presentedNone
	case strings.HasPrefix(tok, APIKeyPrefix):
		return presentedAPIKey
	case strings.HasPrefix(tok, AgentKeyPrefix):
		return presentedAgentKey
	}
	return presentedToken
}

// StaticToken is one entry of a StaticAuthenticator's table.
type StaticToken struct {
	// Principal is who the token authenticates as.
	Principal Principal
	// ExpiresAt, when non-zero, is the instant from which the token answers
	// ErrCredentialsExpired.
	ExpiresAt time.Time
}

// StaticAuthenticator authenticates with a fixed table of tokens: for
// tests, the demo server and small internal deployments. Tokens are kept
// as SHA-256 digests. It is safe for concurrent use.
type StaticAuthenticator struct {
	now    func() time.Time
	mu     sync.RWMutex
	tokens map[[sha256.Size]byte]StaticToken
}

// NewStaticAuthenticator returns an authenticator for tokens (token ->
// entry), reading the time from nowFunc (time.Now when nil). It fails if a
// token is empty or an entry's principal is incomplete (see Add).
func NewStaticAuthenticator(tokens map[string]StaticToken, nowFunc func() time.Time) (*StaticAuthenticator, error) {
	if nowFunc == nil {
		nowFunc = time.Now
	}
	a := &StaticAuthenticator{now: nowFunc, tokens: make(map[[sha256.Size]byte]StaticToken, len(tokens))}
	for tok, e := range tokens {
		if err := a.Add(tok, e); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Add adds or replaces a token. A User or AgentKey principal needs a
// positive SubjectID, an Admin a positive AdminID.
func (a *StaticAuthenticator) Add(token string, e StaticToken) error {
	if strings.TrimSpace(token) == "" || strings.ContainsAny(token, " \t\r\n") {
		return errors.New("httpadapter: static token must be non-empty and without spaces")
	}
	if err := e.Principal.validate(); err != nil {
		return fmt.Errorf("httpadapter: static token: %w", err)
	}
	e.Principal.Scopes = slices.Clone(e.Principal.Scopes)
	if e.Principal.AdminTags != nil {
		e.Principal.AdminTags = append([]string{}, e.Principal.AdminTags...)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[sha256.Sum256([]byte(token))] = e
	return nil
}

// Remove revokes a token.
func (a *StaticAuthenticator) Remove(token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.tokens, sha256.Sum256([]byte(token)))
}

// Authenticate implements Authenticator (see Credential for the methods).
func (a *StaticAuthenticator) Authenticate(r *http.Request) (Principal, error) {
	tok, err := Credential(r)
	if err != nil {
		return Principal{}, err
	}
	a.mu.RLock()
	e, ok := a.tokens[sha256.Sum256([]byte(tok))]
	a.mu.RUnlock()
	if !ok {
		return Principal{}, ErrCredentialsInvalid
	}
	if !e.ExpiresAt.IsZero() && !a.now().Before(e.ExpiresAt) {
		return Principal{}, ErrCredentialsExpired
	}
	p := e.Principal
	p.Scopes = slices.Clone(p.Scopes)
	if p.AdminTags != nil {
		p.AdminTags = append([]string{}, p.AdminTags...)
	}
	return p, nil
}

type ctxKey uint8

const (
	principalKey ctxKey = iota
	authErrKey
)

// WithPrincipal returns ctx carrying p: for hosts whose middleware
// authenticates before the adapter (see ContextAuthenticator). The adapter
// also stores the principal it authenticated this way in the context a
// route passes to the service, so code the service calls with it (a hook,
// an observer) can call PrincipalFromContext.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// WithAuthError returns ctx carrying the reason the host's middleware
// refused the request's credentials (one of the sentinel errors), so that
// ContextAuthenticator reports it and the adapter answers it in the route's
// dialect.
func WithAuthError(ctx context.Context, err error) context.Context {
	return context.WithValue(ctx, authErrKey, err)
}

// PrincipalFromContext returns the principal stored by WithPrincipal.
func PrincipalFromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey).(Principal)
	return p, ok
}

// ContextAuthenticator authenticates with the principal the host's
// middleware stored in the request context with WithPrincipal. A request
// without one fails with the error stored by WithAuthError, or
// ErrNoCredentials.
type ContextAuthenticator struct{}

// Authenticate implements Authenticator.
func (ContextAuthenticator) Authenticate(r *http.Request) (Principal, error) {
	if p, ok := PrincipalFromContext(r.Context()); ok {
		return p, nil
	}
	if err, ok := r.Context().Value(authErrKey).(error); ok && err != nil {
		return Principal{}, err
	}
	return Principal{}, ErrNoCredentials
}
