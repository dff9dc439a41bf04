package sqlite_test

import (
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
)

// walCommits parses the -wal file of path: for each committed transaction
// in the log's current generation, the page numbers it wrote (one WAL frame
// each). A frame belongs to the generation when its salts are the header's.
func walCommits(t *testing.T, path string) [][]uint32 {
	t.Helper()
	b, err := os.ReadFile(path + "-wal")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(b), 32, "a WAL header")
	pageSize := int(binary.BigEndian.Uint32(b[8:12]))
	salt1, salt2 := binary.BigEndian.Uint32(b[16:20]), binary.BigEndian.Uint32(b[20:24])
	var commits [][]uint32
	var cur []uint32
	for off := 32; off+24+pageSize <= len(b); off += 24 + pageSize {
		h := b[off : off+24]
		if binary.BigEndian.Uint32(h[8:12]) != salt1 || binary.BigEndian.Uint32(h[12:16]) != salt2 {
			break
		}
		cur = append(cur, binary.BigEndian.Uint32(h[0:4]))
		if binary.BigEndian.Uint32(h[4:8]) != 0 { // the commit frame
			commits = append(commits, cur)
			cur = nil
		}
	}
	return commits
}

// pageOwners maps the database's pages to their table or index (dbstat).
func pageOwners(t *testing.T, path string) map[uint32]string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT name, pageno FROM dbstat`)
	require.NoError(t, err)
	defer rows.Close()
	owners := map[uint32]string{}
	for rows.Next() {
		var name string
		var page uint32
		require.NoError(t, rows.Scan(&name, &page))
		owners[page] = name
	}
	require.NoError(t, rows.Err())
	return owners
}

// TestSubmissionWALFrames counts the WAL frames (pages) that BenchmarkSubmission's
// submission commits: the subject's row, its requirement state, the two
// events and their ID index entries, and now and then a page split. The
// log is held from rewinding by an open read transaction, so every commit
// of the measured stretch stays in it. A new index or table written by a
// submission shows here as about one more frame per submission.
func TestSubmissionWALFrames(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const before, measured = 300, 300
	path := filepath.Join(t.TempDir(), "kyc.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer s.Close()
	ladder, err := levels.New([]levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{
			{Name: "isBusiness", Type: levels.Boolean},
			{Name: "acceptsTerms", Type: levels.Boolean},
			{Name: "isPEP", Type: levels.Boolean},
		}},
	})
	require.NoError(t, err)
	svc, err := verification.New(ladder, s, verification.Options{})
	require.NoError(t, err)
	subjects := make([]int64, before+measured)
	for i := range subjects {
		sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: fmt.Sprintf("%036d", i)})
		require.NoError(t, err)
		subjects[i] = sub.ID
	}
	answer := json.RawMessage(`true`)
	for _, id := range subjects[:before] {
		_, err := svc.Answer(ctx, id, "isBusiness", answer)
		require.NoError(t, err)
	}
	// Empty the log (the background checkpointer may hold it a moment),
	// then keep it from rewinding.
	require.Eventually(t, func() bool { return s.Checkpoint(ctx) == nil }, 5*time.Second, 10*time.Millisecond)
	hold, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	defer hold.Close()
	htx, err := hold.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = htx.Rollback() }()
	var n int
	require.NoError(t, htx.QueryRow(`SELECT count(*) FROM subjects`).Scan(&n))
	for _, id := range subjects[before:] {
		_, err := svc.Answer(ctx, id, "isBusiness", answer)
		require.NoError(t, err)
	}

	commits := walCommits(t, path)
	require.Len(t, commits, measured, "one commit per submission")
	owners := pageOwners(t, path)
	frames, per := 0, map[string]int{}
	for _, c := range commits {
		frames += len(c)
		for _, p := range c {
			per[owners[p]]++
		}
	}
	t.Logf("%.2f frames per submission: %v over %d submissions", float64(frames)/measured, per, measured)
	for _, name := range []string{"subjects", "requirement_states", "events", "events_id"} {
		require.GreaterOrEqual(t, per[name], measured, "every submission writes a page of %s", name)
	}
	require.LessOrEqual(t, float64(frames)/measured, 5.5, "frames per submission (4 pages and their splits)")
}
