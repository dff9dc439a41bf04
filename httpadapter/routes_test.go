package httpadapter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/verification"
)

// requireParam asserts a 400 ER710 naming param.
func requireParam(t *testing.T, r resp, param string) {
	t.Helper()
	msg := errorMessage(t, r, CodeInvalidRequest)
	require.Equal(t, 400, r.status, string(r.body))
	require.Contains(t, msg, fmt.Sprintf("%q", param), string(r.body))
}

func TestListParameters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.reachLevel1(b.owner.ID)
	b.answerAMLD5(b.owner.ID)
	for _, name := range []string{"verificationFlag"} {
		_, err := b.svc.SetRequirement(b.ctx, verification.AdminActor(7, nil), verification.SetRequirementParams{SubjectID: b.owner.ID, Requirement: name, Value: json.RawMessage(`true`)})
		require.NoError(t, err)
	}
	// The owner has 2 grants: created (Level 0) then Level 1.
	list := func(q string) []any {
		r := b.get("/api/v2/my/verifications"+q, tokOwner)
		require.Equal(t, 200, r.status, string(r.body))
		m := r.object(t)
		require.EqualValues(t, 2, m["total"])
		return m["data"].([]any)
	}
	levelOf := func(g any) string { return g.(map[string]any)["currentLevel"].(map[string]any)["name"].(string) }
	d := list("")
	require.Len(t, d, 2)
	require.Equal(t, "Level 1", levelOf(d[0]), "newest first by default")
	d = list("?sort_order=asc&sort_by=createTime")
	require.Equal(t, "Level 0", levelOf(d[0]))
	require.Nil(t, d[0].(map[string]any)["previousLevel"], "first grant: previousLevel null")
	require.Nil(t, d[0].(map[string]any)["userId"], "automatic grant: userId null")
	require.EqualValues(t, 7, d[1].(map[string]any)["userId"], "the reviewer's grant")
	require.Len(t, list("?limit=1"), 1)
	require.Len(t, list("?limit=1&offset=1"), 1)
	require.Len(t, list("?offset=5"), 0)
	require.Len(t, list("?limit=100"), 2)

	for q, param := range map[string]string{
		"?limit=0":                    "limit",
		"?limit=101":                  "limit",
		"?limit=abc":                  "limit",
		"?limit=-1":                   "limit",
		"?limit=+5":                   "limit",
		"?limit=":                     "limit",
		"?limit=1&limit=2":            "limit",
		"?limit=99999999999999999999": "limit",
		"?offset=-1":                  "offset",
		"?offset=1.5":                 "offset",
		"?sort_order=up":              "sort_order",
		"?sort_order=DESC":            "sort_order",
		"?sort_by=id":                 "sort_by",
		"?page=2":                     "page",
		"?filter[clientId]=1":         "filter[clientId]",
		"?q=%zz":                      "query",
	} {
		requireParam(t, b.get("/api/v2/my/verifications"+q, tokOwner), param)
	}
	// Parameter errors come before any store call: an API key with an
	// unknown identifier still gets the parameter error.
	r := b.do(req{method: "GET", path: "/api/v2/my/verifications?limit=0", token: keyAPI, header: map[string]string{HeaderUserIdentifier: strings.Repeat("z", 40)}})
	requireParam(t, r, "limit")

	// Admin list: filter[clientId] must be a positive integer.
	for _, q := range []string{"?filter[clientId]=0", "?filter[clientId]=x", "?filter%5BclientId%5D=-3", "?filter[clientId]=1&filter[clientId]=2"} {
		requireParam(t, b.get("/api/v2/verifications"+q, tokAdmin), "filter[clientId]")
	}
	requireParam(t, b.get("/api/v2/verifications?filter[other]=1", tokAdmin), "filter[other]")
	r = b.get(fmt.Sprintf("/api/v2/verifications?filter[clientId]=%d&limit=1&sort_order=asc", b.owner.ID), tokAdmin)
	require.Equal(t, 200, r.status)
	m := r.object(t)
	require.EqualValues(t, 2, m["total"])
	require.Len(t, m["data"], 1)
	r = b.get("/api/v2/verifications?filter[clientId]=999999", tokAdmin)
	require.JSONEq(t, `{"total":0,"data":[]}`, string(r.body))
}

func TestDetailRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	own := b.grants(b.owner.ID)[0]
	other := b.grants(b.other.ID)[0]
	for _, id := range []string{"abc", "0", "-1", "1.0", "99999999999999999999", "%20"} {
		requireParam(t, b.get("/api/v2/my/verifications/"+id, tokOwner), "verificationId")
		requireParam(t, b.get("/api/v2/verifications/"+id, tokAdmin), "verificationId")
	}
	r := b.get(fmt.Sprintf("/api/v2/my/verifications/%d", own.ID), tokOwner)
	require.Equal(t, 200, r.status)
	require.EqualValues(t, 1, r.object(t)["total"])
	// Another client's grant and an absent grant get the very same answer.
	r1 := b.get(fmt.Sprintf("/api/v2/my/verifications/%d", other.ID), tokOwner)
	r2 := b.get("/api/v2/my/verifications/424242", tokOwner)
	requireV2Error(t, r1, 404, CodeNotFound)
	require.Equal(t, r2.body, r1.body)
	requireParam(t, b.get(fmt.Sprintf("/api/v2/my/verifications/%d?x=1", own.ID), tokOwner), "x")
	// Admin detail, tag-scoped.
	require.Equal(t, 200, b.get(fmt.Sprintf("/api/v2/verifications/%d", other.ID), tokAdminUS).status)
	r1 = b.get(fmt.Sprintf("/api/v2/verifications/%d", own.ID), tokAdminUS)
	r2 = b.get("/api/v2/verifications/424242", tokAdminUS)
	requireV2Error(t, r1, 404, CodeNotFound)
	require.Equal(t, r2.body, r1.body)
}

func TestStatusRouteErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireParam(t, b.get("/api/v2/user/verification-status?target=2", tokOwner), "target")
	require.NoError(t, b.svc.DeleteSubject(b.ctx, verification.SystemActor(), b.owner.ID))
	requireCatalogText(t, b.get("/api/v2/user/verification-status", tokOwner), 404, verification.CodeUserDeleted)
	requireCatalogText(t, b.get("/api/v2/my/verifications", tokOwner), 404, verification.CodeUserDeleted)
	requireCatalogText(t, b.get("/api/v2/my/verifications/1", tokOwner), 404, verification.CodeUserDeleted)
	requireCatalogText(t, b.get("/api/v2/my/verifications/wizard", tokOwner), 404, verification.CodeUserDeleted)
}

func TestAnswerRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	post := func(name, body string) resp { return b.post("/api/v2/user/requirements/"+name, tokOwner, body) }
	r := post("nationality", `{"answer":"NL"}`)
	require.Equal(t, 200, r.status, string(r.body))
	require.JSONEq(t, `{"name":"nationality","type":"choice","status":"approved","attempts":1}`, string(r.body))
	r = post("emailCode", `{"answer":"123456"}`)
	require.JSONEq(t, `{"name":"emailCode","type":"string","status":"pending","attempts":1}`, string(r.body))

	requireV2Error(t, post("unknown", `{"answer":true}`), 404, CodeNotFound)
	requireParam(t, post("isBusiness", `{"answer":"yes"}`), "answer")
	requireParam(t, post("isBusiness", `{}`), "answer")
	requireParam(t, post("isBusiness", `{"answer":null}`), "answer")
	requireParam(t, post("isBusiness", `{"answer":true,"extra":1}`), "extra")
	requireParam(t, post("isBusiness", `{"answer":true} {}`), "body")
	requireParam(t, post("isBusiness", `{"answer":`), "body")
	requireParam(t, post("isBusiness", `[1]`), "body")
	requireParam(t, post("isBusiness", ``), "body")
	requireParam(t, post("AMLD5Questions", `{"answer":{"Question1":"answer1"}}`), "answer.Question2")
	requireParam(t, b.do(req{method: "POST", path: "/api/v2/user/requirements/isBusiness", token: tokOwner, body: []byte(`{"answer":true}`), ctype: "text/plain"}), "Content-Type")
	// Host-set requirements are not the user's to answer.
	r = post("verificationFlag", `{"answer":true}`)
	requireV2Error(t, r, 403, CodeForbidden)
	require.Contains(t, errorMessage(t, r, CodeForbidden), "set by the host")
	// Conflicts: already approved, awaiting review.
	requireV2Error(t, post("nationality", `{"answer":"DE"}`), 409, CodeConflict)
	requireV2Error(t, post("emailCode", `{"answer":"123456"}`), 409, CodeConflict)
	// Attempts: rejected nine times, then no more.
	for i := 0; i < 8; i++ {
		_, err := b.svc.Review(b.ctx, verification.AdminActor(7, nil), verification.ReviewParams{SubjectID: b.owner.ID, Requirement: "emailCode", Decision: verification.Reject, Reason: "wrong code"})
		require.NoError(t, err)
		require.Equal(t, 200, post("emailCode", `{"answer":"123456"}`).status)
	}
	_, err := b.svc.Review(b.ctx, verification.AdminActor(7, nil), verification.ReviewParams{SubjectID: b.owner.ID, Requirement: "emailCode", Decision: verification.Reject, Reason: "wrong code"})
	require.NoError(t, err)
	requireV2Error(t, post("emailCode", `{"answer":"123456"}`), 409, CodeAttemptsExhausted)
	// Final rejection.
	_, err = b.svc.SetRequirement(b.ctx, verification.AdminActor(7, nil), verification.SetRequirementParams{SubjectID: b.owner.ID, Requirement: "isBusiness", Status: levels.Rejected, Reason: "no", Final: true})
	require.NoError(t, err)
	requireV2Error(t, post("isBusiness", `{"answer":true}`), 409, CodeAttemptsExhausted)
	// Body size.
	big := `{"answer":"` + strings.Repeat("a", int(DefaultMaxBodyBytes)) + `"}`
	requireV2Error(t, post("isBusiness", big), 413, CodeTooLarge)
}

func TestRunWizardRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	uuid, front, back := b.draftWizard(b.owner.ID)
	run := func(body string) resp { return b.post("/api/v2/my/verifications", tokOwner, body) }
	body := func(typ int, files []string, uuid string) string {
		f, _ := json.Marshal(files)
		return fmt.Sprintf(`{"data":{"documents":{"type":%d,"files":%s},"uuid":%q}}`, typ, f, uuid)
	}
	for raw, param := range map[string]string{
		`{}`:          "data",
		`{"data":{}}`: "data.documents",
		`{"data":{"documents":{"files":["a"]},"uuid":"u"}}`:                  "data.documents.type",
		`{"data":{"documents":{"type":0,"files":["a"]},"uuid":"u"}}`:         "data.documents.type",
		`{"data":{"documents":{"type":2,"files":[]},"uuid":"u"}}`:            "data.documents.files",
		`{"data":{"documents":{"type":2,"files":[""]},"uuid":"u"}}`:          "data.documents.files[0]",
		`{"data":{"documents":{"type":2,"files":["a"]}}}`:                    "data.uuid",
		`{"data":{"documents":{"type":"2","files":["a"]},"uuid":"u"}}`:       "data.documents.type",
		`{"data":{"documents":{"type":2,"files":"a"},"uuid":"u"}}`:           "data.documents.files",
		`{"documents":{"type":2,"files":["a"]},"uuid":"u"}`:                  "documents",
		`{"data":{"documents":{"type":2,"files":["a"]},"uuid":"u","x":1}}`:   "x",
		body(2, []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}, uuid): "data.documents.files",
		body(2, []string{front, back}, strings.Repeat("u", 65)):              "data.uuid",
	} {
		requireParam(t, run(raw), param)
	}
	// Service refusals.
	requireParam(t, run(body(9, []string{front, back}, uuid)), "documents.type")
	requireParam(t, run(body(2, []string{front}, uuid)), "documents.files")
	r := run(body(2, []string{front, back}, "no-such-wizard"))
	requireV2Error(t, r, 404, CodeNotFound)
	otherFile := b.upload(b.other.ID, "passport", "front")
	r = run(body(2, []string{otherFile, back}, uuid))
	requireV2Error(t, r, 404, CodeNotFound)
	require.NotContains(t, string(r.body), otherFile)
	// The other user cannot run the owner's wizard.
	requireV2Error(t, b.post("/api/v2/my/verifications", tokOther, body(2, []string{front, back}, uuid)), 404, CodeNotFound)
	// Success, then a repeat of the same step is harmless, another step conflicts.
	r = run(body(2, []string{front, back}, uuid))
	require.Equal(t, 200, r.status, string(r.body))
	require.EqualValues(t, 202, r.object(t)["code"])
	require.Equal(t, 200, run(body(2, []string{front, back}, uuid)).status)
	f2, b2 := b.upload(b.owner.ID, "selfie", "face"), b.upload(b.owner.ID, "selfie", "face")
	requireV2Error(t, run(body(2, []string{f2, b2}, uuid)), 409, CodeConflict)
}

func TestRunWizardExpired(t *testing.T) {
	t.Parallel()
	b := setup(t)
	uuid, front, back := b.draftWizard(b.owner.ID)
	b.clock.Advance(verification.DefaultApplicationTTL + time.Second)
	r := b.post("/api/v2/my/verifications", tokOwner, fmt.Sprintf(`{"data":{"documents":{"type":2,"files":[%q,%q]},"uuid":%q}}`, front, back, uuid))
	requireV2Error(t, r, 410, CodeExpired)
}

func TestWizardFinalRejection(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.reachLevel1(b.owner.ID)
	_, err := b.svc.SetRequirement(b.ctx, verification.AdminActor(7, nil), verification.SetRequirementParams{SubjectID: b.owner.ID, Requirement: "AMLD5Questions", Status: levels.Rejected, Reason: "no", Final: true})
	require.NoError(t, err)
	requireV2Error(t, b.get("/api/v2/my/verifications/wizard", tokOwner), 409, CodeAttemptsExhausted)
}

