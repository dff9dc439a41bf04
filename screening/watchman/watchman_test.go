package watchman_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/screening"
	"github.com/openkyc/kyc/screening/watchman"
)

// reply is one recorded answer the fake Watchman serves.
type reply struct {
	status int    // 0 means 200
	file   string // under testdata/; "" means an empty body
	header map[string]string
	hang   bool // block until the request's context is done
}

// fakeWatchman serves recorded answers, in order, per path; the last reply
// of a path repeats. It records every request.
type fakeWatchman struct {
	t      *testing.T
	mu     sync.Mutex
	script map[string][]reply
	calls  map[string]int
	seen   []*url.URL
	srv    *httptest.Server
}

func newFake(t *testing.T, script map[string][]reply) *fakeWatchman {
	t.Helper()
	f := &fakeWatchman{t: t, script: script, calls: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWatchman) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	replies, ok := f.script[r.URL.Path]
	n := f.calls[r.URL.Path]
	f.calls[r.URL.Path]++
	f.seen = append(f.seen, r.URL)
	f.mu.Unlock()
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	rep := replies[min(n, len(replies)-1)]
	if rep.hang {
		<-r.Context().Done()
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	var body []byte
	if rep.file != "" {
		var err error
		body, err = os.ReadFile(filepath.Join("testdata", rep.file))
		if err != nil {
			f.t.Errorf("reading %s: %v", rep.file, err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if rep.status != 0 {
		w.WriteHeader(rep.status)
	}
	_, _ = w.Write(body)
}

func (f *fakeWatchman) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[path]
}

func (f *fakeWatchman) lastQuery(path string) url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.seen) - 1; i >= 0; i-- {
		if f.seen[i].Path == path {
			return f.seen[i].Query()
		}
	}
	return nil
}

func (f *fakeWatchman) client(t *testing.T, opts watchman.Options) *watchman.Client {
	t.Helper()
	opts.BaseURL = f.srv.URL
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	c, err := watchman.New(opts)
	require.NoError(t, err)
	return c
}

var (
	okInfo  = []reply{{file: "listinfo.json"}}
	subject = screening.Query{
		FullName:  "Orlando Veskari",
		BirthDate: time.Date(1968, 5, 17, 0, 0, 0, 0, time.UTC),
		Country:   "fd",
	}
)

func TestScreenMapsRecordedAnswer(t *testing.T) {
	t.Parallel()
	f := newFake(t, map[string][]reply{"/v2/listinfo": okInfo, "/v2/search": {{file: "search_hits.json"}}})
	c := f.client(t, watchman.Options{Limit: 25, MinMatch: 0.75, Source: "us_ofac"})

	res, err := c.Screen(context.Background(), subject)
	require.NoError(t, err)

	q := f.lastQuery("/v2/search")
	assert.Equal(t, "person", q.Get("type"))
	assert.Equal(t, "Orlando Veskari", q.Get("name"))
	assert.Equal(t, "1968-05-17", q.Get("birthDate"))
	assert.Equal(t, "25", q.Get("limit"))
	assert.Equal(t, "0.75", q.Get("minMatch"))
	assert.Equal(t, "us_ofac", q.Get("source"))
	assert.NotContains(t, q, "country", "Watchman has no nationality parameter")

	require.Len(t, res.Hits, 2)
	assert.Equal(t, screening.Hit{
		List:       "us_ofac",
		EntityID:   "90417",
		Name:       "Orlando VESKARI TREMAINE",
		Score:      0.9311111111111111,
		Programmes: []string{"SDGT", "IRGC"},
	}, res.Hits[0], "best first, whatever Watchman's order")
	assert.Equal(t, screening.Hit{List: "eu_csl", EntityID: "EU.9031.44", Name: "Orla VESKARI", Score: 0.8137254901960784}, res.Hits[1])
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, res.ListVersion)
	assert.True(t, res.ScreenedAt.IsZero(), "the caller stamps the time")
	assert.Equal(t, screening.NeedsReview, screening.Decide(res, 0.9))
}

func TestScreenDefaults(t *testing.T) {
	t.Parallel()
	f := newFake(t, map[string][]reply{"/v2/listinfo": okInfo, "/v2/search": {{file: "search_empty.json"}}})
	c := f.client(t, watchman.Options{})
	res, err := c.Screen(context.Background(), screening.Query{FullName: "  Quintessa Hollowmere "})
	require.NoError(t, err)
	assert.Empty(t, res.Hits)
	q := f.lastQuery("/v2/search")
	assert.Equal(t, url.Values{"type": {"person"}, "name": {"Quintessa Hollowmere"}, "limit": {"10"}, "minMatch": {"0.8"}}, q)

	// A negative MinMatch sends none.
	c = f.client(t, watchman.Options{MinMatch: -1})
	_, err = c.Screen(context.Background(), screening.Query{FullName: "Quintessa Hollowmere"})
	require.NoError(t, err)
	assert.NotContains(t, f.lastQuery("/v2/search"), "minMatch")
}

