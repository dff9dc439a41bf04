package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// maxFormBytes bounds a console form.
const maxFormBytes = 16 << 10

var pageNames = []string{"queue", "case", "confirm", "error", "deliveries"}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"when":  formatTime,
		"short": shortIdentifier,
		"list":  func(v ...string) []string { return v },
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: parsing %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// formatTime renders a time for reviewers, in UTC to the minute.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// shortIdentifier shortens a host identifier for display: its first six
// and last four characters.
func shortIdentifier(id string) string {
	if len(id) <= 12 {
		return id
	}
	return id[:6] + "…" + id[len(id)-4:]
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// base is what every page shows: the navigation and the admin.
type base struct {
	Prefix  string
	Title   string
	AdminID int64
	Scoped  bool
	Flash   string
	Logout  string
}

type errorView struct {
	base
	Message string
	Login   string
}

// ---- queue

type queueRow struct {
	App        verification.Application
	LevelName  string
	Identifier string
	Tags       []string
	Missing    bool
	Age        string
	AgeClass   string
	AgeLabel   string
	Assignee   string
}

type queueView struct {
	base
	Rows                     []queueRow
	Total                    int
	From, To                 int
	Prev, Next               string
	Status, Tag, Assign, Age string
	Level                    int
	Levels                   []levels.Level
	Statuses                 []string
	Target                   string
}

var queueStatuses = []string{"submitted", "draft", "approved", "rejected", "expired", "any"}

// queueFilter reads the queue's filters from the query string.
func (c *Console) queueFilter(rq *request) (verification.ApplicationFilter, queueView, error) {
	q := rq.r.URL.Query()
	v := queueView{Status: q.Get("status"), Tag: strings.TrimSpace(q.Get("tag")), Assign: q.Get("assignee"), Age: q.Get("age")}
	f := verification.ApplicationFilter{Limit: c.size}
	switch v.Status {
	case "":
		v.Status = "submitted"
		fallthrough
	case "submitted", "draft", "approved", "rejected", "expired":
		f.Statuses = []verification.ApplicationStatus{verification.ApplicationStatus(v.Status)}
	case "any":
	default:
		return f, v, badForm("status must be one of %s", strings.Join(queueStatuses, ", "))
	}
	if s := q.Get("level"); s != "" {
		n, err := strconv.Atoi(s)
		if _, ok := c.svc.Ladder().Level(n); err != nil || !ok {
			return f, v, badForm("level must be a level of the ladder")
		}
		v.Level, f.Levels = n, []int{n}
	}
	f.HasTag = v.Tag
	switch v.Assign {
	case "", "anyone":
		v.Assign = "anyone"
	case "me":
		f.Assignee = rq.adminID
	case "unassigned":
		f.Assignee = verification.Unassigned
	default:
		return f, v, badForm("assignee must be me, unassigned or anyone")
	}
	if v.Age != "" {
		h, err := strconv.Atoi(v.Age)
		if err != nil || h < 0 || h > 24*365 {
			return f, v, badForm("age must be a number of hours")
		}
		f.SubmittedBefore = c.svc.Now().Add(-time.Duration(h) * time.Hour)
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return f, v, badForm("offset must be a non-negative number")
		}
		f.Offset = n
	}
	return f, v, nil
}

