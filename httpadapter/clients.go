package httpadapter

import (
	"encoding/json"
	"strconv"

	"github.com/openkyc/kyc/verification"
)

// clientJSON is RouteClient's answer: everything a reviewer reads about
// one client, as the Service scopes it for the admin.
type clientJSON struct {
	ClientID         int64             `json:"clientId"`
	Identifier       string            `json:"identifier"`
	Tags             []string          `json:"tags"`
	Level            levelJSON         `json:"level"`
	LegalHold        bool              `json:"legalHold"`
	Erased           bool              `json:"erased"`
	CreateTime       string            `json:"createTime"`
	Outstanding      []requirementJSON `json:"outstanding"`
	Requirements     []answerJSON      `json:"requirements"`
	Files            []reviewFileJSON  `json:"files"`
	IdentitySessions []identitySession `json:"identitySessions"`
	Grants           []grantJSON       `json:"grants"`
	Applications     []applicationJSON `json:"applications"`
}

// answerJSON is one requirement's state with its latest answer.
type answerJSON struct {
	requirementJSON
	Answer     json.RawMessage `json:"answer"`
	UpdateTime string          `json:"updateTime"`
}

// reviewFileJSON is a document file's metadata (its bytes: RouteAdminFile).
type reviewFileJSON struct {
	ID           string  `json:"id"`
	DocumentType string  `json:"documentType"`
	Side         string  `json:"side"`
	Status       string  `json:"status"`
	Reason       *string `json:"reason"`
	ContentType  string  `json:"contentType"`
	Size         int64   `json:"size"`
	CreateTime   string  `json:"createTime"`
}

// identitySession is an identity-verification session in the v2 style.
type identitySession struct {
	ID         string `json:"id"`
	Provider   string `json:"provider"`
	Status     string `json:"status"`
	CreateTime string `json:"createTime"`
}

// serveClient: extension (admin), one client with its outstanding
// requirements, answers (attempts, last reason), files, identity sessions,
// grants and applications. A client the admin may not see is 404.
func (a *Adapter) serveClient(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	cid, err := parseID("clientId", c.r.PathValue("clientId"))
	if err != nil {
		return err
	}
	ctx, actor := c.ctx, c.admin()
	sub, err := a.svc.Subject(ctx, actor, cid)
	if err != nil {
		return err
	}
	out := clientJSON{ClientID: sub.ID, Identifier: sub.Identifier, Tags: append([]string{}, sub.Tags...), Level: levelJSON{ID: sub.Level},
		LegalHold: sub.LegalHold, Erased: !sub.RedactedAt.IsZero(), CreateTime: formatV2(sub.CreatedAt),
		Outstanding: []requirementJSON{}, Requirements: []answerJSON{}, Files: []reviewFileJSON{}, IdentitySessions: []identitySession{},
		Grants: []grantJSON{}, Applications: []applicationJSON{}}
	if l, ok := a.svc.Ladder().Level(sub.Level); ok {
		out.Level.Name = l.Name
	}
	res, err := a.svc.Status(ctx, sub.ID, 0)
	if err != nil {
		return err
	}
	for _, o := range res.Outstanding {
		out.Outstanding = append(out.Outstanding, requirementJSON{Name: o.Name, Type: o.Type, Status: o.Status})
	}
	states, err := a.svc.RequirementStates(ctx, actor, sub.ID)
	if err != nil {
		return err
	}
	for _, st := range states {
		ans := st.Answer
		if len(ans) == 0 {
			ans = json.RawMessage("null")
		}
		out.Requirements = append(out.Requirements, answerJSON{requirementJSON: a.requirementJSON(st), Answer: ans, UpdateTime: formatV2(st.UpdatedAt)})
	}
	files, err := a.svc.Files(ctx, actor, sub.ID)
	if err != nil {
		return err
	}
	for _, f := range files {
		fj := reviewFileJSON{ID: f.ID, DocumentType: f.DocumentType, Side: f.Side, Status: string(f.Status), ContentType: f.ContentType, Size: f.Size, CreateTime: formatV2(f.CreatedAt)}
		if f.Reason != "" {
			r := f.Reason
			fj.Reason = &r
		}
		out.Files = append(out.Files, fj)
	}
	sessions, err := a.svc.IDSessions(ctx, actor, sub.ID)
	if err != nil {
		return err
	}
	for _, s := range sessions {
		out.IdentitySessions = append(out.IdentitySessions, identitySession{ID: s.ID, Provider: s.Provider, Status: s.Status, CreateTime: formatV2(s.CreatedAt)})
	}
	grants, err := a.svc.Grants(ctx, actor, verification.GrantFilter{SubjectID: sub.ID, Limit: verification.MaxPageSize, Desc: true})
	if err != nil {
		return err
	}
	for _, g := range grants.Items {
		out.Grants = append(out.Grants, toGrantJSON(g))
	}
	apps, err := a.svc.Applications(ctx, actor, verification.ApplicationFilter{SubjectID: sub.ID, Limit: verification.MaxPageSize, Desc: true})
	if err != nil {
		return err
	}
	for _, app := range apps.Items {
		out.Applications = append(out.Applications, a.applicationJSON(app))
	}
	c.json(200, out)
	return nil
}

