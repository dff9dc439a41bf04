package providers_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/providers"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func dec(key string, at time.Time, o providers.Outcome, final bool) providers.Decision {
	return providers.Decision{Provider: "veriff", EventKey: key, SessionID: "s1", Outcome: o, Final: final, OccurredAt: at}
}

func TestOutcomeRank(t *testing.T) {
	t.Parallel()
	want := map[providers.Outcome]int{
		providers.OutcomeStarted: 1, providers.OutcomeSubmitted: 2, providers.OutcomeReview: 3,
		providers.OutcomeResubmissionRequested: 4, providers.OutcomeExpired: 5,
		providers.OutcomeDeclined: 6, providers.OutcomeApproved: 7,
	}
	require.Len(t, providers.Outcomes, len(want))
	for o, r := range want {
		assert.Equal(t, r, o.Rank(), o)
		assert.True(t, o.Valid(), o)
	}
	for i := 1; i < len(providers.Outcomes); i++ {
		assert.Less(t, providers.Outcomes[i-1].Rank(), providers.Outcomes[i].Rank(), "Outcomes is in rank order")
	}
	for _, o := range []providers.Outcome{"", "APPROVED", "pending", "created"} {
		assert.Zero(t, o.Rank(), o)
		assert.False(t, o.Valid(), o)
	}
}

func TestOutcomeFinal(t *testing.T) {
	t.Parallel()
	for _, o := range providers.Outcomes {
		final := o == providers.OutcomeApproved || o == providers.OutcomeDeclined || o == providers.OutcomeExpired
		assert.Equal(t, final, o.Final(), o)
		for _, other := range providers.Outcomes {
			if o.Final() && !other.Final() {
				assert.Greater(t, o.Rank(), other.Rank(), "final %s outranks non-final %s", o, other)
			}
		}
	}
	assert.Equal(t, "resubmission_requested", providers.OutcomeResubmissionRequested.String())
}

func TestSupersedes(t *testing.T) {
	t.Parallel()
	later := t0.Add(time.Second)
	for _, tc := range []struct {
		name      string
		prev, d   providers.Decision
		supersede bool
	}{
		{"newer wins", dec("a", t0, providers.OutcomeSubmitted, false), dec("b", later, providers.OutcomeReview, false), true},
		{"older loses", dec("a", later, providers.OutcomeSubmitted, false), dec("b", t0, providers.OutcomeReview, false), false},
		{"newer decline after approval applies", dec("a", t0, providers.OutcomeApproved, true), dec("b", later, providers.OutcomeDeclined, true), true},
		{"older decline after approval is stale", dec("a", later, providers.OutcomeApproved, true), dec("b", t0, providers.OutcomeDeclined, true), false},
		{"older non-final never replaces a final", dec("a", later, providers.OutcomeApproved, true), dec("b", t0, providers.OutcomeStarted, false), false},
		{"late 'submitted' after approval is stale", dec("a", later, providers.OutcomeDeclined, true), dec("b", t0, providers.OutcomeSubmitted, false), false},
		{"newer non-final replaces a final (e.g. a reset)", dec("a", t0, providers.OutcomeApproved, true), dec("b", later, providers.OutcomeStarted, false), true},
		{"same time: higher rank wins", dec("a", t0, providers.OutcomeSubmitted, false), dec("b", t0, providers.OutcomeApproved, true), true},
		{"same time: lower rank loses", dec("a", t0, providers.OutcomeApproved, true), dec("b", t0, providers.OutcomeSubmitted, false), false},
		{"same time: approval stands against a decline", dec("a", t0, providers.OutcomeApproved, true), dec("b", t0, providers.OutcomeDeclined, true), false},
		{"same time: approval beats a decline", dec("a", t0, providers.OutcomeDeclined, true), dec("b", t0, providers.OutcomeApproved, true), true},
		{"same time and rank: final wins", dec("z", t0, providers.OutcomeApproved, false), dec("a", t0, providers.OutcomeApproved, true), true},
		{"same time and rank: non-final loses", dec("a", t0, providers.OutcomeApproved, true), dec("z", t0, providers.OutcomeApproved, false), false},
		{"full tie: larger event key wins", dec("a", t0, providers.OutcomeReview, false), dec("b", t0, providers.OutcomeReview, false), true},
		{"full tie: smaller event key loses", dec("b", t0, providers.OutcomeReview, false), dec("a", t0, providers.OutcomeReview, false), false},
		{"duplicate is a no-op", dec("a", t0, providers.OutcomeSubmitted, false), dec("a", later, providers.OutcomeApproved, true), false},
		{"untimed event never replaces a timed one", dec("a", t0, providers.OutcomeStarted, false), dec("b", time.Time{}, providers.OutcomeSubmitted, false), false},
		{"timed decision replaces an untimed one", dec("a", time.Time{}, providers.OutcomeSubmitted, false), dec("b", t0, providers.OutcomeStarted, false), true},
		{"same instant in another zone", dec("a", t0, providers.OutcomeApproved, true), dec("b", t0.In(time.FixedZone("EET", 2*3600)), providers.OutcomeDeclined, true), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.supersede, tc.d.Supersedes(tc.prev))
			if tc.prev.EventKey != tc.d.EventKey {
				assert.NotEqual(t, tc.d.Supersedes(tc.prev), tc.prev.Supersedes(tc.d), "exactly one of two distinct events supersedes the other")
			}
		})
	}
}

