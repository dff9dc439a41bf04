package httpadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// Tokens of the test authenticator.
const (
	tokOwner        = "tok-owner"
	tokOwnerNoScope = "tok-owner-noscope"
	tokOwnerExpired = "tok-owner-expired"
	tokOther        = "tok-other"
	keyAPI          = "sk-test-key"
	keyAgent        = "ak-owner"
	keyAgentNoScope = "ak-owner-noscope"
	tokAdmin        = "tok-admin"
	tokAdminEU      = "tok-admin-eu"
	tokAdminUS      = "tok-admin-us"
	tokAdminNone    = "tok-admin-none"
)

const testPrefix = "/kyc"

// allScopes are the scopes of the owner's and the other user's tokens.
var allScopes = []string{DefaultPendingRequestScope, DefaultIDVerificationScope}

// pngBytes is a tiny file with PNG magic bytes.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 64)...)

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

type testBundle struct {
	t       testing.TB
	ctx     context.Context
	svc     *verification.Service
	store   verification.Store
	clock   *verificationtest.Clock
	auth    *StaticAuthenticator
	signer  *documents.Signer
	adapter *Adapter
	h       http.Handler
	prefix  string
	logs    *syncBuffer
	// owner carries tag "eu", other "us".
	owner, other verification.Subject
}

type setupOpts struct {
	// store replaces the memory store.
	store verification.Store
	// prefix is the mount prefix (testPrefix when empty and noPrefix unset).
	prefix   string
	noPrefix bool
	// router: "mux" (default), "chi", "handler" (Handler and AdminHandler
	// on one ServeMux), "strip" (the same behind http.StripPrefix) or
	// "strip-unregistered" (routes registered at the root of a ServeMux
	// behind http.StripPrefix).
	router string
	// adapter edits the adapter options.
	adapter func(*Options)
	// svc edits the service options.
	svc func(*verification.Options)
}

var idCounter atomic.Int64

// fixedWidthIDs yields ids that are never substrings of each other, so
// that tests can search responses for another subject's ids.
func fixedWidthIDs() func() string {
	// Canonical UUIDs (version 7, RFC 9562 variant), as the default
	// generator makes, but deterministic.
	return func() string { return fmt.Sprintf("00000000-0000-7000-8000-%012d", idCounter.Add(1)) }
}

func setup(t testing.TB, so ...setupOpts) *testBundle {
	t.Helper()
	var o setupOpts
	if len(so) > 0 {
		o = so[0]
	}
	clock := verificationtest.NewClock(verificationtest.Start)
	blobs, err := documents.NewFileStore(t.TempDir())
	require.NoError(t, err)
	vo := verification.Options{NowFunc: clock.Now, NewIDFunc: fixedWidthIDs(), Blobs: blobs}
	if o.svc != nil {
		o.svc(&vo)
	}
	store := o.store
	if store == nil {
		store = memory.New()
	}
	svc, err := verification.New(verificationtest.SeedLadder(t), store, vo)
	require.NoError(t, err)
	b := &testBundle{t: t, ctx: context.Background(), svc: svc, store: store, clock: clock, logs: &syncBuffer{}}
	b.owner = verificationtest.CreateSubject(t, svc, "eu")
	b.other = verificationtest.CreateSubject(t, svc, "us")
	b.auth, err = NewStaticAuthenticator(map[string]StaticToken{
		tokOwner:        {Principal: Principal{Credential: User, SubjectID: b.owner.ID, Scopes: allScopes}},
		tokOwnerNoScope: {Principal: Principal{Credential: User, SubjectID: b.owner.ID}},
		tokOwnerExpired: {Principal: Principal{Credential: User, SubjectID: b.owner.ID, Scopes: allScopes}, ExpiresAt: verificationtest.Start.Add(-time.Hour)},
		tokOther:        {Principal: Principal{Credential: User, SubjectID: b.other.ID, Scopes: allScopes}},
		keyAPI:          {Principal: Principal{Credential: APIKey}},
		keyAgent:        {Principal: Principal{Credential: AgentKey, SubjectID: b.owner.ID, Scopes: []string{DefaultAgentIDVerificationScope}}},
		keyAgentNoScope: {Principal: Principal{Credential: AgentKey, SubjectID: b.owner.ID}},
		tokAdmin:        {Principal: Principal{Credential: Admin, AdminID: 7}},
		tokAdminEU:      {Principal: Principal{Credential: Admin, AdminID: 8, AdminTags: []string{"eu"}}},
		tokAdminUS:      {Principal: Principal{Credential: Admin, AdminID: 9, AdminTags: []string{"us"}}},
		tokAdminNone:    {Principal: Principal{Credential: Admin, AdminID: 10, AdminTags: []string{}}},
	}, clock.Now)
	require.NoError(t, err)
	b.signer, err = documents.NewSigner([]documents.SigningKey{{ID: "k1", Secret: bytes.Repeat([]byte("s"), 32)}}, documents.SignerOptions{Now: clock.Now})
	require.NoError(t, err)
	logger := zerolog.New(b.logs).Level(zerolog.DebugLevel)
	ao := Options{Authenticator: b.auth, Logger: &logger, Signer: b.signer, BaseURL: "https://kyc.example.com", ServeOpenAPI: true}
	if o.adapter != nil {
		o.adapter(&ao)
	}
	b.adapter, err = New(svc, ao)
	require.NoError(t, err)
	b.prefix = testPrefix
	if o.prefix != "" {
		b.prefix = o.prefix
	}
	if o.noPrefix {
		b.prefix = ""
	}
	switch o.router {
	case "chi":
		r := chi.NewRouter()
		b.adapter.Register(r, b.prefix)
		b.adapter.RegisterAdmin(r, b.prefix)
		b.h = r
	case "handler":
		b.h = oneHandlerEach(b.prefix, b.adapter.Handler(b.prefix), b.adapter.AdminHandler(b.prefix))
	case "strip":
		// http.StripPrefix in front of handlers that know the prefix.
		b.h = oneHandlerEach(b.prefix, http.StripPrefix(b.prefix, b.adapter.Handler(b.prefix)), http.StripPrefix(b.prefix, b.adapter.AdminHandler(b.prefix)))
	case "strip-unregistered":
		// http.StripPrefix in front of routes registered at the root.
		inner := http.NewServeMux()
		b.adapter.Register(inner, "")
		b.adapter.RegisterAdmin(inner, "")
		outer := http.NewServeMux()
		outer.Handle(b.prefix+"/", http.StripPrefix(b.prefix, inner))
		b.h = outer
	default:
		mux := http.NewServeMux()
		b.adapter.Register(mux, b.prefix)
		b.adapter.RegisterAdmin(mux, b.prefix)
		b.h = mux
	}
	return b
}