func TestUploadRoute(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{adapter: func(o *Options) { o.MaxUploadBytes = 4 << 10 }})
	up := func(fields [][2]string, file []byte) resp {
		body, ct := multipartBody(t, fields, file)
		return b.do(req{method: "POST", path: "/api/v2/my/verifications/files", token: tokOwner, body: body, ctype: ct})
	}
	ok := [][2]string{{FieldDocumentType, "passport"}, {FieldSide, "front"}}
	r := up(ok, pngBytes)
	require.Equal(t, 201, r.status, string(r.body))
	m := r.object(t)
	require.Equal(t, "image/png", m["contentType"])
	require.EqualValues(t, len(pngBytes), m["size"])
	f, err := b.svc.File(b.ctx, verification.UserActor(b.owner.ID), m["id"].(string))
	require.NoError(t, err)
	require.Equal(t, "front", f.Side)

	files := func() int {
		list, err := b.store.ListFiles(b.ctx, verification.FileFilter{SubjectID: b.owner.ID})
		require.NoError(t, err)
		return len(list)
	}
	before := files()
	requireParam(t, up([][2]string{{FieldSide, "front"}}, pngBytes), "documentType")
	requireParam(t, up([][2]string{{FieldDocumentType, "passport"}}, pngBytes), "side")
	requireParam(t, up(ok, nil), "file")
	requireParam(t, up([][2]string{{FieldDocumentType, "passport"}, {FieldDocumentType, "passport"}, {FieldSide, "front"}}, pngBytes), "documentType")
	requireParam(t, up([][2]string{{FieldDocumentType, "passport"}, {FieldSide, "front"}, {"note", "x"}}, pngBytes), "note")
	requireParam(t, up([][2]string{{FieldDocumentType, strings.Repeat("p", 65)}, {FieldSide, "front"}}, pngBytes), "documentType")
	requireParam(t, up([][2]string{{FieldDocumentType, "visa"}, {FieldSide, "front"}}, pngBytes), "documentType")
	requireParam(t, up([][2]string{{FieldDocumentType, "passport"}, {FieldSide, "left"}}, pngBytes), "side")
	requireV2Error(t, up(ok, []byte("GIF89a not allowed")), 415, CodeUnsupportedMedia)
	requireV2Error(t, up(ok, []byte{}), 415, CodeUnsupportedMedia)
	requireV2Error(t, up(ok, append(append([]byte{}, pngBytes...), bytes.Repeat([]byte{1}, 8<<10)...)), 413, CodeTooLarge)

	// The file part must come last: a trailing part refuses the upload.
	var buf bytes.Buffer
	body, ct := multipartBody(t, ok, pngBytes)
	boundary := strings.TrimPrefix(ct, "multipart/form-data; boundary=")
	buf.Write(bytes.TrimSuffix(body, []byte("--"+boundary+"--\r\n")))
	fmt.Fprintf(&buf, "--%s\r\nContent-Disposition: form-data; name=\"side\"\r\n\r\nback\r\n--%s--\r\n", boundary, boundary)
	requireParam(t, b.do(req{method: "POST", path: "/api/v2/my/verifications/files", token: tokOwner, body: buf.Bytes(), ctype: ct}), "file")
	// The file first: the fields it needs are missing.
	body, ct = multipartBody(t, nil, pngBytes)
	requireParam(t, b.do(req{method: "POST", path: "/api/v2/my/verifications/files", token: tokOwner, body: body, ctype: ct}), "documentType")
	// A field sent as a file.
	buf.Reset()
	fmt.Fprintf(&buf, "--B\r\nContent-Disposition: form-data; name=\"documentType\"; filename=\"x\"\r\n\r\npassport\r\n--B--\r\n")
	requireParam(t, b.do(req{method: "POST", path: "/api/v2/my/verifications/files", token: tokOwner, body: buf.Bytes(), ctype: "multipart/form-data; boundary=B"}), "documentType")
	// Not multipart, or broken multipart.
	requireParam(t, b.post("/api/v2/my/verifications/files", tokOwner, `{}`), "Content-Type")
	requireParam(t, b.do(req{method: "POST", path: "/api/v2/my/verifications/files", token: tokOwner, body: []byte("garbage"), ctype: "multipart/form-data; boundary=B"}), "body")
	requireParam(t, b.do(req{method: "POST", path: "/api/v2/my/verifications/files", token: tokOwner, body: []byte("x"), ctype: "multipart/form-data"}), "Content-Type")
	require.Equal(t, before, files(), "refused uploads store nothing")

	// A second upload while the side awaits review: ER708.
	b.submittedApplication(b.owner.ID)
	requireCatalogText(t, up(ok, pngBytes), 409, verification.CodePendingDocument)
}