func TestScreenNoHits(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"search_empty.json", "search_null.json"} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, map[string][]reply{"/v2/listinfo": okInfo, "/v2/search": {{file: file}}})
			res, err := f.client(t, watchman.Options{}).Screen(context.Background(), subject)
			require.NoError(t, err)
			assert.Empty(t, res.Hits)
			assert.NotEmpty(t, res.ListVersion)
			assert.Equal(t, screening.Clear, screening.Decide(res, 0))
		})
	}
}

func TestListVersion(t *testing.T) {
	t.Parallel()
	version := func(file string) (string, error) {
		f := newFake(t, map[string][]reply{"/v2/listinfo": {{file: file}}})
		return f.client(t, watchman.Options{}).ListVersion(context.Background())
	}
	v1, err := version("listinfo.json")
	require.NoError(t, err)
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, v1)

	reordered, err := version("listinfo_reordered.json")
	require.NoError(t, err)
	assert.Equal(t, v1, reordered, "same hashes, other order and refresh times: same version")

	changed, err := version("listinfo_changed.json")
	require.NoError(t, err)
	assert.NotEqual(t, v1, changed, "one list changed")

	_, err = version("listinfo_no_hashes.json")
	require.ErrorIs(t, err, screening.ErrBadAnswer)
}

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		search   []reply
		retries  int
		timeout  time.Duration
		wantErr  error
		attempts int
	}{
		{
			name:     "503 then 502 then success",
			search:   []reply{{status: 503}, {status: 502, file: "gateway_502.html"}, {file: "search_hits.json"}},
			attempts: 3,
		},
		{
			name:     "429 with Retry-After is retried",
			search:   []reply{{status: 429, header: map[string]string{"Retry-After": "0"}}, {file: "search_hits.json"}},
			attempts: 2,
		},
		{
			name:     "500 every time: bounded",
			search:   []reply{{status: 500, file: "error_400.json"}},
			retries:  3,
			wantErr:  screening.ErrUnavailable,
			attempts: 4,
		},
		{
			name:     "retries off",
			search:   []reply{{status: 503}},
			retries:  -1,
			wantErr:  screening.ErrUnavailable,
			attempts: 1,
		},
		{
			name:     "timeout then success",
			search:   []reply{{hang: true}, {file: "search_hits.json"}},
			timeout:  time.Second, // generous: the answered attempt must fit in it on a loaded machine
			attempts: 2,
		},
		{
			name:     "timeout every time",
			search:   []reply{{hang: true}},
			timeout:  300 * time.Millisecond, // listinfo's answered attempt must fit in it too
			retries:  1,
			wantErr:  screening.ErrUnavailable,
			attempts: 2,
		},
		{
			name:     "400 is not retried",
			search:   []reply{{status: 400, file: "error_400.json"}},
			wantErr:  screening.ErrBadAnswer,
			attempts: 1,
		},
		{
			name:     "404 (wrong base path) is not retried",
			search:   []reply{{status: 404}},
			wantErr:  screening.ErrBadAnswer,
			attempts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, map[string][]reply{"/v2/listinfo": okInfo, "/v2/search": tt.search})
			c := f.client(t, watchman.Options{Retries: tt.retries, Timeout: tt.timeout})
			res, err := c.Screen(context.Background(), subject)
			assert.Equal(t, tt.attempts, f.count("/v2/search"))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.NotContains(t, err.Error(), "Veskari", "errors never carry the name")
				assert.NotContains(t, err.Error(), "1968", "errors never carry the birth date")
				return
			}
			require.NoError(t, err)
			assert.Len(t, res.Hits, 2)
		})
	}
}

func TestMalformedAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want string
	}{
		{"search_truncated.json", "malformed JSON"},
		{"gateway_502.html", "malformed JSON"},
		{"search_bad_score.json", "outside 0..1"},
		{"search_no_match.json", "no match score"},
		{"search_no_source_id.json", "no sourceID"},
		{"search_error_field.json", "error message"},
		{"search_other_shape.json", "no entities field"},
		{"search_entities_object.json", "not a list"},
		{"listinfo.json", "no entities field"},
		{"", "malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, map[string][]reply{"/v2/listinfo": okInfo, "/v2/search": {{file: tt.file}}})
			_, err := f.client(t, watchman.Options{}).Screen(context.Background(), subject)
			require.ErrorIs(t, err, screening.ErrBadAnswer)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, 1, f.count("/v2/search"), "a malformed answer is not retried")
		})
	}
}

func TestTrailingData(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/listinfo" {
			_, _ = w.Write([]byte(`{"listHashes":{"x":"1"}} {"listHashes":{"x":"2"}}`))
		}
	}))
	t.Cleanup(srv.Close)
	c, err := watchman.New(watchman.Options{BaseURL: srv.URL})
	require.NoError(t, err)
	_, err = c.ListVersion(context.Background())
	require.ErrorIs(t, err, screening.ErrBadAnswer)
}

