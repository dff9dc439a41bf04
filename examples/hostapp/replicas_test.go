package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// pngBase is a valid 1x1 PNG; each upload appends random bytes after it, so
// the test can look for its exact bytes anywhere they might have been kept.
const pngBase = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

// replica is one running hostapp process.
type replica struct {
	t    *testing.T
	name string
	base string
	data string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startReplica runs the built binary with env and waits for /healthz.
func startReplica(t *testing.T, bin, name string, env []string) *replica {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	r := &replica{t: t, name: name, base: "http://" + addr, data: t.TempDir(), out: &lockedBuffer{}, done: make(chan error, 1)}
	r.cmd = exec.Command(bin, "-addr", addr, "-data", r.data, "-log-level", "warn")
	r.cmd.Env = append(os.Environ(), env...)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	require.NoError(t, r.cmd.Start())
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.done
		}
		if t.Failed() {
			t.Logf("replica %s output:\n%s", name, r.out.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get(r.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return r
			}
		}
		select {
		case err := <-r.done:
			t.Fatalf("replica %s exited at start: %v\n%s", name, err, r.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not answering: %v\n%s", name, err, r.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// do sends a request to the replica and returns the status and body.
func (r *replica) do(method, path, token, ctype string, body io.Reader) (int, []byte) {
	r.t.Helper()
	target := path
	if !strings.HasPrefix(path, "http") {
		target = r.base + path
	}
	req, err := http.NewRequest(method, target, body)
	require.NoError(r.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(r.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(r.t, err)
	return resp.StatusCode, b
}

// json sends a JSON body and decodes the answer into out, requiring status.
func (r *replica) json(method, path, token string, in any, status int, out any) {
	r.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		require.NoError(r.t, err)
		body = bytes.NewReader(b)
	}
	st, b := r.do(method, path, token, "application/json", body)
	require.Equal(r.t, status, st, "%s %s on replica %s: %s", method, path, r.name, b)
	if out != nil {
		require.NoError(r.t, json.Unmarshal(b, out), "%s %s: %s", method, path, b)
	}
}

func (r *replica) login(user string) (string, int64) {
	r.t.Helper()
	var out struct {
		Token    string `json:"token"`
		ClientID int64  `json:"clientId"`
	}
	r.json("POST", "/login", "", map[string]string{"username": user, "password": user + "-password"}, 200, &out)
	return out.Token, out.ClientID
}

// upload posts an image for one side and returns the file id.
func (r *replica) upload(token, docType, side string, img []byte) string {
	r.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(r.t, mw.WriteField("documentType", docType))
	require.NoError(r.t, mw.WriteField("side", side))
	fw, err := mw.CreateFormFile("file", side+".png")
	require.NoError(r.t, err)
	_, _ = fw.Write(img)
	require.NoError(r.t, mw.Close())
	st, b := r.do("POST", "/kyc/api/v2/my/verifications/files", token, mw.FormDataContentType(), &buf)
	require.Equal(r.t, http.StatusCreated, st, "upload %s on replica %s: %s", side, r.name, b)
	var f struct{ ID string }
	require.NoError(r.t, json.Unmarshal(b, &f))
	require.NotEmpty(r.t, f.ID)
	return f.ID
}

// secret returns n random bytes in base64.
func secret(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

// TestTwoReplicasShareDocuments runs two hostapp processes on one PostgreSQL
// schema, with sealed images in the database and shared keys from the
// environment (mid-rotation of the URL signing key): upload on A,
// fetch the signed URL on B, review on B, erase on A; then neither replica
// nor the database holds the bytes.
func TestTwoReplicasShareDocuments(t *testing.T) {
	dsn := os.Getenv("OPENKYC_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("the replica test needs PostgreSQL: OPENKYC_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go test ./examples/hostapp")
	}
	if testing.Short() {
		t.Skip("end-to-end test: builds and runs two processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "hostapp")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./examples/hostapp")
	build.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	db, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer db.Close(context.Background())
	var sb [6]byte
	_, _ = rand.Read(sb[:])
	schema := "kyctest_replicas_" + hex.EncodeToString(sb[:])
	t.Cleanup(func() {
		_, _ = db.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})

	signing1, signing2 := secret(t, 32), secret(t, 32)
	common := []string{
		"DATABASE_URL=" + dsn,
		"HOSTAPP_DATABASE_SCHEMA=" + schema,
		"HOSTAPP_SESSION_SECRET=" + secret(t, 32),
		"HOSTAPP_MASTER_KEYS=m1:" + secret(t, 32),
	}
	// A rotation of the URL signing key in progress: A is at its first step
	// (k2 verifies, k1 still signs), B at its second (k2 signs, k1 retired at
	// the end of the roll-out still verifies what it signed). Each verifies
	// the other's URLs.
	retiredAt := time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339)
	a := startReplica(t, bin, "A", append(common, "HOSTAPP_URL_SIGNING_KEYS=k2:"+signing2+",k1:"+signing1))
	b := startReplica(t, bin, "B", append(common, "HOSTAPP_URL_SIGNING_KEYS=k1:"+signing1+":"+retiredAt+",k2:"+signing2))

	// Upload on A: three images, each with its own random tail.
	base, err := base64.StdEncoding.DecodeString(pngBase)
	require.NoError(t, err)
	img := func() []byte { return append(bytes.Clone(base), []byte(secret(t, 48))...) }
	front, back, face := img(), img(), img()
	alice, clientID := a.login("alice")
	frontID := a.upload(alice, "passport", "front", front)
	backID := a.upload(alice, "passport", "back", back)
	faceID := a.upload(alice, verification.SelfieType, verification.SelfieSide, face)
	admin, _ := a.login("admin")
	a.json("POST", "/admin/id-verifications", admin, map[string]any{
		"clientId": clientID, "provider": "veriff", "frontFileId": frontID, "backFileId": backID, "faceFileId": faceID,
	}, 201, nil)

	// The signed URL A hands out works on B.
	var idv struct {
		Documents struct{ DocumentFront, DocumentBack, Face string } `json:"documents"`
	}
	a.json("GET", "/kyc/api/v1/me/natural-person/id-verification", alice, nil, 200, &idv)
	require.NotEmpty(t, idv.Documents.DocumentFront)
	u, err := url.Parse(idv.Documents.DocumentFront)
	require.NoError(t, err)
	require.Equal(t, "k1", u.Query().Get("kid"), "A signs with k1")
	st, got := b.do("GET", idv.Documents.DocumentFront, "", "", nil)
	require.Equal(t, 200, st, "A's signed URL fetched on B: %s", got)
	require.Equal(t, front, got, "B serves the bytes uploaded on A")
	st, got = b.do("GET", idv.Documents.Face, "", "", nil)
	require.Equal(t, 200, st)
	require.Equal(t, face, got)
	var idvB struct {
		Documents struct{ DocumentBack string } `json:"documents"`
	}
	b.json("GET", "/kyc/api/v1/me/natural-person/id-verification", alice, nil, 200, &idvB)
	ub, err := url.Parse(idvB.Documents.DocumentBack)
	require.NoError(t, err)
	require.Equal(t, "k2", ub.Query().Get("kid"), "B signs with its new key")
	st, got = a.do("GET", idvB.Documents.DocumentBack, "", "", nil)
	require.Equal(t, 200, st, "B's signed URL fetched on A: %s", got)
	require.Equal(t, back, got)

	// Review on B: the admin reads the image uploaded on A and approves.
	var ans struct{ Name, Status string }
	a.json("POST", "/kyc/api/v2/user/requirements/idDocument", alice,
		map[string]any{"answer": map[string]any{"type": "passport", "files": map[string]string{"front": frontID, "back": backID}}}, 200, &ans)
	require.Equal(t, "pending", ans.Status)
	st, got = b.do("GET", "/kyc/api/v2/files/"+frontID, admin, "", nil)
	require.Equal(t, 200, st, "admin file on B: %s", got)
	require.Equal(t, front, got)
	b.json("POST", fmt.Sprintf("/kyc/api/v2/clients/%d/requirements/idDocument/review", clientID), admin,
		map[string]any{"decision": "approved"}, 200, nil)

	// Sealed at rest: no image's bytes are in the database in clear.
	owner := verification.OwnerKey(clientID)
	countRows := func(sql string, args ...any) int {
		t.Helper()
		var n int
		require.NoError(t, db.QueryRow(ctx, strings.ReplaceAll(sql, "{{schema}}", pgx.Identifier{schema}.Sanitize()), args...).Scan(&n), sql)
		return n
	}
	require.Equal(t, 3, countRows(`SELECT count(*) FROM {{schema}}.blobs WHERE owner = $1`, owner))
	require.Equal(t, 1, countRows(`SELECT count(*) FROM {{schema}}.data_keys WHERE owner = $1`, owner))
	for _, im := range [][]byte{front, back, face} {
		require.Zero(t, countRows(`SELECT count(*) FROM {{schema}}.blob_chunks WHERE position($1::bytea in data) > 0`, im[len(base):]),
			"an image's bytes are in the database unencrypted")
	}

	// Erase on A.
	a.json("POST", "/admin/erasures", admin, map[string]any{"clientId": clientID}, 200, nil)

	// Neither replica serves the images any more...
	for _, r := range []*replica{a, b} {
		st, _ := r.do("GET", idv.Documents.DocumentFront, "", "", nil)
		require.NotEqual(t, 200, st, "signed URL on replica %s after erasure", r.name)
		st, _ = r.do("GET", "/kyc/api/v2/files/"+frontID, admin, "", nil)
		require.Equal(t, 404, st, "admin file on replica %s after erasure", r.name)
	}
	// ...the database holds neither the bytes nor the key that sealed them...
	require.Zero(t, countRows(`SELECT count(*) FROM {{schema}}.blobs`))
	require.Zero(t, countRows(`SELECT count(*) FROM {{schema}}.blob_chunks`))
	require.Zero(t, countRows(`SELECT count(*) FROM {{schema}}.data_keys WHERE owner = $1`, owner))
	// ...and no replica kept a copy on its disk.
	for _, r := range []*replica{a, b} {
		err := filepath.WalkDir(r.data, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			content, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, im := range [][]byte{front, back, face} {
				if bytes.Contains(content, im[len(base):]) {
					return fmt.Errorf("replica %s keeps an image in %s", r.name, path)
				}
			}
			return fmt.Errorf("replica %s wrote %s: with PostgreSQL, images live in the database only", r.name, path)
		})
		require.NoError(t, err)
	}
}
