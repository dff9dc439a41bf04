package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/examples/server/demo"
)

// syncBuffer collects the server's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// walk drives the running demo over HTTP.
type walk struct {
	t    *testing.T
	base string
}

func (w *walk) json(method, path, token string, in any, want int, out any) {
	w.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		require.NoError(w.t, err)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, w.base+path, body)
	require.NoError(w.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(w.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(w.t, err)
	require.Equal(w.t, want, res.StatusCode, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(w.t, json.Unmarshal(b, out), "%s %s: %s", method, path, b)
	}
}

// scrape returns the /metrics samples: each series line (name and labels)
// with its value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	require.NoError(t, sc.Err())
	return out
}

// series returns the samples whose series starts with name and carries
// every label in labels.
func series(samples map[string]float64, name string, labels ...string) map[string]float64 {
	out := map[string]float64{}
	for s, v := range samples {
		if !strings.HasPrefix(s, name+"{") && s != name {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(s, l)
		}
		if ok {
			out[s] = v
		}
	}
	return out
}

// one returns the value of the only sample of name with labels.
func one(t *testing.T, samples map[string]float64, name string, labels ...string) float64 {
	t.Helper()
	got := series(samples, name, labels...)
	require.Len(t, got, 1, "series %s%v in\n%v", name, labels, samples)
	for _, v := range got {
		return v
	}
	return 0
}

// TestMetricsWhileTheWalkthroughRuns runs the demo in this process with
// -metrics and a webhook receiver, follows the README walkthrough (answers,
// a submission, an approval) and reads /metrics: the queue depth (open
// applications) goes up with the submission and down with the approval,
// and the webhook deliveries show in the delivery lag histogram.
func TestMetricsWhileTheWalkthroughRuns(t *testing.T) {
	var received atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	addr, metricsAddr := freeAddr(t), freeAddr(t)
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	require.NoError(t, err)
	defer stderr.Close()
	stdout := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- demo.Run(ctx, []string{"-addr", addr, "-data", filepath.Join(t.TempDir(), "data"), "-log-level", "warn",
			"-webhook", receiver.URL, "-metrics", metricsAddr}, stdout, stderr, options())
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(15 * time.Second):
			t.Error("the demo still runs 15 s after cancel")
		}
		if t.Failed() {
			log, _ := os.ReadFile(stderr.Name())
			t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), log)
		}
	}()
	w := &walk{t: t, base: "http://" + addr}
	metricsURL := "http://" + metricsAddr + "/metrics"
	require.Eventually(t, func() bool {
		res, err := http.Get(w.base + "/openapi.json")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 20*time.Second, 20*time.Millisecond, "the demo does not answer")
	require.Contains(t, stdout.String(), "metrics: "+metricsURL)

	open := func(samples map[string]float64) float64 { return one(t, samples, "openkyc_applications_open") }
	first := scrape(t, metricsURL)
	before := open(first)
	// The demo's seed submitted applications already (observed too).
	submissions := func(samples map[string]float64) float64 {
		return one(t, samples, "openkyc_transitions_total", `openkyc_kind="application"`, `openkyc_outcome="submitted"`)
	}
	seeded := submissions(first)

	// The walkthrough: Level 1's answers, the wizard submits, the admin approves.
	for name, answer := range map[string]any{"isBusiness": false, "nationality": "NL", "emailCode": "123456"} {
		w.json("POST", "/api/v2/user/requirements/"+name, demo.TokenUser, map[string]any{"answer": answer}, 200, nil)
	}
	var wiz struct {
		UUID string `json:"uuid"`
		Done bool   `json:"done"`
	}
	w.json("GET", "/api/v2/my/verifications/wizard", demo.TokenUser, nil, 200, &wiz) // code 202 in the body
	require.True(t, wiz.Done)
	submitted := scrape(t, metricsURL)
	require.Equal(t, before+1, open(submitted), "the submitted application joins the queue")
	require.GreaterOrEqual(t, one(t, submitted, "openkyc_outbox_oldest_pending_age_seconds"), 0.0, "the delivery lag gauge is exported")

	var apps struct {
		Data []struct {
			ID   int64  `json:"id"`
			UUID string `json:"uuid"`
		} `json:"data"`
	}
	w.json("GET", "/api/v2/applications?filter%5Bstatus%5D=submitted&limit=100", demo.TokenAdmin, nil, 200, &apps)
	var appID int64
	for _, a := range apps.Data {
		if a.UUID == wiz.UUID {
			appID = a.ID
		}
	}
	require.NotZero(t, appID, "the submitted application is listed")
	w.json("POST", fmt.Sprintf("/api/v2/applications/%d/decision", appID), demo.TokenAdmin, map[string]string{"decision": "approved"}, 200, nil)

	// Every event reaches the webhook: the outbox drains.
	var samples map[string]float64
	require.Eventually(t, func() bool {
		samples = scrape(t, metricsURL)
		return received.Load() > 0 && one(t, samples, "openkyc_outbox_oldest_pending_age_seconds") == 0
	}, 20*time.Second, 50*time.Millisecond, "the webhook deliveries do not drain")
	require.Equal(t, before, open(samples), "the approval leaves the queue")

	sink := `openkyc_sink="webhook"`
	delivered := `openkyc_outcome="delivered"`
	require.Equal(t, float64(received.Load()), one(t, samples, "openkyc_delivery_lag_seconds_count", sink, delivered), "one lag sample per webhook delivered")
	require.NotEmpty(t, series(samples, "openkyc_delivery_lag_seconds_bucket", sink, delivered), "the lag histogram's buckets")
	require.Positive(t, one(t, samples, "openkyc_deliveries_total", sink, delivered, `openkyc_event_type="application.approved"`))
	require.Equal(t, 1.0, one(t, samples, "openkyc_review_duration_seconds_count", `openkyc_decision="approved"`))
	require.Equal(t, seeded+1, submissions(samples))
	require.Positive(t, one(t, samples, "http_server_request_duration_seconds_count", `http_route="/api/v2/applications/{applicationId}/decision"`, `http_response_status_code="200"`))
	for s := range samples {
		require.NotContains(t, s, "/api/v2/applications/"+strconv.FormatInt(appID, 10), "a path reached a label: %s", s)
	}
}
