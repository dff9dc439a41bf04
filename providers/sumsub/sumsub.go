package sumsub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/internal/outbound"
	"github.com/openkyc/kyc/providers/internal/wire"
)

// Name is the provider's name in decisions and routes.
const Name = "sumsub"

// DefaultBaseURL is Sumsub's API host.
const DefaultBaseURL = "https://api.sumsub.com"

// DefaultLinkTTL is how long a WebSDK link StartSession creates stays valid.
const DefaultLinkTTL = 30 * time.Minute

// The headers of Sumsub's webhook and API signatures.
const (
	// HeaderDigest carries the hex HMAC of the raw webhook body.
	HeaderDigest = "X-Payload-Digest"
	// HeaderDigestAlg names its algorithm; absent means HMAC_SHA256_HEX.
	HeaderDigestAlg = "X-Payload-Digest-Alg"
	// HeaderAppToken, HeaderAccessTs and HeaderAccessSig authenticate API calls.
	HeaderAppToken = "X-App-Token"
	// HeaderAccessTs is the request time in Unix seconds.
	HeaderAccessTs = "X-App-Access-Ts"
	// HeaderAccessSig is the hex HMAC-SHA256 of ts + method + URI + body.
	HeaderAccessSig = "X-App-Access-Sig"
)

// The digest algorithms X-Payload-Digest-Alg may name.
var digestAlgs = map[string]func() hash.Hash{
	"HMAC_SHA1_HEX":   sha1.New,
	"HMAC_SHA256_HEX": sha256.New,
	"HMAC_SHA512_HEX": sha512.New,
}

// Config configures the adapter.
type Config struct {
	// WebhookSecret is the webhook's secret key, the HMAC key of
	// X-Payload-Digest. Required.
	WebhookSecret string
	// AppToken and SecretKey authenticate API calls; required by
	// StartSession only.
	AppToken string
	// SecretKey is the app token's secret key: see AppToken.
	SecretKey string
	// LevelName is the verification level applicants are created in;
	// required by StartSession only.
	LevelName string
	// BaseURL is the API's base URL; default DefaultBaseURL.
	BaseURL string
	// LinkTTL is how long WebSDK links stay valid; default DefaultLinkTTL.
	LinkTTL time.Duration
	// Now is the clock that timestamps API signatures; default time.Now.
	Now func() time.Time
	// HTTP configures outbound calls (timeouts, retries, client).
	HTTP providers.HTTPOptions
}

// Provider is the Sumsub adapter; it implements providers.Provider and is
// safe for concurrent use.
type Provider struct {
	webhookSecret []byte
	appToken      string
	secretKey     []byte
	levelName     string
	linkTTL       time.Duration
	now           func() time.Time
	client        *outbound.Client
}

var _ providers.Provider = (*Provider)(nil)

