package watchman

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openkyc/kyc/screening"
)

// Defaults for Options fields left at their zero value.
const (
	// DefaultTimeout bounds one HTTP attempt (connect, headers and body).
	DefaultTimeout = 10 * time.Second
	// DefaultRetries is how many times a failed attempt is retried.
	DefaultRetries = 2
	// DefaultBackoff is the wait before the first retry; it doubles for
	// each further retry, up to MaxBackoff.
	DefaultBackoff = 250 * time.Millisecond
	// MaxBackoff caps the wait between two attempts, a Retry-After header
	// included.
	MaxBackoff = 5 * time.Second
	// DefaultLimit is how many entities a search asks for.
	DefaultLimit = 10
	// MaxLimit is the most Watchman returns for one search.
	MaxLimit = 100
	// DefaultMinMatch is sent as minMatch: Watchman's documentation calls
	// 0.80 the typical screening line.
	DefaultMinMatch = 0.80
	// DefaultMaxAnswerBytes bounds the size of one answer body.
	DefaultMaxAnswerBytes = 8 << 20
)

// Options configure a Client. Only BaseURL is required.
type Options struct {
	// BaseURL is where Watchman's API listens, such as
	// "http://watchman:8084" (a path prefix is kept: "https://gw/watchman").
	BaseURL string

	// HTTPClient sends the requests; nil means a client with
	// http.DefaultTransport. Its own Timeout, if any, applies on top of
	// Timeout.
	HTTPClient *http.Client

	// Header is added to every request, for a gateway in front of Watchman
	// that wants a key (Watchman itself has no authentication).
	Header http.Header

	// Timeout bounds each attempt; 0 means DefaultTimeout.
	Timeout time.Duration

	// Retries is how many times an attempt that failed on a network error,
	// a timeout, a 429 or a 5xx is retried; 0 means DefaultRetries, a
	// negative value turns retries off. Other failures are not retried.
	Retries int

	// Backoff is the wait before the first retry, doubled for each further
	// one and capped at MaxBackoff, with up to half of it taken off at
	// random so that many clients do not retry in step; 0 means
	// DefaultBackoff.
	Backoff time.Duration

	// Limit is how many entities one search asks for (Watchman's limit);
	// 0 means DefaultLimit; at most MaxLimit.
	Limit int

	// MinMatch is sent as minMatch so that Watchman leaves out weaker
	// entities; 0 means DefaultMinMatch, a negative value sends none (every
	// entity up to Limit comes back). At most 1.
	MinMatch float64

	// Source, when set, restricts the search to one of Watchman's source
	// lists ("us_ofac", "eu_csl", ...).
	Source string

	// MaxAnswerBytes bounds an answer body; a longer one is refused with
	// screening.ErrBadAnswer. 0 means DefaultMaxAnswerBytes.
	MaxAnswerBytes int64
}

// Client screens people with Watchman's GET /v2/search and reads list
// versions from GET /v2/listinfo. It is safe for concurrent use.
type Client struct {
	base     *url.URL
	http     *http.Client
	header   http.Header
	timeout  time.Duration
	retries  int
	backoff  time.Duration
	limit    int
	minMatch float64
	source   string
	maxBytes int64
}

var (
	_ screening.Screener      = (*Client)(nil)
	_ screening.ListVersioner = (*Client)(nil)
)

