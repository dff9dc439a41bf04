// Package bench holds the measurements of issue 19 that run in process:
// allocations and store round trips per route, the dispatcher against a
// plain loop of POSTs, the write rate as the database grows, and the
// curves plotted by bench/plot.sh. The load test from outside the process
// is bench/http.sh. Nothing here is a timed unit test: the Test functions
// only check that the fixtures answer as the measurements assume.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/httpadapter"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
)

// Identifiers of the fixture's subjects (36 alphanumerics).
const (
	identNew      = "benchnew000000000000000000000000000001"
	identPending  = "benchpending0000000000000000000000000002"
	identVerified = "benchverified000000000000000000000000003"
	identWizard   = "benchwizard00000000000000000000000000004"
	answerFormat  = "benchanswer%025d"
)

// serverLadder is the demo server's ladder (seed 000's).
func serverLadder(tb testing.TB) *levels.Ladder {
	tb.Helper()
	l, err := levels.LoadFile(filepath.Join("..", "examples", "server", "demo", "ladder.json"))
	require.NoError(tb, err)
	return l
}

// fixture is the demo server's wiring (SQLite store, file blobs, signer,
// the adapter on a ServeMux) over a counting store, with the demo's kinds
// of subjects: a new one, one whose Level 1 application is pending, a
// verified one with an identity check, and one whose Level 2 wizard waits
// at the document step.
type fixture struct {
	svc     *verification.Service
	calls   *calls
	handler http.Handler
	auth    *httpadapter.StaticAuthenticator
	// answerNext numbers the next fresh subject for answer submissions;
	// answerMade counts those created.
	answerNext, answerMade int
}

// request is one benchmarked request.
type request struct {
	name, method, path, auth, ident, body string
}

// readRoutes are the GET routes bench/http.sh measures, by the same names.
var readRoutes = []request{
	{"status-new", "GET", "/api/v2/user/verification-status", "Bearer tok-new", "", ""},
	{"status-verified", "GET", "/api/v2/user/verification-status", "Bearer tok-verified", "", ""},
	{"grants", "GET", "/api/v2/my/verifications?limit=10&offset=0&sort_order=desc&sort_by=createTime", "Bearer tok-verified", "", ""},
	{"pending", "GET", "/external/api/v1/me/pending_verification_request", "Bearer tok-pending", "", ""},
	{"wizard", "GET", "/api/v2/my/verifications/wizard", "Bearer tok-wizard", "", ""},
	{"wizard-pending", "GET", "/api/v2/my/verifications/wizard", "Bearer tok-pending", "", ""},
	{"idverify", "GET", "/api/v1/me/natural-person/id-verification", "Bearer tok-verified", "", ""},
	{"status-apikey", "GET", "/api/v2/user/verification-status", "Bearer sk-bench", identNew, ""},
}

// answerRoute is the write route; its identifier is filled per request.
var answerRoute = request{"answer", "POST", "/api/v2/user/requirements/isBusiness", "Bearer sk-bench", "", `{"answer": false}`}

func newSQLiteStore(tb testing.TB) verification.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "kyc.db"), sqlite.Options{})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func newFixture(tb testing.TB, store verification.Store) *fixture {
	tb.Helper()
	return newLoggedFixture(tb, store, nil)
}

