package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// crashChildEnv switches the test binary into the crash test's child: it
// holds the database path.
const crashChildEnv = "OPENKYC_SQLITE_CRASH_CHILD"

// ack is what the child prints after a transaction's commit returned.
type ack struct {
	Subject    int64  `json:"subject"`
	Identifier string `json:"identifier"`
	Grant      int64  `json:"grant"`
	Event      string `json:"event"`
}

// upAck is what the child prints after an upload returned.
type upAck struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// crashBlobs is the child's and the parent's blob directory for the
// database at path.
func crashBlobs(path string) string { return path + ".blobs" }

// crashUpload is the file the child uploads: a PNG of 256 KiB, so that
// kills land inside uploads too (temporary files, and blobs stored whose
// record never committed).
var crashUpload = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 256<<10)...)

// TestCrashDurability re-executes the test binary as a child (every other
// one with Options.Exclusive) that writes
// submissions (a subject, its answer, an event and a grant per transaction)
// and uploads a document for each subject through the Service (blob first,
// then its record), printing each once it has returned; the parent kills it
// with SIGKILL at random moments, 24 times, then reopens the database and
// checks that it is intact and that every acknowledged write is there. The
// kills leave blobs whose record never committed and temporary upload
// files: SweepOrphans removes them all, and nothing acknowledged.
func TestCrashDurability(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(t, path)
		return
	}
	if testing.Short() {
		t.Skip("kills child processes; skipped with -short")
	}
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "crash.db")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))

	var (
		acked []ack
		ups   []upAck
	)
	const cycles = 24
	beforeFirstAck := 0
	for cycle := range cycles {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashDurability$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path, fmt.Sprintf("OPENKYC_SQLITE_CRASH_CYCLE=%d", cycle))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		lines := make(chan string)
		go func() {
			defer close(lines)
			r := bufio.NewReader(out)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return // EOF, or a line cut short by the kill: never acknowledged
				}
				lines <- line
			}
		}()
		var delay time.Duration
		if cycle%4 == 3 {
			// Now and then, anywhere from the start: during Open, the
			// migrations, recovery of the previous crash.
			delay = time.Duration(rng.IntN(60)) * time.Millisecond
		} else {
			// Usually once the child is writing, at a random point.
			delay = time.Duration(rng.IntN(120)) * time.Millisecond
		}
		timer := time.NewTimer(30 * time.Second)
		armed := cycle%4 == 3 // the kill timer runs
		if armed {
			timer.Reset(delay)
		}
		acks := 0
	loop:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break loop
				}
				require.False(t, strings.HasPrefix(line, "ERR "), "child failed: %s", line)
				if u, ok := strings.CutPrefix(line, "UP "); ok {
					var x upAck
					require.NoError(t, json.Unmarshal([]byte(u), &x))
					ups = append(ups, x)
				}
				if a, ok := strings.CutPrefix(line, "ACK "); ok {
					var x ack
					require.NoError(t, json.Unmarshal([]byte(a), &x))
					acked = append(acked, x)
					acks++
					if !armed {
						armed = true
						timer.Reset(delay)
					}
				}
			case <-timer.C:
				require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				timer.Reset(time.Hour)
			}
		}
		err = cmd.Wait()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "the child must die by the kill")
		require.Equal(t, "signal: killed", exit.Error())
		if acks == 0 {
			beforeFirstAck++
		}
		_, _ = io.Copy(io.Discard, out)
	}
	require.NotEmpty(t, acked, "the child acknowledged no write")
	require.NotEmpty(t, ups, "the child acknowledged no upload")
	t.Logf("%d cycles (%d killed before their first commit), %d acknowledged transactions, %d uploads", cycles, beforeFirstAck, len(acked), len(ups))

	raw := openRaw(t, path)
	var check string
	require.NoError(t, raw.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check))
	require.Equal(t, "ok", check)
	require.NoError(t, raw.Close())

	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer s.Close()
	for _, a := range acked {
		sub, err := s.GetSubject(ctx, a.Subject)
		require.NoError(t, err, "acknowledged subject %d lost", a.Subject)
		require.Equal(t, a.Identifier, sub.Identifier)
		g, err := s.GetGrant(ctx, a.Grant)
		require.NoError(t, err, "acknowledged grant %d lost", a.Grant)
		require.Equal(t, a.Subject, g.SubjectID)
		st, err := s.GetRequirementState(ctx, a.Subject, "isBusiness")
		require.NoError(t, err, "acknowledged answer of subject %d lost", a.Subject)
		require.JSONEq(t, "true", string(st.Answer))
	}
	page, err := s.ListGrants(ctx, verification.GrantFilter{Limit: 1, Desc: true})
	require.NoError(t, err)
	require.GreaterOrEqual(t, page.Total, len(acked))
	require.Equal(t, int64(page.Total), page.Items[0].ID, "grant IDs stay dense across crashes")
	events, err := s.ListEvents(ctx, verification.EventFilter{})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(events), len(acked))

	// The leftovers of the kills, then the sweep (run as if an hour and
	// more had passed: the grace period is over, the child is dead).
	blobs, err := documents.NewFileStore(crashBlobs(path))
	require.NoError(t, err)
	orphans := func() (blobs, temps int) {
		t.Helper()
		entries, err := os.ReadDir(crashBlobs(path))
		require.NoError(t, err)
		var keys []string
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".upload-") {
				temps++
			} else {
				keys = append(keys, e.Name())
			}
		}
		files, err := s.ListFiles(ctx, verification.FileFilter{BlobKeys: keys})
		require.NoError(t, err)
		return len(keys) - len(files), temps
	}
	orphanBlobs, tempFiles := orphans()
	t.Logf("before the sweep: %d blobs without a record, %d temporary files", orphanBlobs, tempFiles)
	svc, err := verification.New(verificationtest.SeedLadder(t), s, verification.Options{
		Blobs: blobs, NowFunc: func() time.Time { return time.Now().Add(verification.DefaultOrphanGrace + time.Minute) },
	})
	require.NoError(t, err)
	swept, err := svc.SweepOrphans(ctx, verification.SweepOrphansParams{})
	require.NoError(t, err)
	require.Equal(t, verification.OrphanSweep{Blobs: orphanBlobs, TempFiles: tempFiles}, swept)
	orphanBlobs, tempFiles = orphans()
	require.Zero(t, orphanBlobs, "blobs without a record after the sweep")
	require.Zero(t, tempFiles, "temporary upload files after the sweep")

	// Every acknowledged upload, and every recorded file, kept its bytes.
	for _, u := range ups {
		f, rc, err := svc.OpenFile(ctx, verification.HostActor(), u.File)
		require.NoError(t, err, "acknowledged upload %s lost", u.File)
		h := sha256.New()
		_, err = io.Copy(h, rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		require.Equal(t, u.SHA256, hex.EncodeToString(h.Sum(nil)), "upload %s", u.File)
		require.Equal(t, u.SHA256, f.SHA256)
	}
	files, err := s.ListFiles(ctx, verification.FileFilter{})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), len(ups))
	for _, f := range files {
		_, rc, err := svc.OpenFile(ctx, verification.HostActor(), f.ID)
		require.NoError(t, err, "the blob of recorded file %s is gone", f.ID)
		require.NoError(t, rc.Close())
	}
}