// queue lists applications, submitted ones by default, oldest first.
func (c *Console) queue(rq *request) error {
	f, v, err := c.queueFilter(rq)
	if err != nil {
		return err
	}
	page, err := c.svc.Applications(rq.r.Context(), rq.actor, f)
	if err != nil {
		return err
	}
	v.base = rq.base("Review queue")
	v.Total, v.Levels, v.Statuses, v.Target = page.Total, c.svc.Ladder().Levels(), queueStatuses, c.target.String()
	now := c.svc.Now()
	subjects := map[int64]*verification.Subject{}
	for _, a := range page.Items {
		row := queueRow{App: a, LevelName: c.levelName(a.Level)}
		sub, ok := subjects[a.SubjectID]
		if !ok {
			s, err := c.svc.Subject(rq.r.Context(), rq.actor, a.SubjectID)
			switch {
			case err == nil:
				sub = &s
			case !errors.Is(err, verification.ErrDeleted):
				return err
			}
			subjects[a.SubjectID] = sub
		}
		if sub != nil {
			row.Identifier, row.Tags = sub.Identifier, sub.Tags
		} else {
			row.Missing = true
		}
		since := a.SubmittedAt
		if since.IsZero() {
			since = a.CreatedAt
		}
		age := now.Sub(since)
		row.Age = roundAge(age)
		switch {
		case a.Status != verification.ApplicationSubmitted:
			row.AgeClass, row.AgeLabel = "age-none", ""
		case age > c.target:
			row.AgeClass, row.AgeLabel = "age-late", "late"
		case age > c.target/2:
			row.AgeClass, row.AgeLabel = "age-due", "due soon"
		default:
			row.AgeClass, row.AgeLabel = "age-ok", "on time"
		}
		switch a.AssignedTo {
		case 0:
			row.Assignee = "unassigned"
		case rq.adminID:
			row.Assignee = "you"
		default:
			row.Assignee = "admin " + strconv.FormatInt(a.AssignedTo, 10)
		}
		v.Rows = append(v.Rows, row)
	}
	if len(page.Items) > 0 {
		v.From, v.To = f.Offset+1, f.Offset+len(page.Items)
	}
	link := func(off int) string {
		q := rq.r.URL.Query()
		q.Set("offset", strconv.Itoa(off))
		q.Del("done")
		return rq.prefix + "/?" + q.Encode()
	}
	if f.Offset > 0 {
		v.Prev = link(max(f.Offset-c.size, 0))
	}
	if f.Offset+len(page.Items) < page.Total {
		v.Next = link(f.Offset + c.size)
	}
	c.render(rq.w, http.StatusOK, "queue", v)
	return nil
}

func roundAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

func (c *Console) levelName(id int) string {
	if l, ok := c.svc.Ladder().Level(id); ok {
		return l.Name
	}
	return "level " + strconv.Itoa(id)
}

// claimNext claims the oldest unassigned submitted application and opens it.
func (c *Console) claimNext(rq *request) error {
	if err := rq.form(); err != nil {
		return err
	}
	app, err := c.svc.ClaimNext(rq.r.Context(), rq.actor, verification.ApplicationFilter{})
	if errors.Is(err, verification.ErrNotFound) {
		return rq.redirect("/", "The queue has no unassigned application.")
	}
	if err != nil {
		return err
	}
	return rq.redirect(fmt.Sprintf("/applications/%d", app.ID), "Claimed.")
}

// ---- case page

type sideView struct {
	File    verification.File
	URL     string
	Pending bool
}

type documentView struct {
	Type  string
	Sides []sideView
}

type answerView struct {
	State  verification.RequirementState
	Answer string
}

type timelineView struct {
	At   time.Time
	Kind string
	Text string
}

type appView struct {
	App       verification.Application
	LevelName string
	Mine      bool
	Other     bool
	Open      bool
}

type caseView struct {
	base
	Subject      verification.Subject
	LevelName    string
	TargetName   string
	Erased       bool
	App          *appView
	Outstanding  []levels.Outstanding
	Answers      []answerView
	Documents    []documentView
	Sessions     []verification.IDSession
	Decisions    []verification.ProviderSession
	Timeline     []timelineView
	Levels       []levels.Level
	Requirements []string
	Reasons      []Reason
	TagsText     string
}

// application shows the case of one application's subject.
func (c *Console) application(rq *request) error {
	id, err := pathID(rq.r, "applicationId")
	if err != nil {
		return err
	}
	app, err := c.svc.Application(rq.r.Context(), rq.actor, id)
	if err != nil {
		return err
	}
	return c.showCase(rq, app.SubjectID, &app)
}

// client shows a client's case, with its submitted application if any.
func (c *Console) client(rq *request) error {
	id, err := pathID(rq.r, "clientId")
	if err != nil {
		return err
	}
	page, err := c.svc.Applications(rq.r.Context(), rq.actor, verification.ApplicationFilter{SubjectID: id, Statuses: []verification.ApplicationStatus{verification.ApplicationSubmitted}, Limit: 1, Desc: true})
	if err != nil {
		return err
	}
	var app *verification.Application
	if len(page.Items) > 0 {
		app = &page.Items[0]
	}
	return c.showCase(rq, id, app)
}

