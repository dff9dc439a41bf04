package httpadapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/verification"
)

// problemKind is what went wrong, independent of how a dialect words it.
type problemKind uint8

const (
	pInternal problemKind = iota
	pUnavailable
	pNoCredentials
	pCredentialsExpired
	pCredentialsInvalid
	pMultipleMethods
	pIdentifierMissing
	pIdentifierMalformed
	pIdentifierNotLinked
	pIdentifierNotTokenUser
	pSubjectDeleted
	pForbidden
	pMissingScope
	pUnknownParam
	pInvalidParam
	pNotFound
	pConflict
	pIdentifierInUse
	pPendingDocument
	pAttemptsExhausted
	pExpired
	pTooLarge
	pUnsupportedMedia
	// pUploadQuota: the subject's unsubmitted uploads are at their limit.
	pUploadQuota
	pIdempotencyReuse
	pIdempotencyInProgress
	pBadSignature
	pExpiredSignature
	// pNoRoute: no route has the request's path (the router's 404).
	pNoRoute
	// pMethodNotAllowed: a route has the path, not the method (405);
	// detail lists the allowed methods.
	pMethodNotAllowed
	// pWebhookSignature: a provider webhook's signature does not verify (401).
	pWebhookSignature
	// pMalformedPayload: a verified provider webhook is not in the
	// provider's documented shape (400).
	pMalformedPayload
	// pUnknownProvider: no provider of the webhook route's name (404).
	pUnknownProvider
	numProblems
)

// credClass says which ER7xx/ER8xx codes an authentication failure gets.
type credClass uint8

const (
	credUserToken credClass = iota // ER700-ER702
	credToken                      // ER800-ER802
	credAPIKey                     // ER805-ER806
)

// problem is an error answered to the client. Every dialect renders every
// kind; param, detail and scope fill in the wording, cause goes to logs.
type problem struct {
	kind problemKind
	// cred is set on authentication failures.
	cred credClass
	// param names the offending parameter, header or field.
	param string
	// detail says what is wrong with it (safe to show).
	detail string
	// scope is the missing scope (pMissingScope).
	scope string
	// cause is the internal error, for logs only.
	cause error
}

func (p *problem) Error() string {
	s := "httpadapter: " + p.kind.String()
	if p.param != "" {
		s += " " + p.param
	}
	if p.detail != "" {
		s += ": " + p.detail
	}
	if p.cause != nil {
		s += ": " + p.cause.Error()
	}
	return s
}

func (k problemKind) String() string {
	if k < numProblems {
		return problems[k].name
	}
	return fmt.Sprintf("problem(%d)", uint8(k))
}

func newProblem(k problemKind) *problem { return &problem{kind: k} }

func internalProblem(cause error) *problem { return &problem{kind: pInternal, cause: cause} }

// paramProblem reports an invalid parameter, header or body field.
func paramProblem(param, format string, args ...any) *problem {
	return &problem{kind: pInvalidParam, param: param, detail: fmt.Sprintf(format, args...)}
}

func unknownParam(param string) *problem {
	return &problem{kind: pUnknownParam, param: param, detail: "is not a parameter of this route"}
}

// wording is how one dialect answers one kind: a status and a text, fixed
// or made from the problem. A zero wording falls back to the /api/v2
// status, named generically (genericName).
type wording struct {
	status int
	text   string
	textf  func(p *problem) string
}

func (w wording) say(p *problem) string {
	if w.textf != nil {
		return w.textf(p)
	}
	return w.text
}

// problemRow is one kind in every dialect: the one table the three
// renderers read.
type problemRow struct {
	// name is the kind as logged.
	name string
	// codes are the /api/v2 catalog code by credClass (one code for the
	// kinds that are not authentication failures).
	codes [3]verification.Code
	// status is the /api/v2 status.
	status int
	// v2 overrides the catalog message; v2Detail appends the problem's
	// detail to it as a sentence.
	v2       func(p *problem, e verification.CatalogEntry) string
	v2Detail bool
	// external is the pending request API's {"error", "message"}; naturalPerson is seed
	// 003's {"error"}.
	external, naturalPerson wording
	// from lists the core errors that are this kind, with the detail the
	// problem shows ("" keeps the error's message for the kinds whose
	// wording uses one).
	from []source
}

