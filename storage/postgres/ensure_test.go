package postgres

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestEnsureSubjectRace races first logins of one user on PostgreSQL:
// goroutines spread over two Services with a pool each (two replicas).
func TestEnsureSubjectRace(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	var svcs []*verification.Service
	for range 2 {
		svc, err := verification.New(verificationtest.SeedLadder(t), openOwnPool(t, schema), verification.Options{})
		require.NoError(t, err)
		svcs = append(svcs, svc)
	}
	for range 5 {
		verificationtest.RaceEnsureSubject(t, svcs...)
	}
}