func (c *Console) showCase(rq *request, subjectID int64, app *verification.Application) error {
	ctx := rq.r.Context()
	sub, err := c.svc.Subject(ctx, rq.actor, subjectID)
	if err != nil {
		return err
	}
	ladder := c.svc.Ladder()
	v := caseView{base: rq.base("Case " + shortIdentifier(sub.Identifier)), Subject: sub, LevelName: c.levelName(sub.Level), Erased: !sub.RedactedAt.IsZero(),
		Levels: ladder.Levels(), Reasons: RejectReasons, TagsText: strings.Join(sub.Tags, ", ")}
	target := ladder.Top().ID
	if app != nil {
		target = app.Level
		v.App = &appView{App: *app, LevelName: c.levelName(app.Level), Mine: app.AssignedTo == rq.adminID, Other: app.AssignedTo != 0 && app.AssignedTo != rq.adminID, Open: app.Status == verification.ApplicationSubmitted}
	}
	v.TargetName = c.levelName(target)
	res, err := c.svc.Status(ctx, sub.ID, target)
	if err != nil {
		return err
	}
	v.Outstanding = res.Outstanding
	for _, l := range ladder.Levels() {
		for _, r := range ladder.RequirementsOf(l.ID) {
			v.Requirements = append(v.Requirements, r.Name)
		}
	}
	states, err := c.svc.RequirementStates(ctx, rq.actor, sub.ID)
	if err != nil {
		return err
	}
	for _, st := range states {
		v.Answers = append(v.Answers, answerView{State: st, Answer: compactAnswer(st.Answer)})
	}
	files, err := c.svc.Files(ctx, rq.actor, sub.ID)
	if err != nil {
		return err
	}
	for _, f := range files {
		i := slices.IndexFunc(v.Documents, func(d documentView) bool { return d.Type == f.DocumentType })
		if i < 0 {
			v.Documents = append(v.Documents, documentView{Type: f.DocumentType})
			i = len(v.Documents) - 1
		}
		v.Documents[i].Sides = append(v.Documents[i].Sides, sideView{File: f, URL: c.signer.SignURL(http.MethodGet, rq.prefix+"/files/"+f.ID), Pending: f.Status == levels.Pending})
	}
	if v.Sessions, err = c.svc.IDSessions(ctx, rq.actor, sub.ID); err != nil {
		return err
	}
	if v.Decisions, err = c.svc.ProviderSessions(ctx, rq.actor, sub.ID); err != nil {
		return err
	}
	tl, err := c.svc.Timeline(ctx, rq.actor, sub.ID)
	if err != nil {
		return err
	}
	for i := len(tl) - 1; i >= 0; i-- { // newest first
		v.Timeline = append(v.Timeline, timelineView{At: tl[i].At, Kind: string(tl[i].Kind), Text: c.describe(tl[i])})
	}
	c.render(rq.w, http.StatusOK, "case", v)
	return nil
}