// TestUploadQuotaRoute: past the subject's limit of unsubmitted uploads
// the route answers 429 ER719 in its dialect and stores nothing.
func TestUploadQuotaRoute(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{svc: func(o *verification.Options) { o.MaxUnsubmittedFiles = 2 }})
	up := func() resp {
		body, ct := multipartBody(t, [][2]string{{FieldDocumentType, "passport"}, {FieldSide, "front"}}, pngBytes)
		return b.do(req{method: "POST", path: "/api/v2/my/verifications/files", token: tokOwner, body: body, ctype: ct})
	}
	for range 2 {
		r := up()
		require.Equal(t, 201, r.status, string(r.body))
	}
	requireV2Error(t, up(), 429, CodeUploadQuota)
	list, err := b.store.ListFiles(b.ctx, verification.FileFilter{SubjectID: b.owner.ID})
	require.NoError(t, err)
	require.Len(t, list, 2, "the refused upload stored nothing")
}

func TestUploadWithoutBlobStore(t *testing.T) {
	t.Parallel()
	// A Service without a BlobStore: uploads are not configured.
	b := setup(t, setupOpts{svc: func(o *verification.Options) { o.Blobs = nil }})
	body, ct := multipartBody(t, [][2]string{{FieldDocumentType, "passport"}, {FieldSide, "front"}}, pngBytes)
	r := b.do(req{method: "POST", path: "/api/v2/my/verifications/files", token: tokOwner, body: body, ctype: ct})
	requireV2Error(t, r, 403, CodeForbidden)
}

func TestSignedFileRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.upload(b.owner.ID, "passport", "front")
	path := testPrefix + "/api/v1/files/" + id
	signed := b.signer.SignURL("GET", path)
	get := func(u string) resp { return b.get(strings.TrimPrefix(u, testPrefix), "") }
	r := get(signed)
	require.Equal(t, 200, r.status)
	require.Equal(t, pngBytes, r.body)
	require.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	require.Contains(t, r.header.Get("Content-Security-Policy"), "sandbox")
	// HEAD verifies as GET and sends no body.
	h := b.do(req{method: "HEAD", path: strings.TrimPrefix(signed, testPrefix)})
	require.Equal(t, 200, h.status)
	require.Empty(t, h.body)
	require.Equal(t, fmt.Sprint(len(pngBytes)), h.header.Get("Content-Length"))

	requireNP := func(r resp, status int, body string) {
		t.Helper()
		require.Equal(t, status, r.status, string(r.body))
		require.JSONEq(t, body, string(r.body))
	}
	u, err := url.Parse(signed)
	require.NoError(t, err)
	q := u.Query()
	requireNP(get(path), 403, `{"error":"invalid_signature"}`)
	tampered := url.Values{"exp": q["exp"], "kid": q["kid"], "sig": {strings.Repeat("A", 43)}}
	requireNP(get(path+"?"+tampered.Encode()), 403, `{"error":"invalid_signature"}`)
	extra := url.Values{"exp": q["exp"], "kid": q["kid"], "sig": q["sig"], "download": {"1"}}
	requireNP(get(path+"?"+extra.Encode()), 403, `{"error":"invalid_signature"}`)
	requireNP(get(path+"?"+q.Encode()+"&%zz"), 403, `{"error":"invalid_signature"}`)
	// Another file's path with this signature.
	other := b.upload(b.owner.ID, "passport", "back")
	requireNP(get(testPrefix+"/api/v1/files/"+other+"?"+q.Encode()), 403, `{"error":"invalid_signature"}`)
	// Signed, but no such file (or an impossible id).
	requireNP(get(b.signer.SignURL("GET", testPrefix+"/api/v1/files/nope")), 404, `{"error":"not_found"}`)
	requireNP(get(b.signer.SignURL("GET", testPrefix+"/api/v1/files/a:b")), 404, `{"error":"not_found"}`)
	// Expired after one hour.
	b.clock.Advance(time.Hour + time.Second)
	requireNP(get(signed), 403, `{"error":"expired_signature"}`)
	// An erased subject's files are gone.
	b.clock.Advance(-time.Hour)
	require.NoError(t, b.svc.Erase(b.ctx, verification.SystemActor(), b.owner.ID))
	requireNP(get(signed), 404, `{"error":"not_found"}`)
}

func TestAdminFileRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.upload(b.owner.ID, "passport", "front")
	r := b.get("/api/v2/files/"+id, tokAdminEU)
	require.Equal(t, 200, r.status)
	require.Equal(t, pngBytes, r.body)
	r1 := b.get("/api/v2/files/"+id, tokAdminUS)
	r2 := b.get("/api/v2/files/nope", tokAdminUS)
	requireV2Error(t, r1, 404, CodeNotFound)
	require.Equal(t, r2.body, r1.body)
	requireV2Error(t, b.get("/api/v2/files/a%3Ab", tokAdmin), 404, CodeNotFound)
	requireParam(t, b.get("/api/v2/files/"+id+"?x=1", tokAdmin), "x")
}

func TestApplicationsRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	app := b.submittedApplication(b.owner.ID)
	b.reachLevel1(b.other.ID)
	b.answerAMLD5(b.other.ID)
	_, err := b.svc.InitWizard(b.ctx, b.other.ID) // a draft
	require.NoError(t, err)

	r := b.get("/api/v2/applications?filter[status]=submitted", tokAdmin)
	require.Equal(t, 200, r.status, string(r.body))
	m := r.object(t)
	require.EqualValues(t, 1, m["total"])
	got := m["data"].([]any)[0].(map[string]any)
	require.Equal(t, app.UUID, got["uuid"])
	require.Equal(t, "submitted", got["status"])
	require.Len(t, got["steps"], 1)
	require.Nil(t, got["decideTime"])
	r = b.get("/api/v2/applications?filter[status]=draft,submitted&sort_order=asc", tokAdmin)
	require.EqualValues(t, 2, r.object(t)["total"])
	requireParam(t, b.get("/api/v2/applications?filter[status]=done", tokAdmin), "filter[status]")
	requireParam(t, b.get("/api/v2/applications?filter[status]=", tokAdmin), "filter[status]")
	// Tag-scoped admins see only their clients' applications, in items and
	// total; a client outside their tags lists empty.
	all := b.get("/api/v2/applications", tokAdmin).object(t)
	r = b.get("/api/v2/applications", tokAdminEU)
	eu := r.object(t)
	require.EqualValues(t, 1, eu["total"], string(r.body))
	require.EqualValues(t, b.owner.ID, eu["data"].([]any)[0].(map[string]any)["clientId"])
	us := b.get("/api/v2/applications", tokAdminUS).object(t)
	require.EqualValues(t, all["total"].(float64)-1, us["total"], "the US admin sees every application but the EU client's")
	for _, x := range us["data"].([]any) {
		require.NotEqualValues(t, b.owner.ID, x.(map[string]any)["clientId"])
	}
	r = b.get(fmt.Sprintf("/api/v2/applications?filter[clientId]=%d", b.owner.ID), tokAdminEU)
	require.EqualValues(t, 1, r.object(t)["total"])
	r = b.get(fmt.Sprintf("/api/v2/applications?filter[clientId]=%d", b.owner.ID), tokAdminUS)
	require.JSONEq(t, `{"total":0,"data":[]}`, string(r.body))
	r2 := b.get("/api/v2/applications?filter[clientId]=999999", tokAdminUS)
	require.Equal(t, r.body, r2.body)

	// Decisions.
	decide := func(id int64, tok, body string) resp {
		return b.post(fmt.Sprintf("/api/v2/applications/%d/decision", id), tok, body)
	}
	requireParam(t, decide(app.ID, tokAdmin, `{"decision":"maybe"}`), "decision")
	requireParam(t, decide(app.ID, tokAdmin, `{}`), "decision")
	requireParam(t, decide(app.ID, tokAdmin, `{"decision":"rejected"}`), "reason")
	requireParam(t, decide(app.ID, tokAdmin, `{"decision":"rejected","reason":"`+strings.Repeat("r", 501)+`"}`), "reason")
	requireParam(t, b.post("/api/v2/applications/x/decision", tokAdmin, `{"decision":"approved"}`), "applicationId")
	requireV2Error(t, decide(424242, tokAdmin, `{"decision":"approved"}`), 404, CodeNotFound)
	r1 := decide(app.ID, tokAdminUS, `{"decision":"approved"}`)
	requireV2Error(t, r1, 404, CodeNotFound)
	require.Equal(t, decide(424242, tokAdminUS, `{"decision":"approved"}`).body, r1.body)
	r = decide(app.ID, tokAdminEU, `{"decision":"approved"}`)
	require.Equal(t, 200, r.status, string(r.body))
	m = r.object(t)
	require.Equal(t, "approved", m["status"])
	require.EqualValues(t, 8, m["decidedBy"])
	requireV2Error(t, decide(app.ID, tokAdmin, `{"decision":"approved"}`), 409, CodeConflict)
	// The grant it made, as the user sees it.
	r = b.get("/api/v2/my/verifications?limit=1", tokOwner)
	g := r.object(t)["data"].([]any)[0].(map[string]any)
	require.Equal(t, map[string]any{"name": fmt.Sprintf("Application: %d", app.ID)}, g["reason"])
	require.EqualValues(t, 8, g["userId"])
}

