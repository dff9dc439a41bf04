package postgres

import (
	"testing"

	"github.com/openkyc/kyc/storage/storagetest"
)

// TestIdempotencyConcurrentReserve races reservations of one key on two
// pools, as two replicas would; the contract itself is checked by
// storagetest.RunIdempotency through TestConformance.
func TestIdempotencyConcurrentReserve(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	storagetest.RaceIdempotencyReserve(t, openOwnPool(t, schema), openOwnPool(t, schema))
}