// compactAnswer renders a stored answer for display.
func compactAnswer(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// describe words one timeline entry.
func (c *Console) describe(e verification.TimelineEntry) string {
	by := ""
	if e.AdminID != 0 {
		by = fmt.Sprintf(" by admin %d", e.AdminID)
	}
	switch {
	case e.Grant != nil:
		from := "none"
		if e.Grant.Previous != nil {
			from = e.Grant.Previous.Name
		}
		return fmt.Sprintf("Level %s → %s (%s)%s", from, e.Grant.Level.Name, e.Grant.Reason, by)
	case e.Review != nil:
		s := fmt.Sprintf("%s %s%s", e.Review.Requirement, e.Review.Decision, by)
		if e.Review.Reason != "" {
			s += ": " + e.Review.Reason
		}
		if e.Review.Final {
			s += " (final)"
		}
		return s
	case e.Application != nil:
		s := fmt.Sprintf("Application %d for %s %s%s", e.Application.ID, c.levelName(e.Application.Level), e.What, by)
		if e.What == string(verification.ApplicationRejected) && e.Application.Reason != "" {
			s += ": " + e.Application.Reason
		}
		return s
	case e.IDSession != nil:
		return fmt.Sprintf("Identity check by %s: %s", e.IDSession.Provider, e.IDSession.Status)
	case e.Audit != nil:
		who := string(e.Audit.Actor.Kind)
		if e.Audit.Actor.ID != "" {
			who += " " + e.Audit.Actor.ID
		}
		s := fmt.Sprintf("%s by %s", e.Audit.Action, who)
		if e.Audit.Entity != "" {
			s += fmt.Sprintf(" (%s %s", e.Audit.Entity, e.Audit.EntityID)
			keys := make([]string, 0, len(e.Audit.Summary))
			for k := range e.Audit.Summary {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				s += fmt.Sprintf(", %s %s", k, e.Audit.Summary[k])
			}
			s += ")"
		}
		return s
	}
	return e.What
}

// ---- actions

// form parses a bounded urlencoded form.
func (rq *request) form() error {
	rq.r.Body = http.MaxBytesReader(rq.w, rq.r.Body, maxFormBytes)
	if err := rq.r.ParseForm(); err != nil {
		return badForm("unreadable form")
	}
	return nil
}

// confirmed reports whether the form carries the confirmation; when it does
// not, it renders the confirmation page repeating the form's fields.
func (c *Console) confirmed(rq *request, what string, back string) bool {
	if rq.r.PostForm.Get("confirm") == "yes" {
		return true
	}
	type field struct{ Name, Value string }
	var fields []field
	names := make([]string, 0, len(rq.r.PostForm))
	for k := range rq.r.PostForm {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range rq.r.PostForm[k] {
			fields = append(fields, field{k, v})
		}
	}
	c.render(rq.w, http.StatusOK, "confirm", struct {
		base
		What, Action, Back string
		Fields             []field
	}{rq.base("Confirm"), what, rq.r.URL.Path, rq.prefix + back, fields})
	return false
}

func pathID(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, badForm("%s must be a positive integer", name)
	}
	return n, nil
}

func (c *Console) claimAction(rq *request) error   { return c.claimOrRelease(rq, true) }
func (c *Console) releaseAction(rq *request) error { return c.claimOrRelease(rq, false) }

func (c *Console) claimOrRelease(rq *request, take bool) error {
	id, err := pathID(rq.r, "applicationId")
	if err != nil {
		return err
	}
	if err := rq.form(); err != nil {
		return err
	}
	if take {
		_, err = c.svc.ClaimApplication(rq.r.Context(), rq.actor, id)
	} else {
		_, err = c.svc.ReleaseApplication(rq.r.Context(), rq.actor, id)
	}
	if err != nil {
		return err
	}
	if take {
		return rq.redirect(fmt.Sprintf("/applications/%d", id), "Claimed.")
	}
	return rq.redirect("/", "Released.")
}

// rejectReason composes the recorded reason from the reason list's code
// and the reviewer's note.
func rejectReason(code, note string) (string, error) {
	note = strings.TrimSpace(note)
	i := slices.IndexFunc(RejectReasons, func(r Reason) bool { return r.Code == code })
	switch {
	case i < 0:
		return "", badForm("pick a reason from the list")
	case code == "other" && note == "":
		return "", badForm("explain the reason in the note")
	case code == "other":
		return note, nil
	case note != "":
		return RejectReasons[i].Label + ": " + note, nil
	}
	return RejectReasons[i].Label, nil
}

func (c *Console) decide(rq *request) error {
	id, err := pathID(rq.r, "applicationId")
	if err != nil {
		return err
	}
	if err := rq.form(); err != nil {
		return err
	}
	p := verification.DecideApplicationParams{ApplicationID: id}
	back := fmt.Sprintf("/applications/%d", id)
	switch rq.r.PostForm.Get("decision") {
	case "approved":
		p.Decision = verification.Approve
	case "rejected":
		p.Decision = verification.Reject
		if p.Reason, err = rejectReason(rq.r.PostForm.Get("reason"), rq.r.PostForm.Get("note")); err != nil {
			return err
		}
	default:
		return badForm("decision must be approved or rejected")
	}
	if _, err := c.svc.Application(rq.r.Context(), rq.actor, id); err != nil {
		return err
	}
	if !c.confirmed(rq, fmt.Sprintf("%s application %d", verb(p.Decision), id), back) {
		return nil
	}
	if _, err := c.svc.DecideApplication(rq.r.Context(), rq.actor, p); err != nil {
		return err
	}
	return rq.redirect(back, "Application "+string(p.Decision)+".")
}

