package levels_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
)

// readmeLadder returns the JSON block of the README's "Configuring levels"
// section.
func readmeLadder(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(b), "\n## Configuring levels\n")
	require.True(t, ok, "README has no \"Configuring levels\" section")
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "```json\n")
	require.True(t, ok, "the section has no json block")
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok, "unterminated json block")
	return []byte(block)
}

// TestREADMELadderLoads: the ladder a new user copies from the README loads
// as a -ladder file, and it is the demo server's built-in ladder (the
// walkthrough's answers fit it).
func TestREADMELadderLoads(t *testing.T) {
	t.Parallel()
	got, err := levels.Load(bytes.NewReader(readmeLadder(t)))
	require.NoError(t, err)
	demo, err := levels.LoadFile("../examples/server/demo/ladder.json")
	require.NoError(t, err)
	g, err := json.Marshal(got)
	require.NoError(t, err)
	d, err := json.Marshal(demo)
	require.NoError(t, err)
	require.JSONEq(t, string(d), string(g), "README ladder and examples/server/demo/ladder.json differ")
}
