package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/storage/sqlite"
)

// exclusiveChildEnv makes the test binary, run as a child by
// TestExclusiveKeepsOtherProcessesOut, open the database it names (with
// Options.Exclusive when exclusiveChildModeEnv is "1") and print the result.
const (
	exclusiveChildEnv     = "OPENKYC_SQLITE_EXCLUSIVE_CHILD"
	exclusiveChildModeEnv = "OPENKYC_SQLITE_EXCLUSIVE_CHILD_MODE"
)

// openInChild opens path in a child process, Exclusive or not, with a short
// busy timeout, and returns what it printed: "ok", "locked" or an error.
func openInChild(t *testing.T, path string, exclusive bool) string {
	t.Helper()
	mode := "0"
	if exclusive {
		mode = "1"
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestExclusiveKeepsOtherProcessesOut$", "-test.count=1")
	cmd.Env = append(os.Environ(), exclusiveChildEnv+"="+path, exclusiveChildModeEnv+"="+mode)
	out, err := cmd.Output()
	require.NoError(t, err, "child: %s", out)
	for line := range strings.Lines(string(out)) {
		if r, ok := strings.CutPrefix(line, "RESULT "); ok {
			return strings.TrimSpace(r)
		}
	}
	t.Fatalf("the child printed no result: %s", out)
	return ""
}

func exclusiveChild(path string, exclusive bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := sqlite.Open(ctx, path, sqlite.Options{Exclusive: exclusive, BusyTimeout: 100 * time.Millisecond, SkipMigrate: true})
	switch {
	case err == nil:
		if _, err = s.GetSubjectByIdentifier(ctx, ident("alice")); err == nil {
			err = s.Close()
		}
		if err != nil {
			fmt.Printf("RESULT %v\n", err)
			return
		}
		fmt.Println("RESULT ok")
	case errors.Is(err, sqlite.ErrLocked):
		fmt.Println("RESULT locked")
	default:
		fmt.Printf("RESULT %v\n", err)
	}
}

// TestExclusiveKeepsOtherProcessesOut: while a process has the database open
// with Exclusive, another process's Open fails with ErrLocked (Exclusive or
// not) once its busy timeout runs out; an Exclusive Open fails the same way
// while another process has the file open; after Close the file is free.
// Within the process, several Exclusive stores share the file, and the WAL
// index lives in memory: there is no -shm file.
func TestExclusiveKeepsOtherProcessesOut(t *testing.T) {
	if path := os.Getenv(exclusiveChildEnv); path != "" {
		exclusiveChild(path, os.Getenv(exclusiveChildModeEnv) == "1")
		return
	}
	if runtime.GOOS == "windows" {
		t.Skip("Exclusive is Unix only")
	}
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "kyc.db")

	a, err := sqlite.Open(ctx, path, sqlite.Options{Exclusive: true})
	require.NoError(t, err)
	sub := newSubject(t, a, "alice")
	_, err = os.Stat(path + "-shm")
	require.ErrorIs(t, err, os.ErrNotExist, "the WAL index is in memory")
	b, err := sqlite.Open(ctx, path, sqlite.Options{Exclusive: true})
	require.NoError(t, err, "a second Exclusive store in the same process")
	got, err := b.GetSubject(ctx, sub.ID)
	require.NoError(t, err, "it sees the first store's commits")
	require.Equal(t, sub, got)
	newSubject(t, b, "bob")
	_, err = a.GetSubjectByIdentifier(ctx, ident("bob"))
	require.NoError(t, err, "and the first sees its commits")

	require.Equal(t, "locked", openInChild(t, path, false), "another process, default mode")
	require.Equal(t, "locked", openInChild(t, path, true), "another process, Exclusive")
	require.NoError(t, b.Close())
	require.Equal(t, "locked", openInChild(t, path, false), "one Exclusive store is still open")
	require.NoError(t, a.Close())
	require.Equal(t, "ok", openInChild(t, path, false), "closed: the file is free")

	// The other way round: a process using the file keeps an Exclusive
	// Open out.
	c, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	require.Equal(t, "locked", openInChild(t, path, true), "another process has the file open")
	require.NoError(t, c.Close())
	require.Equal(t, "ok", openInChild(t, path, true))

	d, err := sqlite.Open(ctx, path, sqlite.Options{Exclusive: true})
	require.NoError(t, err, "reopened Exclusive after another process's Exclusive use")
	got, err = d.GetSubject(ctx, sub.ID)
	require.NoError(t, err)
	require.Equal(t, sub, got)
	require.NoError(t, d.Close())
}