// crashChild writes submissions to the database at path until it is killed,
// printing each one after its commit returned.
func crashChild(t *testing.T, path string) {
	ctx := context.Background()
	fail := func(err error) {
		fmt.Printf("ERR %v\n", err)
		os.Exit(3)
	}
	// Every other cycle opens the store Exclusive (the WAL index in the
	// process's memory, gone with it): recovery must work from either mode
	// into either mode.
	cycle := os.Getenv("OPENKYC_SQLITE_CRASH_CYCLE")
	n, _ := strconv.Atoi(cycle)
	s, err := sqlite.Open(ctx, path, sqlite.Options{Exclusive: n%2 == 1})
	if err != nil {
		fail(err)
	}
	blobs, err := documents.NewFileStore(crashBlobs(path))
	if err != nil {
		fail(err)
	}
	svc, err := verification.New(verificationtest.SeedLadder(t), s, verification.Options{Blobs: blobs})
	if err != nil {
		fail(err)
	}
	for i := 0; ; i++ {
		id := fmt.Sprintf("c%sn%dx", cycle, i)
		a := ack{Identifier: id + strings.Repeat("0", 36-len(id)), Event: "ev-" + id}
		err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			sub := verification.Subject{Identifier: a.Identifier, Tags: []string{"eu"}, CreatedAt: base, UpdatedAt: base}
			if err := tx.CreateSubject(ctx, &sub); err != nil {
				return err
			}
			st := verification.RequirementState{SubjectID: sub.ID, Name: "isBusiness", Status: levels.Approved, Answer: json.RawMessage(`true`), Attempts: 1, UpdatedAt: base}
			if err := tx.PutRequirementState(ctx, st); err != nil {
				return err
			}
			if err := tx.AddEvent(ctx, &verification.Event{ID: a.Event, SubjectID: sub.ID, Type: verification.EventRequirementSubmitted, OccurredAt: base}); err != nil {
				return err
			}
			g := newGrant(sub.ID, 1)
			if err := tx.AddGrant(ctx, &g); err != nil {
				return err
			}
			sub.Level = 1
			a.Subject, a.Grant = sub.ID, g.ID
			return tx.UpdateSubject(ctx, sub)
		})
		if err != nil {
			fail(err)
		}
		b, _ := json.Marshal(a)
		// One write(2) per line: the parent reads whole lines only.
		if _, err := os.Stdout.WriteString("ACK " + string(b) + "\n"); err != nil {
			fail(err)
		}
		f, err := svc.Upload(ctx, verification.UploadParams{SubjectID: a.Subject, DocumentType: "passport", Side: "front", Body: bytes.NewReader(crashUpload)})
		if err != nil {
			fail(err)
		}
		b, _ = json.Marshal(upAck{File: f.ID, SHA256: f.SHA256})
		if _, err := os.Stdout.WriteString("UP " + string(b) + "\n"); err != nil {
			fail(err)
		}
	}
}