// newLoggedFixture is newFixture with the adapter logging to log (nil:
// silent, as the demo server at -log-level warn when nothing fails).
func newLoggedFixture(tb testing.TB, store verification.Store, log *zerolog.Logger) *fixture {
	tb.Helper()
	f := &fixture{calls: &calls{}}
	counted := &countingStore{s: store, c: f.calls}
	blobs, err := documents.NewFileStore(tb.TempDir())
	require.NoError(tb, err)
	f.svc, err = verification.New(serverLadder(tb), counted, verification.Options{Blobs: blobs})
	require.NoError(tb, err)
	ids := seedSubjects(tb, f.svc)
	tokens := map[string]httpadapter.StaticToken{"sk-bench": {Principal: httpadapter.Principal{Credential: httpadapter.APIKey}}}
	scopes := []string{httpadapter.DefaultPendingRequestScope, httpadapter.DefaultIDVerificationScope}
	for tok, id := range map[string]int64{"tok-new": ids[0], "tok-pending": ids[1], "tok-verified": ids[2], "tok-wizard": ids[3]} {
		tokens[tok] = httpadapter.StaticToken{Principal: httpadapter.Principal{Credential: httpadapter.User, SubjectID: id, Scopes: scopes}}
	}
	f.auth, err = httpadapter.NewStaticAuthenticator(tokens, nil)
	require.NoError(tb, err)
	signer, err := documents.NewSigner([]documents.SigningKey{{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)}}, documents.SignerOptions{})
	require.NoError(tb, err)
	a, err := httpadapter.New(f.svc, httpadapter.Options{Authenticator: f.auth, Logger: log, Signer: signer, BaseURL: "http://127.0.0.1:8080", ServeOpenAPI: true})
	require.NoError(tb, err)
	mux := http.NewServeMux()
	a.Register(mux, "")
	a.RegisterAdmin(mux, "")
	f.handler = mux
	return f
}

// seedSubjects creates the fixture's four subjects as examples/server's
// seedDemo does, and returns their IDs (new, pending, verified, wizard).
func seedSubjects(tb testing.TB, svc *verification.Service) [4]int64 {
	tb.Helper()
	ctx := context.Background()
	admin := verification.AdminActor(1, nil)
	create := func(ident string, tags ...string) int64 {
		s, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: ident, Tags: tags})
		require.NoError(tb, err)
		return s.ID
	}
	answer := func(id int64, name, value string) {
		_, err := svc.Answer(ctx, id, name, json.RawMessage(value))
		require.NoError(tb, err, "answer %s", name)
	}
	level1 := func(id int64) {
		answer(id, "isBusiness", `false`)
		answer(id, "nationality", `"NL"`)
		answer(id, "emailCode", `"123456"`)
	}
	var ids [4]int64
	ids[0] = create(identNew)

	ids[1] = create(identPending, "us")
	level1(ids[1])
	_, err := svc.InitWizard(ctx, ids[1])
	require.NoError(tb, err)

	v := create(identVerified, "eu")
	ids[2] = v
	level1(v)
	_, err = svc.SetRequirement(ctx, admin, verification.SetRequirementParams{SubjectID: v, Requirement: "emailCode"})
	require.NoError(tb, err)
	answer(v, "AMLD5Questions", `{"Question1":"answer1","Question2":"answer2"}`)
	upload := func(docType, side string) string {
		f, err := svc.Upload(ctx, verification.UploadParams{SubjectID: v, DocumentType: docType, Side: side, Body: bytes.NewReader(pngBytes(tb))})
		require.NoError(tb, err)
		return f.ID
	}
	front, back, face := upload("passport", "front"), upload("passport", "back"), upload(verification.SelfieType, verification.SelfieSide)
	answer(v, "idDocument", fmt.Sprintf(`{"type":"passport","files":{"front":%q,"back":%q}}`, front, back))
	_, err = svc.SetRequirement(ctx, admin, verification.SetRequirementParams{SubjectID: v, Requirement: "verificationFlag", Value: json.RawMessage(`true`)})
	require.NoError(tb, err)
	_, err = svc.Review(ctx, admin, verification.ReviewParams{SubjectID: v, Requirement: "idDocument", Decision: verification.Approve, Reason: "bench"})
	require.NoError(tb, err)
	_, err = svc.RecordIDSession(ctx, verification.SystemActor(), verification.RecordIDSessionParams{SubjectID: v, Provider: "veriff", FrontFileID: front, BackFileID: back, FaceFileID: face})
	require.NoError(tb, err)

	ids[3] = create(identWizard)
	level1(ids[3])
	_, err = svc.SetRequirement(ctx, admin, verification.SetRequirementParams{SubjectID: ids[3], Requirement: "emailCode"})
	require.NoError(tb, err)
	step, err := svc.InitWizard(ctx, ids[3])
	require.NoError(tb, err)
	require.Equal(tb, verification.StageDocuments, step.Stage, "the wizard subject waits at a step")
	require.NotEmpty(tb, step.Requirement, "the wizard subject waits at the document step")
	return ids
}

