package httpadapter

import (
	"time"

	"github.com/openkyc/kyc/verification"
)

// Time formats of the dialects.
const (
	// timeV2 is the verification history's createTime: "2022-01-01T00:00:00+00:00" (UTC).
	timeV2 = "2006-01-02T15:04:05+00:00"
	// timeExternal is the pending request's "2024-01-15 12:00:00 UTC".
	timeExternal = "2006-01-02 15:04:05 UTC"
	// timeNaturalPerson is identity verification's "2024-01-15T10:30:00.000Z".
	timeNaturalPerson = "2006-01-02T15:04:05.000Z"
)

func formatV2(t time.Time) string { return t.UTC().Format(timeV2) }

// levelJSON is a level reference of the verification history.
type levelJSON struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

type reasonJSON struct {
	Name string `json:"name"`
}

// grantJSON is a grant in the verification history's shape. userId is an integer, or
// null when the grant was automatic (the documents show both "1" and 11; the
// field table says integer).
type grantJSON struct {
	ID            int64      `json:"id"`
	ClientID      int64      `json:"clientId"`
	CurrentLevel  levelJSON  `json:"currentLevel"`
	PreviousLevel *levelJSON `json:"previousLevel"`
	Reason        reasonJSON `json:"reason"`
	UserID        *int64     `json:"userId"`
	CreateTime    string     `json:"createTime"`
}

func toGrantJSON(g verification.Grant) grantJSON {
	out := grantJSON{
		ID: g.ID, ClientID: g.SubjectID,
		CurrentLevel: levelRef(g.Level),
		Reason:       reasonJSON{g.Reason},
		CreateTime:   formatV2(g.CreatedAt),
	}
	if g.Previous != nil {
		p := levelRef(*g.Previous)
		out.PreviousLevel = &p
	}
	if g.AdminID != 0 {
		u := g.AdminID
		out.UserID = &u
	}
	return out
}

func levelRef(l verification.LevelRef) levelJSON { return levelJSON{l.ID, l.Name} }

// listJSON is the verification history's {"total": n, "data": [...]}.
type listJSON[T any] struct {
	Total int `json:"total"`
	Data  []T `json:"data"`
}

// serveMyVerifications: the verification history of the caller's grants.
func (a *Adapter) serveMyVerifications(c *call) error {
	q, err := parseQuery(c.r.URL.RawQuery, listParamNames...)
	if err != nil {
		return err
	}
	lp, err := parseList(q)
	if err != nil {
		return err
	}
	id, err := c.actor()
	if err != nil {
		return err
	}
	page, err := a.svc.Grants(c.ctx, verification.UserActor(id), verification.GrantFilter{Limit: lp.limit, Offset: lp.offset, Desc: lp.desc})
	if err != nil {
		return err
	}
	c.writePooled(200, func(b []byte) []byte { return appendGrantList(b, page.Total, page.Items) })
	return nil
}

// serveMyVerification: a verification history detail, {"total": 1, "data": [grant]}.
// Another client's grant answers 404 exactly as an absent one.
func (a *Adapter) serveMyVerification(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	gid, err := parseID("verificationId", c.r.PathValue("verificationId"))
	if err != nil {
		return err
	}
	id, err := c.actor()
	if err != nil {
		return err
	}
	g, err := a.svc.Grant(c.ctx, verification.UserActor(id), gid)
	if err != nil {
		return err
	}
	c.writePooled(200, func(b []byte) []byte { return appendGrantList(b, 1, []verification.Grant{g}) })
	return nil
}

// serveVerifications: the admin history of every client's grants, for
// admins; the Service scopes it (and filter[clientId]) by the admin's tags.
func (a *Adapter) serveVerifications(c *call) error {
	q, err := parseQuery(c.r.URL.RawQuery, adminListParamNames...)
	if err != nil {
		return err
	}
	lp, err := parseList(q)
	if err != nil {
		return err
	}
	f := verification.GrantFilter{Limit: lp.limit, Offset: lp.offset, Desc: lp.desc}
	if v, ok := q[paramClientID]; ok {
		if f.SubjectID, err = parseID(paramClientID, v); err != nil {
			return err
		}
	}
	page, err := a.svc.Grants(c.ctx, c.admin(), f)
	if err != nil {
		return err
	}
	c.writePooled(200, func(b []byte) []byte { return appendGrantList(b, page.Total, page.Items) })
	return nil
}

// serveVerification: an admin history detail, scoped by the admin's tags.
func (a *Adapter) serveVerification(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	gid, err := parseID("verificationId", c.r.PathValue("verificationId"))
	if err != nil {
		return err
	}
	g, err := a.svc.Grant(c.ctx, c.admin(), gid)
	if err != nil {
		return err
	}
	c.writePooled(200, func(b []byte) []byte { return appendGrantList(b, 1, []verification.Grant{g}) })
	return nil
}