func TestSupersedesOtherSessions(t *testing.T) {
	t.Parallel()
	a := dec("a", t0, providers.OutcomeSubmitted, false)
	b := dec("b", t0.Add(time.Hour), providers.OutcomeApproved, true)
	b.SessionID = "s2"
	assert.False(t, b.Supersedes(a))
	assert.False(t, a.Supersedes(b))
	b.SessionID, b.Provider = "s1", "sumsub"
	assert.False(t, b.Supersedes(a), "session ids are per provider")
	assert.False(t, a.SameSession(b))
}

func TestDecisionValidate(t *testing.T) {
	t.Parallel()
	ok := dec("k", t0, providers.OutcomeApproved, true)
	require.NoError(t, ok.Validate())
	for field, mutate := range map[string]func(*providers.Decision){
		"provider":   func(d *providers.Decision) { d.Provider = "" },
		"event key":  func(d *providers.Decision) { d.EventKey = "" },
		"session id": func(d *providers.Decision) { d.SessionID = "" },
		"outcome":    func(d *providers.Decision) { d.Outcome = "pending" },
	} {
		d := ok
		mutate(&d)
		assert.ErrorContains(t, d.Validate(), field)
	}
}

func TestDecisionStringHidesPersonalData(t *testing.T) {
	t.Parallel()
	d := providers.Decision{
		Provider: "veriff", EventKey: "veriff:0123", SessionID: "12df6045-3846-3e45-946a-14fa6136d78b", SubjectRef: "user-123456789",
		Outcome: providers.OutcomeDeclined, Final: true, ReasonCodes: []string{"102"}, Reason: "Physical document not used",
		Document:   providers.DocumentFacts{Type: "PASSPORT", Number: "AB1234567", Country: "EE"},
		OccurredAt: t0,
	}
	s := d.String()
	assert.Equal(t, "veriff session 12df…: declined (final) subject user… reasons 102 at 2026-03-01T12:00:00Z event veriff:0123", s)
	assert.NotContains(t, s, "14fa6136d78b")
	assert.NotContains(t, s, "Physical")
	assert.NotContains(t, s, "AB1234567")
	assert.NotContains(t, s, "user-123456789")
	assert.Equal(t, "…", providers.Redact("12345678"))
	assert.Equal(t, "…", providers.Redact(""))
}

func TestDocumentFactsIsZero(t *testing.T) {
	t.Parallel()
	assert.True(t, providers.DocumentFacts{}.IsZero())
	assert.False(t, providers.DocumentFacts{Country: "EE"}.IsZero())
	assert.False(t, providers.DocumentFacts{ValidUntil: t0}.IsZero())
}

func TestDeriveEventKey(t *testing.T) {
	t.Parallel()
	k := providers.DeriveEventKey("sumsub", "applicantReviewed", "app-1", "2020-02-21 13:23:19.321")
	assert.Regexp(t, `^sumsub:[0-9a-f]{32}$`, k)
	assert.Equal(t, k, providers.DeriveEventKey("sumsub", "applicantReviewed", "app-1", "2020-02-21 13:23:19.321"))
	assert.NotEqual(t, k, providers.DeriveEventKey("sumsub", "applicantReviewed", "app-1", "2020-02-21 13:23:19.322"))
	assert.NotEqual(t, providers.DeriveEventKey("p", "ab", "c"), providers.DeriveEventKey("p", "a", "bc"), "parts are delimited")
	assert.NotEqual(t, providers.DeriveEventKey("p", "a", ""), providers.DeriveEventKey("p", "a"))
	assert.NotContains(t, providers.DeriveEventKey("p", "user@example.com"), "example")
}

func TestStartParamsValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, providers.StartParams{SubjectRef: "u1"}.Validate())
	require.ErrorIs(t, providers.StartParams{}.Validate(), providers.ErrInvalidParams)
	require.ErrorIs(t, providers.StartParams{SubjectRef: strings.Repeat("a", 256)}.Validate(), providers.ErrInvalidParams)
}

func TestHTTPOptionsDefaults(t *testing.T) {
	t.Parallel()
	o := providers.HTTPOptions{}.WithDefaults()
	require.NotNil(t, o.Client)
	assert.Equal(t, providers.DefaultTimeout, o.Timeout)
	assert.Equal(t, providers.DefaultMaxAttempts, o.MaxAttempts)
	assert.Equal(t, providers.DefaultInitialBackoff, o.InitialBackoff)
	assert.Equal(t, providers.DefaultMaxBackoff, o.MaxBackoff)
	o = providers.HTTPOptions{Timeout: time.Second, MaxAttempts: 1, InitialBackoff: 5 * time.Second, MaxBackoff: time.Second}.WithDefaults()
	assert.Equal(t, time.Second, o.Timeout)
	assert.Equal(t, 1, o.MaxAttempts)
	assert.Equal(t, 5*time.Second, o.MaxBackoff, "MaxBackoff is never below InitialBackoff")
}

func TestSignAndVerifyHMAC(t *testing.T) {
	t.Parallel()
	key, msg := []byte("key"), []byte("The quick brown fox jumps over the lazy dog")
	for name, tc := range map[string]struct {
		h    func() hash.Hash
		want string
	}{
		// The RFC 2104 / Wikipedia test vectors for this key and message.
		"sha1":   {sha1.New, "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"},
		"sha256": {sha256.New, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"},
		"sha512": {sha512.New, "b42af09057bac1e2d41708e48a902e09b5ff7f12ab428a4fe86653c73dd248fb82f948a549f7b791a5b41915ee4d1ec3935357e4e2317250d0372afa2ebeeb3a"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := hmac.New(tc.h, key)
			m.Write(msg)
			require.Equal(t, tc.want, hex.EncodeToString(m.Sum(nil)))
			assert.Equal(t, tc.want, providers.SignHMAC(tc.h, key, msg))
			require.NoError(t, providers.VerifyHMAC(tc.h, key, msg, tc.want))
			require.NoError(t, providers.VerifyHMAC(tc.h, key, msg, " "+strings.ToUpper(tc.want)+"\n"))
			require.ErrorIs(t, providers.VerifyHMAC(tc.h, key, append(msg, '.'), tc.want), providers.ErrBadSignature)
			require.ErrorIs(t, providers.VerifyHMAC(tc.h, []byte("other"), msg, tc.want), providers.ErrBadSignature)
			require.ErrorIs(t, providers.VerifyHMAC(tc.h, key, msg, tc.want[:len(tc.want)-2]), providers.ErrBadSignature)
			require.ErrorIs(t, providers.VerifyHMAC(tc.h, key, msg, ""), providers.ErrBadSignature)
			require.ErrorIs(t, providers.VerifyHMAC(tc.h, nil, msg, tc.want), providers.ErrBadSignature, "an unset secret verifies nothing")
		})
	}
}

func TestCallErrorMessage(t *testing.T) {
	t.Parallel()
	err := &providers.CallError{Provider: "veriff", Op: "POST /v1/sessions", StatusCode: 503, Attempts: 3, Err: providers.ErrUnavailable}
	assert.Equal(t, "veriff: POST /v1/sessions: HTTP 503 Service Unavailable after 3 attempt(s): providers: provider unavailable", err.Error())
	require.ErrorIs(t, err, providers.ErrUnavailable)
	assert.NotErrorIs(t, err, providers.ErrRejected)
}