// New returns a Client for the Watchman at opts.BaseURL. It makes no
// request; an unreachable Watchman shows on the first Screen.
func New(opts Options) (*Client, error) {
	if opts.BaseURL == "" {
		return nil, errors.New("watchman: BaseURL is required")
	}
	base, err := url.Parse(opts.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("watchman: BaseURL %q must be an absolute http or https URL", opts.BaseURL)
	}
	if base.RawQuery != "" || base.Fragment != "" || base.User != nil {
		return nil, fmt.Errorf("watchman: BaseURL must have no query, fragment or user info")
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	base.RawPath = ""
	c := &Client{
		base:     base,
		http:     opts.HTTPClient,
		header:   opts.Header.Clone(),
		timeout:  opts.Timeout,
		retries:  opts.Retries,
		backoff:  opts.Backoff,
		limit:    opts.Limit,
		minMatch: opts.MinMatch,
		source:   opts.Source,
		maxBytes: opts.MaxAnswerBytes,
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	switch {
	case c.timeout < 0:
		return nil, errors.New("watchman: Timeout must not be negative")
	case c.timeout == 0:
		c.timeout = DefaultTimeout
	}
	switch {
	case c.retries < 0:
		c.retries = 0
	case c.retries == 0:
		c.retries = DefaultRetries
	}
	switch {
	case c.backoff < 0:
		return nil, errors.New("watchman: Backoff must not be negative")
	case c.backoff == 0:
		c.backoff = DefaultBackoff
	}
	switch {
	case c.limit < 0 || c.limit > MaxLimit:
		return nil, fmt.Errorf("watchman: Limit must be between 1 and %d", MaxLimit)
	case c.limit == 0:
		c.limit = DefaultLimit
	}
	switch {
	case math.IsNaN(c.minMatch) || c.minMatch > 1:
		return nil, errors.New("watchman: MinMatch must be at most 1")
	case c.minMatch == 0:
		c.minMatch = DefaultMinMatch
	}
	switch {
	case c.maxBytes < 0:
		return nil, errors.New("watchman: MaxAnswerBytes must not be negative")
	case c.maxBytes == 0:
		c.maxBytes = DefaultMaxAnswerBytes
	}
	return c, nil
}

// Screen searches Watchman for q as a person (type=person, name, and
// birthDate when known). Watchman's search has no nationality parameter
// (its gov_nationality wants a document number too), so q.Country is not
// sent: Watchman's own score decides.
//
// It first reads the list version (GET /v2/listinfo), then searches: if
// Watchman refreshes its lists between the two calls, the result carries the
// older version and the subject is simply re-screened once more, never the
// other way round. Each call has its own attempts and retries. Errors match
// screening.ErrInvalidQuery, screening.ErrUnavailable, screening.ErrBadAnswer
// or ctx's error; they never contain the query.
func (c *Client) Screen(ctx context.Context, q screening.Query) (screening.Result, error) {
	if err := q.Validate(); err != nil {
		return screening.Result{}, err
	}
	version, err := c.ListVersion(ctx)
	if err != nil {
		return screening.Result{}, err
	}
	params := url.Values{}
	params.Set("type", "person")
	params.Set("name", strings.TrimSpace(q.FullName))
	if q.HasBirthDate() {
		params.Set("birthDate", q.BirthDateString())
	}
	params.Set("limit", strconv.Itoa(c.limit))
	if c.minMatch > 0 {
		params.Set("minMatch", strconv.FormatFloat(c.minMatch, 'f', -1, 64))
	}
	if c.source != "" {
		params.Set("source", c.source)
	}
	var answer searchAnswer
	if err := c.get(ctx, "/v2/search", params, &answer); err != nil {
		return screening.Result{}, err
	}
	return screening.Result{Hits: answer.hits(), ListVersion: version}, nil
}

// ListVersion returns a digest of the list hashes Watchman reports on
// GET /v2/listinfo ("sha256:" and 64 hex digits): it changes when any list
// Watchman holds changes, and not when the order of Watchman's answer does.
func (c *Client) ListVersion(ctx context.Context) (string, error) {
	var info listInfo
	if err := c.get(ctx, "/v2/listinfo", nil, &info); err != nil {
		return "", err
	}
	if len(info.ListHashes) == 0 {
		return "", fmt.Errorf("watchman: listinfo answer has no listHashes: %w", screening.ErrBadAnswer)
	}
	names := make([]string, 0, len(info.ListHashes))
	for name := range info.ListHashes {
		names = append(names, name)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, name := range names {
		if info.ListHashes[name] == "" {
			return "", fmt.Errorf("watchman: listinfo answer has an empty hash for list %q: %w", name, screening.ErrBadAnswer)
		}
		fmt.Fprintf(h, "%s=%s\n", name, info.ListHashes[name])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// get sends GET path?params with retries and decodes the answer into out.
func (c *Client) get(ctx context.Context, path string, params url.Values, out answer) error {
	u := *c.base
	u.Path += path
	u.RawQuery = params.Encode()
	endpoint := "GET " + path // for errors: never the query string, which holds the name

	wait := c.backoff
	var last error
	for attempt := 0; ; attempt++ {
		retryAfter, err := c.attempt(ctx, u.String(), out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("watchman: %s: %w", endpoint, ctx.Err())
		}
		var transient *transientError
		if !errors.As(err, &transient) {
			return fmt.Errorf("watchman: %s: %w", endpoint, err)
		}
		last = transient.err
		if attempt >= c.retries {
			break
		}
		d := wait - rand.N(wait/2+1)
		if retryAfter > d {
			d = min(retryAfter, MaxBackoff)
		}
		if err := sleep(ctx, d); err != nil {
			return fmt.Errorf("watchman: %s: %w", endpoint, err)
		}
		wait = min(2*wait, MaxBackoff)
	}
	return fmt.Errorf("watchman: %s failed after %d attempts: %w: %w", endpoint, c.retries+1, screening.ErrUnavailable, last)
}

// transientError marks a failure worth retrying.
type transientError struct{ err error }

// Error implements error.
func (e *transientError) Error() string { return e.err.Error() }

// attempt makes one request under its own timeout. A transientError means
// the request may succeed if tried again; retryAfter is the server's
// Retry-After, if it sent one in seconds.
func (c *Client) attempt(ctx context.Context, rawURL string, out answer) (retryAfter time.Duration, err error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, fmt.Errorf("building request: %w", scrubURL(err))
	}
	for k, vs := range c.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, &transientError{scrubURL(err)}
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return parseRetryAfter(resp.Header.Get("Retry-After")), &transientError{fmt.Errorf("status %d", resp.StatusCode)}
	default:
		// Watchman's error body ({"error": "..."}) may quote the query, so
		// it is not copied into the error.
		return 0, fmt.Errorf("unexpected status %d: %w", resp.StatusCode, screening.ErrBadAnswer)
	}
	body := &io.LimitedReader{R: resp.Body, N: c.maxBytes + 1}
	err = decode(body, out)
	if body.N <= 0 {
		return 0, fmt.Errorf("answer larger than %d bytes: %w", c.maxBytes, screening.ErrBadAnswer)
	}
	if err != nil {
		if actx.Err() != nil { // the attempt timed out while reading the body
			return 0, &transientError{fmt.Errorf("reading answer: %w", actx.Err())}
		}
		var bad *badAnswer
		if errors.As(err, &bad) {
			return 0, fmt.Errorf("%s: %w", bad.msg, screening.ErrBadAnswer)
		}
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(err, &syntax) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("malformed JSON answer: %w", screening.ErrBadAnswer)
		}
		// the connection broke while the body was read
		return 0, &transientError{fmt.Errorf("reading answer: %w", scrubURL(err))}
	}
	return 0, nil
}

// decode reads exactly one JSON value from r into out and checks it.
func decode(r io.Reader, out answer) error {
	dec := json.NewDecoder(r)
	if err := dec.Decode(out); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &badAnswer{"data after the JSON answer"}
	}
	return out.check()
}

// answer is a decoded answer body that can check its own shape.
type answer interface{ check() error }

// badAnswer is a well-formed JSON answer of the wrong shape.
type badAnswer struct{ msg string }

// Error implements error.
func (e *badAnswer) Error() string { return e.msg }

// listInfo is the part of GET /v2/listinfo's answer this client reads.
type listInfo struct {
	ListHashes map[string]string `json:"listHashes"`
}

func (*listInfo) check() error { return nil }

// searchAnswer is the part of GET /v2/search's answer this client reads.
type searchAnswer struct {
	// Entities is kept raw so that a missing key (not an answer from
	// /v2/search at all) is told apart from null (no entity).
	Entities json.RawMessage `json:"entities"`
	Error    string          `json:"error"`
	parsed   []entity
}

// entity is the part of a SearchedEntity this client reads.
type entity struct {
	Name       string `json:"name"`
	EntityType string `json:"entityType"`
	SourceList string `json:"sourceList"`
	SourceID   string `json:"sourceID"`
	Person     *struct {
		Name string `json:"name"`
	} `json:"person"`
	SanctionsInfo *struct {
		Programs []string `json:"programs"`
	} `json:"sanctionsInfo"`
	Match *float64 `json:"match"`
}

func (a *searchAnswer) check() error {
	if a.Error != "" {
		return &badAnswer{"answer carries an error message"}
	}
	if len(a.Entities) == 0 {
		return &badAnswer{"answer has no entities field"}
	}
	if string(a.Entities) == "null" {
		return nil
	}
	if err := json.Unmarshal(a.Entities, &a.parsed); err != nil {
		return &badAnswer{"entities is not a list of entities"}
	}
	for i, e := range a.parsed {
		switch {
		case e.Match == nil:
			return &badAnswer{fmt.Sprintf("entity %d has no match score", i)}
		case *e.Match < 0 || *e.Match > 1:
			return &badAnswer{fmt.Sprintf("entity %d has match %v outside 0..1", i, *e.Match)}
		case e.SourceID == "":
			return &badAnswer{fmt.Sprintf("entity %d has no sourceID", i)}
		case e.SourceList == "":
			return &badAnswer{fmt.Sprintf("entity %d has no sourceList", i)}
		}
	}
	return nil
}

// hits maps the checked entities to provider-neutral hits.
func (a *searchAnswer) hits() []screening.Hit {
	hits := make([]screening.Hit, 0, len(a.parsed))
	for _, e := range a.parsed {
		name := e.Name
		if name == "" && e.Person != nil {
			name = e.Person.Name
		}
		var programmes []string
		if e.SanctionsInfo != nil {
			programmes = slices.Clone(e.SanctionsInfo.Programs)
		}
		hits = append(hits, screening.Hit{
			List:       e.SourceList,
			EntityID:   e.SourceID,
			Name:       name,
			Score:      *e.Match,
			Programmes: programmes,
		})
	}
	screening.SortHits(hits)
	return hits
}

// scrubURL drops the URL from a net/http error: its query string holds the
// screened name.
func scrubURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// parseRetryAfter reads a Retry-After header given in seconds; an HTTP date
// or garbage counts as absent.
func parseRetryAfter(v string) time.Duration {
	secs, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || secs < 0 {
		return 0
	}
	return min(time.Duration(secs)*time.Second, MaxBackoff)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