func TestDecideExpiredApplication(t *testing.T) {
	t.Parallel()
	b := setup(t)
	app := b.submittedApplication(b.owner.ID)
	b.clock.Advance(verification.DefaultApplicationTTL + time.Second)
	r := b.post(fmt.Sprintf("/api/v2/applications/%d/decision", app.ID), tokAdmin, `{"decision":"approved"}`)
	requireV2Error(t, r, 410, CodeExpired)
}

func TestRequirementAdminRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	set := func(client int64, name, tok, body string) resp {
		return b.post(fmt.Sprintf("/api/v2/clients/%d/requirements/%s", client, name), tok, body)
	}
	review := func(client int64, name, tok, body string) resp {
		return b.post(fmt.Sprintf("/api/v2/clients/%d/requirements/%s/review", client, name), tok, body)
	}
	r := set(b.owner.ID, "verificationFlag", tokAdmin, `{"value":true}`)
	require.Equal(t, 200, r.status, string(r.body))
	require.JSONEq(t, `{"name":"verificationFlag","type":"boolean","status":"approved","attempts":0}`, string(r.body))
	r = set(b.owner.ID, "isBusiness", tokAdmin, `{"status":"rejected","reason":"not a business","final":true}`)
	require.JSONEq(t, `{"name":"isBusiness","type":"boolean","status":"rejected","reason":"not a business","final":true,"attempts":0}`, string(r.body))
	requireParam(t, set(b.owner.ID, "isBusiness", tokAdmin, `{"status":"rejected"}`), "reason")
	requireParam(t, set(b.owner.ID, "isBusiness", tokAdmin, `{"status":"done"}`), "status")
	requireParam(t, set(b.owner.ID, "isBusiness", tokAdmin, `{"value":"yes"}`), "answer")
	requireParam(t, set(b.owner.ID, "isBusiness", tokAdmin, `{"value":true,"x":1}`), "x")
	requireParam(t, b.post("/api/v2/clients/abc/requirements/isBusiness", tokAdmin, `{}`), "clientId")
	requireV2Error(t, set(b.owner.ID, "nope", tokAdmin, `{}`), 404, CodeNotFound)
	// Unknown, deleted and invisible clients look the same.
	r1 := set(424242, "isBusiness", tokAdminUS, `{"value":true}`)
	r2 := set(b.owner.ID, "isBusiness", tokAdminUS, `{"value":true}`)
	requireCatalogText(t, r1, 404, verification.CodeUserDeleted)
	require.Equal(t, r1.body, r2.body)

	// Review a pending answer.
	_, err := b.svc.Answer(b.ctx, b.owner.ID, "emailCode", json.RawMessage(`"123456"`))
	require.NoError(t, err)
	requireParam(t, review(b.owner.ID, "emailCode", tokAdminEU, `{"decision":"rejected"}`), "reason")
	requireParam(t, review(b.owner.ID, "emailCode", tokAdminEU, `{}`), "decision")
	requireCatalogText(t, review(b.owner.ID, "emailCode", tokAdminUS, `{"decision":"approved"}`), 404, verification.CodeUserDeleted)
	r = review(b.owner.ID, "emailCode", tokAdminEU, `{"decision":"approved"}`)
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, "approved", r.object(t)["status"])
	requireV2Error(t, review(b.owner.ID, "emailCode", tokAdminEU, `{"decision":"approved"}`), 409, CodeConflict)
	requireV2Error(t, review(b.owner.ID, "nope", tokAdminEU, `{"decision":"approved"}`), 404, CodeNotFound)
}

