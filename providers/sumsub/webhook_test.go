package sumsub_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/sumsub"
)

const testSecret = "test-webhook-secret-0001"

func newProvider(t testing.TB, cfg sumsub.Config) *sumsub.Provider {
	t.Helper()
	if cfg.WebhookSecret == "" {
		cfg.WebhookSecret = testSecret
	}
	p, err := sumsub.New(cfg)
	require.NoError(t, err)
	return p
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// hmacHex computes the expected digest independently of the adapter.
func hmacHex(h func() hash.Hash, key string, msg []byte) string {
	m := hmac.New(h, []byte(key))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

func digestHeader(alg, digest string) http.Header {
	h := http.Header{}
	if alg != "" {
		h.Set("X-Payload-Digest-Alg", alg)
	}
	if digest != "" {
		h.Set("X-Payload-Digest", digest)
	}
	return h
}

// TestDigestKnownAnswers: the digests of testdata/applicant_reviewed_green.json
// under testSecret, computed with openssl (`openssl dgst -sha256 -hmac
// test-webhook-secret-0001 applicant_reviewed_green.json`), and again here
// with crypto/hmac.
func TestDigestKnownAnswers(t *testing.T) {
	t.Parallel()
	p := newProvider(t, sumsub.Config{})
	body := fixture(t, "applicant_reviewed_green.json")
	for _, tc := range []struct {
		alg  string
		h    func() hash.Hash
		want string
	}{
		{"HMAC_SHA1_HEX", sha1.New, "5ad03d599d70687dd2cc055664baa1b51fa6c70f"},
		{"HMAC_SHA256_HEX", sha256.New, "6d1a8a52bb3c8caa9e4cc7fe72291f5d30fd0c95096be259757d62dee4afcad9"},
		{"", sha256.New, "6d1a8a52bb3c8caa9e4cc7fe72291f5d30fd0c95096be259757d62dee4afcad9"},
		{"HMAC_SHA512_HEX", sha512.New, "e73cab9b56c2f073fd16f8af61baa2b6c63edb98afef68c557dc217d6ebf0d2f8d87a08f22b892d8485837e8e7d2e3f3ec22c0262f91e5d51cd37c9a33ede9c5"},
	} {
		t.Run("alg "+tc.alg, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, hmacHex(tc.h, testSecret, body))
			got, err := p.Sign(tc.alg, body)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			require.NoError(t, p.Verify(digestHeader(tc.alg, tc.want), body))
		})
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	p := newProvider(t, sumsub.Config{})
	body := fixture(t, "applicant_reviewed_red_final.json")
	s256 := hmacHex(sha256.New, testSecret, body)
	s512 := hmacHex(sha512.New, testSecret, body)
	s1 := hmacHex(sha1.New, testSecret, body)
	for _, tc := range []struct {
		name, alg, digest string
		body              []byte
		ok                bool
	}{
		{"default algorithm is SHA-256", "", s256, body, true},
		{"SHA-512", "HMAC_SHA512_HEX", s512, body, true},
		{"SHA-1", "HMAC_SHA1_HEX", s1, body, true},
		{"upper-case digest", "HMAC_SHA256_HEX", strings.ToUpper(s256), body, true},
		{"SHA-256 digest announced as SHA-512", "HMAC_SHA512_HEX", s256, body, false},
		{"SHA-512 digest without the header", "", s512, body, false},
		{"unknown algorithm", "HMAC_MD5_HEX", s256, body, false},
		{"lower-case algorithm name", "hmac_sha256_hex", s256, body, false},
		{"tampered answer", "", s256, []byte(strings.Replace(string(body), `"RED"`, `"GREEN"`, 1)), false},
		{"re-encoded body", "", s256, []byte(strings.Join(strings.Fields(string(body)), " ")), false},
		{"other secret", "", hmacHex(sha256.New, "other", body), body, false},
		{"missing digest", "", "", body, false},
		{"not hex", "", "x" + s256[1:], body, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := p.Verify(digestHeader(tc.alg, tc.digest), tc.body)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, providers.ErrBadSignature)
		})
	}
	_, err := p.Sign("HMAC_MD5_HEX", body)
	require.ErrorIs(t, err, providers.ErrBadSignature)
}

