// Package outbound is the HTTP client the provider adapters share: one
// place for per-attempt timeouts, bounded retries with backoff on
// timeouts, connection errors, 5xx and 429, context cancellation, capped
// JSON answers and the errors of package providers.
package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/openkyc/kyc/providers"
)

// MaxJSONAnswer caps a JSON answer; a provider's session or media list is
// a few kilobytes.
const MaxJSONAnswer = 1 << 20

// Client calls one provider's API.
type Client struct {
	provider string
	base     *url.URL
	opts     providers.HTTPOptions
}

// New returns a client for the API at baseURL (scheme and host, optionally
// a path prefix). The error says what is wrong with baseURL.
func New(provider, baseURL string, opts providers.HTTPOptions) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: base URL %q must be an absolute http(s) URL", provider, baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s: base URL %q must not have a query or fragment", provider, baseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return &Client{provider: provider, base: u, opts: opts.WithDefaults()}, nil
}

// Request is one API call.
type Request struct {
	// Op names the call in errors, without ids: "GET /v1/media/{id}".
	Op string
	// Method is the HTTP method.
	Method string
	// Path is the escaped path below the base URL, starting with "/".
	Path string
	// Query is added to the URL, if any.
	Query url.Values
	// Body is sent as is; nil for none.
	Body []byte
	// Header holds fixed headers (content type, API key).
	Header http.Header
	// Sign, if set, adds signature headers to each attempt's request just
	// before it is sent (a signature may depend on the time of the attempt).
	Sign func(req *http.Request, body []byte)
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,128}$`)

// CheckID refuses ids that could not be a provider's id, before they are
// put in a URL path: 1 to 128 characters among letters, digits, '.', '_',
// '~' and '-'. The error matches providers.ErrInvalidParams and never
// quotes the id.
func CheckID(what, id string) error {
	if !idPattern.MatchString(id) {
		return providers.InvalidParams(what + " is not a valid provider id")
	}
	return nil
}

// JSON sends r and decodes a 2xx JSON answer into out (nil to discard it).
func (c *Client) JSON(ctx context.Context, r Request, out any) error {
	return c.run(ctx, r, func(res *http.Response, attempts int) error {
		body, err := io.ReadAll(io.LimitReader(res.Body, MaxJSONAnswer+1))
		if err != nil {
			return errRetry{err}
		}
		if len(body) > MaxJSONAnswer {
			return c.fail(r, res.StatusCode, attempts, providers.ErrBadResponse, fmt.Errorf("answer larger than %d bytes", MaxJSONAnswer))
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(body, out); err != nil {
			return c.fail(r, res.StatusCode, attempts, providers.ErrBadResponse, errors.New("answer is not the documented JSON"))
		}
		return nil
	}, false)
}

// Stream sends r and returns the 2xx answer's body unread, with its
// Content-Type. The per-attempt timeout stops applying once the headers
// have arrived; closing the stream releases the connection.
func (c *Client) Stream(ctx context.Context, r Request) (io.ReadCloser, string, error) {
	var (
		body io.ReadCloser
		ct   string
	)
	err := c.run(ctx, r, func(res *http.Response, _ int) error {
		body, ct = res.Body, res.Header.Get("Content-Type")
		return nil
	}, true)
	return body, ct, err
}

// errRetry marks a failure while reading an answer as retryable.
type errRetry struct{ err error }

func (e errRetry) Error() string { return e.err.Error() }

// run sends r up to MaxAttempts times. handle reads a 2xx answer; when
// stream is true it takes ownership of the body and the attempt's context
// stays alive until the body is closed.
func (c *Client) run(ctx context.Context, r Request, handle func(*http.Response, int) error, stream bool) error {
	target := *c.base
	unescaped, err := url.PathUnescape(r.Path)
	if err != nil || !strings.HasPrefix(r.Path, "/") {
		return c.fail(r, 0, 0, providers.ErrInvalidParams, errors.New("bad request path"))
	}
	target.Path = c.base.Path + unescaped
	target.RawPath = c.base.EscapedPath() + r.Path
	if len(r.Query) > 0 {
		target.RawQuery = r.Query.Encode()
	}

	var (
		lastStatus int
		lastCause  error
	)
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return c.fail(r, lastStatus, attempt-1, err, lastCause)
		}
		status, retryAfter, cause, done := c.attempt(ctx, r, target.String(), attempt, handle, stream)
		if done {
			return cause
		}
		if err := ctx.Err(); err != nil {
			return c.fail(r, lastStatus, attempt, err, cause)
		}
		lastStatus, lastCause = status, cause
		if attempt >= c.opts.MaxAttempts {
			return c.fail(r, lastStatus, attempt, providers.ErrUnavailable, lastCause)
		}
		wait := c.backoff(attempt, retryAfter)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return c.fail(r, lastStatus, attempt, ctx.Err(), lastCause)
		case <-t.C:
		}
	}
}

// attempt sends one request. It returns done with the final error (nil on
// success) when no retry is due; otherwise the status, Retry-After and the
// cause of a retryable failure.
func (c *Client) attempt(ctx context.Context, r Request, target string, n int, handle func(*http.Response, int) error, stream bool) (status int, retryAfter time.Duration, cause error, done bool) {
	actx, cancel := context.WithCancel(ctx)
	var timedOut atomic.Bool
	timer := time.AfterFunc(c.opts.Timeout, func() {
		timedOut.Store(true)
		cancel()
	})
	keep := false
	defer func() {
		if !keep {
			timer.Stop()
			cancel()
		}
	}()

	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(actx, r.Method, target, body)
	if err != nil {
		return 0, 0, c.fail(r, 0, n, providers.ErrInvalidParams, errors.New("cannot build request")), true
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.Sign != nil {
		r.Sign(req, r.Body)
	}
	res, err := c.opts.Client.Do(req)
	if err != nil {
		if timedOut.Load() {
			return 0, 0, fmt.Errorf("attempt timed out after %s", c.opts.Timeout), false
		}
		return 0, 0, scrub(err), false
	}
	switch {
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		drain(res.Body)
		return res.StatusCode, parseRetryAfter(res.Header.Get("Retry-After")), nil, false
	case res.StatusCode < 200 || res.StatusCode > 299:
		drain(res.Body)
		return res.StatusCode, 0, c.fail(r, res.StatusCode, n, providers.ErrRejected, nil), true
	}
	if stream {
		if !timer.Stop() {
			res.Body.Close()
			return res.StatusCode, 0, fmt.Errorf("attempt timed out after %s", c.opts.Timeout), false
		}
		keep = true
		res.Body = &cancelOnClose{ReadCloser: res.Body, cancel: cancel}
		return res.StatusCode, 0, handle(res, n), true
	}
	err = handle(res, n)
	res.Body.Close()
	var retry errRetry
	if errors.As(err, &retry) {
		if timedOut.Load() {
			return res.StatusCode, 0, fmt.Errorf("answer timed out after %s", c.opts.Timeout), false
		}
		return res.StatusCode, 0, scrub(retry.err), false
	}
	return res.StatusCode, 0, err, true
}

func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	wait := c.opts.InitialBackoff << (attempt - 1)
	if wait <= 0 || wait > c.opts.MaxBackoff {
		wait = c.opts.MaxBackoff
	}
	if retryAfter > 0 {
		wait = min(retryAfter, c.opts.MaxBackoff)
	}
	return wait
}

func (c *Client) fail(r Request, status, attempts int, kind, cause error) error {
	return &providers.CallError{Provider: c.provider, Op: r.Op, StatusCode: status, Attempts: attempts, Err: kind, Cause: cause}
}

// scrub drops the URL from a transport error: URLs carry session and media ids.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func parseRetryAfter(v string) time.Duration {
	secs, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || secs <= 0 {
		return 0
	}
	return time.Duration(secs) * time.Second
}

// drain reads a little of an unwanted answer so the connection can be
// reused, then closes it. Error bodies are never kept: they may echo
// personal data.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4<<10))
	body.Close()
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
