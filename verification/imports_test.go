package verification_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportDirection keeps the core free of adapters: verification must not
// depend on the HTTP adapter, the webhooks sender, any concrete store, a
// database driver or net/http (wire vocabulary lives in the adapters).
func TestImportDirection(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not on PATH")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/openkyc/kyc/verification").CombinedOutput()
	require.NoError(t, err, string(out))
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{
			"github.com/openkyc/kyc/httpadapter",
			"github.com/openkyc/kyc/webhooks",
			"net/http",
			"github.com/openkyc/kyc/storage",
			"modernc.org/sqlite",
			"github.com/jackc/pgx",
		} {
			require.False(t, strings.HasPrefix(dep, banned), "verification imports %s", dep)
		}
		// database/sql/driver holds only the Valuer and Scanner interfaces
		// (github.com/google/uuid implements them); database/sql itself is
		// a store's business.
		require.NotEqual(t, "database/sql", dep, "verification imports database/sql")
	}
}
