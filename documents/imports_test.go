package documents

import (
	"testing"

	"github.com/openkyc/kyc/internal/importcheck"
)

// TestImportsStandardLibraryOnly keeps the package pure: its non-test files
// import the standard library only, never another package of this module
// nor a third-party one.
func TestImportsStandardLibraryOnly(t *testing.T) {
	t.Parallel()
	importcheck.StandardLibraryOnly(t, "documents")
}
