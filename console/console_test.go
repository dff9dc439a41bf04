package console_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/console"
	"github.com/openkyc/kyc/httpadapter"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

const (
	tokAdmin   = "admin-token"
	tokAdminEU = "admin-eu-token"
	tokAdminUS = "admin-us-token"
	tokUser    = "user-token"
)

// testBundle is a console over the memory store with two cases: eu, a
// Level 2 application with a passport (front and back) awaiting review,
// and us, a Level 1 application awaiting review.
type testBundle struct {
	svc    *verification.Service
	clock  *verificationtest.Clock
	srv    *httptest.Server
	eu, us verification.Subject
	euApp  verification.Application
	usApp  verification.Application
	front  verification.File
	back   verification.File
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	svc, clock := verificationtest.NewService(t, verificationtest.SeedLadder(t))
	b := &testBundle{svc: svc, clock: clock}
	ctx := t.Context()
	admin := verification.AdminActor(1, nil)
	answer := func(id int64, name, v string) {
		t.Helper()
		_, err := svc.Answer(ctx, id, name, json.RawMessage(v))
		require.NoError(t, err, name)
	}
	level1 := func(id int64) {
		answer(id, "isBusiness", `false`)
		answer(id, "nationality", `"NL"`)
		answer(id, "emailCode", `"123456"`)
	}
	b.us = verificationtest.CreateSubject(t, svc, "us")
	level1(b.us.ID)
	step, err := svc.InitWizard(ctx, b.us.ID)
	require.NoError(t, err)
	b.usApp = step.Application

	clock.Advance(time.Minute)
	b.eu = verificationtest.CreateSubject(t, svc, "eu")
	level1(b.eu.ID)
	_, err = svc.Review(ctx, admin, verification.ReviewParams{SubjectID: b.eu.ID, Requirement: "emailCode", Decision: verification.Approve})
	require.NoError(t, err)
	answer(b.eu.ID, "AMLD5Questions", `{"Question1":"answer1","Question2":"answer2"}`)
	b.front = verificationtest.Upload(t, svc, b.eu.ID, "passport", "front")
	b.back = verificationtest.Upload(t, svc, b.eu.ID, "passport", "back")
	answer(b.eu.ID, "idDocument", fmt.Sprintf(`{"type":"passport","files":{"front":%q,"back":%q}}`, b.front.ID, b.back.ID))
	step, err = svc.InitWizard(ctx, b.eu.ID)
	require.NoError(t, err)
	require.Equal(t, verification.ApplicationSubmitted, step.Application.Status)
	b.euApp = step.Application

	auth, err := httpadapter.NewStaticAuthenticator(map[string]httpadapter.StaticToken{
		tokAdmin:   {Principal: httpadapter.Principal{Credential: httpadapter.Admin, AdminID: 1}},
		tokAdminEU: {Principal: httpadapter.Principal{Credential: httpadapter.Admin, AdminID: 2, AdminTags: []string{"eu"}}},
		tokAdminUS: {Principal: httpadapter.Principal{Credential: httpadapter.Admin, AdminID: 3, AdminTags: []string{"us"}}},
		tokUser:    {Principal: httpadapter.Principal{Credential: httpadapter.User, SubjectID: b.eu.ID}},
	}, nil)
	require.NoError(t, err)
	mux := http.NewServeMux()
	_, err = console.RegisterConsole(mux, "/console", svc, console.Options{Authenticator: auth, ReviewTarget: 2 * time.Hour})
	require.NoError(t, err)
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	return b
}

// do sends a request as token (none when empty) without following
// redirects.
func (b *testBundle) do(t *testing.T, token, method, path string, form url.Values) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, err := http.NewRequestWithContext(t.Context(), method, b.srv.URL+path, body)
	require.NoError(t, err)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(r)
	require.NoError(t, err)
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// page GETs path as token and parses the HTML, requiring status.
func (b *testBundle) page(t *testing.T, token, path string, status int) *goquery.Document {
	t.Helper()
	res := b.do(t, token, http.MethodGet, path, nil)
	require.Equal(t, status, res.StatusCode, path)
	doc, err := goquery.NewDocumentFromReader(res.Body)
	require.NoError(t, err)
	return doc
}

