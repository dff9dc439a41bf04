package veriff_test

import (
	"crypto/hmac"
	"crypto/sha256"
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
	"github.com/openkyc/kyc/providers/veriff"
)

const (
	testKey    = "test-api-key-0001"
	testSecret = "test-shared-secret-0001"
	// docSecret is the shared secret of the X-HMAC-SIGNATURE examples in
	// Veriff's developer documentation ("Generating X-HMAC-SIGNATURE").
	docSecret = "abcdef12-abcd-abcd-abcd-abcdef012345"
)

func newProvider(t *testing.T, cfg veriff.Config) *veriff.Provider {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	if cfg.SharedSecret == "" {
		cfg.SharedSecret = testSecret
	}
	p, err := veriff.New(cfg)
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
func hmacHex(secret string, msg []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

func headers(apiKey, sig string) http.Header {
	h := http.Header{}
	if apiKey != "" {
		h.Set("X-AUTH-CLIENT", apiKey)
	}
	if sig != "" {
		h.Set("X-HMAC-SIGNATURE", sig)
	}
	return h
}

// TestSignatureDocumentedExamples checks the adapter against the signatures
// Veriff's documentation publishes for its example session request and for
// signing a session id (GET requests).
func TestSignatureDocumentedExamples(t *testing.T) {
	t.Parallel()
	p := newProvider(t, veriff.Config{SharedSecret: docSecret})
	for _, tc := range []struct{ name, msg, sig string }{
		{
			"session request payload",
			`{"verification":{"callback":"https://veriff.com","person":{"firstName":"John","lastName":"Smith"},"document":{"type":"PASSPORT","country":"EE"},"vendorData":"unique id of the end-user","timestamp":"2016-05-19T08:30:25.597Z"}}`,
			"0dcab73ddd20062616d104231c7439657546a5c24e4691977da93bb854c31e25",
		},
		{
			"older session request payload",
			`{"verification":{"callback":"https://veriff.com","person":{"firstName":"John","lastName":"Smith"},"document":{"type":"PASSPORT","country":"EE"},"vendorData":"unique id of a user","timestamp":"2016-05-19T08:30:25.597Z"}}`,
			"6af6d95822e19e9cc707aec55395d8d363ba2c7bc4625bc04ebeca0c7bf8cd67",
		},
		{"session id (GET requests)", "aea9ba6d-1b47-47fc-a4fc-f72b6d3584a7", "895cb3fd31139d89aeb7b263682e15479ab57651e70591256ad2c14fde4950dd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.sig, p.Sign([]byte(tc.msg)))
			assert.Equal(t, tc.sig, hmacHex(docSecret, []byte(tc.msg)))
			require.NoError(t, p.Verify(headers(testKey, tc.sig), []byte(tc.msg)))
		})
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	p := newProvider(t, veriff.Config{})
	body := fixture(t, "decision_approved.json")
	good := hmacHex(testSecret, body)

	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
		ok     bool
	}{
		{"valid", headers(testKey, good), body, true},
		{"upper-case hex", headers(testKey, strings.ToUpper(good)), body, true},
		{"VRF-HMAC-SIGNATURE header", func() http.Header {
			h := headers(testKey, "")
			h.Set("VRF-HMAC-SIGNATURE", good)
			return h
		}(), body, true},
		{"body re-encoded (one space more)", headers(testKey, good), append([]byte(" "), body...), false},
		{"body tampered", headers(testKey, good), []byte(strings.Replace(string(body), "approved", "declined", 1)), false},
		{"empty body", headers(testKey, good), nil, false},
		{"signed with another secret", headers(testKey, hmacHex("other", body)), body, false},
		{"signature of a SHA-256 of body+secret (legacy X-SIGNATURE)", headers(testKey, func() string {
			s := sha256.Sum256(append(append([]byte{}, body...), testSecret...))
			return hex.EncodeToString(s[:])
		}()), body, false},
		{"truncated signature", headers(testKey, good[:32]), body, false},
		{"not hex", headers(testKey, "zz"+good[2:]), body, false},
		{"no signature", headers(testKey, ""), body, false},
		{"no X-AUTH-CLIENT", headers("", good), body, false},
		{"another integration's API key", headers("other-key", good), body, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := p.Verify(tc.header, tc.body)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, providers.ErrBadSignature)
			assert.NotContains(t, err.Error(), good, "errors never quote signatures")
			assert.NotContains(t, err.Error(), testSecret)
		})
	}
}

