package openapitest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/contrib/openapitest/client"
)

// The demo server's credentials (examples/server/demo/credentials.go).
const (
	tokenUser     = "demo-user-token"
	tokenVerified = "demo-verified-token"
	tokenNoScope  = "demo-noscope-token"
	tokenAdmin    = "demo-admin-token"
	tokenAdminEU  = "demo-admin-eu-token"
	keyAgent      = "ak-demo"
)

// tinyPNG is a valid 1x1 PNG, the walkthrough's upload.
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

// startDemo builds examples/server with the library's own module and runs
// it on a fresh data directory; it returns the base URL.
func startDemo(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "server")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./examples/server")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./examples/server: %s", out)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	var stdout, stderr syncBuffer
	cmd := exec.Command(bin, "-addr", addr, "-data", filepath.Join(tmp, "data"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("server stdout:\n%s\nserver stderr:\n%s", stdout.String(), stderr.String())
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; {
		res, err := http.Get(base + "/openapi.json")
		if err == nil {
			res.Body.Close()
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("server exited early: %v\n%s", err, stderr.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "server not answering on %s: %v", addr, err)
		time.Sleep(50 * time.Millisecond)
	}
	return base
}

// strict decodes the raw body of a generated response again, refusing
// unknown fields, into the typed field the generated parser filled; it
// fails when a JSON answer filled none (its status is undocumented).
func strict(t *testing.T, rsp any) {
	t.Helper()
	v := reflect.ValueOf(rsp).Elem()
	hr := v.FieldByName("HTTPResponse").Interface().(*http.Response)
	body := v.FieldByName("Body").Bytes()
	filled := false
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if !strings.HasPrefix(f.Name, "JSON") || v.Field(i).IsNil() {
			continue
		}
		filled = true
		dst := reflect.New(f.Type.Elem())
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(dst.Interface()), "%s %s %d: strict decoding into %s: %.400s", hr.Request.Method, hr.Request.URL.Path, hr.StatusCode, f.Type, body)
	}
	if strings.HasPrefix(hr.Header.Get("Content-Type"), "application/json") {
		require.True(t, filled, "%s %s %d: no generated type for this answer: %s", hr.Request.Method, hr.Request.URL.Path, hr.StatusCode, body)
	}
}

// strictOutstanding decodes each status item into the variant its type
// names, refusing unknown fields.
func strictOutstanding(t *testing.T, items []client.Outstanding) map[string]string {
	t.Helper()
	status := map[string]string{}
	for _, it := range items {
		raw, err := it.MarshalJSON()
		require.NoError(t, err)
		kind, err := it.Discriminator()
		require.NoError(t, err)
		var dst any
		switch kind {
		case "boolean":
			dst = &client.OutstandingBoolean{}
		case "string":
			dst = &client.OutstandingString{}
		case "choice":
			dst = &client.OutstandingChoice{}
		case "question":
			dst = &client.OutstandingQuestion{}
		case "document":
			dst = &client.OutstandingDocument{}
		default:
			t.Fatalf("unknown requirement kind %q: %s", kind, raw)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(dst), "%s", raw)
		var head struct{ Name, Status string }
		require.NoError(t, json.Unmarshal(raw, &head))
		status[head.Name] = head.Status
	}
	return status
}

// clients are generated clients authenticated as each demo credential.
type clients struct {
	user, verified, noScope, admin, adminEU, agent, anonymous *client.ClientWithResponses
	rt                                                        *validating
}

func newClients(t *testing.T, base string) *clients {
	t.Helper()
	rt := &validating{t: t, next: http.DefaultTransport}
	hc := &http.Client{Transport: rt, Timeout: 10 * time.Second}
	mk := func(token string) *client.ClientWithResponses {
		opts := []client.ClientOption{client.WithHTTPClient(hc)}
		if token != "" {
			opts = append(opts, client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
				r.Header.Set("Authorization", "Bearer "+token)
				return nil
			}))
		}
		c, err := client.NewClientWithResponses(base, opts...)
		require.NoError(t, err)
		return c
	}
	return &clients{user: mk(tokenUser), verified: mk(tokenVerified), noScope: mk(tokenNoScope), admin: mk(tokenAdmin),
		adminEU: mk(tokenAdminEU), agent: mk(keyAgent), anonymous: mk(""), rt: rt}
}

