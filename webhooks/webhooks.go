// Package webhooks sends outbox events to HTTP endpoints signed as
// Standard Webhooks (https://www.standardwebhooks.com/) prescribe, and
// verifies such requests on the receiving side.
//
// An Endpoint is a verification.Sink: hand it to a verification.Dispatcher,
// which delivers every event at least once, in order per subject, with
// retries. Receivers check each request with Verify (or any Standard
// Webhooks library) against the same "whsec_..." secret:
//
//	secret := webhooks.NewSecret()
//	hook, err := webhooks.New("crm", "https://crm.example.com/kyc", webhooks.Options{Secrets: []string{secret}})
//	d, err := verification.NewDispatcher(store, verification.DispatcherOptions{Sinks: []verification.Sink{hook}})
//
// The body of every request is a Payload: the event's envelope, with the
// event's typed payload (see verification.Payload) in "data".
package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openkyc/kyc/verification"
)

// Standard Webhooks (https://www.standardwebhooks.com/): the headers, the
// secret format and the signature scheme receivers' libraries understand.
const (
	// HeaderID carries the message id (the event's ID).
	HeaderID = "webhook-id"
	// HeaderTimestamp carries the send time in Unix seconds.
	HeaderTimestamp = "webhook-timestamp"
	// HeaderSignature carries one "v1,<signature>" per secret.
	HeaderSignature = "webhook-signature"
	// SecretPrefix starts every serialized secret: "whsec_" + base64.
	SecretPrefix = "whsec_"
	// MinSecretBytes is the smallest accepted secret.
	MinSecretBytes = 24
	// Tolerance is how far a timestamp may be from the receiver's clock.
	Tolerance = 5 * time.Minute
)

// Verification errors.
var (
	// ErrMissingHeader: one of the three headers is absent.
	ErrMissingHeader = errors.New("webhooks: missing webhook-id, webhook-timestamp or webhook-signature header")
	// ErrTimestamp: the timestamp is malformed or outside Tolerance.
	ErrTimestamp = errors.New("webhooks: timestamp missing, malformed or outside the tolerance")
	// ErrSignature: no signature matches any of the secrets.
	ErrSignature = errors.New("webhooks: no matching signature")
	// ErrSecret: a secret is not "whsec_" + base64 of MinSecretBytes or more.
	ErrSecret = errors.New("webhooks: secret must be whsec_ + base64 of at least 24 bytes")
	// ErrOptions: New was given a bad name, URL or secret list.
	ErrOptions = errors.New("webhooks: invalid endpoint options")
)

// NewSecret returns a fresh secret (32 random bytes) in the "whsec_..."
// form.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// decodeSecret returns the HMAC key of a "whsec_..." secret.
func decodeSecret(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, ErrSecret
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) < MinSecretBytes {
		return nil, ErrSecret
	}
	return key, nil
}

func sign(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Sign returns the webhook-signature header value for a message:
// one "v1,<base64 HMAC-SHA256 of id.timestamp.body>" per secret, separated
// by spaces (several secrets during a rotation).
func Sign(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", ErrSecret
	}
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := decodeSecret(s)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, "v1,"+sign(key, id, ts.Unix(), body))
	}
	return strings.Join(sigs, " "), nil
}

// Verify checks a received webhook against the receiver's secrets (any one
// may match, for rotation): the three headers must be present, the
// timestamp within Tolerance of now, and one v1 signature must match
// (compared in constant time). body must be the raw request body.
func Verify(secrets []string, h http.Header, body []byte, now time.Time) error {
	if len(secrets) == 0 {
		return ErrSecret
	}
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissingHeader
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Tolerance || d < -Tolerance {
		return ErrTimestamp
	}
	for _, secret := range secrets {
		key, err := decodeSecret(secret)
		if err != nil {
			return err
		}
		want := []byte(sign(key, id, ts, body))
		for _, sig := range strings.Fields(sigs) {
			v, got, ok := strings.Cut(sig, ",")
			if ok && v == "v1" && hmac.Equal([]byte(got), want) {
				return nil
			}
		}
	}
	return ErrSignature
}

