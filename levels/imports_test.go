package levels_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImports keeps levels pure: it must never depend on the engine, an
// adapter, a store or a database driver (DESIGN.md, "Imports point one way").
func TestImports(t *testing.T) {
	t.Parallel()

	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	cmd := exec.Command(goBin, "list", "-deps", "github.com/openkyc/kyc/levels")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go list: %s", stderr.String())

	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/openkyc/kyc/levels", "go list output: %s", out)

	forbidden := []string{
		"github.com/openkyc/kyc/verification",
		"github.com/openkyc/kyc/httpadapter",
		"github.com/openkyc/kyc/storage",
		"github.com/openkyc/kyc/examples",
		"modernc.org/sqlite",
		"github.com/jackc/pgx",
		"database/sql",
	}
	for _, dep := range deps {
		for _, f := range forbidden {
			// f itself, or a package below it (".../storage/sqlite",
			// "github.com/jackc/pgx/v5", "database/sql/driver").
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("levels depends on %s (forbidden: %s)", dep, f)
			}
		}
	}
}