func pngBytes(tb testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = 0x80
	}
	img.Set(0, 0, color.Black)
	var buf bytes.Buffer
	require.NoError(tb, png.Encode(&buf, img))
	return buf.Bytes()
}

// addAnswerSubjects creates n fresh subjects for answer submissions.
func (f *fixture) addAnswerSubjects(tb testing.TB, n int) {
	tb.Helper()
	for range n {
		_, err := f.svc.CreateSubject(context.Background(), verification.CreateSubjectParams{Identifier: fmt.Sprintf(answerFormat, f.answerMade)})
		require.NoError(tb, err)
		f.answerMade++
	}
}

// newRequest builds rq as an *http.Request for the handler.
func newRequest(rq request) *http.Request {
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	r, err := http.NewRequest(rq.method, "http://127.0.0.1:8080"+rq.path, body)
	if err != nil {
		panic(err)
	}
	r.RequestURI = rq.path
	r.RemoteAddr = "127.0.0.1:40000"
	if rq.auth != "" {
		r.Header.Set("Authorization", rq.auth)
	}
	if rq.ident != "" {
		r.Header.Set("X-User-Identifier", rq.ident)
	}
	if rq.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// discard is a ResponseWriter that keeps the status and the body size and
// reuses its header map, so that allocations counted are the handler's.
type discard struct {
	h      http.Header
	status int
	n      int
	body   bytes.Buffer
	keep   bool
}

func (d *discard) Header() http.Header { return d.h }
func (d *discard) WriteHeader(s int) {
	if d.status == 0 {
		d.status = s
	}
}
func (d *discard) Write(b []byte) (int, error) {
	if d.status == 0 {
		d.status = 200
	}
	d.n += len(b)
	if d.keep {
		d.body.Write(b)
	}
	return len(b), nil
}
func (d *discard) reset() {
	clear(d.h)
	d.status, d.n = 0, 0
	d.body.Reset()
}

// serve runs one request through the handler and returns its status and body.
func (f *fixture) serve(rq request) (int, string) {
	d := &discard{h: http.Header{}, keep: true}
	f.handler.ServeHTTP(d, newRequest(rq))
	return d.status, d.body.String()
}

// TestFixtureRoutes checks that every benchmarked request answers 200 on the
// fixture, calls the store, and that the answer route writes (so the
// benchmarks measure what they claim).
func TestFixtureRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, newSQLiteStore(t))
	for _, rq := range readRoutes {
		var status int
		var body string
		trace := f.calls.record(func() { status, body = f.serve(rq) })
		require.Equal(t, 200, status, "%s: %s", rq.name, body)
		require.NotEmpty(t, trace, "%s: no store call", rq.name)
		t.Logf("%-16s %d store calls: %s", rq.name, len(trace), strings.Join(trace, ", "))
	}
	status, body := f.serve(request{"wizard", "GET", "/api/v2/my/verifications/wizard", "Bearer tok-wizard", "", ""})
	require.Equal(t, 200, status)
	require.Contains(t, body, `"code":200`, "the wizard resumes at a step with work left")

	f.addAnswerSubjects(t, 1)
	rq := answerRoute
	rq.ident = fmt.Sprintf(answerFormat, f.answerNext)
	trace := f.calls.record(func() { status, body = f.serve(rq) })
	require.Equal(t, 200, status, body)
	require.Contains(t, trace, "PutRequirementState")
	t.Logf("%-16s %d store calls: %s", rq.name, len(trace), strings.Join(trace, ", "))
	status, _ = f.serve(rq)
	require.Equal(t, 409, status, "a second answer for the same subject conflicts")
}

// envInt reads a positive integer from the environment, or def.
func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		var n int
		if _, err := fmt.Sscan(v, &n); err == nil && n > 0 {
			return n
		}
	}
	return def
}

func lookupEnv(name string) string { return os.Getenv(name) }
