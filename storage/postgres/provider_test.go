package postgres

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/providers/fake"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestProviderDecisionRace races redeliveries of one provider decision on
// PostgreSQL over two Services with a pool each (two replicas): the
// unmatched one exercises AddProviderEvent's conflict inside a
// transaction, which must leave it usable for the Service's retry.
func TestProviderDecisionRace(t *testing.T) {
	t.Parallel()
	p, err := fake.New(fake.Config{Secret: "s", BaseURL: "http://127.0.0.1/fake"})
	require.NoError(t, err)
	schema := newSchema(t)
	var svcs []*verification.Service
	for range 2 {
		svc, err := verification.New(verificationtest.SeedLadder(t), openOwnPool(t, schema), verification.Options{
			Providers: []verification.ProviderConfig{{Provider: p, Requirements: []string{"idDocument"}}}})
		require.NoError(t, err)
		svcs = append(svcs, svc)
	}
	for range 3 {
		verificationtest.RaceProviderDecision(t, fake.Name, svcs...)
	}
}
