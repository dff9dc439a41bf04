package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	var msgs bytes.Buffer
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"-h"}, 0},
		{[]string{"-help"}, 0},
		{[]string{"-nosuchflag"}, 2},
		{[]string{"extra"}, 2},
		{[]string{"-log-level", "loud", "-data", t.TempDir()}, 1},
	} {
		if got := ExitCode(Run(t.Context(), tc.args, io.Discard, stderr, Options{}), &msgs); got != tc.code {
			t.Errorf("%v: exit code %d, want %d", tc.args, got, tc.code)
		}
	}
	usage, _ := os.ReadFile(stderr.Name())
	for _, flag := range []string{"-addr", "-data", "-ladder", "-demo", "-fresh"} {
		if !strings.Contains(string(usage), flag) {
			t.Errorf("the usage does not list %s:\n%s", flag, usage)
		}
	}
}

// TestSQLiteExclusive: -sqlite-exclusive opens the database with
// sqlite.Options.Exclusive (its WAL index in memory: no -shm file) and the
// routes answer as usual.
func TestSQLiteExclusive(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := startServer(t, "-data", data, "-sqlite-exclusive")
	s.wantNewUser("-sqlite-exclusive")
	s.wantPendingUser("-sqlite-exclusive")
	if _, err := os.Stat(filepath.Join(data, "openkyc.db-shm")); !os.IsNotExist(err) {
		t.Errorf("-sqlite-exclusive left a shared-memory file (stat: %v)", err)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}

// customLadder shares nothing with the built-in ladder but its shape: other
// names, a document at the first step, a rule no demo string satisfies.
const customLadder = `{
  "documentTypes": [
    {"id": 7, "name": "idCard", "description": "ID card", "enabled": true, "sides": ["front", "back"]},
    {"id": 8, "name": "oldCard", "description": "Retired card", "enabled": false, "sides": ["front"]}
  ],
  "levels": [
    {"id": 10, "name": "Basic"},
    {"id": 20, "name": "Standard", "requirements": [
      {"name": "termsAccepted", "type": "boolean"},
      {"name": "country", "type": "choice", "choices": {"France": "FR", "Spain": "ES"}},
      {"name": "identityCard", "type": "document", "documentTypes": ["oldCard", "idCard"], "review": true}
    ]},
    {"id": 30, "name": "Premium", "requirements": [
      {"name": "email", "type": "string", "rule": "required,email", "review": true},
      {"name": "sourceOfFunds", "type": "question", "questions": [
        {"key": "origin", "label": "Where does the money come from?", "answerOptions": ["salary", "savings"]}
      ]},
      {"name": "amlChecked", "type": "boolean", "setBy": "host"}
    ]}
  ]
}`

// servingAt finds the address the demo server prints once it listens.
var servingAt = regexp.MustCompile(`openkyc demo server at (http://127\.0\.0\.1:[0-9]+)`)

// server runs the demo server in this process until stop is called.
type server struct {
	t      *testing.T
	base   string
	stdout *syncBuffer
	stop   func() error
}

func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{t: t, stdout: &syncBuffer{}}
	done := make(chan error, 1)
	// Port 0, and the address the server prints: a port picked free
	// beforehand can be taken by a parallel test's server meanwhile, and
	// this test would then talk to that one (a -demo=false server answers
	// the demo tokens with ER702).
	go func() {
		done <- Run(ctx, append([]string{"-addr", "127.0.0.1:0", "-log-level", "warn"}, args...), s.stdout, stderr, Options{})
	}()
	s.stop = func() error {
		cancel()
		select {
		case err := <-done:
			stderr.Close()
			return err
		case <-time.After(10 * time.Second):
			return fmt.Errorf("server still running 10 s after cancel")
		}
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		err := errors.New("no address printed yet")
		if m := servingAt.FindStringSubmatch(s.stdout.String()); m != nil {
			s.base = m[1]
			var res *http.Response
			if res, err = http.Get(s.base + "/openapi.json"); err == nil {
				res.Body.Close()
				break
			}
		}
		select {
		case err := <-done:
			log, _ := os.ReadFile(stderr.Name())
			t.Fatalf("server stopped: %v\nstdout: %s\nstderr: %s", err, s.stdout.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not answering: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

func (s *server) get(path, token string, out any) int {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("GET %s: %v: %s", path, err, b)
		}
	}
	return res.StatusCode
}

// wantNewUser checks the demo's new user: the ladder's 6 requirements
// outstanding. when labels a failure.
func (s *server) wantNewUser(when string) {
	s.t.Helper()
	var status []struct{ Name, Status string }
	if st := s.get("/api/v2/user/verification-status", TokenUser, &status); st != 200 || len(status) != 6 {
		s.t.Errorf("%s: new user's status: %d %+v, want the 6 requirements of the ladder", when, st, status)
	}
}

// wantPendingUser checks the demo's pending user: a request awaiting
// review. when labels a failure.
func (s *server) wantPendingUser(when string) {
	s.t.Helper()
	var pending struct{ Item struct{ Status string } }
	if st := s.get("/external/api/v1/me/pending_verification_request", TokenPending, &pending); st != 200 || pending.Item.Status != "pending" {
		s.t.Errorf("%s: pending user: %d %+v, want a pending request", when, st, pending)
	}
}

// TestDemoFitsAnyLadder: with -ladder, the demo users are seeded for that
// ladder (pending at its second level, verified at its top), what cannot be
// seeded is said, and a second start reuses the data and prints the
// credentials again; -fresh starts over.
func TestDemoFitsAnyLadder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ladder := filepath.Join(dir, "my-ladder.json")
	if err := os.WriteFile(ladder, []byte(customLadder), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	s := startServer(t, "-ladder", ladder, "-data", data)
	out := s.stdout.String()
	for _, want := range []string{TokenUser, TokenPending, TokenVerified, TokenAdmin} {
		if !strings.Contains(out, want) {
			t.Errorf("first start does not print %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "reusing data") {
		t.Errorf("a new data directory is not reused:\n%s", out)
	}

	s.wantNewUser("first start")
	s.wantPendingUser("first start")
	var verified struct{ Item struct{ Verified bool } }
	if st := s.get("/external/api/v1/me/pending_verification_request", TokenVerified, &verified); st != 200 || !verified.Item.Verified {
		t.Errorf("verified user: %d %+v, want verified", st, verified)
	}
	var idv struct{ Status string }
	if st := s.get("/api/v1/me/natural-person/id-verification", TokenVerified, &idv); st != 200 || idv.Status != "approved" {
		t.Errorf("verified user's identity check: %d %+v", st, idv)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	s = startServer(t, "-ladder", ladder, "-data", data)
	out = s.stdout.String()
	if !strings.Contains(out, "reusing data in "+data) || !strings.Contains(out, TokenUser) {
		t.Errorf("second start: want the reuse notice and the credentials:\n%s", out)
	}
	s.wantPendingUser("after restart")
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	// The built-in ladder on this data: a warning; -fresh: a new start.
	s = startServer(t, "-data", data)
	if !strings.Contains(s.stdout.String(), "made with another ladder") {
		t.Errorf("no warning for another ladder:\n%s", s.stdout.String())
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, "-data", data, "-fresh")
	defer s.stop()
	if out := s.stdout.String(); strings.Contains(out, "reusing data") || strings.Contains(out, "another ladder") {
		t.Errorf("-fresh: %s", out)
	}
	s.wantNewUser("after -fresh")
}

// TestDemoFalse: without demo users, the credentials that still work are
// printed, and the user tokens are refused.
func TestDemoFalse(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-data", t.TempDir(), "-demo=false")
	defer s.stop()
	if out := s.stdout.String(); !strings.Contains(out, "No demo users") || !strings.Contains(out, TokenAdmin) {
		t.Errorf("-demo=false output:\n%s", out)
	}
	if st := s.get("/api/v2/user/verification-status", TokenUser, nil); st != 401 {
		t.Errorf("user token without demo users: %d, want 401", st)
	}
	if st := s.get("/api/v2/verifications", TokenAdmin, nil); st != 200 {
		t.Errorf("admin token: %d, want 200", st)
	}
}