func TestNewRequiresWebhookSecret(t *testing.T) {
	t.Parallel()
	_, err := sumsub.New(sumsub.Config{})
	require.ErrorContains(t, err, "WebhookSecret")
}

func utc(y int, mo time.Month, d, h, mi, s, ms int) time.Time {
	return time.Date(y, mo, d, h, mi, s, ms*int(time.Millisecond), time.UTC)
}

func TestParseFixtures(t *testing.T) {
	t.Parallel()
	p := newProvider(t, sumsub.Config{})
	const app1, app2 = "5c9e177b0a975a6eeccf5960", "5cb56e8e0a975a35f333cb83"
	for _, tc := range []struct {
		file string
		want *providers.Decision
	}{
		{"applicant_created.json", &providers.Decision{SessionID: app1, SubjectRef: "user-0001", Outcome: providers.OutcomeStarted, OccurredAt: utc(2020, 2, 21, 13, 23, 19, 2)}},
		{"applicant_pending.json", &providers.Decision{SessionID: app1, SubjectRef: "user-0001", Outcome: providers.OutcomeSubmitted, OccurredAt: utc(2020, 2, 21, 13, 25, 40, 117)}},
		{"applicant_on_hold.json", &providers.Decision{SessionID: app1, SubjectRef: "user-0001", Outcome: providers.OutcomeReview, OccurredAt: utc(2020, 2, 21, 13, 30, 0, 0)}},
		{"applicant_reviewed_green.json", &providers.Decision{SessionID: app2, SubjectRef: "user-0002", Outcome: providers.OutcomeApproved, Final: true, OccurredAt: utc(2020, 2, 21, 13, 23, 19, 321)}},
		{"applicant_reviewed_red_final.json", &providers.Decision{SessionID: app2, SubjectRef: "user-0002", Outcome: providers.OutcomeDeclined, Final: true,
			ReasonCodes: []string{"FORGERY", "SELFIE_MISMATCH"},
			Reason:      "We could not verify your profile. If you have any questions, please contact the Company where you try to verify your profile.",
			OccurredAt:  utc(2020, 2, 21, 14, 2, 11, 530)}},
		{"applicant_reviewed_red_retry.json", &providers.Decision{SessionID: app2, SubjectRef: "user-0002", Outcome: providers.OutcomeResubmissionRequested,
			ReasonCodes: []string{"BAD_PROOF_OF_IDENTITY", "LOW_QUALITY"}, Reason: "The photo of your document is blurry. Please upload a new one.",
			OccurredAt: utc(2020, 2, 21, 13, 50, 0, 0)}},
		{"applicant_workflow_completed.json", &providers.Decision{SessionID: "63e096d8b6a3a6bd6b8e8a2c", SubjectRef: "12672", Outcome: providers.OutcomeDeclined, Final: true,
			ReasonCodes: []string{"AGE_REQUIREMENT_MISMATCH"}, OccurredAt: utc(2023, 3, 14, 12, 50, 27, 238)}},
		{"applicant_reset.json", &providers.Decision{SessionID: app2, SubjectRef: "user-0002", Outcome: providers.OutcomeStarted, OccurredAt: utc(2020, 2, 22, 9, 0, 0, 0)}},
		{"applicant_tags_changed.json", nil},
		{"applicant_action_pending.json", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			body := fixture(t, tc.file)
			require.NoError(t, p.Verify(digestHeader("", hmacHex(sha256.New, testSecret, body)), body))
			got, err := p.Parse(body)
			require.NoError(t, err)
			if tc.want == nil {
				assert.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			d := got[0]
			require.NoError(t, d.Validate())
			assert.Regexp(t, `^sumsub:[0-9a-f]{32}$`, d.EventKey)
			tc.want.Provider, tc.want.EventKey = "sumsub", d.EventKey
			assert.Equal(t, *tc.want, d)
			assert.NotContains(t, d.Reason, "Private note", "clientComment is for the host's staff only and is never carried")
		})
	}
}

