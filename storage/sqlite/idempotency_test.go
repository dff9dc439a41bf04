package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/storage/storagetest"
)

// TestIdempotencyConcurrentReserve races reservations of one key on two
// Stores on one file, as two processes would; the contract itself is checked
// by storagetest.RunIdempotency through TestConformance.
func TestIdempotencyConcurrentReserve(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "kyc.db")
	open := func() *Store {
		s, err := Open(t.Context(), path, Options{TablePrefix: "kyc_"})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	}
	storagetest.RaceIdempotencyReserve(t, open(), open())
}