// timelineEntryJSON is one dated fact of a client's history.
type timelineEntryJSON struct {
	Time string `json:"time"`
	// Kind is grant, review, application, identity or audit.
	Kind string `json:"kind"`
	// What names the fact (an application's step, a decision, a status).
	What string `json:"what"`
	// UserID is the admin who acted, or null.
	UserID *int64 `json:"userId"`
	// Ref identifies the record: the grant, review or application id, or
	// the identity session's id, or the audit entry's Seq.
	Ref string `json:"ref"`
}

// serveTimeline: extension (admin), a client's history oldest first.
func (a *Adapter) serveTimeline(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	cid, err := parseID("clientId", c.r.PathValue("clientId"))
	if err != nil {
		return err
	}
	tl, err := a.svc.Timeline(c.ctx, c.admin(), cid)
	if err != nil {
		return err
	}
	out := listJSON[timelineEntryJSON]{Total: len(tl), Data: make([]timelineEntryJSON, 0, len(tl))}
	for _, e := range tl {
		x := timelineEntryJSON{Time: formatV2(e.At), Kind: string(e.Kind), What: e.What}
		if e.AdminID != 0 {
			u := e.AdminID
			x.UserID = &u
		}
		switch {
		case e.Grant != nil:
			x.Ref = itoa(e.Grant.ID)
		case e.Review != nil:
			x.Ref = itoa(e.Review.ID)
		case e.Application != nil:
			x.Ref = itoa(e.Application.ID)
		case e.IDSession != nil:
			x.Ref = e.IDSession.ID
		case e.Audit != nil:
			x.Ref = itoa(e.Audit.Seq)
		}
		out.Data = append(out.Data, x)
	}
	c.json(200, out)
	return nil
}

// grantBody is RouteGrantLevel's body.
type grantBody struct {
	Level  int    `json:"level" validate:"required"`
	Reason string `json:"reason" validate:"required,max=500"`
}

// serveGrantLevel: extension (admin), move a client to a level with a
// required reason (recorded on the grant with the admin as userId).
func (a *Adapter) serveGrantLevel(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	cid, err := parseID("clientId", c.r.PathValue("clientId"))
	if err != nil {
		return err
	}
	raw, err := c.readBody(a.maxB)
	if err != nil {
		return err
	}
	var body grantBody
	if err := decodeJSON(raw, &body); err != nil {
		return err
	}
	c.subjectID = cid
	if _, err := a.svc.Subject(c.ctx, c.admin(), cid); err != nil {
		return err
	}
	return c.idempotent(fingerprint([]byte(c.r.URL.Path), raw), func() error {
		g, err := a.svc.GrantLevel(c.ctx, c.admin(), verification.GrantLevelParams{SubjectID: cid, Level: body.Level, Reason: body.Reason})
		if err != nil {
			return err
		}
		c.json(201, toGrantJSON(g))
		return nil
	})
}

// resetBody is RouteResetRequirement's body.
type resetBody struct {
	// Reopen also reopens an approved requirement.
	Reopen bool `json:"reopen"`
}

