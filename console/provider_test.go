package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/console"
	"github.com/openkyc/kyc/httpadapter"
	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/fake"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestCaseShowsProviderDecisions: the case page lists each provider
// session's applied decision with the provider's reason codes and reason,
// so a reviewer sees why a hosted check declined.
func TestCaseShowsProviderDecisions(t *testing.T) {
	t.Parallel()
	p, err := fake.New(fake.Config{Secret: "test-secret", BaseURL: "http://127.0.0.1/fake"})
	require.NoError(t, err)
	svc, clock := verificationtest.NewService(t, verificationtest.SeedLadder(t), verification.Options{
		Providers: []verification.ProviderConfig{{Provider: p, Requirements: []string{"idDocument"}}},
	})
	sub := verificationtest.CreateSubject(t, svc, "eu")
	for i, d := range []providers.Decision{
		{Outcome: providers.OutcomeSubmitted},
		{Outcome: providers.OutcomeDeclined, Final: true, ReasonCodes: []string{"102", "105"}, Reason: "Suspected document tampering"},
	} {
		clock.Advance(time.Minute)
		d.Provider, d.EventKey, d.SessionID, d.SubjectRef, d.OccurredAt = fake.Name, fmt.Sprintf("fake:e%d", i), "sess-1", sub.Identifier, clock.Now()
		rec, err := svc.ApplyProviderDecision(t.Context(), d)
		require.NoError(t, err)
		require.Equal(t, verification.ProviderApplied, rec.Result)
	}
	auth, err := httpadapter.NewStaticAuthenticator(map[string]httpadapter.StaticToken{
		tokAdmin:   {Principal: httpadapter.Principal{Credential: httpadapter.Admin, AdminID: 1}},
		tokAdminUS: {Principal: httpadapter.Principal{Credential: httpadapter.Admin, AdminID: 3, AdminTags: []string{"us"}}},
	}, nil)
	require.NoError(t, err)
	mux := http.NewServeMux()
	_, err = console.RegisterConsole(mux, "/console", svc, console.Options{Authenticator: auth})
	require.NoError(t, err)
	b := &testBundle{svc: svc, clock: clock, srv: httptest.NewServer(mux)}
	t.Cleanup(b.srv.Close)

	doc := b.page(t, tokAdmin, fmt.Sprintf("/console/clients/%d", sub.ID), 200)
	rows := doc.Find("#provider-decisions tbody tr")
	require.Equal(t, 1, rows.Length(), "one row per provider session, its latest applied decision")
	assert.Equal(t, []string{clock.Now().UTC().Format("2006-01-02 15:04 UTC"), "fake", "declined", "final", "102, 105", "Suspected document tampering", "sess-1"},
		texts(rows.First().Find("td")))
	b.page(t, tokAdminUS, fmt.Sprintf("/console/clients/%d", sub.ID), 404)
}
