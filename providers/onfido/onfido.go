package onfido

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/internal/outbound"
	"github.com/openkyc/kyc/providers/internal/wire"
)

// Name is the provider's name in decisions and routes.
const Name = "onfido"

// DefaultBaseURL is the EU region's API host; the US and Canadian regions
// are https://api.us.onfido.com and https://api.ca.onfido.com.
const DefaultBaseURL = "https://api.eu.onfido.com"

// APIVersion is the path prefix of the API version the adapter speaks.
const APIVersion = "/v3.6"

// HeaderSignature carries the hex HMAC-SHA256 of the raw webhook body,
// keyed by the webhook's token.
const HeaderSignature = "X-SHA2-Signature"

// Config configures the adapter.
type Config struct {
	// WebhookToken is the token Onfido returned when the webhook was
	// registered, the HMAC key of X-SHA2-Signature. Required.
	WebhookToken string
	// APIToken authenticates API calls ("Authorization: Token token=...");
	// required by StartSession only.
	APIToken string
	// WorkflowID is the Studio workflow StartSession runs; required by
	// StartSession only.
	WorkflowID string
	// BaseURL is the region's API host; default DefaultBaseURL.
	BaseURL string
	// HTTP configures outbound calls (timeouts, retries, client).
	HTTP providers.HTTPOptions
}

// Provider is the Onfido adapter; it implements providers.Provider and is
// safe for concurrent use.
type Provider struct {
	webhookToken []byte
	apiToken     string
	workflowID   string
	client       *outbound.Client
}

var _ providers.Provider = (*Provider)(nil)

