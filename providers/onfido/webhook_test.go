package onfido_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/onfido"
)

const testToken = "test-webhook-token-0001"

func newProvider(t testing.TB, cfg onfido.Config) *onfido.Provider {
	t.Helper()
	if cfg.WebhookToken == "" {
		cfg.WebhookToken = testToken
	}
	p, err := onfido.New(cfg)
	require.NoError(t, err)
	return p
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// hmacHex computes the expected signature independently of the adapter.
func hmacHex(key string, msg []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

func sigHeader(sig string) http.Header {
	h := http.Header{}
	if sig != "" {
		h.Set("X-SHA2-Signature", sig)
	}
	return h
}

// TestSignaturePublishedVectors verifies the webhook events and signatures
// of Onfido's own client library tests (onfido-python,
// tests/test_classic_webhook_event_verification.py and
// tests/test_studio_webhook_event_verification.py).
func TestSignaturePublishedVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, token, file, sig string }{
		{"classic check.completed", "wU99mE6jJ7nXOLFwZ0tJymM1lpI15pZh", "check_completed.json", "77ebc3e418f26be6eebb47f7ebe551321de26734fc273961e075fc9ab163d9c7"},
		{"studio workflow_task.started", "YKOC6mkBxi6yK2zlUIrLMvsJMFEZObP5", "workflow_task_started.json", "c95a5b785484f6fa1bc25f381b5595d66bf85cb442eefb06aa007802ee6a4dfa"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := fixture(t, tc.file)
			p := newProvider(t, onfido.Config{WebhookToken: tc.token})
			assert.Equal(t, tc.sig, hmacHex(tc.token, body))
			assert.Equal(t, tc.sig, p.Sign(body))
			require.NoError(t, p.Verify(sigHeader(tc.sig), body))
			// The library's negative case: the last hex digit changed.
			bad := tc.sig[:len(tc.sig)-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", tc.sig[len(tc.sig)-1])+1)%16])
			require.ErrorIs(t, p.Verify(sigHeader(bad), body), providers.ErrBadSignature)
		})
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	p := newProvider(t, onfido.Config{})
	body := fixture(t, "workflow_run_completed_approved.json")
	good := hmacHex(testToken, body)
	for _, tc := range []struct {
		name string
		sig  string
		body []byte
		ok   bool
	}{
		{"valid", good, body, true},
		{"upper-case hex", strings.ToUpper(good), body, true},
		{"re-encoded body", good, []byte(strings.ReplaceAll(string(body), "\n", "")), false},
		{"tampered status", good, []byte(strings.Replace(string(body), `"approved"`, `"declined"`, 1)), false},
		{"other token", hmacHex("other-token", body), body, false},
		{"HMAC-SHA512 instead of HMAC-SHA256", func() string {
			m := hmac.New(sha512.New, []byte(testToken))
			m.Write(body)
			return hex.EncodeToString(m.Sum(nil))
		}(), body, false},
		{"missing", "", body, false},
		{"not hex", "not-a-signature", body, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := p.Verify(sigHeader(tc.sig), tc.body)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, providers.ErrBadSignature)
			assert.NotContains(t, err.Error(), testToken)
		})
	}
}