// req is a test request; path excludes the mount prefix.
type req struct {
	method, path string
	// token goes in Authorization: Bearer.
	token  string
	header map[string]string
	// multi adds headers with several values.
	multi map[string][]string
	body  []byte
	// ctype is the Content-Type (application/json when body is set and
	// ctype is empty).
	ctype string
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

// do serves r and checks the response against the OpenAPI description.
func (b *testBundle) do(r req) resp {
	b.t.Helper()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, b.prefix+r.path, body)
	if r.body != nil {
		ct := r.ctype
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	for k, vs := range r.multi {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, hr)
	out := resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	checkOpenAPI(b.t, r.method, strings.SplitN(r.path, "?", 2)[0], out)
	return out
}

func (b *testBundle) get(path, token string) resp {
	b.t.Helper()
	return b.do(req{method: "GET", path: path, token: token})
}

func (b *testBundle) post(path, token, body string) resp {
	b.t.Helper()
	return b.do(req{method: "POST", path: path, token: token, body: []byte(body)})
}

// value decodes a JSON body.
func (r resp) value(t *testing.T) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(r.body, &v), string(r.body))
	return v
}

// object decodes a JSON object body.
func (r resp) object(t *testing.T) map[string]any {
	t.Helper()
	m, ok := r.value(t).(map[string]any)
	require.True(t, ok, "not an object: %s", r.body)
	return m
}

// requireV2Error asserts a seed 000 error body with code and status.
func requireV2Error(t *testing.T, r resp, status int, code verification.Code) map[string]any {
	t.Helper()
	require.Equal(t, status, r.status, string(r.body))
	m := r.object(t)
	errs, ok := m["errors"].(map[string]any)
	require.True(t, ok, string(r.body))
	require.Len(t, errs, 1, string(r.body))
	e, ok := errs[string(code)].(map[string]any)
	require.True(t, ok, "want %s, got %s", code, r.body)
	require.Equal(t, string(code), e["code"])
	require.Equal(t, entry(code).Solution, e["solution"])
	return e
}

// requireCatalogText asserts a seed 000 code's exact message.
func requireCatalogText(t *testing.T, r resp, status int, code verification.Code) {
	t.Helper()
	e := requireV2Error(t, r, status, code)
	require.Equal(t, entry(code).Message, e["message"])
}

// errorMessage returns the message of a v2 error body.
func errorMessage(t *testing.T, r resp, code verification.Code) string {
	t.Helper()
	e := requireV2Error(t, r, r.status, code)
	return e["message"].(string)
}