// New returns the adapter; the error names the missing or invalid setting.
func New(cfg Config) (*Provider, error) {
	if cfg.WebhookSecret == "" {
		return nil, errors.New("sumsub: Config.WebhookSecret is required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.LinkTTL <= 0 {
		cfg.LinkTTL = DefaultLinkTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c, err := outbound.New(Name, cfg.BaseURL, cfg.HTTP)
	if err != nil {
		return nil, err
	}
	return &Provider{
		webhookSecret: []byte(cfg.WebhookSecret), appToken: cfg.AppToken, secretKey: []byte(cfg.SecretKey),
		levelName: cfg.LevelName, linkTTL: cfg.LinkTTL, now: cfg.Now, client: c,
	}, nil
}

// Name returns "sumsub".
func (p *Provider) Name() string { return Name }

// Sign returns the X-Payload-Digest of a webhook body under the webhook
// secret with alg ("HMAC_SHA1_HEX", "HMAC_SHA256_HEX", "HMAC_SHA512_HEX";
// "" means HMAC_SHA256_HEX), as Sumsub computes it. Tests and demos use it.
func (p *Provider) Sign(alg string, body []byte) (string, error) {
	h, err := digestAlg(alg)
	if err != nil {
		return "", err
	}
	return providers.SignHMAC(h, p.webhookSecret, body), nil
}

func digestAlg(alg string) (func() hash.Hash, error) {
	if alg == "" {
		alg = "HMAC_SHA256_HEX"
	}
	h, ok := digestAlgs[alg]
	if !ok {
		return nil, fmt.Errorf("%w: unsupported %s", providers.ErrBadSignature, HeaderDigestAlg)
	}
	return h, nil
}

// Verify checks X-Payload-Digest, the hex HMAC of the raw body under the
// webhook secret with the algorithm X-Payload-Digest-Alg names (SHA-1,
// SHA-256 by default, or SHA-512), in constant time. Any other algorithm
// is refused. Errors match providers.ErrBadSignature.
func (p *Provider) Verify(header http.Header, body []byte) error {
	digest := header.Get(HeaderDigest)
	if digest == "" {
		return fmt.Errorf("%w: no %s header", providers.ErrBadSignature, HeaderDigest)
	}
	h, err := digestAlg(header.Get(HeaderDigestAlg))
	if err != nil {
		return err
	}
	return providers.VerifyHMAC(h, p.webhookSecret, body, digest)
}

type payload struct {
	Type           wire.String `json:"type"`
	ApplicantID    wire.String `json:"applicantId"`
	InspectionID   wire.String `json:"inspectionId"`
	CorrelationID  wire.String `json:"correlationId"`
	ExternalUserID wire.String `json:"externalUserId"`
	ReviewStatus   wire.String `json:"reviewStatus"`
	ReviewResult   *struct {
		ReviewAnswer      wire.String  `json:"reviewAnswer"`
		RejectLabels      wire.Strings `json:"rejectLabels"`
		ReviewRejectType  wire.String  `json:"reviewRejectType"`
		ModerationComment wire.String  `json:"moderationComment"`
	} `json:"reviewResult"`
	CreatedAtMs wire.String `json:"createdAtMs"`
	CreatedAt   wire.String `json:"createdAt"`
}

// Parse reads a verified user verification webhook; see the package docs
// for the mapping and the event key. Webhook types that do not move an
// applicant's verification (tags, personal info, actions, video ident,
// activation) give no decision.
func (p *Provider) Parse(body []byte) ([]providers.Decision, error) {
	var pl payload
	if err := json.Unmarshal(body, &pl); err != nil {
		return nil, providers.MalformedPayload(Name, "not the documented JSON object")
	}
	if pl.Type == "" {
		return nil, providers.MalformedPayload(Name, "type is required")
	}
	var (
		outcome providers.Outcome
		final   bool
	)
	switch pl.Type {
	case "applicantCreated", "applicantReset":
		outcome = providers.OutcomeStarted
	case "applicantPending":
		outcome = providers.OutcomeSubmitted
	case "applicantOnHold":
		outcome = providers.OutcomeReview
	case "applicantReviewed", "applicantWorkflowCompleted":
		r := pl.ReviewResult
		if r == nil {
			return nil, providers.MalformedPayload(Name, "%s without reviewResult", pl.Type)
		}
		switch {
		case r.ReviewAnswer == "GREEN":
			outcome, final = providers.OutcomeApproved, true
		case r.ReviewAnswer == "RED" && r.ReviewRejectType == "RETRY":
			outcome = providers.OutcomeResubmissionRequested
		case r.ReviewAnswer == "RED":
			outcome, final = providers.OutcomeDeclined, true
		default:
			return nil, providers.MalformedPayload(Name, "reviewResult.reviewAnswer %q is neither GREEN nor RED", r.ReviewAnswer)
		}
	default:
		return nil, nil
	}
	if pl.ApplicantID == "" {
		return nil, providers.MalformedPayload(Name, "applicantId is required")
	}
	stamp := string(pl.CreatedAtMs)
	if stamp == "" {
		stamp = string(pl.CreatedAt)
	}
	at, err := parseTime(stamp)
	if err != nil {
		return nil, providers.MalformedPayload(Name, "createdAtMs is not a documented timestamp")
	}
	d := providers.Decision{
		Provider:   Name,
		SessionID:  string(pl.ApplicantID),
		SubjectRef: string(pl.ExternalUserID),
		Outcome:    outcome,
		Final:      final,
		OccurredAt: at,
	}
	var answer, rejectType string
	if r := pl.ReviewResult; r != nil {
		answer, rejectType = string(r.ReviewAnswer), string(r.ReviewRejectType)
		if outcome == providers.OutcomeDeclined || outcome == providers.OutcomeResubmissionRequested {
			d.ReasonCodes = r.RejectLabels.Plain()
			d.Reason = string(r.ModerationComment)
		}
	}
	d.EventKey = providers.DeriveEventKey(Name, string(pl.Type), string(pl.ApplicantID), string(pl.InspectionID),
		string(pl.CorrelationID), stamp, string(pl.ReviewStatus), answer, rejectType)
	return []providers.Decision{d}, nil
}

// The timestamp layouts Sumsub uses: createdAtMs "2020-02-21 13:23:19.321"
// (UTC), createdAt "2023-03-14 12:50:27+0000"; RFC 3339 is accepted too.
var layouts = []string{
	"2006-01-02 15:04:05.000",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05-0700",
	"2006-01-02 15:04:05.000-0700",
	time.RFC3339Nano,
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("no timestamp")
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms).UTC(), nil
	}
	return time.Time{}, errors.New("unknown layout")
}

