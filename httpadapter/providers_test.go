package httpadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/fake"
	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// delivery is a signed fake-provider webhook for decision d.
func (b *testBundle) delivery(d providers.Decision) req {
	b.t.Helper()
	body, err := b.fake.Encode(d)
	require.NoError(b.t, err)
	return req{method: "POST", path: "/webhooks/providers/fake", body: body, header: map[string]string{fake.HeaderSignature: b.fake.Sign(body)}}
}

// providerDecision starts a session for sub at the fake provider and
// returns a decision about it with outcome o at time at.
func (b *testBundle) providerDecision(sub verification.Subject, o providers.Outcome, at time.Time) providers.Decision {
	b.t.Helper()
	sess, err := b.fake.StartSession(b.ctx, providers.StartParams{SubjectRef: sub.Identifier})
	require.NoError(b.t, err)
	d, err := b.fake.Decide(sess.ID, o)
	require.NoError(b.t, err)
	d.OccurredAt = at
	return d
}

func webhookResults(t testing.TB, body []byte) []string {
	t.Helper()
	var out struct {
		Results []webhookResult `json:"results"`
	}
	require.NoError(t, json.Unmarshal(body, &out), "%s", body)
	var rs []string
	for _, r := range out.Results {
		rs = append(rs, r.Result)
	}
	return rs
}

func TestProviderWebhookAppliesInOrderOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t0 := b.clock.Now()
	approved := b.providerDecision(b.owner, providers.OutcomeApproved, t0.Add(2*time.Minute))
	older, err := b.fake.Decide(approved.SessionID, providers.OutcomeDeclined)
	require.NoError(t, err)
	older.OccurredAt = t0.Add(time.Minute)
	newer, err := b.fake.Decide(approved.SessionID, providers.OutcomeDeclined)
	require.NoError(t, err)
	newer.OccurredAt = t0.Add(3 * time.Minute)

	for _, step := range []struct {
		name string
		d    providers.Decision
		want string
		idv  string // the id-verification route's status afterwards ("" for none approved)
	}{
		{"approval", approved, "applied", "approved"},
		{"redelivery", approved, "duplicate", "approved"},
		{"older decline", older, "stale", "approved"},
		{"older decline again", older, "duplicate", "approved"},
		{"newer decline", newer, "applied", ""},
	} {
		got := b.do(b.delivery(step.d))
		require.Equal(t, 200, got.status, "%s: %s", step.name, got.body)
		require.Equal(t, []string{step.want}, webhookResults(t, got.body), step.name)
		idv := b.do(req{method: "GET", path: "/api/v1/me/natural-person/id-verification", token: tokOwner})
		require.Equal(t, 200, idv.status)
		var v idVerificationJSON
		require.NoError(t, json.Unmarshal(idv.body, &v))
		if step.idv == "" {
			require.Nil(t, v.Status, "%s: no approved session any more", step.name)
			continue
		}
		require.NotNil(t, v.Status, step.name)
		require.Equal(t, step.idv, *v.Status, step.name)
		require.Equal(t, fake.Name, *v.Type, step.name)
	}
	st, err := b.store.GetRequirementState(b.ctx, b.owner.ID, "idDocument")
	require.NoError(t, err)
	require.Equal(t, "rejected", string(st.Status), "the newer final decline reviews the configured requirement")
	require.True(t, st.Final)
}

func TestProviderWebhookRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	good := b.delivery(b.providerDecision(b.owner, providers.OutcomeApproved, b.clock.Now()))
	tampered := good
	tampered.body = bytes.Replace(good.body, []byte("approved"), []byte("declined"), 1)
	unsigned := good
	unsigned.header = nil
	signedGarbage := req{method: "POST", path: "/webhooks/providers/fake", body: []byte(`{"not":"a decision"}`),
		header: map[string]string{fake.HeaderSignature: b.fake.Sign([]byte(`{"not":"a decision"}`))}}
	huge := bytes.Repeat([]byte(" "), int(DefaultMaxWebhookBytes)+1)
	tooLarge := req{method: "POST", path: "/webhooks/providers/fake", body: huge, header: map[string]string{fake.HeaderSignature: b.fake.Sign(huge)}}
	unknown := good
	unknown.path = "/webhooks/providers/veriff"

	for _, tc := range []struct {
		name   string
		r      req
		status int
		errTxt string
	}{
		{"tampered body", tampered, 401, "invalid_signature"},
		{"no signature", unsigned, 401, "invalid_signature"},
		{"signed but malformed", signedGarbage, 400, "malformed_payload"},
		{"over the cap", tooLarge, 413, "too_large"},
		{"unknown provider", unknown, 404, "unknown_provider"},
	} {
		got := b.do(tc.r)
		require.Equal(t, tc.status, got.status, "%s: %s", tc.name, got.body)
		var e externalError
		require.NoError(t, json.Unmarshal(got.body, &e), tc.name)
		require.Equal(t, tc.errTxt, e.Error, tc.name)
		require.Empty(t, got.header.Get("WWW-Authenticate"), "%s: a webhook is not a bearer-token route", tc.name)
	}
	evs, err := b.store.ListProviderEvents(b.ctx, verification.ProviderEventFilter{})
	require.NoError(t, err)
	require.Empty(t, evs, "no refused delivery is recorded")
	require.NotContains(t, b.logs.String(), fakeSecret)
}

