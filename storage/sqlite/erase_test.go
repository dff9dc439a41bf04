package sqlite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
)

// TestEraseLeavesNoPlaintext erases a subject through the Service and greps
// the raw database and WAL bytes for its answer: secure_delete zeroes the
// freed cells and Erase checkpoints the WAL.
func TestEraseLeavesNoPlaintext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "kyc.db")
	store, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer store.Close()
	ladder, err := levels.New([]levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{{Name: "fullName", Type: levels.String, Review: true}}},
	})
	require.NoError(t, err)
	svc, err := verification.New(ladder, store, verification.Options{})
	require.NoError(t, err)
	sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: "erasesubject0000000000000000000000000001"})
	require.NoError(t, err)
	const marker = "ZephyrQuuxPlaintextName"
	_, err = svc.Answer(ctx, sub.ID, "fullName", json.RawMessage(`"`+marker+`"`))
	require.NoError(t, err)

	grep := func() bool {
		found := false
		for _, f := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(f)
			if os.IsNotExist(err) {
				continue
			}
			require.NoError(t, err)
			found = found || bytes.Contains(b, []byte(marker))
		}
		return found
	}
	require.True(t, grep(), "the answer must be on disk before erasure (else this test proves nothing)")

	require.NoError(t, svc.Erase(ctx, verification.SystemActor(), sub.ID))
	require.False(t, grep(), "erased answer still readable in the database or WAL")
	states, err := svc.RequirementStates(ctx, verification.SystemActor(), sub.ID)
	require.NoError(t, err)
	require.Len(t, states, 1)
	require.Empty(t, states[0].Answer)
}