// Endpoint is a verification.Sink that POSTs events to an HTTP endpoint,
// signed as Standard Webhooks prescribe.
type Endpoint struct {
	name    string
	url     string
	secrets []string
	client  *http.Client
	now     func() time.Time
}

// Options configure New.
type Options struct {
	// Secrets sign each request ("whsec_..."); list the new one first and
	// keep the old one during a rotation: both signatures are sent.
	Secrets []string
	// Timeout bounds one request; 0 means 10 s.
	Timeout time.Duration
	// Client sends the requests; nil means a client with Timeout that does
	// not follow redirects: a 3xx answer is a failed attempt (a followed
	// redirect turns the POST into a GET, or reaches an endpoint nobody
	// configured, and its 2xx would count as delivered).
	Client *http.Client
	// NowFunc stamps webhook-timestamp; nil means time.Now.
	NowFunc func() time.Time
}

var _ verification.Sink = (*Endpoint)(nil)

// New returns a Sink named name that POSTs to endpoint.
func New(name, endpoint string, opts Options) (*Endpoint, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: a name is required", ErrOptions)
	}
	// Parsed here so that Deliver never fails on (and never reports) a
	// malformed URL: url.Parse errors repeat the URL, query included.
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: the URL must be an absolute http or https URL", ErrOptions)
	}
	if len(opts.Secrets) == 0 {
		return nil, fmt.Errorf("%w: at least one secret is required", ErrOptions)
	}
	for _, s := range opts.Secrets {
		if _, err := decodeSecret(s); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrOptions, err)
		}
	}
	w := &Endpoint{name: name, url: endpoint, secrets: append([]string(nil), opts.Secrets...), client: opts.Client, now: opts.NowFunc}
	if w.client == nil {
		timeout := opts.Timeout
		if timeout == 0 {
			timeout = 10 * time.Second
		}
		w.client = &http.Client{Timeout: timeout, CheckRedirect: noRedirects, Transport: webhookTransport()}
	}
	if w.now == nil {
		w.now = time.Now
	}
	return w, nil
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// webhookTransport is http.DefaultTransport keeping more idle connections
// per host: the Dispatcher sends up to Concurrency requests at once to one
// endpoint, and the default (2 idle per host) closes the others after each
// request, dialing anew every time and piling up TIME_WAIT sockets.
func webhookTransport() http.RoundTripper {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return nil // replaced by the host: use it as it is
	}
	t = t.Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

// Name implements verification.Sink.
func (w *Endpoint) Name() string { return w.name }

// Payload is the JSON body of a webhook request: the event's envelope and,
// in Data, its typed payload (see verification.Payload).
type Payload struct {
	// ID is the event's ID (also sent as the webhook-id header): receivers
	// deduplicate on it.
	ID string `json:"id"`
	// Type is the event's type, e.g. "level.granted".
	Type verification.EventType `json:"type"`
	// SubjectID is the subject the event is about.
	SubjectID int64 `json:"subjectId"`
	// OccurredAt is when the change happened (UTC).
	OccurredAt time.Time `json:"occurredAt"`
	// Data is the event's payload ({} when it has none).
	Data json.RawMessage `json:"data"`
}

// Deliver implements verification.Sink: one signed POST; any 2xx answer is
// success.
func (w *Endpoint) Deliver(ctx context.Context, e verification.Event) error {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	body, err := json.Marshal(Payload{ID: e.ID, Type: e.Type, SubjectID: e.SubjectID, OccurredAt: e.OccurredAt.UTC(), Data: data})
	if err != nil {
		return err
	}
	ts := w.now()
	sig, err := Sign(w.secrets, e.ID, ts, body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderID, e.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := w.client.Do(req)
	if err != nil {
		// url.Error repeats the URL, which may carry credentials: keep the cause only.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("webhook %s: %w", w.name, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook %s: answered %d", w.name, resp.StatusCode)
	}
	return nil
}