func texts(s *goquery.Selection) []string {
	var out []string
	s.Each(func(_ int, x *goquery.Selection) { out = append(out, strings.TrimSpace(x.Text())) })
	return out
}

func TestQueue(t *testing.T) {
	t.Parallel()
	b := setup(t)
	doc := b.page(t, tokAdmin, "/console/", 200)
	rows := doc.Find("table.queue tbody tr")
	require.Equal(t, 2, rows.Length())
	assert.Equal(t, []string{fmt.Sprintf("#%d", b.usApp.ID), fmt.Sprintf("#%d", b.euApp.ID)}, texts(rows.Find("td:first-child a")), "oldest first")
	assert.Contains(t, doc.Find("table.queue caption").Text(), "2 applications")
	assert.Equal(t, 7, doc.Find("table.queue thead th[scope=col]").Length(), "column headers carry scope")
	assert.Equal(t, "Skip to content", doc.Find("a.skip[href='#main']").Text())
	doc.Find("form.filters select, form.filters input").Each(func(_ int, s *goquery.Selection) {
		id, _ := s.Attr("id")
		assert.Equal(t, 1, doc.Find("label[for='"+id+"']").Length(), "control %s has a label", id)
	})
	ident := rows.Eq(0).Find("td").Eq(1).Text()
	assert.NotContains(t, ident, b.us.Identifier, "identifiers are shortened")
	assert.True(t, strings.HasPrefix(b.us.Identifier, strings.Split(strings.TrimSpace(ident), "…")[0]))

	// Age colouring against the two-hour review target, also in words.
	assert.Equal(t, "age-ok", rows.Eq(0).AttrOr("class", ""))
	b.clock.Advance(90 * time.Minute)
	doc = b.page(t, tokAdmin, "/console/", 200)
	assert.Equal(t, []string{"age-due", "age-due"}, []string{doc.Find("tbody tr").Eq(0).AttrOr("class", ""), doc.Find("tbody tr").Eq(1).AttrOr("class", "")})
	b.clock.Advance(time.Hour)
	doc = b.page(t, tokAdmin, "/console/", 200)
	assert.Equal(t, "late", doc.Find("tbody tr").Eq(0).Find(".badge").Text())

	for _, c := range []struct {
		query string
		token string
		want  []int64
	}{
		{"?tag=eu", tokAdmin, []int64{b.euApp.ID}},
		{"?level=2", tokAdmin, []int64{b.usApp.ID}},
		{"?status=approved", tokAdmin, nil},
		{"?status=any", tokAdmin, []int64{b.usApp.ID, b.euApp.ID}},
		{"?assignee=me", tokAdmin, nil},
		{"?assignee=unassigned", tokAdmin, []int64{b.usApp.ID, b.euApp.ID}},
		{"?age=3", tokAdmin, nil},
		{"?age=2", tokAdmin, []int64{b.usApp.ID, b.euApp.ID}},
		{"", tokAdminEU, []int64{b.euApp.ID}},
		{"?tag=us", tokAdminEU, nil},
	} {
		doc := b.page(t, c.token, "/console/"+c.query, 200)
		var want []string
		for _, id := range c.want {
			want = append(want, fmt.Sprintf("#%d", id))
		}
		assert.Equal(t, want, texts(doc.Find("table.queue tbody td:first-child a")), "%s as %s", c.query, c.token)
	}
	b.page(t, tokAdmin, "/console/?assignee=bob", 400)
	b.page(t, tokAdmin, "/console/?level=99", 400)
}

