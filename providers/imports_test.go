package providers_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportsStandardLibraryOnly keeps the providers packages pure: outside
// tests they import the standard library and each other, nothing else of
// this module (not verification, not a store, not the HTTP adapter) and no
// third-party module.
func TestImportsStandardLibraryOnly(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not on PATH")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Deps " "}}`, "github.com/openkyc/kyc/providers/...").CombinedOutput()
	require.NoError(t, err, string(out))
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.GreaterOrEqual(t, len(lines), 5, "providers, veriff, onfido, sumsub, fake at least")
	for _, line := range lines {
		pkg, deps, _ := strings.Cut(line, ": ")
		for _, dep := range strings.Fields(deps) {
			first, _, _ := strings.Cut(dep, "/")
			if !strings.Contains(first, ".") {
				continue // standard library
			}
			require.True(t, strings.HasPrefix(dep, "github.com/openkyc/kyc/providers"), "%s imports %s", pkg, dep)
		}
	}
}
