package demo

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openkyc/kyc/providers/veriff/verifftest"
)

// tinyPNG is a valid 1x1 PNG, the upload used by the walkthrough.
const tinyPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

// syncBuffer collects the server's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// e2e drives the running server over HTTP.
type e2e struct {
	t    *testing.T
	base string
	c    *http.Client
}

// do sends a request and returns the status, headers and body.
func (e *e2e) do(method, path, token, contentType string, body io.Reader) (int, http.Header, []byte) {
	e.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = e.base + path
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// json sends a request with an optional JSON body, checks the status and
// decodes the answer into out (when not nil).
func (e *e2e) json(method, path, token string, in any, want int, out any) {
	e.t.Helper()
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			e.t.Fatal(err)
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	status, _, b := e.do(method, path, token, ct, body)
	if status != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}

// upload posts one side of a passport and returns the file id.
func (e *e2e) upload(token, side string, img []byte) string {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("documentType", "passport")
	_ = mw.WriteField("side", side)
	fw, err := mw.CreateFormFile("file", side+".png")
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = fw.Write(img)
	if err := mw.Close(); err != nil {
		e.t.Fatal(err)
	}
	status, _, b := e.do("POST", "/api/v2/my/verifications/files", token, mw.FormDataContentType(), &buf)
	if status != http.StatusCreated {
		e.t.Fatalf("upload %s: status %d; body %s", side, status, b)
	}
	var f struct {
		ID, DocumentType, Side, ContentType string
	}
	if err := json.Unmarshal(b, &f); err != nil {
		e.t.Fatal(err)
	}
	if f.ID == "" || f.DocumentType != "passport" || f.Side != side || f.ContentType != "image/png" {
		e.t.Fatalf("upload %s: %s", side, b)
	}
	return f.ID
}

type level struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

type grant struct {
	ID            int64  `json:"id"`
	ClientID      int64  `json:"clientId"`
	CurrentLevel  level  `json:"currentLevel"`
	PreviousLevel *level `json:"previousLevel"`
	Reason        struct {
		Name string `json:"name"`
	} `json:"reason"`
}

type grants struct {
	Total int     `json:"total"`
	Data  []grant `json:"data"`
}

type wizard struct {
	Code int             `json:"code"`
	Data json.RawMessage `json:"data"`
	Done bool            `json:"done"`
	UUID string          `json:"uuid"`
}

type application struct {
	ID       int64  `json:"id"`
	UUID     string `json:"uuid"`
	ClientID int64  `json:"clientId"`
	Level    level  `json:"level"`
	Status   string `json:"status"`
}

// approve finds the submitted application with the wizard's uuid and
// approves it as the demo admin.
func (e *e2e) approve(uuid string) application {
	e.t.Helper()
	var apps struct {
		Total int           `json:"total"`
		Data  []application `json:"data"`
	}
	e.json("GET", "/api/v2/applications?filter%5Bstatus%5D=submitted&limit=100", TokenAdmin, nil, 200, &apps)
	var app *application
	for i := range apps.Data {
		if apps.Data[i].UUID == uuid {
			app = &apps.Data[i]
		}
	}
	if app == nil {
		e.t.Fatalf("no submitted application with uuid %s in %+v", uuid, apps)
	}
	var decided application
	e.json("POST", fmt.Sprintf("/api/v2/applications/%d/decision", app.ID), TokenAdmin, map[string]string{"decision": "approved"}, 200, &decided)
	if decided.ID != app.ID || decided.Status != "approved" {
		e.t.Fatalf("decision: %+v", decided)
	}
	return decided
}

// TestEndToEnd builds the demo server, runs it as a process and follows the
// README walkthrough over HTTP.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: builds and runs the server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "server")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./examples/server")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// A stand-in for Veriff's API: the server fetches the session's images
	// from it after the approval.
	veriffAPI := verifftest.NewServer(demoVeriffKey, demoVeriffSecret)
	veriffSrv := httptest.NewServer(veriffAPI)
	defer veriffSrv.Close()

	var stdout, stderr syncBuffer
	// Port 0 and the printed address, as startServer.
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", filepath.Join(tmp, "data"), "-veriff-base-url", veriffSrv.URL)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("server stdout:\n%s\nserver stderr:\n%s", stdout.String(), stderr.String())
		}
	}()

	e := &e2e{t: t, c: &http.Client{Timeout: 10 * time.Second}}
	for deadline := time.Now().Add(15 * time.Second); ; {
		err := errors.New("no address printed yet")
		if m := servingAt.FindStringSubmatch(stdout.String()); m != nil {
			e.base = m[1]
			var resp *http.Response
			if resp, err = e.c.Get(e.base + "/openapi.json"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("server exited early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not answering on %q: %v", e.base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(stdout.String(), TokenUser) {
		t.Errorf("the demo credentials were not printed on a fresh data directory:\n%s", stdout.String())
	}
	if !strings.Contains(stdout.String(), demoVeriffKey) || !strings.Contains(stdout.String(), demoVeriffSecret) {
		t.Errorf("the demo Veriff credentials were not printed:\n%s", stdout.String())
	}

	// (a) The new user's status: every requirement of the ladder, missing.
	var status []struct {
		Name, Type, Status string
	}
	e.json("GET", "/api/v2/user/verification-status", TokenUser, nil, 200, &status)
	if len(status) != 6 {
		t.Fatalf("status lists %d requirements, want 6: %+v", len(status), status)
	}
	for _, r := range status {
		if r.Status != "missing" {
			t.Errorf("requirement %s is %s, want missing", r.Name, r.Status)
		}
	}

	// (b) Answer Level 1.
	for _, a := range []struct {
		name   string
		answer any
		want   string
	}{
		{"isBusiness", false, "approved"},
		{"nationality", "NL", "approved"},
		{"emailCode", "123456", "pending"}, // reviewed: pending until approval
	} {
		var r struct{ Name, Status string }
		e.json("POST", "/api/v2/user/requirements/"+a.name, TokenUser, map[string]any{"answer": a.answer}, 200, &r)
		if r.Name != a.name || r.Status != a.want {
			t.Errorf("answer %s: %+v, want status %s", a.name, r, a.want)
		}
	}

	// (c) The wizard: Level 1 needs no document, so the application is
	// submitted at once.
	var w1 wizard
	e.json("GET", "/api/v2/my/verifications/wizard", TokenUser, nil, 200, &w1)
	if w1.Code != 202 || !w1.Done || w1.UUID == "" || string(w1.Data) != "null" {
		t.Fatalf("wizard for Level 1: %+v (data %s), want code 202, done, a uuid, data null", w1, w1.Data)
	}

	// (d) Seed 002: the request is pending.
	var pending struct {
		Item struct {
			ID        string `json:"id"`
			AccountID string `json:"account_id"`
			Status    string `json:"status"`
			Verified  bool   `json:"verified"`
		} `json:"item"`
	}
	e.json("GET", "/external/api/v1/me/pending_verification_request", TokenUser, nil, 200, &pending)
	if pending.Item.Status != "pending" || pending.Item.ID != w1.UUID || pending.Item.AccountID != demoUserIdentifier {
		t.Fatalf("pending request: %+v, want pending with id %s", pending.Item, w1.UUID)
	}

	// (e) The admin approves it.
	app1 := e.approve(w1.UUID)
	if app1.Level.Name != "Level 1" {
		t.Errorf("first application is for %+v, want Level 1", app1.Level)
	}

	// (f) History: created, then Level 1 by the application.
	var h grants
	e.json("GET", "/api/v2/my/verifications?limit=10&offset=0&sort_order=desc&sort_by=createTime", TokenUser, nil, 200, &h)
	if h.Total != 2 || len(h.Data) != 2 {
		t.Fatalf("history after Level 1: %+v, want 2 grants", h)
	}
	if g := h.Data[0]; g.CurrentLevel.Name != "Level 1" || g.Reason.Name != fmt.Sprintf("Application: %d", app1.ID) ||
		g.PreviousLevel == nil || g.PreviousLevel.Name != "Level 0" {
		t.Errorf("newest grant: %+v, want Level 1 from Level 0 by Application: %d", g, app1.ID)
	}
	userClient := h.Data[0].ClientID

	// (g) The wizard again: Level 2 asks for a passport.
	var w2 wizard
	e.json("GET", "/api/v2/my/verifications/wizard", TokenUser, nil, 200, &w2)
	var types struct {
		Types []struct {
			ID          int    `json:"id"`
			Description string `json:"description"`
		} `json:"types"`
	}
	if err := json.Unmarshal(w2.Data, &types); err != nil {
		t.Fatalf("wizard data %s: %v", w2.Data, err)
	}
	if w2.Code != 200 || w2.Done || w2.UUID == "" || w2.UUID == w1.UUID || len(types.Types) != 1 || types.Types[0].ID != 2 || types.Types[0].Description != "Passport" {
		t.Fatalf("wizard for Level 2: %+v (data %s), want code 200 with the passport type and a new uuid", w2, w2.Data)
	}

	// (h) Upload both sides and answer the questions.
	img, err := base64.StdEncoding.DecodeString(tinyPNG)
	if err != nil {
		t.Fatal(err)
	}
	front := e.upload(TokenUser, "front", img)
	back := e.upload(TokenUser, "back", img)
	var q struct{ Name, Status string }
	e.json("POST", "/api/v2/user/requirements/AMLD5Questions", TokenUser,
		map[string]any{"answer": map[string]string{"Question1": "answer1", "Question2": "answer2"}}, 200, &q)
	if q.Status != "approved" {
		t.Errorf("AMLD5Questions: %+v, want approved", q)
	}

	// (i) Run the wizard with the documents: submitted.
	var run wizard
	e.json("POST", "/api/v2/my/verifications", TokenUser, map[string]any{
		"data": map[string]any{"documents": map[string]any{"type": 2, "files": []string{front, back}}, "uuid": w2.UUID},
	}, 200, &run)
	var runTypes struct {
		Types []string `json:"types"`
	}
	_ = json.Unmarshal(run.Data, &runTypes)
	if run.Code != 202 || !run.Done || run.UUID != w2.UUID || len(runTypes.Types) != 1 || runTypes.Types[0] != "passport" {
		t.Fatalf("wizard run: %+v (data %s), want code 202, done, types [passport]", run, run.Data)
	}

	// (j) The admin approves: Level 2 granted.
	app2 := e.approve(w2.UUID)
	if app2.Level.Name != "Level 2" {
		t.Errorf("second application is for %+v, want Level 2", app2.Level)
	}
	e.json("GET", "/api/v2/my/verifications", TokenUser, nil, 200, &h)
	if h.Total != 3 || len(h.Data) != 3 || h.Data[0].CurrentLevel.Name != "Level 2" || h.Data[0].Reason.Name != fmt.Sprintf("Application: %d", app2.ID) {
		t.Fatalf("history after Level 2: %+v, want 3 grants, newest Level 2 by Application: %d", h, app2.ID)
	}
	var one grants
	e.json("GET", fmt.Sprintf("/api/v2/my/verifications/%d", h.Data[0].ID), TokenUser, nil, 200, &one)
	if one.Total != 1 || len(one.Data) != 1 || one.Data[0].ID != h.Data[0].ID {
		t.Errorf("one grant: %+v", one)
	}
	// Unmarshal keeps fields the answer omits: clear them first.
	pending.Item.ID, pending.Item.Status = "", ""
	e.json("GET", "/external/api/v1/me/pending_verification_request", TokenUser, nil, 200, &pending)
	if pending.Item.Status != "verified" || !pending.Item.Verified || pending.Item.ID != "" {
		t.Errorf("pending request after Level 2: %+v, want verified, no id", pending.Item)
	}

	// (k) Seed 003: the verified user's identity check with signed URLs.
	var idv struct {
		Type      string `json:"type"`
		Status    string `json:"status"`
		Documents struct {
			DocumentFront, DocumentBack, Face string
		} `json:"documents"`
	}
	e.json("GET", "/api/v1/me/natural-person/id-verification", TokenVerified, nil, 200, &idv)
	if idv.Status != "approved" || idv.Documents.DocumentFront == "" || idv.Documents.DocumentBack == "" || idv.Documents.Face == "" {
		t.Fatalf("id-verification: %+v", idv)
	}
	if !strings.HasPrefix(idv.Documents.DocumentFront, e.base+"/api/v1/files/") {
		t.Errorf("documentFront %s is not under %s", idv.Documents.DocumentFront, e.base)
	}
	st, hdr, b := e.do("GET", idv.Documents.DocumentFront, "", "", nil)
	if st != 200 || hdr.Get("Cache-Control") != "no-store" || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("signed URL: status %d, Cache-Control %q, %d bytes starting %q", st, hdr.Get("Cache-Control"), len(b), b[:min(8, len(b))])
	}
	if ct := hdr.Get("Content-Type"); ct != "image/png" {
		t.Errorf("signed URL Content-Type %q, want image/png", ct)
	}
	u, err := url.Parse(idv.Documents.DocumentFront)
	if err != nil {
		t.Fatal(err)
	}
	qv := u.Query()
	sig := []byte(qv.Get("sig"))
	sig[0] ^= 1 // still base64url, no longer the signature
	if sig[0] == '-' || sig[0] == '_' || sig[0] == '.' {
		sig[0] = 'A'
	}
	qv.Set("sig", string(sig))
	u.RawQuery = qv.Encode()
	st, _, b = e.do("GET", u.String(), "", "", nil)
	if st != http.StatusForbidden || !bytes.Contains(b, []byte(`"invalid_signature"`)) {
		t.Errorf("tampered signature: status %d body %s, want 403 invalid_signature", st, b)
	}

	// (k2) A signed Veriff approval for the demo user (vendorData: its
	// external identifier), then the media fetch in the background: the
	// identity-verification route answers the Veriff session with three
	// working signed image URLs.
	veriffAPI.AddSession("e2e-veriff-session-1", demoUserIdentifier)
	approval := verifftest.DecisionBody(verifftest.Decision{
		SessionID: "e2e-veriff-session-1", AttemptID: "e2e-attempt-1", VendorData: demoUserIdentifier, Status: "approved",
		DecisionTime: time.Now(), DocumentType: "PASSPORT", DocumentNumber: "B01234567", DocumentCountry: "EE", DocumentValidUntil: "2031-05-01",
	})
	deliver := func(body []byte, secret string) (int, []byte) {
		req, err := verifftest.NewWebhookRequest(ctx, e.base+"/webhooks/providers/veriff", demoVeriffKey, secret, body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if st, b := deliver(approval, "not-the-secret"); st != http.StatusUnauthorized || !bytes.Contains(b, []byte(`"invalid_signature"`)) {
		t.Fatalf("Veriff webhook with a wrong signature: status %d body %s, want 401 invalid_signature", st, b)
	}
	if st, b := deliver(approval, demoVeriffSecret); st != 200 || !bytes.Contains(b, []byte(`"applied"`)) {
		t.Fatalf("Veriff approval: status %d body %s, want 200 applied", st, b)
	}
	if st, b := deliver(approval, demoVeriffSecret); st != 200 || !bytes.Contains(b, []byte(`"duplicate"`)) {
		t.Fatalf("Veriff approval redelivered: status %d body %s, want 200 duplicate", st, b)
	}
	var vidv struct {
		Type      string `json:"type"`
		Status    string `json:"status"`
		Documents struct {
			DocumentFront, DocumentBack, Face string
		} `json:"documents"`
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		vidv.Documents.DocumentFront, vidv.Documents.DocumentBack, vidv.Documents.Face = "", "", ""
		e.json("GET", "/api/v1/me/natural-person/id-verification", TokenUser, nil, 200, &vidv)
		if vidv.Type == "veriff" && vidv.Documents.DocumentFront != "" && vidv.Documents.DocumentBack != "" && vidv.Documents.Face != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("id-verification after the Veriff approval: %+v, want type veriff with three image URLs", vidv)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if vidv.Status != "approved" {
		t.Errorf("Veriff session status %q, want approved", vidv.Status)
	}
	for _, u := range []string{vidv.Documents.DocumentFront, vidv.Documents.DocumentBack, vidv.Documents.Face} {
		st, hdr, b := e.do("GET", u, "", "", nil)
		if st != 200 || hdr.Get("Content-Type") != "image/png" || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("Veriff image %s: status %d, Content-Type %q, %d bytes", u, st, hdr.Get("Content-Type"), len(b))
		}
	}
	if n := veriffAPI.Calls("GET /v1/media/{id}"); n != 3 {
		t.Errorf("the server fetched %d images from Veriff, want 3 (front, back, face)", n)
	}

	// (l) Scopes and admin tags.
	for _, path := range []string{"/external/api/v1/me/pending_verification_request", "/api/v1/me/natural-person/id-verification"} {
		st, _, b := e.do("GET", path, TokenNoScope, "", nil)
		if st != http.StatusForbidden {
			t.Errorf("noscope token on %s: status %d body %s, want 403", path, st, b)
		}
	}
	var all, eu grants
	e.json("GET", "/api/v2/verifications?limit=100", TokenAdmin, nil, 200, &all)
	e.json("GET", "/api/v2/verifications?limit=100", TokenAdminEU, nil, 200, &eu)
	seen := false
	for _, g := range all.Data {
		seen = seen || g.ClientID == userClient
	}
	if !seen {
		t.Errorf("the admin does not see client %d: %+v", userClient, all)
	}
	if eu.Total == 0 || eu.Total >= all.Total {
		t.Errorf("eu admin sees %d grants, the admin %d: want some, fewer", eu.Total, all.Total)
	}
	for _, g := range eu.Data {
		if g.ClientID == userClient {
			t.Errorf("the eu admin sees the untagged client %d: %+v", userClient, g)
		}
	}
	e.json("GET", fmt.Sprintf("/api/v2/verifications?filter%%5BclientId%%5D=%d", userClient), TokenAdminEU, nil, 200, &eu)
	if eu.Total != 0 || len(eu.Data) != 0 {
		t.Errorf("eu admin filtering on client %d: %+v, want empty", userClient, eu)
	}

	// Shut down with SIGTERM: exit code 0 within 10 s, "stopped" logged.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("server exited with %d after SIGTERM", ee.ExitCode())
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server still running 10 s after SIGTERM")
	}
	if !strings.Contains(stderr.String(), `"stopped"`) {
		t.Errorf("the log does not say stopped:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(tmp, "data", "openkyc.db")); err != nil {
		t.Errorf("database: %v", err)
	}
}
