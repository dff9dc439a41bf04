package verification_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportDirection keeps the core free of adapters: verification must not
// depend on the HTTP adapter, the webhooks sender, any concrete store or a
// database driver, and must not itself import net/http (wire vocabulary
// lives in the adapters). Of this module it may import levels, documents,
// providers and internal helpers only; providers is standard library only
// (its Provider interface names http.Header, so net/http reaches
// verification through it, and only through it).
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
			"github.com/openkyc/kyc/storage",
			"modernc.org/sqlite",
			"github.com/jackc/pgx",
		} {
			require.False(t, strings.HasPrefix(dep, banned), "verification imports %s", dep)
		}
		if strings.HasPrefix(dep, "github.com/openkyc/kyc/") {
			ok := false
			for _, allowed := range []string{"levels", "documents", "providers", "internal/", "verification"} {
				ok = ok || strings.HasPrefix(dep, "github.com/openkyc/kyc/"+allowed)
			}
			require.True(t, ok, "verification imports %s", dep)
		}
		// database/sql/driver holds only the Valuer and Scanner interfaces
		// (github.com/google/uuid implements them); database/sql itself is
		// a store's business.
		require.NotEqual(t, "database/sql", dep, "verification imports database/sql")
	}

	out, err = exec.Command("go", "list", "-f", `{{join .Imports " "}}`, "github.com/openkyc/kyc/verification").CombinedOutput()
	require.NoError(t, err, string(out))
	for _, imp := range strings.Fields(string(out)) {
		require.False(t, strings.HasPrefix(imp, "net/http"), "verification imports %s itself", imp)
	}

	// providers (and its adapters, which verification does not import)
	// stay on the standard library.
	out, err = exec.Command("go", "list", "-deps", "github.com/openkyc/kyc/providers").CombinedOutput()
	require.NoError(t, err, string(out))
	for _, dep := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(dep, "/")
		if strings.Contains(first, ".") {
			require.True(t, strings.HasPrefix(dep, "github.com/openkyc/kyc/providers"), "providers imports %s", dep)
		}
	}
}