// StartSession creates the applicant (POST /resources/applicants?levelName=
// with externalUserId = p.SubjectRef and the names as fixedInfo; if Sumsub
// answers 409 because it exists, GET /resources/applicants/-;externalUserId=
// .../one finds it) and a WebSDK link for it (POST
// /resources/sdkIntegrations/levels/-/websdkLink, redirecting to
// p.ReturnURL, in p.Locale). Session.ID is the applicant id, which
// webhooks carry as applicantId. Every call is signed with X-App-Token,
// X-App-Access-Ts and X-App-Access-Sig.
func (p *Provider) StartSession(ctx context.Context, sp providers.StartParams) (providers.Session, error) {
	if err := sp.Validate(); err != nil {
		return providers.Session{}, err
	}
	if p.appToken == "" || len(p.secretKey) == 0 || p.levelName == "" {
		return providers.Session{}, providers.InvalidParams("sumsub: Config.AppToken, Config.SecretKey and Config.LevelName are required to start sessions")
	}
	applicantID, err := p.applicant(ctx, sp)
	if err != nil {
		return providers.Session{}, err
	}

	type redirect struct {
		SuccessURL string `json:"successUrl"`
		RejectURL  string `json:"rejectUrl"`
	}
	link := struct {
		LevelName string    `json:"levelName"`
		UserID    string    `json:"userId"`
		TTLInSecs int64     `json:"ttlInSecs"`
		Redirect  *redirect `json:"redirect,omitempty"`
	}{LevelName: p.levelName, UserID: sp.SubjectRef, TTLInSecs: int64(p.linkTTL / time.Second)}
	if sp.ReturnURL != "" {
		link.Redirect = &redirect{SuccessURL: sp.ReturnURL, RejectURL: sp.ReturnURL}
	}
	body, err := json.Marshal(link)
	if err != nil {
		return providers.Session{}, providers.InvalidParams("cannot encode the link request")
	}
	var q url.Values
	if sp.Locale != "" {
		q = url.Values{"lang": {sp.Locale}}
	}
	var answer struct {
		URL string `json:"url"`
	}
	op := "POST /resources/sdkIntegrations/levels/-/websdkLink"
	issued := p.now()
	if err := p.client.JSON(ctx, p.request(op, http.MethodPost, "/resources/sdkIntegrations/levels/-/websdkLink", q, body), &answer); err != nil {
		return providers.Session{}, err
	}
	if answer.URL == "" {
		return providers.Session{}, badAnswer(op, "url is required")
	}
	return providers.Session{Provider: Name, ID: applicantID, URL: answer.URL, SubjectRef: sp.SubjectRef, ExpiresAt: issued.Add(p.linkTTL).UTC()}, nil
}

// applicant creates the subject's applicant, or finds it when it exists.
func (p *Provider) applicant(ctx context.Context, sp providers.StartParams) (string, error) {
	type fixedInfo struct {
		FirstName string `json:"firstName,omitempty"`
		LastName  string `json:"lastName,omitempty"`
	}
	req := struct {
		ExternalUserID string     `json:"externalUserId"`
		FixedInfo      *fixedInfo `json:"fixedInfo,omitempty"`
	}{ExternalUserID: sp.SubjectRef}
	if sp.FirstName != "" || sp.LastName != "" {
		req.FixedInfo = &fixedInfo{FirstName: sp.FirstName, LastName: sp.LastName}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", providers.InvalidParams("cannot encode the applicant")
	}
	var answer struct {
		ID string `json:"id"`
	}
	op := "POST /resources/applicants"
	err = p.client.JSON(ctx, p.request(op, http.MethodPost, "/resources/applicants", url.Values{"levelName": {p.levelName}}, body), &answer)
	var ce *providers.CallError
	if errors.As(err, &ce) && ce.StatusCode == http.StatusConflict {
		op = "GET /resources/applicants/-;externalUserId={id}/one"
		path := "/resources/applicants/-;externalUserId=" + url.PathEscape(sp.SubjectRef) + "/one"
		err = p.client.JSON(ctx, p.request(op, http.MethodGet, path, nil, nil), &answer)
	}
	if err != nil {
		return "", err
	}
	if outbound.CheckID("applicant id", answer.ID) != nil {
		return "", badAnswer(op, "id is missing or not a valid id")
	}
	return answer.ID, nil
}

// request builds an API call; Sign stamps each attempt with the time of
// sending, as Sumsub checks the timestamp.
func (p *Provider) request(op, method, path string, q url.Values, body []byte) outbound.Request {
	h := http.Header{}
	h.Set(HeaderAppToken, p.appToken)
	h.Set("Accept", "application/json")
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	return outbound.Request{Op: op, Method: method, Path: path, Query: q, Body: body, Header: h,
		Sign: func(req *http.Request, body []byte) {
			ts := strconv.FormatInt(p.now().Unix(), 10)
			req.Header.Set(HeaderAccessTs, ts)
			req.Header.Set(HeaderAccessSig, AccessSignature(p.secretKey, ts, req.Method, req.URL.RequestURI(), body))
		}}
}

// AccessSignature is X-App-Access-Sig: the lower-case hex HMAC-SHA256,
// under the app token's secret key, of the timestamp, the upper-case
// method, the request URI (path and query, no host) and the body,
// concatenated.
func AccessSignature(secretKey []byte, ts, method, requestURI string, body []byte) string {
	msg := make([]byte, 0, len(ts)+len(method)+len(requestURI)+len(body))
	msg = append(append(append(append(msg, ts...), method...), requestURI...), body...)
	return providers.SignHMAC(sha256.New, secretKey, msg)
}

func badAnswer(op, msg string) error {
	return &providers.CallError{Provider: Name, Op: op, StatusCode: http.StatusOK, Err: providers.ErrBadResponse, Cause: errors.New(msg)}
}
