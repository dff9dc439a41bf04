// Package importcheck is the one test helper that keeps a package's
// imports to the standard library (plus named packages of this module): the
// pure packages (documents, screening, its watchman client) call it from
// their import tests.
package importcheck

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// StandardLibraryOnly fails t if a non-test Go file in the current
// directory imports anything but the standard library and the import paths
// in allowed. It also fails when the directory has no such file.
func StandardLibraryOnly(t testing.TB, pkg string, allowed ...string) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			require.NoError(t, err)
			if slices.Contains(allowed, path) {
				continue
			}
			first, _, _ := strings.Cut(path, "/")
			require.NotContains(t, first, ".", "%s imports %s: %s may import the standard library only (and %v)", name, path, pkg, allowed)
		}
		checked++
	}
	require.NotZero(t, checked, "no Go file checked")
}