func TestClaimAndDecide(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, tokAdmin, http.MethodPost, "/console/claim-next", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.True(t, strings.HasPrefix(res.Header.Get("Location"), fmt.Sprintf("/console/applications/%d?", b.usApp.ID)), res.Header.Get("Location"))
	doc := b.page(t, tokAdmin, fmt.Sprintf("/console/applications/%d", b.usApp.ID), 200)
	assert.Contains(t, doc.Find("section[aria-labelledby=app-title]").Text(), "Claimed by you")
	require.Equal(t, 1, doc.Find("#approve-application").Length())

	// Another admin sees the claim and cannot decide.
	doc = b.page(t, tokAdminUS, fmt.Sprintf("/console/applications/%d", b.usApp.ID), 200)
	assert.Contains(t, doc.Text(), "Claimed by admin 1")
	assert.Zero(t, doc.Find("#approve-application").Length())
	res = b.do(t, tokAdminUS, http.MethodPost, fmt.Sprintf("/console/applications/%d/decision", b.usApp.ID), url.Values{"decision": {"approved"}, "confirm": {"yes"}})
	require.Equal(t, http.StatusConflict, res.StatusCode)

	// The decision asks for confirmation first.
	path := fmt.Sprintf("/console/applications/%d/decision", b.usApp.ID)
	res = b.do(t, tokAdmin, http.MethodPost, path, url.Values{"decision": {"approved"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	doc, err := goquery.NewDocumentFromReader(res.Body)
	require.NoError(t, err)
	assert.Equal(t, "yes", doc.Find("form.confirm input[name=confirm]").AttrOr("value", ""))
	assert.Equal(t, "approved", doc.Find("form.confirm input[name=decision]").AttrOr("value", ""))
	app, err := b.svc.Application(t.Context(), verification.AdminActor(1, nil), b.usApp.ID)
	require.NoError(t, err)
	require.Equal(t, verification.ApplicationSubmitted, app.Status, "nothing happens before the confirmation")

	res = b.do(t, tokAdmin, http.MethodPost, path, url.Values{"decision": {"approved"}, "confirm": {"yes"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	doc = b.page(t, tokAdmin, res.Header.Get("Location"), 200)
	assert.Equal(t, "approved", doc.Find("#app-status").Text())
	assert.Equal(t, "Level 1", doc.Find("#subject-level").Text())
	assert.Contains(t, doc.Find("#timeline").Text(), fmt.Sprintf("Level 0 → Level 1 (Application: %d) by admin 1", b.usApp.ID))
	assert.Contains(t, doc.Find("p.flash").Text(), "approved")
}

func TestCasePageAndSides(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, tokAdminEU, http.MethodPost, fmt.Sprintf("/console/applications/%d/claim", b.euApp.ID), url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	doc := b.page(t, tokAdminEU, fmt.Sprintf("/console/clients/%d", b.eu.ID), 200)
	assert.Contains(t, doc.Find("h1").Text(), "Client "+b.eu.Identifier[:6]+"…")
	assert.Equal(t, "Level 1", doc.Find("#subject-level").Text())
	assert.Contains(t, doc.Find("dl.facts").Text(), "Level 2", "the target is the application's level")
	assert.Equal(t, []string{"eu"}, texts(doc.Find("dl.facts .tag")))
	assert.Contains(t, texts(doc.Find("section[aria-labelledby=outstanding-title] li")), "idDocument (document): pending")
	answers := doc.Find("section[aria-labelledby=answers-title] tbody th[scope=row]")
	assert.Contains(t, texts(answers), "AMLD5Questions")

	imgs := doc.Find("figure.side img")
	require.Equal(t, 2, imgs.Length())
	src := imgs.First().AttrOr("src", "")
	require.True(t, strings.HasPrefix(src, "/console/files/"+b.front.ID+"?"), src)
	assert.Equal(t, "passport front side", imgs.First().AttrOr("alt", ""))
	doc.Find("figure.side input, figure.side select").Each(func(_ int, s *goquery.Selection) {
		if s.AttrOr("type", "") == "hidden" {
			return
		}
		id := s.AttrOr("id", "")
		assert.Equal(t, 1, doc.Find("label[for='"+id+"']").Length(), "control %q has a label", id)
	})
	var reasons []string
	doc.Find("figure.side").First().Find("select.reason option").Each(func(_ int, s *goquery.Selection) { reasons = append(reasons, s.AttrOr("value", "")) })
	assert.Equal(t, []string{"blurry", "expired", "wrong_type", "missing_page", "other"}, reasons)

	// The image through its signed URL, as the admin; not without the
	// signature, not for an admin outside the tags.
	res = b.do(t, tokAdminEU, http.MethodGet, src, nil)
	require.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "image/jpeg", res.Header.Get("Content-Type"))
	assert.Equal(t, 404, b.do(t, tokAdminEU, http.MethodGet, "/console/files/"+b.front.ID, nil).StatusCode)
	assert.Equal(t, 404, b.do(t, tokAdminUS, http.MethodGet, src, nil).StatusCode)
	b.clock.Advance(61 * time.Minute)
	assert.Equal(t, 404, b.do(t, tokAdminEU, http.MethodGet, src, nil).StatusCode, "the signed URL lasts one hour")

	// Reject the front side, final, with a listed reason and a note.
	path := "/console/files/" + b.front.ID + "/review"
	form := url.Values{"decision": {"rejected"}, "reason": {"blurry"}, "note": {"glare on the photo"}, "retry": {"final"}}
	res = b.do(t, tokAdminEU, http.MethodPost, path, form)
	require.Equal(t, 200, res.StatusCode, "a confirmation page first")
	form.Set("confirm", "yes")
	res = b.do(t, tokAdminEU, http.MethodPost, path, form)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	f, err := b.svc.File(t.Context(), verification.AdminActor(1, nil), b.front.ID)
	require.NoError(t, err)
	assert.Equal(t, "Blurry or unreadable: glare on the photo", f.Reason)
	states, err := b.svc.RequirementStates(t.Context(), verification.AdminActor(1, nil), b.eu.ID)
	require.NoError(t, err)
	for _, st := range states {
		if st.Name == "idDocument" {
			assert.True(t, st.Final, "retry vs final reaches the requirement")
		}
	}
	doc = b.page(t, tokAdminEU, res.Header.Get("Location"), 200)
	assert.Contains(t, doc.Find("#timeline").Text(), "idDocument rejected by admin 2: Blurry or unreadable: glare on the photo (final)")
	assert.Zero(t, doc.Find("button.reject-side").Length(), "no side is pending any more")
	assert.Contains(t, doc.Find("#timeline").Text(), "document.viewed by admin 2 (file "+b.front.ID, "the image view is audited")
	assert.Contains(t, doc.Find("#timeline").Text(), "application.claimed by admin 2")

	res = b.do(t, tokAdminEU, http.MethodPost, "/console/files/"+b.back.ID+"/review", url.Values{"decision": {"rejected"}, "reason": {"other"}, "confirm": {"yes"}})
	assert.Equal(t, 400, res.StatusCode, "other needs a note")
}

func TestManageActions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.us.ID
	post := func(path string, form url.Values) *http.Response {
		form.Set("confirm", "yes")
		return b.do(t, tokAdmin, http.MethodPost, path, form)
	}
	require.Equal(t, 400, post(fmt.Sprintf("/console/clients/%d/grant", id), url.Values{"level": {"3"}}).StatusCode, "a manual grant needs a reason")
	require.Equal(t, 303, post(fmt.Sprintf("/console/clients/%d/grant", id), url.Values{"level": {"3"}, "reason": {"checked by phone"}}).StatusCode)
	require.Equal(t, 303, post(fmt.Sprintf("/console/clients/%d/tags", id), url.Values{"tags": {"us, vip"}}).StatusCode)
	require.Equal(t, 303, post(fmt.Sprintf("/console/clients/%d/requirements/nationality/reset", id), url.Values{"reopen": {"yes"}}).StatusCode)
	require.Equal(t, 303, post(fmt.Sprintf("/console/clients/%d/hold", id), url.Values{"hold": {"on"}}).StatusCode)
	require.Equal(t, 409, post(fmt.Sprintf("/console/clients/%d/erase", id), url.Values{}).StatusCode, "a held subject is not erased")
	require.Equal(t, 303, post(fmt.Sprintf("/console/clients/%d/hold", id), url.Values{"hold": {"off"}}).StatusCode)

	doc := b.page(t, tokAdmin, fmt.Sprintf("/console/clients/%d", id), 200)
	assert.Equal(t, "Level 2", doc.Find("#subject-level").Text())
	assert.Equal(t, []string{"us", "vip"}, texts(doc.Find("dl.facts .tag")))
	assert.Contains(t, doc.Find("#timeline").Text(), "(checked by phone) by admin 1")

	// A tag-scoped admin that sets tags outside its scope loses the client.
	res := b.do(t, tokAdminUS, http.MethodPost, fmt.Sprintf("/console/clients/%d/tags", id), url.Values{"tags": {"eu"}, "confirm": {"yes"}})
	require.Equal(t, 303, res.StatusCode)
	assert.True(t, strings.HasPrefix(res.Header.Get("Location"), "/console/?"), res.Header.Get("Location"))
	b.page(t, tokAdminUS, fmt.Sprintf("/console/clients/%d", id), 404)

	// Erasure: the subject is marked erased and reviewers' free text is
	// blanked (the grant stays, its reason does not).
	require.Equal(t, 303, post(fmt.Sprintf("/console/clients/%d/erase", id), url.Values{}).StatusCode)
	doc = b.page(t, tokAdmin, fmt.Sprintf("/console/clients/%d", id), 200)
	assert.Contains(t, doc.Find("dl.facts").Text(), "erased")
	assert.Contains(t, doc.Find("#timeline").Text(), "grant.manual by admin 1")
	assert.NotContains(t, doc.Find("#timeline").Text(), "checked by phone")
}

func TestDeliveries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	doc := b.page(t, tokAdmin, "/console/deliveries", 200)
	assert.Contains(t, doc.Find("caption").Text(), "0 dead-lettered")
	b.page(t, tokAdminEU, "/console/deliveries", 403)
	res := b.do(t, tokAdmin, http.MethodPost, "/console/deliveries/replay", url.Values{"event": {"nope"}, "sink": {"log"}, "confirm": {"yes"}})
	assert.Equal(t, 404, res.StatusCode)
}

// TestSecurityHeadersAndCSRF: every page carries the CSP and no-store, and
// a cross-origin form post is refused before it reaches the Service.
func TestSecurityHeadersAndCSRF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, path := range []string{"/console/", fmt.Sprintf("/console/clients/%d", b.eu.ID), "/console/deliveries", "/console/static/console.css", "/console/nope"} {
		res := b.do(t, tokAdmin, http.MethodGet, path, nil)
		if res.StatusCode == 404 && path == "/console/nope" {
			continue // the host mux's own 404
		}
		assert.Equal(t, console.ContentSecurityPolicy, res.Header.Get("Content-Security-Policy"), path)
		assert.Equal(t, "no-store", res.Header.Get("Cache-Control"), path)
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), path)
	}
	assert.Contains(t, console.ContentSecurityPolicy, "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'")

	r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+fmt.Sprintf("/console/applications/%d/claim", b.euApp.ID), strings.NewReader(""))
	require.NoError(t, err)
	r.Header.Set("Authorization", "Bearer "+tokAdmin)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.Header.Set("Origin", "https://evil.example")
	res, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	app, err := b.svc.Application(t.Context(), verification.AdminActor(1, nil), b.euApp.ID)
	require.NoError(t, err)
	assert.Zero(t, app.AssignedTo, "a cross-origin post changes nothing")

	// No script anywhere, and no inline style.
	doc := b.page(t, tokAdmin, fmt.Sprintf("/console/clients/%d", b.eu.ID), 200)
	assert.Zero(t, doc.Find("script, [style], [onclick]").Length())
}
