package watchman

import (
	"testing"

	"github.com/openkyc/kyc/internal/importcheck"
)

// TestImportsStandardLibraryAndScreening keeps the client light: its
// non-test files import the standard library and package screening only.
func TestImportsStandardLibraryAndScreening(t *testing.T) {
	t.Parallel()
	importcheck.StandardLibraryOnly(t, "watchman", "github.com/openkyc/kyc/screening")
}