func TestNewRequiresWebhookToken(t *testing.T) {
	t.Parallel()
	_, err := onfido.New(onfido.Config{})
	require.ErrorContains(t, err, "WebhookToken")
	_, err = onfido.New(onfido.Config{WebhookToken: "t", BaseURL: "api.eu.onfido.com"})
	require.ErrorContains(t, err, "absolute")
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseFixtures(t *testing.T) {
	t.Parallel()
	p := newProvider(t, onfido.Config{})
	const run, applicant = "2f152409-d6c4-4711-8750-48517f99a8d6", "7b0a9d0e-1c2f-4a3b-8c4d-5e6f70819203"
	const run2, applicant2 = "8c1e9f3a-0b4d-4e2f-9a6c-7d5b3e1f0a29", "0d6e2b7c-8f1a-4c3d-9e5b-a1b2c3d4e5f6"
	for _, tc := range []struct {
		file string
		want *providers.Decision
	}{
		{"workflow_run_started.json", &providers.Decision{SessionID: run, SubjectRef: applicant, Outcome: providers.OutcomeStarted, OccurredAt: ts("2022-12-19T16:50:00Z")}},
		{"workflow_run_processing.json", &providers.Decision{SessionID: run, Outcome: providers.OutcomeSubmitted, OccurredAt: ts("2022-12-19T16:54:00Z")}},
		{"workflow_run_completed_approved.json", &providers.Decision{SessionID: run, SubjectRef: applicant, Outcome: providers.OutcomeApproved, Final: true, OccurredAt: ts("2022-12-19T16:54:44Z")}},
		{"workflow_run_completed_declined.json", &providers.Decision{SessionID: run, SubjectRef: applicant, Outcome: providers.OutcomeDeclined, Final: true,
			ReasonCodes: []string{"document_check_consider", "facial_similarity_consider"}, OccurredAt: ts("2022-12-19T17:20:01Z")}},
		{"workflow_run_completed_review.json", &providers.Decision{SessionID: run2, SubjectRef: applicant2, Outcome: providers.OutcomeReview,
			ReasonCodes: []string{"manual_review_required"}, OccurredAt: ts("2023-03-02T10:11:12Z")}},
		{"workflow_run_completed_abandoned.json", &providers.Decision{SessionID: run2, SubjectRef: applicant2, Outcome: providers.OutcomeExpired, Final: true, OccurredAt: ts("2023-03-09T00:00:00Z")}},
		{"workflow_run_completed_error.json", &providers.Decision{SessionID: run2, Outcome: providers.OutcomeReview, OccurredAt: ts("2023-03-02T10:20:00Z")}},
		{"check_completed.json", nil},
		{"workflow_task_started.json", nil},
		{"workflow_signed_evidence_file_created.json", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			body := fixture(t, tc.file)
			require.NoError(t, p.Verify(sigHeader(hmacHex(testToken, body)), body))
			got, err := p.Parse(body)
			require.NoError(t, err)
			if tc.want == nil {
				assert.Empty(t, got, "not a workflow run decision")
				return
			}
			require.Len(t, got, 1)
			d := got[0]
			require.NoError(t, d.Validate())
			assert.Regexp(t, `^onfido:[0-9a-f]{32}$`, d.EventKey)
			tc.want.Provider, tc.want.EventKey = "onfido", d.EventKey
			assert.Equal(t, *tc.want, d)
		})
	}
}

func TestEventKeys(t *testing.T) {
	t.Parallel()
	p := newProvider(t, onfido.Config{})
	seen := map[string]string{}
	for _, f := range []string{"workflow_run_started.json", "workflow_run_processing.json", "workflow_run_completed_approved.json", "workflow_run_completed_declined.json"} {
		ds, err := p.Parse(fixture(t, f))
		require.NoError(t, err)
		require.Len(t, ds, 1)
		_, dup := seen[ds[0].EventKey]
		require.False(t, dup, f)
		seen[ds[0].EventKey] = f
	}
	// A redelivery, even re-encoded, has the same key.
	compact := strings.Join(strings.Fields(string(fixture(t, "workflow_run_completed_approved.json"))), "")
	a, err := p.Parse([]byte(compact))
	require.NoError(t, err)
	b, err := p.Parse(fixture(t, "workflow_run_completed_approved.json"))
	require.NoError(t, err)
	assert.Equal(t, a[0].EventKey, b[0].EventKey)
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	p := newProvider(t, onfido.Config{})
	for name, body := range map[string]string{
		"not JSON":           `payload=1`,
		"no payload":         `{"resource_type":"workflow_run"}`,
		"payload not object": `{"payload":[]}`,
		"no action":          `{"payload":{"resource_type":"workflow_run","object":{"id":"r1","status":"approved"}}}`,
		"no object":          `{"payload":{"resource_type":"workflow_run","action":"workflow_run.completed"}}`,
		"no object id":       `{"payload":{"resource_type":"workflow_run","action":"workflow_run.completed","object":{"status":"approved"}}}`,
		"unknown status":     `{"payload":{"resource_type":"workflow_run","action":"workflow_run.completed","object":{"id":"r1","status":"clear"}}}`,
		"bad completed_at":   `{"payload":{"resource_type":"workflow_run","action":"workflow_run.completed","object":{"id":"r1","status":"approved","completed_at_iso8601":"19/12/2022"}}}`,
		"bad started_at":     `{"payload":{"resource_type":"workflow_run","action":"workflow_run.started","object":{"id":"r1","status":"processing","started_at_iso8601":"now"}}}`,
		"reasons not a list": `{"payload":{"resource_type":"workflow_run","action":"workflow_run.completed","object":{"id":"r1","status":"declined"},"resource":{"reasons":"x"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := p.Parse([]byte(body))
			require.ErrorIs(t, err, providers.ErrMalformedPayload)
		})
	}
}
