package verification

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
)

// Standard Webhooks (https://www.standardwebhooks.com/): the headers, the
// secret format and the signature scheme receivers' libraries understand.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
	// WebhookSecretPrefix starts every serialized secret: "whsec_" + base64.
	WebhookSecretPrefix = "whsec_"
	// MinWebhookSecretBytes is the smallest accepted secret.
	MinWebhookSecretBytes = 24
	// WebhookTolerance is how far a timestamp may be from the receiver's clock.
	WebhookTolerance = 5 * time.Minute
)

// Webhook verification errors.
var (
	ErrWebhookMissingHeader = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrWebhookTimestamp     = errors.New("webhook: timestamp missing, malformed or outside the tolerance")
	ErrWebhookSignature     = errors.New("webhook: no matching signature")
	ErrWebhookSecret        = errors.New("webhook: secret must be whsec_ + base64 of at least 24 bytes")
)

// NewWebhookSecret returns a fresh secret (32 random bytes) in the
// "whsec_..." form.
func NewWebhookSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return WebhookSecretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// decodeSecret returns the HMAC key of a "whsec_..." secret.
func decodeSecret(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, WebhookSecretPrefix)
	if !ok {
		return nil, ErrWebhookSecret
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) < MinWebhookSecretBytes {
		return nil, ErrWebhookSecret
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

// SignWebhook returns the webhook-signature header value for a message:
// one "v1,<base64 HMAC-SHA256 of id.timestamp.body>" per secret, separated
// by spaces (several secrets during a rotation).
func SignWebhook(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", ErrWebhookSecret
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

// VerifyWebhook checks a received webhook against the receiver's secrets
// (any one may match, for rotation): the three headers must be present, the
// timestamp within WebhookTolerance of now, and one v1 signature must match
// (compared in constant time). body must be the raw request body.
func VerifyWebhook(secrets []string, h http.Header, body []byte, now time.Time) error {
	if len(secrets) == 0 {
		return ErrWebhookSecret
	}
	id, tsText, sigs := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrWebhookMissingHeader
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrWebhookTimestamp
	}
	if d := now.Sub(time.Unix(ts, 0)); d > WebhookTolerance || d < -WebhookTolerance {
		return ErrWebhookTimestamp
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
	return ErrWebhookSignature
}

// Sink is a destination the Dispatcher delivers events to. Deliver must
// be safe for concurrent use; an error (or a panic) means "try again later".
type Sink interface {
	// Name identifies the sink's delivery state in the store; keep it stable.
	Name() string
	Deliver(ctx context.Context, e Event) error
}

// SubscriberFunc adapts a Go callback into a Sink: in-process subscribers
// (send an email, update account limits). It is called at least once per
// event, in order per subject; make it idempotent on Event.ID.
func SubscriberFunc(name string, fn func(ctx context.Context, e Event) error) Sink {
	return funcSink{name: name, fn: fn}
}

type funcSink struct {
	name string
	fn   func(ctx context.Context, e Event) error
}

func (f funcSink) Name() string                               { return f.name }
func (f funcSink) Deliver(ctx context.Context, e Event) error { return f.fn(ctx, e) }

// Webhook is a Sink that POSTs events to an HTTP endpoint, signed as
// Standard Webhooks prescribe.
type Webhook struct {
	name    string
	url     string
	secrets []string
	client  *http.Client
	now     func() time.Time
}

// WebhookOptions configure NewWebhook.
type WebhookOptions struct {
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

// NewWebhook returns a Sink named name that POSTs to endpoint.
func NewWebhook(name, endpoint string, opts WebhookOptions) (*Webhook, error) {
	if name == "" {
		return nil, invalid("name", "is required")
	}
	// Parsed here so that Deliver never fails on (and never reports) a
	// malformed URL: url.Parse errors repeat the URL, query included.
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalid("url", "must be an absolute http or https URL")
	}
	if len(opts.Secrets) == 0 {
		return nil, invalid("secrets", "at least one secret is required")
	}
	for _, s := range opts.Secrets {
		if _, err := decodeSecret(s); err != nil {
			return nil, invalid("secrets", "%v", err)
		}
	}
	w := &Webhook{name: name, url: endpoint, secrets: append([]string(nil), opts.Secrets...), client: opts.Client, now: opts.NowFunc}
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

// Name implements Sink.
func (w *Webhook) Name() string { return w.name }

// WebhookPayload is the JSON body of a webhook request.
type WebhookPayload struct {
	ID         string          `json:"id"`
	Type       EventType       `json:"type"`
	SubjectID  int64           `json:"subjectId"`
	OccurredAt time.Time       `json:"occurredAt"`
	Data       json.RawMessage `json:"data"`
}

// Deliver implements Sink: one signed POST; any 2xx answer is success.
func (w *Webhook) Deliver(ctx context.Context, e Event) error {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	body, err := json.Marshal(WebhookPayload{ID: e.ID, Type: e.Type, SubjectID: e.SubjectID, OccurredAt: e.OccurredAt.UTC(), Data: data})
	if err != nil {
		return err
	}
	ts := w.now()
	sig, err := SignWebhook(w.secrets, e.ID, ts, body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderWebhookID, e.ID)
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderWebhookSignature, sig)
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
