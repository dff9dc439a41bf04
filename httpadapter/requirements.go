package httpadapter

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// serveStatus: the verification status, what the caller still needs for the top level, as
// levels.Outstanding marshals it; [] when fully verified.
func (a *Adapter) serveStatus(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	id, err := c.actor()
	if err != nil {
		return err
	}
	res, err := a.svc.Status(c.ctx, id, 0)
	if err != nil {
		return err
	}
	c.writePooled(200, func(b []byte) []byte { return appendOutstanding(b, res.Outstanding) })
	return nil
}

// requirementJSON is a subject's state for one requirement (extension
// routes), in the spirit of the verification status API's status items.
type requirementJSON struct {
	Name     string            `json:"name"`
	Type     levels.AnswerType `json:"type"`
	Status   levels.Status     `json:"status"`
	Reason   string            `json:"reason,omitempty"`
	Final    bool              `json:"final,omitempty"`
	Attempts int               `json:"attempts"`
	// ValidUntil is when an approval stops counting (a screening's next
	// screen); omitted when never.
	ValidUntil *string `json:"validUntil,omitempty"`
}

func (a *Adapter) requirementJSON(st verification.RequirementState) requirementJSON {
	out := requirementJSON{Name: st.Name, Status: st.Status, Reason: st.Reason, Final: st.Final, Attempts: st.Attempts, ValidUntil: optTime(st.ValidUntil)}
	if r, ok := a.svc.Ladder().Requirement(st.Name); ok {
		out.Type = r.Type
	}
	return out
}

// requirementName validates the {name} path value against the ladder: an
// unknown requirement is 404, checked before any store call.
func (a *Adapter) requirementName(c *call) (string, error) {
	name := c.r.PathValue("name")
	if name == "" || len(name) > 128 {
		return "", newProblem(pNotFound)
	}
	if _, ok := a.svc.Ladder().Requirement(name); !ok {
		return "", newProblem(pNotFound)
	}
	return name, nil
}

// nullToNil treats a JSON null as absent.
func nullToNil(m json.RawMessage) json.RawMessage {
	if len(m) == 0 || bytes.Equal(bytes.TrimSpace(m), []byte("null")) {
		return nil
	}
	return m
}

// answerBody is RouteAnswer's body.
type answerBody struct {
	// Answer is the requirement's answer in its JSON form (see
	// levels.Requirement.Validate): true, "123456", "NL",
	// {"Question1": "answer1", ...} or {"type": "passport", "files": {...}}.
	Answer json.RawMessage `json:"answer" validate:"required"`
}

// serveAnswer: extension, the caller answers one requirement.
func (a *Adapter) serveAnswer(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	name, err := a.requirementName(c)
	if err != nil {
		return err
	}
	raw, err := c.readBody(a.maxB)
	if err != nil {
		return err
	}
	var body answerBody
	if err := decodeJSON(raw, &body); err != nil {
		return err
	}
	if body.Answer = nullToNil(body.Answer); body.Answer == nil {
		return paramProblem("answer", "is required")
	}
	id, err := c.actor()
	if err != nil {
		return err
	}
	return c.idempotent(fingerprint([]byte(name), raw), func() error {
		st, err := a.svc.Answer(c.ctx, id, name, body.Answer)
		if err != nil {
			return err
		}
		c.json(200, a.requirementJSON(st))
		return nil
	})
}

// setRequirementBody is RouteSetRequirement's body.
type setRequirementBody struct {
	// Value, when present, becomes the requirement's answer (e.g. true).
	Value json.RawMessage `json:"value"`
	// Status is what the requirement becomes; default approved.
	Status string `json:"status" validate:"omitempty,oneof=approved pending rejected"`
	// Reason is required when rejecting.
	Reason string `json:"reason" validate:"max=500"`
	// Final makes a rejection final.
	Final bool `json:"final"`
	// ValidUntil, optional when approving, is when the approval stops
	// counting (see parseValidUntil).
	ValidUntil string `json:"validUntil"`
}

// parseValidUntil reads a body's validUntil: empty for none, a date
// ("2031-05-31", the document's expiry date, read as midnight UTC) or an
// RFC 3339 time.
func parseValidUntil(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		return d, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, paramProblem("validUntil", "must be a date (YYYY-MM-DD) or an RFC 3339 time")
	}
	return t.UTC(), nil
}

// serveSetRequirement: extension (admin), set a client's requirement
// directly, e.g. verificationFlag.
func (a *Adapter) serveSetRequirement(c *call) error {
	var body setRequirementBody
	cid, name, raw, err := a.clientRequirementRequest(c, &body)
	if err != nil {
		return err
	}
	until, err := parseValidUntil(body.ValidUntil)
	if err != nil {
		return err
	}
	return c.idempotent(fingerprint([]byte(c.r.URL.Path), raw), func() error {
		st, err := a.svc.SetRequirement(c.ctx, c.admin(), verification.SetRequirementParams{
			SubjectID: cid, Requirement: name, Value: nullToNil(body.Value), Status: levels.Status(body.Status),
			Reason: body.Reason, Final: body.Final, ValidUntil: until,
		})
		if err != nil {
			return err
		}
		c.json(200, a.requirementJSON(st))
		return nil
	})
}

// reviewBody is RouteReviewRequirement's body.
type reviewBody struct {
	Decision string `json:"decision" validate:"required,oneof=approved rejected"`
	// Reason is required when rejecting.
	Reason string `json:"reason" validate:"max=500"`
	// Final makes a rejection final.
	Final bool `json:"final"`
	// ValidUntil, optional when approving, is the document's expiry as the
	// reviewer reads it (see parseValidUntil).
	ValidUntil string `json:"validUntil"`
}

// serveReviewRequirement: extension (admin), decide a pending requirement.
func (a *Adapter) serveReviewRequirement(c *call) error {
	var body reviewBody
	cid, name, raw, err := a.clientRequirementRequest(c, &body)
	if err != nil {
		return err
	}
	until, err := parseValidUntil(body.ValidUntil)
	if err != nil {
		return err
	}
	return c.idempotent(fingerprint([]byte(c.r.URL.Path), raw), func() error {
		st, err := a.svc.Review(c.ctx, c.admin(), verification.ReviewParams{
			SubjectID: cid, Requirement: name, Decision: verification.Decision(body.Decision),
			Reason: body.Reason, Final: body.Final, ValidUntil: until,
		})
		if err != nil {
			return err
		}
		c.json(200, a.requirementJSON(st))
		return nil
	})
}

// clientRequirementRequest is the common front of the admin routes on
// /clients/{clientId}/requirements/{name}: no query parameters, valid path
// values, a decoded body, and a client the Service lets the admin see
// (looked up before the Idempotency-Key is reserved).
func (a *Adapter) clientRequirementRequest(c *call, body any) (clientID int64, name string, raw []byte, err error) {
	if _, err = parseQuery(c.r.URL.RawQuery); err != nil {
		return 0, "", nil, err
	}
	if clientID, err = parseID("clientId", c.r.PathValue("clientId")); err != nil {
		return 0, "", nil, err
	}
	if name, err = a.requirementName(c); err != nil {
		return 0, "", nil, err
	}
	if raw, err = c.readBody(a.maxB); err != nil {
		return 0, "", nil, err
	}
	if err = decodeJSON(raw, body); err != nil {
		return 0, "", nil, err
	}
	c.subjectID = clientID
	if _, err = a.svc.Subject(c.ctx, c.admin(), clientID); err != nil {
		return 0, "", nil, err
	}
	return clientID, name, raw, nil
}