func ptr[T any](v T) *T { return &v }

// upload sends one side of a passport through the generated multipart call.
func upload(t *testing.T, c *client.ClientWithResponses, side string, img []byte) *client.UploadFileResponse {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("documentType", "passport"))
	require.NoError(t, mw.WriteField("side", side))
	fw, err := mw.CreateFormFile("file", side+".png")
	require.NoError(t, err)
	_, _ = fw.Write(img)
	require.NoError(t, mw.Close())
	rsp, err := c.UploadFileWithBodyWithResponse(t.Context(), nil, mw.FormDataContentType(), &buf)
	require.NoError(t, err)
	strict(t, rsp)
	return rsp
}

// approve finds the submitted application with uuid and approves it.
func approve(t *testing.T, cs *clients, uuid string) client.Application {
	t.Helper()
	apps, err := cs.admin.ListApplicationsWithResponse(t.Context(), &client.ListApplicationsParams{FilterStatus: ptr("submitted"), Limit: ptr(100)})
	require.NoError(t, err)
	strict(t, apps)
	require.Equal(t, 200, apps.StatusCode(), "%s", apps.Body)
	var id int
	for _, a := range apps.JSON200.Data {
		if a.Uuid == uuid {
			id = a.Id
		}
	}
	require.NotZero(t, id, "no submitted application %s: %s", uuid, apps.Body)
	dec, err := cs.admin.DecideApplicationWithResponse(t.Context(), id, nil, client.DecideApplicationJSONRequestBody{Decision: "approved"})
	require.NoError(t, err)
	strict(t, dec)
	require.Equal(t, 200, dec.StatusCode(), "%s", dec.Body)
	require.Equal(t, client.ApplicationStatus("approved"), dec.JSON200.Status)
	return *dec.JSON200
}