// source is a core error and the detail shown for it.
type source struct {
	err    error
	detail string
}

func one(c verification.Code) [3]verification.Code { return [3]verification.Code{c, c, c} }

func fixed(text string) func(*problem, verification.CatalogEntry) string {
	return func(*problem, verification.CatalogEntry) string { return text }
}

var (
	extForbidden = wording{http.StatusForbidden, "forbidden", func(*problem) string { return "These credentials may not use this endpoint." }}
	extNotFound  = wording{http.StatusNotFound, "not_found", func(*problem) string { return "The account could not be found." }}
	extInvalid   = wording{http.StatusBadRequest, "invalid_parameter", func(p *problem) string {
		return fmt.Sprintf("Invalid parameter %q: %s.", p.param, p.detail)
	}}
	npInvalid = wording{status: http.StatusBadRequest, textf: func(p *problem) string { return "invalid_parameter: " + p.param }}
	v2Request = func(p *problem, _ verification.CatalogEntry) string {
		return fmt.Sprintf("Invalid request: %q %s.", p.param, p.detail)
	}
)

// problems is the one table of every kind in every dialect (statuses are
// listed in doc.go). External wordings keep their name in text and their
// message in textf.
var problems = [numProblems]problemRow{
	pInternal: {name: "internal", codes: one(CodeGeneral), status: http.StatusInternalServerError,
		external:      wording{http.StatusInternalServerError, "internal_server_error", func(*problem) string { return "Something unexpected happened server side." }},
		naturalPerson: wording{status: http.StatusInternalServerError, text: "Internal server error"}},
	pUnavailable: {name: "unavailable", codes: one(CodeGeneral), status: http.StatusServiceUnavailable,
		external:      wording{http.StatusServiceUnavailable, "service_unavailable", func(*problem) string { return "The service is unavailable, retry later." }},
		naturalPerson: wording{status: http.StatusServiceUnavailable, text: "Service unavailable"},
		from:          []source{{err: verification.ErrClosed}, {err: verification.ErrUnavailable}, {err: context.Canceled}, {err: context.DeadlineExceeded}}},
	pNoCredentials: {name: "no_credentials", codes: [3]verification.Code{CodeUserTokenNotFound, CodeTokenNotFound, CodeAPIKeyNotFound}, status: http.StatusUnauthorized,
		external:      wording{http.StatusUnauthorized, "missing_token", func(*problem) string { return "An access token is required." }},
		naturalPerson: wording{status: http.StatusUnauthorized, text: "missing_token"}},
	pCredentialsExpired: {name: "credentials_expired", codes: [3]verification.Code{CodeUserTokenExpired, CodeTokenExpired, CodeAPIKeyInvalid}, status: http.StatusUnauthorized,
		external:      wording{http.StatusUnauthorized, "invalid_token", func(*problem) string { return "The access token has expired." }},
		naturalPerson: wording{status: http.StatusUnauthorized, text: "invalid_token"}},
	pCredentialsInvalid: {name: "credentials_invalid", codes: [3]verification.Code{CodeUserTokenInvalid, CodeTokenInvalid, CodeAPIKeyInvalid}, status: http.StatusUnauthorized,
		external:      wording{http.StatusUnauthorized, "invalid_token", func(*problem) string { return "The access token is invalid." }},
		naturalPerson: wording{status: http.StatusUnauthorized, text: "invalid_token"}},
	pMultipleMethods: {name: "multiple_methods", codes: one(CodeMultipleAuthMethods), status: http.StatusBadRequest,
		external:      wording{http.StatusBadRequest, "invalid_request", func(*problem) string { return "Use exactly one authorization method." }},
		naturalPerson: wording{status: http.StatusUnauthorized, text: "invalid_token"}},
	pIdentifierMissing: {name: "identifier_missing", codes: one(CodeIdentifierMissing), status: http.StatusBadRequest,
		external: extInvalid, naturalPerson: npInvalid},
	pIdentifierMalformed: {name: "identifier_malformed", codes: one(verification.CodeIdentifierMalformed), status: http.StatusBadRequest,
		external: extInvalid, naturalPerson: npInvalid},
	pIdentifierNotLinked: {name: "identifier_not_linked", codes: one(verification.CodeIdentifierNotLinked), status: http.StatusNotFound,
		external: extNotFound, naturalPerson: wording{status: http.StatusNotFound, text: "not_found"}},
	pIdentifierNotTokenUser: {name: "identifier_not_token_user", codes: one(CodeIdentifierNotTokenUser), status: http.StatusForbidden,
		external: extForbidden, naturalPerson: wording{status: http.StatusForbidden, text: "Insufficient permissions"}},
	pSubjectDeleted: {name: "subject_deleted", codes: one(verification.CodeUserDeleted), status: http.StatusNotFound,
		external: extNotFound, naturalPerson: wording{status: http.StatusUnauthorized, text: "invalid_token"},
		from: []source{{err: verification.ErrDeleted}}},
	pForbidden: {name: "forbidden", codes: one(CodeForbidden), status: http.StatusForbidden, v2Detail: true,
		external: extForbidden, naturalPerson: wording{status: http.StatusForbidden, text: "Insufficient permissions"},
		from: []source{{err: verification.ErrForbidden}}},
	pMissingScope: {name: "missing_scope", codes: one(CodeForbidden), status: http.StatusForbidden,
		v2: func(p *problem, _ verification.CatalogEntry) string {
			return fmt.Sprintf("The credentials lack the scope %q.", p.scope)
		},
		external: wording{http.StatusForbidden, "insufficient_scope", func(p *problem) string {
			return fmt.Sprintf("The access token lacks the scope %s.", p.scope)
		}},
		naturalPerson: wording{status: http.StatusForbidden, textf: func(p *problem) string { return "missing_scopes: " + p.scope }}},
	pUnknownParam: {name: "unknown_parameter", codes: one(CodeInvalidRequest), status: http.StatusBadRequest, v2: v2Request,
		external: wording{http.StatusBadRequest, "unknown_parameter", func(p *problem) string {
			return fmt.Sprintf("Unknown parameter %q: this endpoint takes no parameters.", p.param)
		}},
		naturalPerson: wording{status: http.StatusBadRequest, textf: func(p *problem) string { return "unknown_parameter: " + p.param }}},
	pInvalidParam: {name: "invalid_parameter", codes: one(CodeInvalidRequest), status: http.StatusBadRequest, v2: v2Request,
		external: extInvalid, naturalPerson: npInvalid,
		from: []source{{err: verification.ErrInvalid}}},
	pNotFound: {name: "not_found", codes: one(CodeNotFound), status: http.StatusNotFound,
		v2: func(p *problem, e verification.CatalogEntry) string {
			if p.param == "" {
				return e.Message
			}
			return fmt.Sprintf("%s (%q).", strings.TrimSuffix(e.Message, "."), p.param)
		},
		external: extNotFound, naturalPerson: wording{status: http.StatusNotFound, text: "not_found"},
		from: []source{{err: verification.ErrNotFound}}},
	pConflict: {name: "conflict", codes: one(CodeConflict), status: http.StatusConflict, v2Detail: true,
		from: []source{{err: verification.ErrConflict}, {err: verification.ErrLegalHold}}},
	pIdentifierInUse: {name: "identifier_in_use", codes: one(verification.CodeIdentifierInUse), status: http.StatusConflict},
	pPendingDocument: {name: "pending_document", codes: one(verification.CodePendingDocument), status: http.StatusConflict,
		from: []source{{err: verification.ErrPendingDocument}}},
	pAttemptsExhausted: {name: "attempts_exhausted", codes: one(CodeAttemptsExhausted), status: http.StatusConflict, v2Detail: true,
		from: []source{{err: verification.ErrAttemptsExhausted}, {err: verification.ErrRejectedFinal}}},
	pExpired: {name: "expired", codes: one(CodeExpired), status: http.StatusGone,
		from: []source{{err: verification.ErrExpired}}},
	pTooLarge: {name: "too_large", codes: one(CodeTooLarge), status: http.StatusRequestEntityTooLarge, v2Detail: true,
		from: []source{{verification.ErrTooLarge, "the file is larger than the upload limit"}, {documents.ErrTooLarge, "the file is larger than the upload limit"}}},
	pUnsupportedMedia: {name: "unsupported_media", codes: one(CodeUnsupportedMedia), status: http.StatusUnsupportedMediaType, v2Detail: true,
		from: []source{{documents.ErrEmpty, "the file is empty"}, {verification.ErrUnsupportedMedia, "the file content is not an accepted type"}, {documents.ErrUnsupportedContent, "the file content is not an accepted type"}}},
	pUploadQuota: {name: "upload_quota", codes: one(CodeUploadQuota), status: http.StatusTooManyRequests,
		external:      wording{http.StatusTooManyRequests, "upload_quota", func(*problem) string { return "Too many files are uploaded and not yet submitted." }},
		naturalPerson: wording{status: http.StatusTooManyRequests, text: "upload_quota"},
		from:          []source{{err: verification.ErrUploadQuota}}},
	pIdempotencyReuse:      {name: "idempotency_reuse", codes: one(CodeIdempotencyReuse), status: http.StatusConflict},
	pIdempotencyInProgress: {name: "idempotency_in_progress", codes: one(CodeConflict), status: http.StatusConflict, v2: fixed("A request with this Idempotency-Key is still being processed.")},
	pBadSignature: {name: "bad_signature", codes: one(CodeForbidden), status: http.StatusForbidden, v2: fixed("The signed URL is invalid."),
		external: extForbidden, naturalPerson: wording{status: http.StatusForbidden, text: "invalid_signature"}},
	pExpiredSignature: {name: "expired_signature", codes: one(CodeForbidden), status: http.StatusForbidden, v2: fixed("The signed URL has expired."),
		external: extForbidden, naturalPerson: wording{status: http.StatusForbidden, text: "expired_signature"}},
	pNoRoute: {name: "no_route", codes: one(CodeNotFound), status: http.StatusNotFound,
		external:      wording{http.StatusNotFound, "not_found", func(*problem) string { return "No endpoint has this path." }},
		naturalPerson: wording{status: http.StatusNotFound, text: "not_found"}},
	pMethodNotAllowed: {name: "method_not_allowed", codes: one(CodeInvalidRequest), status: http.StatusMethodNotAllowed,
		v2: func(p *problem, _ verification.CatalogEntry) string {
			return fmt.Sprintf("Invalid request: the method must be one of %s.", p.detail)
		},
		external: wording{http.StatusMethodNotAllowed, "method_not_allowed", func(p *problem) string {
			return fmt.Sprintf("This endpoint takes %s only.", p.detail)
		}},
		naturalPerson: wording{status: http.StatusMethodNotAllowed, text: "method_not_allowed"}},
	pWebhookSignature: {name: "invalid_signature", codes: one(CodeForbidden), status: http.StatusUnauthorized, v2: fixed("The webhook signature is invalid."),
		external:      wording{http.StatusUnauthorized, "invalid_signature", func(*problem) string { return "The webhook signature does not match the body." }},
		naturalPerson: wording{status: http.StatusUnauthorized, text: "invalid_signature"}},
	pMalformedPayload: {name: "malformed_payload", codes: one(CodeInvalidRequest), status: http.StatusBadRequest, v2: fixed("Invalid request: the webhook payload is malformed."),
		external:      wording{http.StatusBadRequest, "malformed_payload", func(*problem) string { return "The webhook payload is not in the provider's documented shape." }},
		naturalPerson: wording{status: http.StatusBadRequest, text: "malformed_payload"}},
	pUnknownProvider: {name: "unknown_provider", codes: one(CodeNotFound), status: http.StatusNotFound, v2: fixed("No identity provider of this name is configured."),
		external:      wording{http.StatusNotFound, "unknown_provider", func(*problem) string { return "No identity provider of this name is configured." }},
		naturalPerson: wording{status: http.StatusNotFound, text: "unknown_provider"}},
}