func TestNewRequiresCredentials(t *testing.T) {
	t.Parallel()
	_, err := veriff.New(veriff.Config{SharedSecret: "s"})
	require.ErrorContains(t, err, "APIKey")
	_, err = veriff.New(veriff.Config{APIKey: "k"})
	require.ErrorContains(t, err, "SharedSecret")
	_, err = veriff.New(veriff.Config{APIKey: "k", SharedSecret: "s", BaseURL: "stationapi.veriff.com"})
	require.ErrorContains(t, err, "absolute")
}

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
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
	p := newProvider(t, veriff.Config{})
	for _, tc := range []struct {
		file string
		want providers.Decision
	}{
		{"decision_approved.json", providers.Decision{
			SessionID: "12df6045-3846-3e45-946a-14fa6136d78b", AttemptID: "00bca969-b53a-4fad-b065-874d41a7b2b8",
			SubjectRef: "user-0001-aaaa-bbbb-cccc-dddddddddddd", Outcome: providers.OutcomeApproved, Final: true,
			Document:   providers.DocumentFacts{Type: "DRIVERS_LICENSE", Number: "MORGA753116SM9IJ", Country: "GB", ValidUntil: date("2022-04-20")},
			OccurredAt: ts("2019-11-06T07:18:36.916Z"),
		}},
		{"decision_declined.json", providers.Decision{
			SessionID: "12df6045-3846-3e45-946a-14fa6136d78b", AttemptID: "7f3bd01c-44cb-4a6f-9b8b-1a3b9f6e0c11",
			SubjectRef: "user-0001-aaaa-bbbb-cccc-dddddddddddd", Outcome: providers.OutcomeDeclined, Final: true,
			ReasonCodes: []string{"102"}, Reason: "Physical document not used",
			Document:   providers.DocumentFacts{Type: "PASSPORT", Country: "EE"},
			OccurredAt: ts("2019-11-06T08:01:02Z"),
		}},
		{"decision_resubmission_requested.json", providers.Decision{
			SessionID: "12df6045-3846-3e45-946a-14fa6136d78b", AttemptID: "00bca969-b53a-4fad-b065-874d41a7b2b8",
			SubjectRef: "user-0001-aaaa-bbbb-cccc-dddddddddddd", Outcome: providers.OutcomeResubmissionRequested,
			ReasonCodes: []string{"201"}, Reason: "Video and/or photos missing",
			OccurredAt: ts("2019-11-06T07:10:00Z"),
		}},
		{"decision_expired.json", providers.Decision{
			SessionID: "5a2358e7-fd31-4fcb-a23f-4d76651ba68a", SubjectRef: "user-0002-aaaa-bbbb-cccc-dddddddddddd",
			Outcome: providers.OutcomeExpired, Final: true, OccurredAt: ts("2019-11-13T07:15:27Z"),
		}},
		{"decision_abandoned.json", providers.Decision{
			SessionID: "5a2358e7-fd31-4fcb-a23f-4d76651ba68a", AttemptID: "c5e2c1de-0c0c-4a3e-8e8d-7f2a2b1c0d9e",
			SubjectRef: "user-0002-aaaa-bbbb-cccc-dddddddddddd",
			Outcome:    providers.OutcomeExpired, Final: true, OccurredAt: ts("2019-11-13T07:15:28Z"),
		}},
		{"decision_review.json", providers.Decision{
			SessionID: "d40edb60-6ae6-4475-be72-84b81669cce6", AttemptID: "f2270684-8c51-4d03-88eb-dafd43e8b486",
			SubjectRef: "user-0003-aaaa-bbbb-cccc-dddddddddddd", Outcome: providers.OutcomeReview,
			Document:   providers.DocumentFacts{Type: "ID_CARD", Number: "AB1234567", Country: "LV", ValidUntil: date("2030-01-31")},
			OccurredAt: ts("2023-10-27T10:00:02.998Z"),
		}},
		{"event_started.json", providers.Decision{
			SessionID: "f04bdb47-d3be-4b28-b028-a652feb060b5", AttemptID: "e30122d1-740b-4764-853f-470374a7abf4",
			SubjectRef: "12345678", Outcome: providers.OutcomeStarted,
		}},
		{"event_submitted.json", providers.Decision{
			SessionID: "f04bdb47-d3be-4b28-b028-a652feb060b5", AttemptID: "e30122d1-740b-4764-853f-470374a7abf4",
			SubjectRef: "12345678", Outcome: providers.OutcomeSubmitted,
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			body := fixture(t, tc.file)
			require.NoError(t, p.Verify(headers(testKey, hmacHex(testSecret, body)), body))
			got, err := p.Parse(body)
			require.NoError(t, err)
			require.Len(t, got, 1)
			d := got[0]
			require.NoError(t, d.Validate())
			assert.Equal(t, "veriff", d.Provider)
			assert.True(t, strings.HasPrefix(d.EventKey, "veriff:"), d.EventKey)
			tc.want.Provider, tc.want.EventKey = d.Provider, d.EventKey
			assert.Equal(t, tc.want, d)

			again, err := p.Parse(body)
			require.NoError(t, err)
			assert.Equal(t, got, again, "parsing the same delivery twice gives the same event key")
		})
	}
}

