package providers

import (
	"context"
	"io"
	"net/http"
	"time"
)

// Provider is one identity provider: it starts hosted sessions for subjects
// and turns its signed webhook deliveries into Decisions. Implementations
// are safe for concurrent use.
//
// A webhook route uses it in this order: read the raw body (capped), Verify
// the headers and the raw bytes, and only then Parse the same bytes. Never
// parse first: a signature is over the bytes the provider sent, not over a
// re-encoding of them.
type Provider interface {
	// Name is the provider's stable lower-case name, e.g. "veriff"; it is
	// Decision.Provider and the {provider} of the webhook route.
	Name() string
	// Verify checks a delivery's signature over the raw body with a
	// constant-time comparison. It returns nil or an error matching
	// ErrBadSignature.
	Verify(header http.Header, body []byte) error
	// Parse reads a verified body into decisions. A delivery the adapter
	// recognises but that carries no decision about an identity session
	// (Onfido workflow tasks, Sumsub tag changes) gives no decisions and no
	// error, so the route can answer 200 and the provider stops retrying.
	// A body not in the documented shape gives ErrMalformedPayload.
	Parse(body []byte) ([]Decision, error)
	// StartSession creates a hosted session for a subject at the provider
	// and returns where to send the user. It calls out over the network:
	// run it outside any store transaction. Errors match ErrInvalidParams,
	// ErrUnavailable, ErrRejected or ErrBadResponse.
	StartSession(ctx context.Context, p StartParams) (Session, error)
}

// StartParams describes the subject a session is started for.
type StartParams struct {
	// SubjectRef is the host's external identifier for the subject; the
	// provider echoes it in its decisions (Veriff vendorData, Sumsub
	// externalUserId). Required.
	SubjectRef string
	// FirstName and LastName are optional; providers use them to cross-check
	// the document (Onfido applicants may require them).
	FirstName string
	// LastName: see FirstName.
	LastName string
	// ReturnURL is where the provider sends the user back when the flow
	// ends; empty for the provider's configured default.
	ReturnURL string
	// Locale is an optional language for the provider's pages, e.g. "en".
	Locale string
}

// Validate reports the first invalid field; the error matches ErrInvalidParams.
func (p StartParams) Validate() error {
	if p.SubjectRef == "" {
		return InvalidParams("subject reference is required")
	}
	if len(p.SubjectRef) > 255 {
		return InvalidParams("subject reference is longer than 255 characters")
	}
	return nil
}

// Session is a hosted session the provider created.
type Session struct {
	// Provider is the adapter's name.
	Provider string
	// ID is the provider's session id; decisions carry it as Decision.SessionID.
	ID string
	// URL is where to send the user (a redirect or a link in the wizard).
	URL string
	// SubjectRef is what decisions for this session will carry as
	// Decision.SubjectRef: StartParams.SubjectRef for Veriff, Sumsub and the
	// fake provider, the applicant id for Onfido.
	SubjectRef string
	// ExpiresAt is when URL stops working, zero when the provider does not say.
	ExpiresAt time.Time
}

// MediaKind says what an image of a session shows.
type MediaKind string

// The three images an identity session keeps.
const (
	// MediaFront is the front of the identity document.
	MediaFront MediaKind = "front"
	// MediaBack is the back of the identity document (absent for passports).
	MediaBack MediaKind = "back"
	// MediaFace is the user's face (the selfie).
	MediaFace MediaKind = "face"
)

// Media describes one image a provider holds for a session.
type Media struct {
	// ID is the provider's media id, passed back to OpenMedia.
	ID string
	// Kind says what it shows.
	Kind MediaKind
	// ContentType is the provider's MIME type ("image/jpeg"), possibly empty;
	// sniff the bytes before trusting it.
	ContentType string
	// Size is the provider's announced size in bytes, 0 when unknown.
	Size int64
}

// MediaFetcher is an optional capability of a Provider (detect it with a
// type assertion): fetching a session's images after an approval, to store
// them like any uploaded file. Calls go over the network: run them in the
// background, outside store transactions.
type MediaFetcher interface {
	// ListMedia lists the session's images, at most one per kind, in the
	// order front, back, face; kinds the provider does not have are
	// missing. Errors match ErrInvalidParams, ErrUnavailable, ErrRejected or
	// ErrBadResponse.
	ListMedia(ctx context.Context, sessionID string) ([]Media, error)
	// OpenMedia streams one image. The caller must close the stream; bytes
	// are never buffered whole. Reading can fail midway (the connection
	// drops): store the stream with a writer that leaves nothing behind on
	// error.
	OpenMedia(ctx context.Context, m Media) (io.ReadCloser, error)
}

// HTTPOptions configures an adapter's outbound calls. The zero value is
// usable: net/http's default transport, a 10 s timeout per attempt, three
// attempts, backoff from 250 ms doubling up to 2 s.
type HTTPOptions struct {
	// Client sends the requests; nil for a client on http.DefaultTransport.
	// Its own Timeout, if any, also applies (and cuts media streams).
	Client *http.Client
	// Timeout bounds each attempt until the answer's headers (and, for
	// JSON answers, its body) have arrived; a media stream, once started,
	// is bounded only by the caller's context. Default 10 s.
	Timeout time.Duration
	// MaxAttempts bounds how many requests one call sends, retries
	// included; default 3. Only timeouts, connection errors, 5xx and 429
	// are retried.
	MaxAttempts int
	// InitialBackoff is the wait before the first retry, doubling for each
	// further one; default 250 ms. A Retry-After in seconds is honoured up
	// to MaxBackoff.
	InitialBackoff time.Duration
	// MaxBackoff caps each wait; default 2 s.
	MaxBackoff time.Duration
}

// Defaults for HTTPOptions.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultMaxAttempts    = 3
	DefaultInitialBackoff = 250 * time.Millisecond
	DefaultMaxBackoff     = 2 * time.Second
)

// WithDefaults returns o with every zero field set to its default.
func (o HTTPOptions) WithDefaults() HTTPOptions {
	if o.Client == nil {
		o.Client = &http.Client{Transport: http.DefaultTransport}
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.InitialBackoff <= 0 {
		o.InitialBackoff = DefaultInitialBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxBackoff < o.InitialBackoff {
		o.MaxBackoff = o.InitialBackoff
	}
	return o
}