// byCode finds the kind of a core error's catalog code.
var byCode = func() map[verification.Code]problemKind {
	m := map[verification.Code]problemKind{}
	for _, e := range verification.Catalog {
		for k, row := range problems {
			if row.codes[0] == e.Code {
				m[e.Code] = problemKind(k)
			}
		}
		if _, ok := m[e.Code]; !ok {
			panic("httpadapter: no problem kind renders " + string(e.Code))
		}
	}
	return m
}()

// asProblem turns any error into a problem: problems pass through, errors
// of the verification and documents packages are classified by the table
// (their catalog code, else their kind), anything else is internal.
func asProblem(err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	var ve *verification.Error
	msg, field := "", ""
	if errors.As(err, &ve) {
		if k, ok := byCode[ve.Code]; ok {
			return newProblem(k)
		}
		msg, field = ve.Message, ve.Field
	}
	for k, row := range problems {
		for _, src := range row.from {
			if !errors.Is(err, src.err) {
				continue
			}
			p := &problem{kind: problemKind(k), detail: src.detail}
			switch p.kind {
			case pUnavailable:
				p.cause = err
			case pInvalidParam:
				p.param, p.detail = orDefault(field, "request"), orDefault(msg, "is invalid")
			case pNotFound:
				// Name what was not found, never echo the Service's
				// message (it may quote ids).
				p.param = field
			case pForbidden, pConflict, pAttemptsExhausted:
				p.detail = msg
			}
			return p
		}
	}
	return internalProblem(err)
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// family is a route family: the dialect its responses use.
type family uint8

const (
	// familyV2: the verification status, verification history, wizard and admin
	// history routes and the /api/v2 extensions.
	familyV2 family = iota
	// familyExternal: the pending request (/external/api/v1).
	familyExternal
	// familyNaturalPerson: identity verification and the signed file route (/api/v1).
	familyNaturalPerson
)

// rendered is a problem as one dialect answers it.
type rendered struct {
	status int
	body   any
}

// render words p in the family's dialect, from the problems table.
func (f family) render(p *problem) rendered {
	row := problems[p.kind]
	switch f {
	case familyExternal:
		w := row.external
		if w.status == 0 {
			return rendered{row.status, externalError{genericName(row.status), sentence(http.StatusText(row.status))}}
		}
		return rendered{w.status, externalError{w.text, w.say(p)}}
	case familyNaturalPerson:
		w := row.naturalPerson
		if w.status == 0 {
			return rendered{row.status, naturalPersonError{genericName(row.status)}}
		}
		return rendered{w.status, naturalPersonError{w.say(p)}}
	}
	code := row.codes[p.cred]
	e := entry(code)
	msg := e.Message
	switch {
	case row.v2 != nil:
		msg = row.v2(p, e)
	case row.v2Detail && p.detail != "":
		msg = e.Message + " " + sentence(p.detail)
	}
	return rendered{row.status, map[string]map[string]v2Error{"errors": {string(code): {code, msg, e.Solution}}}}
}

// v2Error is one entry of the verification status API's {"errors": {...}} object.
type v2Error struct {
	Code     verification.Code `json:"code"`
	Message  string            `json:"message"`
	Solution string            `json:"solution"`
}

// externalError is the pending request API's named error: the name in "error", a
// human-readable "message" (Payway's convention: every error has one).
type externalError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// naturalPersonError is the identity verification API's {"error": "..."}.
type naturalPersonError struct {
	Error string `json:"error"`
}

// sentence capitalises s and ends it with a period.
func sentence(s string) string {
	if s == "" {
		return s
	}
	if c := s[0]; c >= 'a' && c <= 'z' {
		s = string(c-'a'+'A') + s[1:]
	}
	if last := s[len(s)-1]; last != '.' && last != '?' && last != '!' {
		s += "."
	}
	return s
}

// genericName names a status for the dialects whose documents list no
// error for it (kinds their routes cannot produce today).
func genericName(status int) string {
	switch status {
	case http.StatusConflict:
		return "conflict"
	case http.StatusGone:
		return "expired"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusBadRequest:
		return "invalid_request"
	}
	return "internal_server_error"
}