// TestSeveralFinalWebhooks: Sumsub may send several final webhooks for one
// applicant. Each is its own event; the rule keeps the newest, and the same
// one redelivered is a duplicate.
func TestSeveralFinalWebhooks(t *testing.T) {
	t.Parallel()
	p := newProvider(t, sumsub.Config{})
	parse := func(body string) providers.Decision {
		ds, err := p.Parse([]byte(body))
		require.NoError(t, err)
		require.Len(t, ds, 1)
		return ds[0]
	}
	green := parse(`{"type":"applicantReviewed","applicantId":"a1","externalUserId":"u1","correlationId":"req-1","reviewStatus":"completed","reviewResult":{"reviewAnswer":"GREEN"},"createdAtMs":"2024-05-01 10:00:00.000"}`)
	greenAgain := parse(`{"applicantId":"a1","type":"applicantReviewed","createdAtMs":"2024-05-01 10:00:00.000","reviewResult":{"reviewAnswer":"GREEN"},"reviewStatus":"completed","correlationId":"req-1","externalUserId":"u1","sandboxMode":false}`)
	red := parse(`{"type":"applicantReviewed","applicantId":"a1","externalUserId":"u1","correlationId":"req-2","reviewStatus":"completed","reviewResult":{"reviewAnswer":"RED","reviewRejectType":"FINAL","rejectLabels":["FRAUDULENT_PATTERNS"]},"createdAtMs":"2024-05-02 10:00:00.000"}`)
	assert.Equal(t, green.EventKey, greenAgain.EventKey, "a redelivery is the same event")
	assert.NotEqual(t, green.EventKey, red.EventKey)
	assert.True(t, red.Supersedes(green), "the newer final webhook wins")
	assert.False(t, green.Supersedes(red), "the older one, arriving late, is stale")
}

func TestParseTimestamps(t *testing.T) {
	t.Parallel()
	p := newProvider(t, sumsub.Config{})
	for stamp, want := range map[string]time.Time{
		`"createdAtMs":"2020-02-21 13:23:19.321"`:                                         utc(2020, 2, 21, 13, 23, 19, 321),
		`"createdAtMs":"2020-02-21 13:23:19"`:                                             utc(2020, 2, 21, 13, 23, 19, 0),
		`"createdAt":"2023-03-14 12:50:27+0000"`:                                          utc(2023, 3, 14, 12, 50, 27, 0),
		`"createdAt":"2023-03-14 14:50:27+0200"`:                                          utc(2023, 3, 14, 12, 50, 27, 0),
		`"createdAtMs":"2026-02-24T10:30:00.000Z"`:                                        utc(2026, 2, 24, 10, 30, 0, 0),
		`"createdAtMs":1582291399321`:                                                     utc(2020, 2, 21, 13, 23, 19, 321),
		`"createdAtMs":"2020-02-21 13:23:19.321", "createdAt":"1999-01-01 00:00:00+0000"`: utc(2020, 2, 21, 13, 23, 19, 321),
	} {
		ds, err := p.Parse([]byte(`{"type":"applicantPending","applicantId":"a1",` + stamp + `}`))
		require.NoError(t, err, stamp)
		require.Len(t, ds, 1)
		assert.Equal(t, want, ds[0].OccurredAt, stamp)
	}
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	p := newProvider(t, sumsub.Config{})
	for name, body := range map[string]string{
		"not JSON":              `type=applicantReviewed`,
		"no type":               `{"applicantId":"a1","createdAtMs":"2020-02-21 13:23:19.321"}`,
		"no applicant":          `{"type":"applicantPending","createdAtMs":"2020-02-21 13:23:19.321"}`,
		"reviewed, no result":   `{"type":"applicantReviewed","applicantId":"a1","createdAtMs":"2020-02-21 13:23:19.321"}`,
		"unknown answer":        `{"type":"applicantReviewed","applicantId":"a1","reviewResult":{"reviewAnswer":"YELLOW"},"createdAtMs":"2020-02-21 13:23:19.321"}`,
		"no time":               `{"type":"applicantPending","applicantId":"a1"}`,
		"bad time":              `{"type":"applicantPending","applicantId":"a1","createdAtMs":"21/02/2020"}`,
		"labels not a list":     `{"type":"applicantReviewed","applicantId":"a1","reviewResult":{"reviewAnswer":"RED","rejectLabels":"FORGERY"},"createdAtMs":"2020-02-21 13:23:19.321"}`,
		"applicantId an object": `{"type":"applicantPending","applicantId":{"id":1},"createdAtMs":"2020-02-21 13:23:19.321"}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := p.Parse([]byte(body))
			require.ErrorIs(t, err, providers.ErrMalformedPayload)
		})
	}
}
