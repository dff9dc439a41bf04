package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/storage/sqlite"
)

// holderEnv makes the test binary, run as a child, hold the SQLite
// database it names with Options.Exclusive until its stdin closes.
const holderEnv = "OPENKYC_TEST_EXCLUSIVE_HOLDER"

// TestLockedDatabaseSaysSo: while a host holds the database with
// sqlite.Options.Exclusive, a command says that the database is locked by
// another process and what to do, not that it cannot open it.
func TestLockedDatabaseSaysSo(t *testing.T) {
	if path := os.Getenv(holderEnv); path != "" {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{Exclusive: true})
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		fmt.Println("ready")
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = s.Close()
		os.Exit(0)
	}
	if runtime.GOOS == "windows" {
		t.Skip("Exclusive is Unix only")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "kyc.db")
	s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestLockedDatabaseSaysSo$", "-test.count=1")
	cmd.Env = append(os.Environ(), holderEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)

	inProcess.Lock()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"--dsn", "sqlite:" + path, "subjects", "get", "1"}, &stdout, &stderr)
	inProcess.Unlock()
	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait())

	require.Equal(t, 1, code)
	require.Empty(t, stdout.String())
	require.Equal(t, "openkyc: the SQLite database at "+path+" is locked by another process (a host whose store is sqlite.Options.Exclusive keeps every other process out while it runs: stop it or run the task in the host; otherwise a long transaction held it: try again)\n", stderr.String())
}
