package sqlite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
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

// TestEraseLeavesNoIdentifierOrFreeText erases a subject with reviewers'
// and admins' reasons and greps the raw database and WAL bytes for its
// external identifier and those reasons: only the keyed digest stays.
// Then the erased subject refuses writes and the identifier onboards again.
func TestEraseLeavesNoIdentifierOrFreeText(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kyc.db")
	store, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer store.Close()
	svc, _ := verificationtest.NewServiceOn(t, verificationtest.SeedLadder(t), store, verification.Options{IdentifierKey: []byte("test identifier key")})
	pd := verificationtest.SeedPersonalData(t, svc)
	markers := append([]string{pd.Identifier}, pd.FreeText...)

	// found lists the markers on disk, once each.
	found := func() []string {
		var out []string
		for _, m := range markers {
			hits := ""
			for _, f := range []string{path, path + "-wal"} {
				b, err := os.ReadFile(f)
				if os.IsNotExist(err) {
					continue
				}
				require.NoError(t, err)
				if n := bytes.Count(b, []byte(m)); n > 0 {
					hits += fmt.Sprintf(" x%d in %s", n, filepath.Base(f))
				}
			}
			if hits != "" {
				out = append(out, m+hits)
			}
		}
		return out
	}
	require.Len(t, found(), len(markers), "every marker is on disk before erasure (else this test proves nothing): %v", found())

	require.NoError(t, svc.Erase(ctx, verification.SystemActor(), pd.Subject.ID))
	require.Empty(t, found(), "the identifier and free text are gone from the database and WAL")
	verificationtest.CheckErased(t, svc, pd)
}