func verb(d verification.Decision) string {
	if d == verification.Approve {
		return "Approve"
	}
	return "Reject"
}

func (c *Console) reviewFile(rq *request) error {
	id := rq.r.PathValue("fileId")
	if err := rq.form(); err != nil {
		return err
	}
	f, err := c.svc.File(rq.r.Context(), rq.actor, id)
	if err != nil {
		return err
	}
	p := verification.ReviewFileParams{FileID: f.ID}
	switch rq.r.PostForm.Get("decision") {
	case "approved":
		p.Decision = verification.Approve
	case "rejected":
		p.Decision = verification.Reject
		if p.Reason, err = rejectReason(rq.r.PostForm.Get("reason"), rq.r.PostForm.Get("note")); err != nil {
			return err
		}
		switch rq.r.PostForm.Get("retry") {
		case "final":
			p.Final = true
		case "", "retry":
		default:
			return badForm("retry must be retry or final")
		}
	default:
		return badForm("decision must be approved or rejected")
	}
	back := fmt.Sprintf("/clients/%d", f.SubjectID)
	if !c.confirmed(rq, fmt.Sprintf("%s the %s side of the %s", verb(p.Decision), f.Side, f.DocumentType), back) {
		return nil
	}
	if _, err := c.svc.ReviewFile(rq.r.Context(), rq.actor, p); err != nil {
		return err
	}
	return rq.redirect(back, "Side "+string(p.Decision)+".")
}

func (c *Console) grant(rq *request) error {
	id, err := pathID(rq.r, "clientId")
	if err != nil {
		return err
	}
	if err := rq.form(); err != nil {
		return err
	}
	lvl, err := strconv.Atoi(rq.r.PostForm.Get("level"))
	if err != nil {
		return badForm("pick a level")
	}
	reason := strings.TrimSpace(rq.r.PostForm.Get("reason"))
	if reason == "" {
		return badForm("a manual grant needs a reason")
	}
	back, ok, err := c.confirmClient(rq, id, fmt.Sprintf("Grant %s to client %d", c.levelName(lvl), id))
	if !ok {
		return err
	}
	if _, err := c.svc.GrantLevel(rq.r.Context(), rq.actor, verification.GrantLevelParams{SubjectID: id, Level: lvl, Reason: reason}); err != nil {
		return err
	}
	return rq.redirect(back, "Level granted.")
}

// confirmClient checks that the admin sees client id and asks it to
// confirm what it is about to do; ok is true once confirmed, and back is
// the client's case page to return to.
func (c *Console) confirmClient(rq *request, id int64, what string) (back string, ok bool, err error) {
	back = fmt.Sprintf("/clients/%d", id)
	if _, err := c.svc.Subject(rq.r.Context(), rq.actor, id); err != nil {
		return back, false, err
	}
	return back, c.confirmed(rq, what, back), nil
}

func (c *Console) reset(rq *request) error {
	id, err := pathID(rq.r, "clientId")
	if err != nil {
		return err
	}
	if err := rq.form(); err != nil {
		return err
	}
	name := rq.r.PathValue("name")
	reopen := rq.r.PostForm.Get("reopen") == "yes"
	back, ok, err := c.confirmClient(rq, id, fmt.Sprintf("Reset requirement %s of client %d", name, id))
	if !ok {
		return err
	}
	if _, err := c.svc.ResetRequirement(rq.r.Context(), rq.actor, id, name, reopen); err != nil {
		return err
	}
	return rq.redirect(back, "Requirement reset.")
}

