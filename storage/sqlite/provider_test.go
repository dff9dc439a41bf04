package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/providers/fake"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestProviderDecisionRace races redeliveries of one provider decision on
// the SQLite store: goroutines of one Service, and two Stores on one file.
func TestProviderDecisionRace(t *testing.T) {
	t.Parallel()
	p, err := fake.New(fake.Config{Secret: "s", BaseURL: "http://127.0.0.1/fake"})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "kyc.db")
	var svcs []*verification.Service
	for range 2 {
		s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		svc, err := verification.New(verificationtest.SeedLadder(t), s, verification.Options{
			Providers: []verification.ProviderConfig{{Provider: p, Requirements: []string{"idDocument"}}}})
		require.NoError(t, err)
		svcs = append(svcs, svc)
	}
	for range 3 {
		verificationtest.RaceProviderDecision(t, fake.Name, svcs...)
	}
}