// New returns the adapter; the error names the missing or invalid setting.
func New(cfg Config) (*Provider, error) {
	if cfg.WebhookToken == "" {
		return nil, errors.New("onfido: Config.WebhookToken is required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	c, err := outbound.New(Name, cfg.BaseURL, cfg.HTTP)
	if err != nil {
		return nil, err
	}
	return &Provider{webhookToken: []byte(cfg.WebhookToken), apiToken: cfg.APIToken, workflowID: cfg.WorkflowID, client: c}, nil
}

// Name returns "onfido".
func (p *Provider) Name() string { return Name }

// Sign returns the X-SHA2-Signature of a webhook body under the webhook
// token, as Onfido computes it; tests and demos use it to sign deliveries.
func (p *Provider) Sign(body []byte) string {
	return providers.SignHMAC(sha256.New, p.webhookToken, body)
}

// Verify checks X-SHA2-Signature, the hex HMAC-SHA256 of the raw body keyed
// by the webhook token, in constant time. Errors match
// providers.ErrBadSignature.
func (p *Provider) Verify(header http.Header, body []byte) error {
	sig := header.Get(HeaderSignature)
	if sig == "" {
		return fmt.Errorf("%w: no %s header", providers.ErrBadSignature, HeaderSignature)
	}
	return providers.VerifyHMAC(sha256.New, p.webhookToken, body, sig)
}

type event struct {
	Payload *struct {
		ResourceType wire.String `json:"resource_type"`
		Action       wire.String `json:"action"`
		Object       *struct {
			ID          wire.String `json:"id"`
			Status      wire.String `json:"status"`
			StartedAt   wire.String `json:"started_at_iso8601"`
			CompletedAt wire.String `json:"completed_at_iso8601"`
		} `json:"object"`
		Resource *struct {
			ApplicantID wire.String  `json:"applicant_id"`
			Reasons     wire.Strings `json:"reasons"`
		} `json:"resource"`
	} `json:"payload"`
}

// Parse reads a verified webhook event. Workflow run events
// (resource_type "workflow_run", actions workflow_run.started and
// workflow_run.completed) give one decision, mapped by object.status (see
// the package docs); every other event (checks, reports, workflow tasks,
// watchlist monitors, evidence files) gives none.
func (p *Provider) Parse(body []byte) ([]providers.Decision, error) {
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, providers.MalformedPayload(Name, "not the documented JSON object")
	}
	pl := ev.Payload
	switch {
	case pl == nil:
		return nil, providers.MalformedPayload(Name, "payload is missing")
	case pl.ResourceType == "" || pl.Action == "":
		return nil, providers.MalformedPayload(Name, "payload.resource_type and payload.action are required")
	case pl.Object == nil || pl.Object.ID == "":
		return nil, providers.MalformedPayload(Name, "payload.object.id is required")
	}
	if pl.ResourceType != "workflow_run" || (pl.Action != "workflow_run.started" && pl.Action != "workflow_run.completed") {
		return nil, nil
	}
	obj := pl.Object
	outcome, final, ok := outcomeOf(string(obj.Status))
	if !ok {
		return nil, providers.MalformedPayload(Name, "payload.object.status %q is not a documented workflow run status", obj.Status)
	}
	at, err := wire.Time(string(obj.CompletedAt))
	if err != nil {
		return nil, providers.MalformedPayload(Name, "payload.object.completed_at_iso8601 is not an RFC 3339 time")
	}
	if at.IsZero() {
		if at, err = wire.Time(string(obj.StartedAt)); err != nil {
			return nil, providers.MalformedPayload(Name, "payload.object.started_at_iso8601 is not an RFC 3339 time")
		}
	}
	d := providers.Decision{
		Provider:   Name,
		EventKey:   providers.DeriveEventKey(Name, string(pl.ResourceType), string(pl.Action), string(obj.ID), string(obj.Status), string(obj.StartedAt), string(obj.CompletedAt)),
		SessionID:  string(obj.ID),
		Outcome:    outcome,
		Final:      final,
		OccurredAt: at,
	}
	if r := pl.Resource; r != nil {
		d.SubjectRef = string(r.ApplicantID)
		d.ReasonCodes = r.Reasons.Plain()
	}
	return []providers.Decision{d}, nil
}

// outcomeOf maps a workflow run status to an outcome and finality.
func outcomeOf(status string) (providers.Outcome, bool, bool) {
	switch status {
	case "awaiting_input":
		return providers.OutcomeStarted, false, true
	case "processing":
		return providers.OutcomeSubmitted, false, true
	case "awaiting_client_input", "review", "error":
		return providers.OutcomeReview, false, true
	case "approved":
		return providers.OutcomeApproved, true, true
	case "declined":
		return providers.OutcomeDeclined, true, true
	case "abandoned":
		return providers.OutcomeExpired, true, true
	}
	return "", false, false
}

// StartSession creates an applicant (POST /v3.6/applicants, with the names
// when given) and a workflow run of Config.WorkflowID for it (POST
// /v3.6/workflow_runs, customer_user_id = p.SubjectRef, the link's
// completed_redirect_url = p.ReturnURL, its language = p.Locale). The run
// is the session: Session.ID is its id, Session.URL its link.url, and
// Session.SubjectRef the applicant id, which Onfido's webhooks carry. If
// the second call fails the applicant stays behind; a retry creates a new
// one.
func (p *Provider) StartSession(ctx context.Context, sp providers.StartParams) (providers.Session, error) {
	if err := sp.Validate(); err != nil {
		return providers.Session{}, err
	}
	if p.apiToken == "" || p.workflowID == "" {
		return providers.Session{}, providers.InvalidParams("onfido: Config.APIToken and Config.WorkflowID are required to start sessions")
	}
	applicant, err := json.Marshal(struct {
		FirstName string `json:"first_name,omitempty"`
		LastName  string `json:"last_name,omitempty"`
	}{sp.FirstName, sp.LastName})
	if err != nil {
		return providers.Session{}, providers.InvalidParams("cannot encode the applicant")
	}
	var created struct {
		ID string `json:"id"`
	}
	op := "POST " + APIVersion + "/applicants"
	if err := p.client.JSON(ctx, p.request(op, APIVersion+"/applicants", applicant), &created); err != nil {
		return providers.Session{}, err
	}
	if outbound.CheckID("applicant id", created.ID) != nil {
		return providers.Session{}, badAnswer(op, "id is missing or not a valid id")
	}

	type link struct {
		CompletedRedirectURL string `json:"completed_redirect_url,omitempty"`
		Language             string `json:"language,omitempty"`
	}
	run := struct {
		WorkflowID     string `json:"workflow_id"`
		ApplicantID    string `json:"applicant_id"`
		CustomerUserID string `json:"customer_user_id"`
		Link           *link  `json:"link,omitempty"`
	}{WorkflowID: p.workflowID, ApplicantID: created.ID, CustomerUserID: sp.SubjectRef}
	if sp.ReturnURL != "" || sp.Locale != "" {
		run.Link = &link{CompletedRedirectURL: sp.ReturnURL, Language: sp.Locale}
	}
	body, err := json.Marshal(run)
	if err != nil {
		return providers.Session{}, providers.InvalidParams("cannot encode the workflow run")
	}
	var started struct {
		ID   string `json:"id"`
		Link *struct {
			URL       string      `json:"url"`
			ExpiresAt wire.String `json:"expires_at"`
		} `json:"link"`
	}
	op = "POST " + APIVersion + "/workflow_runs"
	if err := p.client.JSON(ctx, p.request(op, APIVersion+"/workflow_runs", body), &started); err != nil {
		return providers.Session{}, err
	}
	if outbound.CheckID("workflow run id", started.ID) != nil || started.Link == nil || started.Link.URL == "" {
		return providers.Session{}, badAnswer(op, "id and link.url are required")
	}
	expires, err := wire.Time(string(started.Link.ExpiresAt))
	if err != nil {
		expires = time.Time{}
	}
	return providers.Session{Provider: Name, ID: started.ID, URL: started.Link.URL, SubjectRef: created.ID, ExpiresAt: expires}, nil
}

func (p *Provider) request(op, path string, body []byte) outbound.Request {
	h := http.Header{}
	h.Set("Authorization", "Token token="+p.apiToken)
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	return outbound.Request{Op: op, Method: http.MethodPost, Path: path, Body: body, Header: h}
}

func badAnswer(op, msg string) error {
	return &providers.CallError{Provider: Name, Op: op, StatusCode: http.StatusOK, Err: providers.ErrBadResponse, Cause: errors.New(strings.TrimSpace(msg))}
}