// TestWalkthroughThroughGeneratedClient runs the README walkthrough
// against the demo server through the oapi-codegen client: every call is
// typed, every answer strictly decoded and validated against the document,
// and the documented errors are provoked on the way.
func TestWalkthroughThroughGeneratedClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the demo server")
	}
	cs := newClients(t, startDemo(t))
	ctx := t.Context()

	// 1. Status: every requirement missing.
	st, err := cs.user.GetVerificationStatusWithResponse(ctx, nil)
	require.NoError(t, err)
	strict(t, st)
	require.Equal(t, 200, st.StatusCode())
	status := strictOutstanding(t, *st.JSON200)
	require.Len(t, status, 6)
	for name, s := range status {
		require.Equal(t, "missing", s, name)
	}

	// 2. Answer the first step.
	for _, a := range []struct {
		name   string
		answer any
		want   client.RequirementStateStatus
	}{{"isBusiness", false, "approved"}, {"nationality", "NL", "approved"}, {"emailCode", "123456", "pending"}} {
		rsp, err := cs.user.AnswerRequirementWithResponse(ctx, a.name, nil, client.AnswerRequirementJSONRequestBody{Answer: a.answer})
		require.NoError(t, err)
		strict(t, rsp)
		require.Equal(t, 200, rsp.StatusCode(), "%s", rsp.Body)
		require.Equal(t, a.want, rsp.JSON200.Status, a.name)
	}
	bad, err := cs.user.AnswerRequirementWithResponse(ctx, "emailCode", nil, client.AnswerRequirementJSONRequestBody{Answer: "12ab"})
	require.NoError(t, err)
	strict(t, bad)
	require.Contains(t, []int{400, 409}, bad.StatusCode(), "%s", bad.Body)

	// 3. The wizard submits the application.
	w1, err := cs.user.InitWizardWithResponse(ctx, nil)
	require.NoError(t, err)
	strict(t, w1)
	require.Equal(t, client.WizardInitCode(202), w1.JSON200.Code)
	require.True(t, w1.JSON200.Done)
	require.Nil(t, w1.JSON200.Data)

	// 4. Pending.
	pr, err := cs.user.GetPendingVerificationRequestWithResponse(ctx)
	require.NoError(t, err)
	strict(t, pr)
	require.Equal(t, client.PendingItemStatus("pending"), pr.JSON200.Item.Status)
	require.Equal(t, w1.JSON200.Uuid, *pr.JSON200.Item.Id)

	// 5. The admin approves.
	app1 := approve(t, cs, w1.JSON200.Uuid)

	// 6. History, with every list parameter and with none (a generated
	// client must not need the optional ones).
	h, err := cs.user.ListMyVerificationsWithResponse(ctx, &client.ListMyVerificationsParams{
		Limit: ptr(10), Offset: ptr(0), SortOrder: ptr(client.ListMyVerificationsParamsSortOrder("desc")), SortBy: ptr(client.ListMyVerificationsParamsSortBy("createTime")),
	})
	require.NoError(t, err)
	strict(t, h)
	require.Equal(t, 2, h.JSON200.Total)
	require.Equal(t, fmt.Sprintf("Application: %d", app1.Id), h.JSON200.Data[0].Reason.Name)
	for _, params := range []*client.ListMyVerificationsParams{nil, {}} {
		h, err = cs.user.ListMyVerificationsWithResponse(ctx, params)
		require.NoError(t, err)
		strict(t, h)
		require.Equal(t, 200, h.StatusCode(), "%s", h.Body)
		require.Equal(t, 2, h.JSON200.Total)
	}
	grantID := h.JSON200.Data[0].Id
	h, err = cs.user.ListMyVerificationsWithResponse(ctx, &client.ListMyVerificationsParams{Limit: ptr(0)})
	require.NoError(t, err)
	strict(t, h)
	require.Equal(t, 400, h.StatusCode())
	require.Contains(t, string(h.Body), "limit")

	// 7. The wizard again: a passport.
	w2, err := cs.user.InitWizardWithResponse(ctx, nil)
	require.NoError(t, err)
	strict(t, w2)
	require.Equal(t, client.WizardInitCode(200), w2.JSON200.Code)
	require.NotNil(t, w2.JSON200.Data)
	require.Equal(t, "Passport", w2.JSON200.Data.Types[0].Description)
	passport := w2.JSON200.Data.Types[0].Id

	// 8. Upload both sides and answer the questions.
	img, err := base64.StdEncoding.DecodeString(tinyPNG)
	require.NoError(t, err)
	front := upload(t, cs.user, "front", img)
	require.Equal(t, 201, front.StatusCode(), "%s", front.Body)
	back := upload(t, cs.user, "back", img)
	require.Equal(t, 201, back.StatusCode(), "%s", back.Body)
	notImage := upload(t, cs.user, "front", []byte("plain text, not an image"))
	require.Equal(t, 415, notImage.StatusCode(), "%s", notImage.Body)
	q, err := cs.user.AnswerRequirementWithResponse(ctx, "AMLD5Questions", nil, client.AnswerRequirementJSONRequestBody{Answer: map[string]string{"Question1": "answer1", "Question2": "answer2"}})
	require.NoError(t, err)
	strict(t, q)
	require.Equal(t, client.RequirementStateStatus("approved"), q.JSON200.Status)

	// 9. Run the wizard with the documents.
	var body client.RunWizardJSONRequestBody
	body.Data.Uuid = w2.JSON200.Uuid
	body.Data.Documents.Type = passport
	body.Data.Documents.Files = []string{front.JSON201.Id, back.JSON201.Id}
	run, err := cs.user.RunWizardWithResponse(ctx, nil, body)
	require.NoError(t, err)
	strict(t, run)
	require.Equal(t, 200, run.StatusCode(), "%s", run.Body)
	require.Equal(t, client.WizardRunCode(202), run.JSON200.Code)
	require.Equal(t, []string{"passport"}, run.JSON200.Data.Types)
	again, err := cs.user.RunWizardWithResponse(ctx, nil, body)
	require.NoError(t, err)
	strict(t, again)
	require.Equal(t, 200, again.StatusCode(), "a repeated run answers the submitted step: %s", again.Body)
	require.True(t, again.JSON200.Done)

	// 10. Approved: the top level.
	app2 := approve(t, cs, w2.JSON200.Uuid)
	h, err = cs.user.ListMyVerificationsWithResponse(ctx, nil)
	require.NoError(t, err)
	strict(t, h)
	require.Equal(t, 3, h.JSON200.Total)
	require.Equal(t, fmt.Sprintf("Application: %d", app2.Id), h.JSON200.Data[0].Reason.Name)
	one, err := cs.user.GetMyVerificationWithResponse(ctx, h.JSON200.Data[0].Id, nil)
	require.NoError(t, err)
	strict(t, one)
	require.EqualValues(t, 1, one.JSON200.Total)
	missing, err := cs.user.GetMyVerificationWithResponse(ctx, 999999, nil)
	require.NoError(t, err)
	strict(t, missing)
	require.Equal(t, 404, missing.StatusCode())
	pr, err = cs.user.GetPendingVerificationRequestWithResponse(ctx)
	require.NoError(t, err)
	strict(t, pr)
	require.Equal(t, client.PendingItemStatus("verified"), pr.JSON200.Item.Status)

	// 11. Identity verification and its signed URLs.
	for _, c := range []*client.ClientWithResponses{cs.verified, cs.agent} {
		idv, err := c.GetIDVerificationWithResponse(ctx)
		require.NoError(t, err)
		strict(t, idv)
		require.Equal(t, 200, idv.StatusCode(), "%s", idv.Body)
		require.Equal(t, "approved", *idv.JSON200.Status)
	}
	idv, err := cs.verified.GetIDVerificationAliasWithResponse(ctx)
	require.NoError(t, err)
	strict(t, idv)
	u, err := url.Parse(*idv.JSON200.Documents.DocumentFront)
	require.NoError(t, err)
	fileID := u.Path[strings.LastIndex(u.Path, "/")+1:]
	qv := u.Query()
	file, err := cs.anonymous.GetSignedFileWithResponse(ctx, fileID, &client.GetSignedFileParams{Exp: qv.Get("exp"), Kid: qv.Get("kid"), Sig: qv.Get("sig")})
	require.NoError(t, err)
	strict(t, file)
	require.Equal(t, 200, file.StatusCode())
	require.True(t, bytes.HasPrefix(file.Body, []byte("\x89PNG")))
	tampered, err := cs.anonymous.GetSignedFileWithResponse(ctx, fileID, &client.GetSignedFileParams{Exp: qv.Get("exp"), Kid: qv.Get("kid"), Sig: "AAAA" + qv.Get("sig")[4:]})
	require.NoError(t, err)
	strict(t, tampered)
	require.Equal(t, 403, tampered.StatusCode())
	require.Equal(t, "invalid_signature", tampered.JSON403.Error)
	review, err := cs.admin.GetFileForReviewWithResponse(ctx, fileID)
	require.NoError(t, err)
	strict(t, review)
	require.Equal(t, 200, review.StatusCode())

	// 12. Scopes, kinds of principal and admin visibility.
	ns, err := cs.noScope.GetPendingVerificationRequestWithResponse(ctx)
	require.NoError(t, err)
	strict(t, ns)
	require.Equal(t, 403, ns.StatusCode())
	require.Equal(t, client.ExternalErrorError("insufficient_scope"), ns.JSON403.Error)
	nsi, err := cs.noScope.GetIDVerificationWithResponse(ctx)
	require.NoError(t, err)
	strict(t, nsi)
	require.Equal(t, 403, nsi.StatusCode())
	for _, call := range []func() (any, int, error){
		func() (any, int, error) {
			r, err := cs.anonymous.GetVerificationStatusWithResponse(ctx, nil)
			return r, r.StatusCode(), err
		},
		func() (any, int, error) {
			r, err := cs.anonymous.GetPendingVerificationRequestWithResponse(ctx)
			return r, r.StatusCode(), err
		},
		func() (any, int, error) {
			r, err := cs.anonymous.GetIDVerificationWithResponse(ctx)
			return r, r.StatusCode(), err
		},
		func() (any, int, error) {
			r, err := cs.anonymous.ListVerificationsWithResponse(ctx, nil)
			return r, r.StatusCode(), err
		},
	} {
		r, code, err := call()
		require.NoError(t, err)
		strict(t, r)
		require.Equal(t, 401, code)
	}
	userOnAdmin, err := cs.user.ListVerificationsWithResponse(ctx, nil)
	require.NoError(t, err)
	strict(t, userOnAdmin)
	require.Equal(t, 403, userOnAdmin.StatusCode())
	require.Contains(t, string(userOnAdmin.Body), "ER713")
	adminOnUser, err := cs.admin.GetVerificationStatusWithResponse(ctx, nil)
	require.NoError(t, err)
	strict(t, adminOnUser)
	require.Equal(t, 403, adminOnUser.StatusCode())

	all, err := cs.admin.ListVerificationsWithResponse(ctx, &client.ListVerificationsParams{Limit: ptr(100)})
	require.NoError(t, err)
	strict(t, all)
	eu, err := cs.adminEU.ListVerificationsWithResponse(ctx, nil)
	require.NoError(t, err)
	strict(t, eu)
	require.Greater(t, eu.JSON200.Total, 0)
	require.Less(t, eu.JSON200.Total, all.JSON200.Total)
	hidden, err := cs.adminEU.ListVerificationsWithResponse(ctx, &client.ListVerificationsParams{FilterClientId: ptr(1)})
	require.NoError(t, err)
	strict(t, hidden)
	require.Equal(t, 0, hidden.JSON200.Total)
	g, err := cs.admin.GetVerificationWithResponse(ctx, grantID)
	require.NoError(t, err)
	strict(t, g)
	require.Equal(t, 200, g.StatusCode())
	g, err = cs.adminEU.GetVerificationWithResponse(ctx, grantID)
	require.NoError(t, err)
	strict(t, g)
	require.Equal(t, 404, g.StatusCode())

	// Admin review routes.
	set, err := cs.admin.SetRequirementWithResponse(ctx, 1, "verificationFlag", nil, client.SetRequirementJSONRequestBody{Value: true})
	require.NoError(t, err)
	strict(t, set)
	require.Equal(t, 200, set.StatusCode(), "%s", set.Body)
	rev, err := cs.admin.ReviewRequirementWithResponse(ctx, 1, "verificationFlag", nil, client.ReviewRequirementJSONRequestBody{Decision: "approved"})
	require.NoError(t, err)
	strict(t, rev)
	require.GreaterOrEqual(t, rev.StatusCode(), 200, "%s", rev.Body)
	apps, err := cs.admin.ListApplicationsWithResponse(ctx, nil)
	require.NoError(t, err)
	strict(t, apps)
	require.Equal(t, 200, apps.StatusCode())

	// Unknown query parameters, in every dialect.
	extra := func(_ context.Context, r *http.Request) error { r.URL.RawQuery = "x=1"; return nil }
	ps, err := cs.user.GetVerificationStatusWithResponse(ctx, nil, extra)
	require.NoError(t, err)
	strict(t, ps)
	require.Equal(t, 400, ps.StatusCode())
	pe, err := cs.user.GetPendingVerificationRequestWithResponse(ctx, extra)
	require.NoError(t, err)
	strict(t, pe)
	require.Equal(t, client.ExternalErrorError("unknown_parameter"), pe.JSON400.Error)
	pi, err := cs.verified.GetIDVerificationWithResponse(ctx, extra)
	require.NoError(t, err)
	strict(t, pi)
	require.Equal(t, 400, pi.StatusCode())

	oa, err := cs.anonymous.GetOpenAPIWithResponse(ctx) // an open object: not strict
	require.NoError(t, err)
	require.Equal(t, "3.1.0", oa.JSON200.Openapi)

	require.GreaterOrEqual(t, cs.rt.n, 50, "answers validated")
	t.Logf("%d answers validated against %s", cs.rt.n, specPath)
}
