package httpadapter_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMEQuickstart: the README's Go setup is the compiled example,
// character for character, so the README never shows code that does not
// build.
func TestREADMEQuickstart(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("example_quickstart_test.go")
	require.NoError(t, err)
	_, code, ok := strings.Cut(string(src), "// README: begin\n")
	require.True(t, ok)
	code, _, ok = strings.Cut(code, "// README: end")
	require.True(t, ok)
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	block := "```go\n" + strings.Trim(code, "\n") + "\n```\n"
	require.Contains(t, string(readme), block, "README.md's Go setup differs from example_quickstart_test.go: copy the code between the README markers")
}