// TestReviewValidUntil: the reviewer's reading of the document's expiry
// date reaches the approval; bad dates are the route's 400s.
func TestReviewValidUntil(t *testing.T) {
	t.Parallel()
	b := setup(t)
	review := func(body string) resp {
		return b.post(fmt.Sprintf("/api/v2/clients/%d/requirements/emailCode/review", b.owner.ID), tokAdmin, body)
	}
	_, err := b.svc.Answer(b.ctx, b.owner.ID, "emailCode", json.RawMessage(`"123456"`))
	require.NoError(t, err)
	requireParam(t, review(`{"decision":"approved","validUntil":"next year"}`), "validUntil")
	requireParam(t, review(`{"decision":"approved","validUntil":"2001-05-31"}`), "validUntil")
	requireParam(t, review(`{"decision":"rejected","reason":"x","validUntil":"2031-05-31"}`), "validUntil")
	r := review(`{"decision":"approved","validUntil":"2031-05-31"}`)
	require.Equal(t, 200, r.status, string(r.body))
	require.JSONEq(t, `{"name":"emailCode","type":"string","status":"approved","attempts":1,"validUntil":"2031-05-31T00:00:00+00:00"}`, string(r.body))
	st, err := b.svc.RequirementStates(b.ctx, verification.SystemActor(), b.owner.ID)
	require.NoError(t, err)
	for _, s := range st {
		if s.Name == "emailCode" {
			require.True(t, time.Date(2031, 5, 31, 0, 0, 0, 0, time.UTC).Equal(s.ValidUntil))
		}
	}
	r = b.post(fmt.Sprintf("/api/v2/clients/%d/requirements/verificationFlag", b.owner.ID), tokAdmin, `{"value":true,"validUntil":"2030-01-02T03:04:05+02:00"}`)
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, "2030-01-02T01:04:05+00:00", r.object(t)["validUntil"])
}

func TestOpenAPIRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.get("/openapi.json", "")
	require.Equal(t, 200, r.status)
	m := r.object(t)
	require.Equal(t, "3.1.0", m["openapi"])
	require.Equal(t, []any{map[string]any{"url": "https://kyc.example.com/kyc"}}, m["servers"])
	requireParam(t, b.get("/openapi.json?x=1", ""), "x")
	var doc map[string]any
	require.NoError(t, json.Unmarshal(OpenAPI(), &doc))
}

func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{adapter: func(o *Options) { o.RequestTimeout = time.Nanosecond }})
	time.Sleep(time.Millisecond)
	r := b.get("/api/v2/user/verification-status", tokOwner)
	require.Equal(t, 503, r.status, string(r.body))
	requireV2Error(t, r, 503, CodeGeneral)
}

func TestStoreUnavailable(t *testing.T) {
	t.Parallel()
	ms := memory.New()
	b := setup(t, setupOpts{store: ms})
	require.NoError(t, ms.Close())
	requireCatalogText(t, b.get("/api/v2/user/verification-status", tokOwner), 503, CodeGeneral)
	r := b.get("/external/api/v1/me/pending_verification_request", tokOwner)
	require.Equal(t, 503, r.status)
	require.Equal(t, "service_unavailable", r.object(t)["error"])
	r = b.get("/api/v1/me/natural-person/id-verification", tokOwner)
	require.Equal(t, 503, r.status)
	require.JSONEq(t, `{"error":"Service unavailable"}`, string(r.body))
}

func TestDeletedSubjectOnIdentityRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.idSession(b.owner.ID, b.clock.Now())
	require.NoError(t, b.svc.DeleteSubject(b.ctx, verification.SystemActor(), b.owner.ID))
	r := b.get("/api/v1/me/natural-person/id-verification", tokOwner)
	require.Equal(t, 401, r.status)
	require.JSONEq(t, `{"error":"invalid_token"}`, string(r.body))
	r = b.get("/api/v1/me/natural-person/id-verification", keyAgent)
	require.Equal(t, 401, r.status)
}

// TestWizardStagesAndCodes: the wizard's wire vocabulary (workflow class
// names, 200/202) comes from the adapter's options; empty fields keep the
// defaults.
func TestWizardStagesAndCodes(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{adapter: func(o *Options) {
		o.WizardStages = WizardStages{Documents: "docs", Done: "finished"}
		o.WizardCodes = WizardCodes{Continue: 100}
	}})
	wizard := func(token string) (workflow string, code float64) {
		t.Helper()
		// Not through b.get: openapi.json documents the default codes.
		hr := httptest.NewRequest("GET", b.prefix+"/api/v2/my/verifications/wizard", nil)
		hr.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		b.h.ServeHTTP(rec, hr)
		require.Equal(t, 200, rec.Code, rec.Body.String())
		var out map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
		return out["workflow"].(string), out["code"].(float64)
	}
	workflow, code := wizard(tokOther)
	require.Equal(t, DefaultWizardStages.Answers, workflow, "an empty stage name takes the default")
	require.EqualValues(t, 100, code)

	uuid, front, back := b.draftWizard(b.owner.ID)
	workflow, code = wizard(tokOwner)
	require.Equal(t, "docs", workflow)
	require.EqualValues(t, 100, code)

	_, err := b.svc.RunWizard(b.ctx, verification.RunWizardParams{SubjectID: b.owner.ID, UUID: uuid, DocumentType: 2, Files: []string{front, back}})
	require.NoError(t, err)
	workflow, code = wizard(tokOwner)
	require.Equal(t, "finished", workflow)
	require.EqualValues(t, DefaultWizardCodes.Done, code, "a zero code takes the default")
}