func TestEventKeysDistinguishEvents(t *testing.T) {
	t.Parallel()
	p := newProvider(t, veriff.Config{})
	seen := map[string]string{}
	files := []string{
		"decision_approved.json", "decision_declined.json", "decision_resubmission_requested.json",
		"decision_expired.json", "decision_abandoned.json", "decision_review.json",
		"event_started.json", "event_submitted.json",
	}
	for _, f := range files {
		ds, err := p.Parse(fixture(t, f))
		require.NoError(t, err)
		require.Len(t, ds, 1)
		prev, dup := seen[ds[0].EventKey]
		require.False(t, dup, "%s and %s share an event key", f, prev)
		seen[ds[0].EventKey] = f
	}
	// The key ignores what does not identify the event: re-encoding the same
	// decision with other whitespace or member order gives the same key.
	a, err := p.Parse([]byte(`{"verification":{"id":"s1","attemptId":"a1","status":"approved","code":9001,"decisionTime":"2024-01-01T00:00:00Z"}}`))
	require.NoError(t, err)
	b, err := p.Parse([]byte(`{ "verification" : { "code" : 9001, "decisionTime":"2024-01-01T00:00:00Z", "status":"approved", "attemptId":"a1", "id":"s1" }, "technicalData":{} }`))
	require.NoError(t, err)
	assert.Equal(t, a[0].EventKey, b[0].EventKey)
}

func TestParseMapping(t *testing.T) {
	t.Parallel()
	p := newProvider(t, veriff.Config{})
	for _, tc := range []struct {
		status, code string
		want         providers.Outcome
		final        bool
	}{
		{`"approved"`, "9001", providers.OutcomeApproved, true},
		{`"declined"`, "9102", providers.OutcomeDeclined, true},
		{`"resubmission_requested"`, "9103", providers.OutcomeResubmissionRequested, false},
		{`"expired"`, "9104", providers.OutcomeExpired, true},
		{`"abandoned"`, "9104", providers.OutcomeExpired, true},
		{`"review"`, "9121", providers.OutcomeReview, false},
		{`"submitted"`, "7002", providers.OutcomeSubmitted, false},
		{`"started"`, "7001", providers.OutcomeStarted, false},
		// Status labels win; codes decide only when the label is missing.
		{`null`, "9001", providers.OutcomeApproved, true},
		{`null`, "9102", providers.OutcomeDeclined, true},
		{`null`, "9103", providers.OutcomeResubmissionRequested, false},
		{`null`, "9104", providers.OutcomeExpired, true},
		{`null`, "9121", providers.OutcomeReview, false},
		{`null`, `"9001"`, providers.OutcomeApproved, true},
	} {
		body := `{"verification":{"id":"s1","status":` + tc.status + `,"code":` + tc.code + `,"decisionTime":"2024-01-01T00:00:00Z"}}`
		ds, err := p.Parse([]byte(body))
		require.NoError(t, err, body)
		require.Len(t, ds, 1)
		assert.Equal(t, tc.want, ds[0].Outcome, body)
		assert.Equal(t, tc.final, ds[0].Final, body)
	}
}

func TestParseIgnoresOtherEvents(t *testing.T) {
	t.Parallel()
	p := newProvider(t, veriff.Config{})
	ds, err := p.Parse([]byte(`{"id":"f04bdb47-d3be-4b28-b028-a652feb060b5","attemptId":"x","feature":"selfid","code":7003,"action":"some_future_action","vendorData":"1"}`))
	require.NoError(t, err)
	assert.Empty(t, ds)
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	p := newProvider(t, veriff.Config{})
	for name, body := range map[string]string{
		"not JSON":                 `{"verification":`,
		"empty":                    ``,
		"a list":                   `[]`,
		"neither shape":            `{"status":"success"}`,
		"no session id":            `{"verification":{"status":"approved","decisionTime":"2024-01-01T00:00:00Z"}}`,
		"unknown status":           `{"verification":{"id":"s1","status":"maybe","decisionTime":"2024-01-01T00:00:00Z"}}`,
		"unknown code, no status":  `{"verification":{"id":"s1","code":1234}}`,
		"bad decisionTime":         `{"verification":{"id":"s1","status":"approved","decisionTime":"yesterday"}}`,
		"bad acceptanceTime":       `{"verification":{"id":"s1","status":"approved","acceptanceTime":"06/11/2019"}}`,
		"id of the wrong type":     `{"verification":{"id":["s1"],"status":"approved"}}`,
		"verification not object":  `{"verification":"approved"}`,
		"document of wrong type":   `{"verification":{"id":"s1","status":"approved","document":"passport"}}`,
		"personal data not quoted": `{"verification":{"id":"s1","vendorData":"SARAH-MORGAN-1967","status":"approved","decisionTime":"SARAH MORGAN"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := p.Parse([]byte(body))
			require.ErrorIs(t, err, providers.ErrMalformedPayload)
			assert.NotContains(t, err.Error(), "SARAH")
		})
	}
}