// reachLevel1 answers and approves every Level 1 requirement.
func (b *testBundle) reachLevel1(id int64) {
	b.t.Helper()
	for name, answer := range map[string]string{"isBusiness": `false`, "nationality": `"NL"`, "emailCode": `"123456"`} {
		_, err := b.svc.Answer(b.ctx, id, name, json.RawMessage(answer))
		require.NoError(b.t, err)
	}
	_, err := b.svc.Review(b.ctx, verification.AdminActor(7, nil), verification.ReviewParams{SubjectID: id, Requirement: "emailCode", Decision: verification.Approve})
	require.NoError(b.t, err)
}

// answerAMLD5 answers the question requirement (approved at once).
func (b *testBundle) answerAMLD5(id int64) {
	b.t.Helper()
	_, err := b.svc.Answer(b.ctx, id, "AMLD5Questions", json.RawMessage(`{"Question1":"answer1","Question2":"answer2"}`))
	require.NoError(b.t, err)
}

// upload stores a PNG for the subject through the Service.
func (b *testBundle) upload(id int64, docType, side string) string {
	b.t.Helper()
	f, err := b.svc.Upload(b.ctx, verification.UploadParams{SubjectID: id, DocumentType: docType, Side: side, Body: bytes.NewReader(pngBytes)})
	require.NoError(b.t, err)
	return f.ID
}

// draftWizard brings the subject to the passport step of a wizard and
// returns its uuid and two uploaded passport files.
func (b *testBundle) draftWizard(id int64) (uuid string, front, back string) {
	b.t.Helper()
	b.reachLevel1(id)
	b.answerAMLD5(id)
	step, err := b.svc.InitWizard(b.ctx, id)
	require.NoError(b.t, err)
	require.Equal(b.t, verification.StageDocuments, step.Stage)
	return step.UUID, b.upload(id, "passport", "front"), b.upload(id, "passport", "back")
}

// submittedApplication gives the subject an application awaiting review.
func (b *testBundle) submittedApplication(id int64) verification.Application {
	b.t.Helper()
	uuid, front, back := b.draftWizard(id)
	step, err := b.svc.RunWizard(b.ctx, verification.RunWizardParams{SubjectID: id, UUID: uuid, DocumentType: 2, Files: []string{front, back}})
	require.NoError(b.t, err)
	require.Equal(b.t, verification.StageDone, step.Stage)
	require.Equal(b.t, verification.ApplicationSubmitted, step.Application.Status)
	return step.Application
}

// idSession records an approved veriff session with three images.
func (b *testBundle) idSession(id int64, at time.Time) verification.IDSession {
	b.t.Helper()
	front, back := b.upload(id, "passport", "front"), b.upload(id, "passport", "back")
	face := b.upload(id, verification.SelfieType, verification.SelfieSide)
	s, err := b.svc.RecordIDSession(b.ctx, verification.SystemActor(), verification.RecordIDSessionParams{
		SubjectID: id, Provider: "veriff", FrontFileID: front, BackFileID: back, FaceFileID: face, At: at,
	})
	require.NoError(b.t, err)
	return s
}

// grants returns the subject's grants, oldest first.
func (b *testBundle) grants(id int64) []verification.Grant {
	b.t.Helper()
	page, err := b.svc.Grants(b.ctx, verification.SystemActor(), verification.GrantFilter{SubjectID: id, Limit: 100})
	require.NoError(b.t, err)
	return page.Items
}

// multipartBody builds an upload form; fields are written in order.
func multipartBody(t testing.TB, fields [][2]string, file []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range fields {
		require.NoError(t, w.WriteField(f[0], f[1]))
	}
	if file != nil {
		fw, err := w.CreateFormFile(FieldFile, "passport.png")
		require.NoError(t, err)
		_, err = fw.Write(file)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return buf.Bytes(), w.FormDataContentType()
}

// golden compares got (JSON) with testdata/golden/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, json.Indent(&buf, got, "", "  "), "not JSON: %s", got)
	buf.WriteByte('\n')
	pretty := buf.Bytes()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, pretty, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing: run go test -run %s -update", t.Name())
	require.Equal(t, string(want), string(pretty), "golden %s differs (go test -update rewrites it)", name)
}

// oneHandlerEach mounts a public and an admin handler on one ServeMux by
// path prefix, as a gin or echo host mounts Handler and AdminHandler on
// their own paths.
func oneHandlerEach(prefix string, public, admin http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", public)
	for _, p := range []string{"/api/v2/verifications", "/api/v2/applications", "/api/v2/clients/", "/api/v2/files/"} {
		mux.Handle(prefix+p, admin)
		if !strings.HasSuffix(p, "/") {
			mux.Handle(prefix+p+"/", admin)
		}
	}
	return mux
}
