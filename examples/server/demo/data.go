package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// ladderFile records, in the data directory, the fingerprint of the
// ladder the data was made with.
const ladderFile = "ladder.sha256"

// dataFiles are what the server keeps in its data directory; -fresh
// deletes exactly these (never anything else the directory holds).
var dataFiles = []string{"openkyc.db", "openkyc.db-wal", "openkyc.db-shm", "documents", "url-signing.key", ladderFile}

// removeData deletes the server's files from dir.
func removeData(dir string) error {
	for _, name := range dataFiles {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("-fresh: %w", err)
		}
	}
	return nil
}

// seedOnce seeds the demo users unless they exist, and prints what the
// ladder did not allow.
func seedOnce(ctx context.Context, svc *verification.Service, dir string, stdout io.Writer) error {
	_, err := svc.SubjectByIdentifier(ctx, verification.SystemActor(), demoUserIdentifier)
	if err == nil {
		return nil
	}
	if !errors.Is(err, verification.ErrNotFound) {
		return err
	}
	d, err := seedDemo(ctx, svc)
	if err != nil {
		return fmt.Errorf("seeding demo data: %w", err)
	}
	for _, n := range d.Notes {
		fmt.Fprintf(stdout, "demo data: %s\n", n)
	}
	return os.WriteFile(filepath.Join(dir, ladderFile), []byte(fingerprint(svc.Ladder())+"\n"), 0o600)
}

// checkLadder warns when the data directory was made with another ladder
// (its subjects may stand at levels, and hold answers, the ladder does not
// have), and records the ladder when nothing is recorded yet.
func checkLadder(dir string, l *levels.Ladder, stdout io.Writer) error {
	path := filepath.Join(dir, ladderFile)
	want := fingerprint(l)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.WriteFile(path, []byte(want+"\n"), 0o600)
	case err != nil:
		return err
	case strings.TrimSpace(string(b)) != want:
		fmt.Fprintf(stdout, "warning: the data in %s was made with another ladder; the demo users may not fit this one (restart with -fresh to seed them again)\n", dir)
	}
	return nil
}

// fingerprint is the SHA-256 of the ladder's canonical JSON.
func fingerprint(l *levels.Ladder) string {
	b, _ := json.Marshal(l)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