// brokenStore fails every transaction once broken, as a store that lost
// its disk.
type brokenStore struct {
	*memory.Store
	broken *atomic.Bool
}

func (s brokenStore) InTx(ctx context.Context, fn func(context.Context, verification.Store) error) error {
	if s.broken.Load() {
		return errors.New("disk on fire")
	}
	return s.Store.InTx(ctx, fn)
}

func TestProviderWebhookStoreFailureIsRetried(t *testing.T) {
	t.Parallel()
	st := brokenStore{Store: memory.New(), broken: &atomic.Bool{}}
	b := setup(t, setupOpts{store: st})
	r := b.delivery(b.providerDecision(b.owner, providers.OutcomeApproved, b.clock.Now()))
	st.broken.Store(true)
	got := b.do(r)
	require.Equal(t, 503, got.status, "%s", got.body)
	require.Contains(t, string(got.body), "service_unavailable")
	require.NotContains(t, string(got.body), "disk on fire", "no driver error reaches the provider")
	st.broken.Store(false)
	got = b.do(r)
	require.Equal(t, 200, got.status, "the provider's retry is applied once the store is back")
	require.Equal(t, []string{"applied"}, webhookResults(t, got.body))
}

// TestProviderWebhookMatrix: the webhook route ignores credentials: a
// signed delivery is accepted whoever else's token comes with it, and an
// unsigned one is refused even with an admin token.
func TestProviderWebhookMatrix(t *testing.T) {
	t.Parallel()
	for col := column(0); col < numColumns; col++ {
		t.Run(columnNames[col], func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			signed := b.credentials(b.delivery(b.providerDecision(b.other, providers.OutcomeApproved, b.clock.Now())), col)
			got := b.do(signed)
			require.Equal(t, 200, got.status, "%s: %s", columnNames[col], got.body)
			for _, m := range append(b.subjectMarkers(b.owner.ID), b.subjectMarkers(b.other.ID)...) {
				require.NotContains(t, string(got.body), m, "the answer names no subject data")
			}
			unsigned := b.credentials(b.delivery(b.providerDecision(b.other, providers.OutcomeApproved, b.clock.Now())), col)
			delete(unsigned.header, fake.HeaderSignature)
			require.Equal(t, 401, b.do(unsigned).status)
		})
	}
}

// unavailableProvider fails to start sessions, as a provider in an outage.
type unavailableProvider struct{ *fake.Provider }

func (unavailableProvider) StartSession(context.Context, providers.StartParams) (providers.Session, error) {
	return providers.Session{}, &providers.CallError{Provider: fake.Name, Op: "POST /sessions", Err: providers.ErrUnavailable}
}

func TestStartProviderSessionRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	got := b.do(req{method: "POST", path: "/api/v2/my/verifications/provider-sessions", token: tokOwner, body: []byte(`{"provider":"fake","returnUrl":"https://app.example/done"}`)})
	require.Equal(t, 201, got.status, "%s", got.body)
	var out providerSessionJSON
	require.NoError(t, json.Unmarshal(got.body, &out))
	require.True(t, strings.HasPrefix(out.URL, "https://fake.example/provider/sessions/"), out.URL)
	ps, err := b.store.GetProviderSession(b.ctx, fake.Name, out.SessionID)
	require.NoError(t, err)
	require.Equal(t, b.owner.ID, ps.SubjectID, "the session is recorded for its subject")

	for _, tc := range []struct{ body, param string }{
		{`{"provider":"nope"}`, "provider"},
		{`{"provider":"fake","returnUrl":"javascript:alert(1)"}`, "returnUrl"},
		{`{}`, "provider"},
	} {
		got := b.do(req{method: "POST", path: "/api/v2/my/verifications/provider-sessions", token: tokOwner, body: []byte(tc.body)})
		require.Equal(t, 400, got.status, "%s: %s", tc.body, got.body)
		require.Contains(t, string(got.body), tc.param)
	}

	down := setup(t, setupOpts{svc: func(o *verification.Options) {
		p, err := fake.New(fake.Config{Secret: fakeSecret, BaseURL: "https://fake.example/provider"})
		require.NoError(t, err)
		o.Providers = []verification.ProviderConfig{{Provider: unavailableProvider{p}}}
	}})
	got = down.do(req{method: "POST", path: "/api/v2/my/verifications/provider-sessions", token: tokOwner, body: []byte(`{"provider":"fake"}`)})
	require.Equal(t, 503, got.status, "%s", got.body)
	require.Contains(t, string(got.body), fmt.Sprintf("%q", "ER999"))
}

func TestNewRefusesProvidersTheServiceLacks(t *testing.T) {
	t.Parallel()
	svc, _ := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	p, err := fake.New(fake.Config{Secret: fakeSecret, BaseURL: "https://fake.example/provider"})
	require.NoError(t, err)
	auth, err := NewStaticAuthenticator(map[string]StaticToken{}, nil)
	require.NoError(t, err)
	_, err = New(svc, Options{Authenticator: auth, Providers: []providers.Provider{p}})
	require.ErrorContains(t, err, "not in the Service")
	_, err = New(svc, Options{Authenticator: auth, Providers: []providers.Provider{nil}})
	require.Error(t, err)
}