// serveResetRequirement: extension (admin), reset a requirement's attempts
// and lift a final rejection.
func (a *Adapter) serveResetRequirement(c *call) error {
	var body resetBody
	cid, name, raw, err := a.clientRequirementRequest(c, &body)
	if err != nil {
		return err
	}
	return c.idempotent(fingerprint([]byte(c.r.URL.Path), raw), func() error {
		st, err := a.svc.ResetRequirement(c.ctx, c.admin(), cid, name, body.Reopen)
		if err != nil {
			return err
		}
		c.json(200, a.requirementJSON(st))
		return nil
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// clientFlagsJSON is what the tag, legal-hold and erase routes answer.
type clientFlagsJSON struct {
	ClientID  int64    `json:"clientId"`
	Tags      []string `json:"tags"`
	LegalHold bool     `json:"legalHold"`
	Erased    bool     `json:"erased"`
}

func flagsJSON(s verification.Subject) clientFlagsJSON {
	return clientFlagsJSON{ClientID: s.ID, Tags: append([]string{}, s.Tags...), LegalHold: s.LegalHold, Erased: !s.RedactedAt.IsZero()}
}

// tagsBody is RouteSetTags's body.
type tagsBody struct {
	Tags []string `json:"tags" validate:"required,max=32,dive,min=1,max=64"`
}

// holdBody is RouteLegalHold's body.
type holdBody struct {
	Hold *bool `json:"hold" validate:"required"`
}

// eraseBody is RouteErase's body: an explicit confirmation.
type eraseBody struct {
	Confirm bool `json:"confirm" validate:"required"`
}

// clientAction reads a client route's id and JSON body and checks that the
// admin sees the client.
func (a *Adapter) clientAction(c *call, body any) (int64, []byte, error) {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return 0, nil, err
	}
	cid, err := parseID("clientId", c.r.PathValue("clientId"))
	if err != nil {
		return 0, nil, err
	}
	raw, err := c.readBody(a.maxB)
	if err != nil {
		return 0, nil, err
	}
	if err := decodeJSON(raw, body); err != nil {
		return 0, nil, err
	}
	c.subjectID = cid
	if _, err := a.svc.Subject(c.ctx, c.admin(), cid); err != nil {
		return 0, nil, err
	}
	return cid, raw, nil
}

// serveSetTags: extension (admin), replace a client's tags.
func (a *Adapter) serveSetTags(c *call) error {
	var body tagsBody
	cid, raw, err := a.clientAction(c, &body)
	if err != nil {
		return err
	}
	return c.idempotent(fingerprint([]byte(c.r.URL.Path), raw), func() error {
		sub, err := a.svc.SetTags(c.ctx, c.admin(), cid, body.Tags)
		if err != nil {
			return err
		}
		c.json(200, flagsJSON(sub))
		return nil
	})
}

// serveLegalHold: extension (admin), place or lift a legal hold.
func (a *Adapter) serveLegalHold(c *call) error {
	var body holdBody
	cid, raw, err := a.clientAction(c, &body)
	if err != nil {
		return err
	}
	return c.idempotent(fingerprint([]byte(c.r.URL.Path), raw), func() error {
		sub, err := a.svc.SetLegalHold(c.ctx, c.admin(), cid, *body.Hold)
		if err != nil {
			return err
		}
		c.json(200, flagsJSON(sub))
		return nil
	})
}

// serveErase: extension (admin), erase a client's personal data (refused
// under legal hold); the body must confirm.
func (a *Adapter) serveErase(c *call) error {
	var body eraseBody
	cid, raw, err := a.clientAction(c, &body)
	if err != nil {
		return err
	}
	return c.idempotent(fingerprint([]byte(c.r.URL.Path), raw), func() error {
		if err := a.svc.Erase(c.ctx, c.admin(), cid); err != nil {
			return err
		}
		sub, err := a.svc.Subject(c.ctx, c.admin(), cid)
		if err != nil {
			return err
		}
		c.json(200, flagsJSON(sub))
		return nil
	})
}

// deliveryJSON is a dead-lettered delivery.
type deliveryJSON struct {
	EventID         string `json:"eventId"`
	EventType       string `json:"eventType"`
	ClientID        int64  `json:"clientId"`
	Sink            string `json:"sink"`
	Attempts        int    `json:"attempts"`
	LastError       string `json:"lastError"`
	NextAttemptTime string `json:"nextAttemptTime"`
}

// serveDeadLetters: extension (admin without tag limits), the dead
// letters, oldest first.
func (a *Adapter) serveDeadLetters(c *call) error {
	q, err := parseQuery(c.r.URL.RawQuery, paramLimit, paramOffset)
	if err != nil {
		return err
	}
	lp, err := parseList(q)
	if err != nil {
		return err
	}
	page, err := a.svc.DeadLetters(c.ctx, c.admin(), "", lp.limit, lp.offset)
	if err != nil {
		return err
	}
	out := listJSON[deliveryJSON]{Total: page.Total, Data: make([]deliveryJSON, 0, len(page.Items))}
	for _, d := range page.Items {
		out.Data = append(out.Data, deliveryJSON{EventID: d.Event.ID, EventType: string(d.Event.Type), ClientID: d.Event.SubjectID, Sink: d.Sink,
			Attempts: d.Attempts, LastError: d.LastError, NextAttemptTime: formatV2(d.NextAttemptAt)})
	}
	c.json(200, out)
	return nil
}

// replayBody is RouteReplay's body.
type replayBody struct {
	EventID string `json:"eventId" validate:"required,max=255"`
	Sink    string `json:"sink" validate:"required,max=255"`
}

// serveReplay: extension (admin without tag limits), queue a dead letter
// again with fresh attempts.
func (a *Adapter) serveReplay(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	raw, err := c.readBody(a.maxB)
	if err != nil {
		return err
	}
	var body replayBody
	if err := decodeJSON(raw, &body); err != nil {
		return err
	}
	if err := a.svc.ReplayDelivery(c.ctx, c.admin(), body.EventID, body.Sink); err != nil {
		return err
	}
	c.json(200, map[string]string{"eventId": body.EventID, "sink": body.Sink, "status": string(verification.DeliveryPending)})
	return nil
}