func TestAnswerTooLarge(t *testing.T) {
	t.Parallel()
	f := newFake(t, map[string][]reply{"/v2/listinfo": okInfo, "/v2/search": {{file: "search_hits.json"}}})
	c := f.client(t, watchman.Options{MaxAnswerBytes: 1024})
	_, err := c.Screen(context.Background(), subject)
	require.ErrorIs(t, err, screening.ErrBadAnswer)
	assert.Contains(t, err.Error(), "larger than 1024 bytes")
}

func TestListInfoFailureStopsTheScreen(t *testing.T) {
	t.Parallel()
	f := newFake(t, map[string][]reply{"/v2/listinfo": {{status: 503}}, "/v2/search": {{file: "search_hits.json"}}})
	_, err := f.client(t, watchman.Options{Retries: 1}).Screen(context.Background(), subject)
	require.ErrorIs(t, err, screening.ErrUnavailable)
	assert.Equal(t, 2, f.count("/v2/listinfo"))
	assert.Zero(t, f.count("/v2/search"))
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	c, err := watchman.New(watchman.Options{BaseURL: base, Backoff: time.Millisecond, Retries: 1})
	require.NoError(t, err)
	_, err = c.Screen(context.Background(), subject)
	require.ErrorIs(t, err, screening.ErrUnavailable)
	assert.NotContains(t, err.Error(), "Veskari")
}

func TestContextCancelled(t *testing.T) {
	t.Parallel()
	f := newFake(t, map[string][]reply{"/v2/listinfo": okInfo, "/v2/search": {{status: 503}}})
	// A long backoff: the cancellation must cut it short.
	c, err := watchman.New(watchman.Options{BaseURL: f.srv.URL, Backoff: time.Minute, Retries: 5})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err = c.Screen(ctx, subject)
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, errors.Is(err, screening.ErrUnavailable))
	assert.Less(t, time.Since(start), 10*time.Second)

	// A context already done makes no request.
	before := f.count("/v2/listinfo")
	_, err = c.Screen(ctx, subject)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, before, f.count("/v2/listinfo"))
}

func TestContextDeadlineWhileHanging(t *testing.T) {
	t.Parallel()
	f := newFake(t, map[string][]reply{"/v2/listinfo": okInfo, "/v2/search": {{hang: true}}})
	c := f.client(t, watchman.Options{Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.Screen(ctx, subject)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, errors.Is(err, screening.ErrUnavailable))
	// The deadline usually strikes while the search hangs, on a loaded
	// machine sometimes during listinfo: either way nothing is retried.
	assert.LessOrEqual(t, f.count("/v2/listinfo"), 1)
	assert.LessOrEqual(t, f.count("/v2/search"), 1, "the caller's deadline is not retried")
}

func TestInvalidQueryMakesNoRequest(t *testing.T) {
	t.Parallel()
	f := newFake(t, map[string][]reply{"/v2/listinfo": okInfo, "/v2/search": {{file: "search_hits.json"}}})
	_, err := f.client(t, watchman.Options{}).Screen(context.Background(), screening.Query{FullName: "Orlando Veskari", Country: "Freedonia"})
	require.ErrorIs(t, err, screening.ErrInvalidQuery)
	assert.Zero(t, f.count("/v2/listinfo")+f.count("/v2/search"))
}

func TestHeaderAndBasePath(t *testing.T) {
	t.Parallel()
	var got http.Header
	var paths []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		body, _ := os.ReadFile(filepath.Join("testdata", map[bool]string{true: "listinfo.json", false: "search_empty.json"}[strings.HasSuffix(r.URL.Path, "listinfo")]))
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c, err := watchman.New(watchman.Options{BaseURL: srv.URL + "/gw/watchman/", Header: http.Header{"X-Api-Key": {"k1"}}})
	require.NoError(t, err)
	_, err = c.Screen(context.Background(), subject)
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"/gw/watchman/v2/listinfo", "/gw/watchman/v2/search"}, paths)
	assert.Equal(t, "k1", got.Get("X-Api-Key"))
	assert.Equal(t, "application/json", got.Get("Accept"))
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts watchman.Options
		want string
	}{
		{"no base URL", watchman.Options{}, "BaseURL is required"},
		{"relative", watchman.Options{BaseURL: "watchman:8084"}, "absolute http or https"},
		{"ftp", watchman.Options{BaseURL: "ftp://watchman"}, "absolute http or https"},
		{"query", watchman.Options{BaseURL: "http://watchman?x=1"}, "no query"},
		{"user info", watchman.Options{BaseURL: "http://u:p@watchman"}, "user info"},
		{"limit too high", watchman.Options{BaseURL: "http://watchman", Limit: 101}, "Limit"},
		{"min match above 1", watchman.Options{BaseURL: "http://watchman", MinMatch: 1.5}, "MinMatch"},
		{"negative timeout", watchman.Options{BaseURL: "http://watchman", Timeout: -time.Second}, "Timeout"},
		{"negative backoff", watchman.Options{BaseURL: "http://watchman", Backoff: -time.Second}, "Backoff"},
		{"negative max bytes", watchman.Options{BaseURL: "http://watchman", MaxAnswerBytes: -1}, "MaxAnswerBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := watchman.New(tt.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
