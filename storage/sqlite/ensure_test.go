package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestEnsureSubjectRace races first logins of one user on the SQLite store:
// goroutines of one Service, and two Stores on one file (two processes).
func TestEnsureSubjectRace(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "kyc.db")
	var svcs []*verification.Service
	for range 2 {
		s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		svc, err := verification.New(verificationtest.SeedLadder(t), s, verification.Options{})
		require.NoError(t, err)
		svcs = append(svcs, svc)
	}
	for range 5 {
		verificationtest.RaceEnsureSubject(t, svcs...)
		verificationtest.RaceEnsureSubject(t, svcs[0])
	}
}