func (c *Console) tags(rq *request) error {
	id, err := pathID(rq.r, "clientId")
	if err != nil {
		return err
	}
	if err := rq.form(); err != nil {
		return err
	}
	tags := []string{}
	for _, t := range strings.Split(rq.r.PostForm.Get("tags"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	back, ok, err := c.confirmClient(rq, id, fmt.Sprintf("Set the tags of client %d to [%s]", id, strings.Join(tags, ", ")))
	if !ok {
		return err
	}
	sub, err := c.svc.SetTags(rq.r.Context(), rq.actor, id, tags)
	if err != nil {
		return err
	}
	if rq.actor.Tags != nil && !sub.HasAnyTag(rq.actor.Tags) {
		return rq.redirect("/", "Tags set; the client is now outside your scope.")
	}
	return rq.redirect(back, "Tags set.")
}

func (c *Console) hold(rq *request) error {
	id, err := pathID(rq.r, "clientId")
	if err != nil {
		return err
	}
	if err := rq.form(); err != nil {
		return err
	}
	var hold bool
	switch rq.r.PostForm.Get("hold") {
	case "on":
		hold = true
	case "off":
	default:
		return badForm("hold must be on or off")
	}
	what := "Place a legal hold on"
	if !hold {
		what = "Lift the legal hold of"
	}
	back, ok, err := c.confirmClient(rq, id, fmt.Sprintf("%s client %d", what, id))
	if !ok {
		return err
	}
	if _, err := c.svc.SetLegalHold(rq.r.Context(), rq.actor, id, hold); err != nil {
		return err
	}
	return rq.redirect(back, "Legal hold updated.")
}

func (c *Console) erase(rq *request) error {
	id, err := pathID(rq.r, "clientId")
	if err != nil {
		return err
	}
	if err := rq.form(); err != nil {
		return err
	}
	back, ok, err := c.confirmClient(rq, id, fmt.Sprintf("Erase every document image and answer of client %d (this cannot be undone)", id))
	if !ok {
		return err
	}
	if err := c.svc.Erase(rq.r.Context(), rq.actor, id); err != nil {
		return err
	}
	return rq.redirect(back, "Personal data erased.")
}

// file serves one document side: the URL must carry a valid signature
// (one hour) and the admin must see the file; the Service records the view.
func (c *Console) file(rq *request) error {
	if err := c.signer.Verify(http.MethodGet, rq.r.URL.Path, rq.r.URL.Query()); err != nil {
		return fmt.Errorf("%w: the image link has expired or is not valid; reload the case page", verification.ErrNotFound)
	}
	f, body, err := c.svc.OpenFile(rq.r.Context(), rq.actor, rq.r.PathValue("fileId"))
	if err != nil {
		return err
	}
	defer body.Close()
	h := rq.w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", "inline")
	if f.Size > 0 {
		h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	}
	rq.w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(rq.w, body); err != nil {
		c.log.Debug().Err(err).Msg("console: image download interrupted")
	}
	return nil
}

// ---- deliveries

func (c *Console) deliveries(rq *request) error {
	off := 0
	if s := rq.r.URL.Query().Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return badForm("offset must be a non-negative number")
		}
		off = n
	}
	page, err := c.svc.DeadLetters(rq.r.Context(), rq.actor, "", c.size, off)
	if err != nil {
		return err
	}
	v := struct {
		base
		Items      []verification.Delivery
		Total      int
		Prev, Next string
	}{base: rq.base("Deliveries"), Items: page.Items, Total: page.Total}
	if off > 0 {
		v.Prev = fmt.Sprintf("%s/deliveries?offset=%d", rq.prefix, max(off-c.size, 0))
	}
	if off+len(page.Items) < page.Total {
		v.Next = fmt.Sprintf("%s/deliveries?offset=%d", rq.prefix, off+c.size)
	}
	c.render(rq.w, http.StatusOK, "deliveries", v)
	return nil
}

func (c *Console) replay(rq *request) error {
	if err := rq.form(); err != nil {
		return err
	}
	event, sink := rq.r.PostForm.Get("event"), rq.r.PostForm.Get("sink")
	if event == "" || sink == "" {
		return badForm("event and sink are required")
	}
	if !c.confirmed(rq, fmt.Sprintf("Replay event %s to %s", event, sink), "/deliveries") {
		return nil
	}
	if err := c.svc.ReplayDelivery(rq.r.Context(), rq.actor, event, sink); err != nil {
		return err
	}
	return rq.redirect("/deliveries", "Delivery queued again.")
}
