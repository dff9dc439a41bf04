package httpadapter

import (
	"strings"
	"time"

	"github.com/openkyc/kyc/verification"
)

// applicationJSON is an application in the admin extension routes, in the
// style of the verification history (camelCase, +00:00 times, null when unset).
type applicationJSON struct {
	ID         int64      `json:"id"`
	UUID       string     `json:"uuid"`
	ClientID   int64      `json:"clientId"`
	Level      levelJSON  `json:"level"`
	Status     string     `json:"status"`
	Steps      []stepJSON `json:"steps"`
	Reason     *string    `json:"reason"`
	CreateTime string     `json:"createTime"`
	ExpireTime string     `json:"expireTime"`
	SubmitTime *string    `json:"submitTime"`
	DecideTime *string    `json:"decideTime"`
	DecidedBy  *int64     `json:"decidedBy"`
	// AssignedTo is the admin who claimed the application for review.
	AssignedTo *int64 `json:"assignedTo"`
	// ClaimTime is when it was claimed.
	ClaimTime *string `json:"claimTime"`
}

// stepJSON is one recorded wizard step: the document given for a
// requirement (files can be fetched with RouteAdminFile).
type stepJSON struct {
	Requirement  string   `json:"requirement"`
	DocumentType int      `json:"documentType"`
	Files        []string `json:"files"`
	CreateTime   string   `json:"createTime"`
}

func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := formatV2(t)
	return &s
}

func (a *Adapter) applicationJSON(app verification.Application) applicationJSON {
	out := applicationJSON{
		ID: app.ID, UUID: app.UUID, ClientID: app.SubjectID, Level: levelJSON{ID: app.Level}, Status: string(app.Status),
		Steps: make([]stepJSON, 0, len(app.Steps)), CreateTime: formatV2(app.CreatedAt), ExpireTime: formatV2(app.ExpiresAt),
		SubmitTime: optTime(app.SubmittedAt), DecideTime: optTime(app.DecidedAt),
	}
	if l, ok := a.svc.Ladder().Level(app.Level); ok {
		out.Level.Name = l.Name
	}
	if app.Reason != "" {
		r := app.Reason
		out.Reason = &r
	}
	if app.DecidedBy != 0 {
		d := app.DecidedBy
		out.DecidedBy = &d
	}
	if app.AssignedTo != 0 {
		d := app.AssignedTo
		out.AssignedTo, out.ClaimTime = &d, optTime(app.ClaimedAt)
	}
	for _, s := range app.Steps {
		files := append([]string{}, s.Files...)
		out.Steps = append(out.Steps, stepJSON{Requirement: s.Requirement, DocumentType: s.DocumentType, Files: files, CreateTime: formatV2(s.At)})
	}
	return out
}

var applicationStatuses = []verification.ApplicationStatus{
	verification.ApplicationDraft, verification.ApplicationSubmitted, verification.ApplicationApproved,
	verification.ApplicationRejected, verification.ApplicationExpired,
}

var applicationParamNames = []string{paramLimit, paramOffset, paramSortOrder, paramSortBy, paramClientID, paramStatus, paramAssignee}

// parseStatuses reads filter[status]: a comma-separated list of statuses.
func parseStatuses(v string) ([]verification.ApplicationStatus, error) {
	var out []verification.ApplicationStatus
	for _, s := range strings.Split(v, ",") {
		ok := false
		for _, known := range applicationStatuses {
			if s == string(known) {
				out, ok = append(out, known), true
			}
		}
		if !ok {
			return nil, paramProblem(paramStatus, "must list statuses among draft, submitted, approved, rejected, expired")
		}
	}
	return out, nil
}

// serveApplications: extension (admin), list applications, e.g. the review
// queue with filter[status]=submitted, as the Service scopes them for the
// admin.
func (a *Adapter) serveApplications(c *call) error {
	q, err := parseQuery(c.r.URL.RawQuery, applicationParamNames...)
	if err != nil {
		return err
	}
	lp, err := parseList(q)
	if err != nil {
		return err
	}
	f := verification.ApplicationFilter{Limit: lp.limit, Offset: lp.offset, Desc: lp.desc}
	if v, ok := q[paramStatus]; ok {
		if f.Statuses, err = parseStatuses(v); err != nil {
			return err
		}
	}
	if v, ok := q[paramClientID]; ok {
		if f.SubjectID, err = parseID(paramClientID, v); err != nil {
			return err
		}
	}
	switch q[paramAssignee] {
	case "", "anyone":
	case "me":
		f.Assignee = c.principal.AdminID
	case "unassigned":
		f.Assignee = verification.Unassigned
	default:
		return paramProblem(paramAssignee, "must be me, unassigned or anyone")
	}
	page, err := a.svc.Applications(c.ctx, c.admin(), f)
	if err != nil {
		return err
	}
	out := listJSON[applicationJSON]{Total: page.Total, Data: make([]applicationJSON, 0, len(page.Items))}
	for _, app := range page.Items {
		out.Data = append(out.Data, a.applicationJSON(app))
	}
	c.json(200, out)
	return nil
}

// decisionBody is RouteDecideApplication's body.
type decisionBody struct {
	Decision string `json:"decision" validate:"required,oneof=approved rejected"`
	// Reason is required when rejecting; it reaches the subject.
	Reason string `json:"reason" validate:"max=500"`
}

// serveDecideApplication: extension (admin), approve or reject a submitted
// application. One the admin may not see is 404 like an absent one: it is
// looked up before the Idempotency-Key is reserved.
func (a *Adapter) serveDecideApplication(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	aid, err := parseID("applicationId", c.r.PathValue("applicationId"))
	if err != nil {
		return err
	}
	raw, err := c.readBody(a.maxB)
	if err != nil {
		return err
	}
	var body decisionBody
	if err := decodeJSON(raw, &body); err != nil {
		return err
	}
	if _, err := a.svc.Application(c.ctx, c.admin(), aid); err != nil {
		return err
	}
	return c.idempotent(fingerprint([]byte(c.r.URL.Path), raw), func() error {
		app, err := a.svc.DecideApplication(c.ctx, c.admin(), verification.DecideApplicationParams{
			ApplicationID: aid, Decision: verification.Decision(body.Decision), Reason: body.Reason,
		})
		if err != nil {
			return err
		}
		c.json(200, a.applicationJSON(app))
		return nil
	})
}

// serveApplication: extension (admin), one application as the Service
// scopes it for the admin (404 for one of a client it may not see).
func (a *Adapter) serveApplication(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	aid, err := parseID("applicationId", c.r.PathValue("applicationId"))
	if err != nil {
		return err
	}
	app, err := a.svc.Application(c.ctx, c.admin(), aid)
	if err != nil {
		return err
	}
	c.json(200, a.applicationJSON(app))
	return nil
}

// serveClaimApplication: extension (admin), claim a submitted application
// for review (…/claim) or release it (…/release). Claiming one another admin
// holds is 409; claiming one's own again, or releasing an unclaimed one,
// answers it unchanged.
func (a *Adapter) serveClaimApplication(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	aid, err := parseID("applicationId", c.r.PathValue("applicationId"))
	if err != nil {
		return err
	}
	var app verification.Application
	if strings.HasSuffix(c.r.URL.Path, "/release") {
		app, err = a.svc.ReleaseApplication(c.ctx, c.admin(), aid)
	} else {
		app, err = a.svc.ClaimApplication(c.ctx, c.admin(), aid)
	}
	if err != nil {
		return err
	}
	c.json(200, a.applicationJSON(app))
	return nil
}
