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
	pIdempotencyReuse
	pIdempotencyInProgress
	pBadSignature
	pExpiredSignature
)

var problemNames = [...]string{
	pInternal: "internal", pUnavailable: "unavailable", pNoCredentials: "no_credentials",
	pCredentialsExpired: "credentials_expired", pCredentialsInvalid: "credentials_invalid",
	pMultipleMethods: "multiple_methods", pIdentifierMissing: "identifier_missing",
	pIdentifierMalformed: "identifier_malformed", pIdentifierNotLinked: "identifier_not_linked",
	pIdentifierNotTokenUser: "identifier_not_token_user", pSubjectDeleted: "subject_deleted",
	pForbidden: "forbidden", pMissingScope: "missing_scope", pUnknownParam: "unknown_parameter",
	pInvalidParam: "invalid_parameter", pNotFound: "not_found", pConflict: "conflict",
	pIdentifierInUse: "identifier_in_use", pPendingDocument: "pending_document",
	pAttemptsExhausted: "attempts_exhausted", pExpired: "expired", pTooLarge: "too_large",
	pUnsupportedMedia: "unsupported_media", pIdempotencyReuse: "idempotency_reuse",
	pIdempotencyInProgress: "idempotency_in_progress", pBadSignature: "bad_signature",
	pExpiredSignature: "expired_signature",
}

func (k problemKind) String() string {
	if int(k) < len(problemNames) {
		return problemNames[k]
	}
	return fmt.Sprintf("problem(%d)", uint8(k))
}

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

func newProblem(k problemKind) *problem { return &problem{kind: k} }

func internalProblem(cause error) *problem { return &problem{kind: pInternal, cause: cause} }

// paramProblem reports an invalid parameter, header or body field.
func paramProblem(param, format string, args ...any) *problem {
	return &problem{kind: pInvalidParam, param: param, detail: fmt.Sprintf(format, args...)}
}

func unknownParam(param string) *problem {
	return &problem{kind: pUnknownParam, param: param, detail: "is not a parameter of this route"}
}

// asProblem turns any error into a problem: problems pass through, errors
// of the verification and documents packages are classified by kind,
// anything else is internal.
func asProblem(err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	var ve *verification.Error
	hasVE := errors.As(err, &ve)
	if hasVE && ve.Code != "" {
		switch ve.Code {
		case verification.CodeIdentifierMalformed:
			return newProblem(pIdentifierMalformed)
		case verification.CodeIdentifierNotLinked:
			return newProblem(pIdentifierNotLinked)
		case verification.CodeIdentifierInUse:
			return newProblem(pIdentifierInUse)
		case verification.CodePendingDocument:
			return newProblem(pPendingDocument)
		case verification.CodeUserDeleted:
			return newProblem(pSubjectDeleted)
		}
	}
	msg := ""
	field := ""
	if hasVE {
		msg, field = ve.Message, ve.Field
	}
	switch {
	case errors.Is(err, verification.ErrTooLarge), errors.Is(err, documents.ErrTooLarge):
		return &problem{kind: pTooLarge, detail: "the file is larger than the upload limit"}
	case errors.Is(err, documents.ErrEmpty):
		return &problem{kind: pUnsupportedMedia, detail: "the file is empty"}
	case errors.Is(err, verification.ErrUnsupportedMedia), errors.Is(err, documents.ErrUnsupportedContent):
		return &problem{kind: pUnsupportedMedia, detail: "the file content is not an accepted type"}
	case errors.Is(err, verification.ErrInvalid):
		if field == "" {
			field = "request"
		}
		if msg == "" {
			msg = "is invalid"
		}
		return &problem{kind: pInvalidParam, param: field, detail: msg}
	case errors.Is(err, verification.ErrDeleted):
		return newProblem(pSubjectDeleted)
	case errors.Is(err, verification.ErrNotFound):
		if field != "" {
			// Name what was not found, never echo the Service's message
			// (it may quote ids).
			return &problem{kind: pNotFound, param: field}
		}
		return newProblem(pNotFound)
	case errors.Is(err, verification.ErrPendingDocument):
		return newProblem(pPendingDocument)
	case errors.Is(err, verification.ErrAttemptsExhausted), errors.Is(err, verification.ErrRejectedFinal):
		return &problem{kind: pAttemptsExhausted, detail: msg}
	case errors.Is(err, verification.ErrExpired):
		return newProblem(pExpired)
	case errors.Is(err, verification.ErrConflict), errors.Is(err, verification.ErrLegalHold):
		return &problem{kind: pConflict, detail: msg}
	case errors.Is(err, verification.ErrForbidden):
		return &problem{kind: pForbidden, detail: msg}
	case errors.Is(err, verification.ErrClosed),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &problem{kind: pUnavailable, cause: err}
	}
	return internalProblem(err)
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

// render words p in the family's dialect.
func (f family) render(p *problem) rendered {
	switch f {
	case familyExternal:
		return renderExternal(p)
	case familyNaturalPerson:
		return renderNaturalPerson(p)
	}
	return renderV2(p)
}

// v2Error is one entry of the verification status API's {"errors": {...}} object.
type v2Error struct {
	Code     verification.Code `json:"code"`
	Message  string            `json:"message"`
	Solution string            `json:"solution"`
}

// v2Status maps a catalog code to its HTTP status (documented in doc.go).
func v2Status(c verification.Code) int {
	switch c {
	case verification.CodeUserTokenNotFound, verification.CodeUserTokenExpired, verification.CodeUserTokenInvalid,
		verification.CodeTokenInvalid, verification.CodeTokenExpired, verification.CodeTokenNotFound,
		verification.CodeAPIKeyInvalid, verification.CodeAPIKeyNotFound:
		return http.StatusUnauthorized
	case verification.CodeMultipleAuthMethods, verification.CodeIdentifierMissing, verification.CodeIdentifierMalformed,
		verification.CodeInvalidRequest:
		return http.StatusBadRequest
	case verification.CodeIdentifierNotTokenUser, verification.CodeForbidden:
		return http.StatusForbidden
	case verification.CodeIdentifierNotLinked, verification.CodeUserDeleted, verification.CodeNotFound:
		return http.StatusNotFound
	case verification.CodeIdentifierInUse, verification.CodePendingDocument, verification.CodeConflict,
		verification.CodeAttemptsExhausted, verification.CodeIdempotencyReuse:
		return http.StatusConflict
	case verification.CodeExpired:
		return http.StatusGone
	case verification.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case verification.CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}

// v2Code picks the catalog code of p.
func v2Code(p *problem) verification.Code {
	byCred := func(user, token, key verification.Code) verification.Code {
		switch p.cred {
		case credAPIKey:
			return key
		case credToken:
			return token
		}
		return user
	}
	switch p.kind {
	case pNoCredentials:
		return byCred(verification.CodeUserTokenNotFound, verification.CodeTokenNotFound, verification.CodeAPIKeyNotFound)
	case pCredentialsExpired:
		return byCred(verification.CodeUserTokenExpired, verification.CodeTokenExpired, verification.CodeAPIKeyInvalid)
	case pCredentialsInvalid:
		return byCred(verification.CodeUserTokenInvalid, verification.CodeTokenInvalid, verification.CodeAPIKeyInvalid)
	case pMultipleMethods:
		return verification.CodeMultipleAuthMethods
	case pIdentifierMissing:
		return verification.CodeIdentifierMissing
	case pIdentifierMalformed:
		return verification.CodeIdentifierMalformed
	case pIdentifierNotLinked:
		return verification.CodeIdentifierNotLinked
	case pIdentifierNotTokenUser:
		return verification.CodeIdentifierNotTokenUser
	case pSubjectDeleted:
		return verification.CodeUserDeleted
	case pForbidden, pMissingScope, pBadSignature, pExpiredSignature:
		return verification.CodeForbidden
	case pUnknownParam, pInvalidParam:
		return verification.CodeInvalidRequest
	case pNotFound:
		return verification.CodeNotFound
	case pConflict, pIdempotencyInProgress:
		return verification.CodeConflict
	case pIdentifierInUse:
		return verification.CodeIdentifierInUse
	case pPendingDocument:
		return verification.CodePendingDocument
	case pAttemptsExhausted:
		return verification.CodeAttemptsExhausted
	case pExpired:
		return verification.CodeExpired
	case pTooLarge:
		return verification.CodeTooLarge
	case pUnsupportedMedia:
		return verification.CodeUnsupportedMedia
	case pIdempotencyReuse:
		return verification.CodeIdempotencyReuse
	}
	return verification.CodeGeneral
}

// renderV2 answers the verification status API's {"errors": {"ERxxx": {code, message,
// solution}}}. Catalog codes keep their exact texts; extension codes name
// the parameter and the reason in the message.
func renderV2(p *problem) rendered {
	code := v2Code(p)
	e := code.Entry()
	msg := e.Message
	switch p.kind {
	case pUnknownParam, pInvalidParam:
		msg = fmt.Sprintf("Invalid request: %q %s.", p.param, p.detail)
	case pMissingScope:
		msg = fmt.Sprintf("The credentials lack the scope %q.", p.scope)
	case pNotFound:
		if p.param != "" {
			msg = fmt.Sprintf("%s (%q).", strings.TrimSuffix(e.Message, "."), p.param)
		}
	case pConflict, pForbidden, pAttemptsExhausted, pTooLarge, pUnsupportedMedia:
		if p.detail != "" {
			msg = e.Message + " " + sentence(p.detail)
		}
	case pIdempotencyInProgress:
		msg = "A request with this Idempotency-Key is still being processed."
	case pBadSignature:
		msg = "The signed URL is invalid."
	case pExpiredSignature:
		msg = "The signed URL has expired."
	}
	status := v2Status(code)
	if p.kind == pUnavailable {
		status = http.StatusServiceUnavailable
	}
	return rendered{status, map[string]map[string]v2Error{"errors": {string(code): {code, msg, e.Solution}}}}
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

// externalError is the pending request's named error: the name in "error", a
// human-readable "message" (Payway's convention: every error has one).
type externalError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func renderExternal(p *problem) rendered {
	e := func(status int, name, msg string) rendered { return rendered{status, externalError{name, msg}} }
	switch p.kind {
	case pNoCredentials:
		return e(http.StatusUnauthorized, "missing_token", "An access token is required.")
	case pCredentialsExpired:
		return e(http.StatusUnauthorized, "invalid_token", "The access token has expired.")
	case pCredentialsInvalid:
		return e(http.StatusUnauthorized, "invalid_token", "The access token is invalid.")
	case pMultipleMethods:
		return e(http.StatusBadRequest, "invalid_request", "Use exactly one authorization method.")
	case pMissingScope:
		return e(http.StatusForbidden, "insufficient_scope", fmt.Sprintf("The access token lacks the scope %s.", p.scope))
	case pForbidden, pIdentifierNotTokenUser, pBadSignature, pExpiredSignature:
		return e(http.StatusForbidden, "forbidden", "These credentials may not use this endpoint.")
	case pUnknownParam:
		return e(http.StatusBadRequest, "unknown_parameter", fmt.Sprintf("Unknown parameter %q: this endpoint takes no parameters.", p.param))
	case pInvalidParam, pIdentifierMissing, pIdentifierMalformed:
		return e(http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("Invalid parameter %q: %s.", p.param, p.detail))
	case pNotFound, pSubjectDeleted, pIdentifierNotLinked:
		return e(http.StatusNotFound, "not_found", "The account could not be found.")
	case pUnavailable:
		return e(http.StatusServiceUnavailable, "service_unavailable", "The service is unavailable, retry later.")
	case pInternal:
		return e(http.StatusInternalServerError, "internal_server_error", "Something unexpected happened server side.")
	}
	r := renderV2(p)
	return e(r.status, genericName(r.status), sentence(http.StatusText(r.status)))
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

// naturalPersonError is identity verification's {"error": "..."}.
type naturalPersonError struct {
	Error string `json:"error"`
}

func renderNaturalPerson(p *problem) rendered {
	e := func(status int, text string) rendered { return rendered{status, naturalPersonError{text}} }
	switch p.kind {
	case pNoCredentials:
		return e(http.StatusUnauthorized, "missing_token")
	case pCredentialsExpired, pCredentialsInvalid, pMultipleMethods, pSubjectDeleted:
		return e(http.StatusUnauthorized, "invalid_token")
	case pMissingScope:
		return e(http.StatusForbidden, "missing_scopes: "+p.scope)
	case pForbidden, pIdentifierNotTokenUser:
		return e(http.StatusForbidden, "Insufficient permissions")
	case pBadSignature:
		return e(http.StatusForbidden, "invalid_signature")
	case pExpiredSignature:
		return e(http.StatusForbidden, "expired_signature")
	case pUnknownParam:
		return e(http.StatusBadRequest, "unknown_parameter: "+p.param)
	case pInvalidParam, pIdentifierMissing, pIdentifierMalformed:
		return e(http.StatusBadRequest, "invalid_parameter: "+p.param)
	case pNotFound, pIdentifierNotLinked:
		return e(http.StatusNotFound, "not_found")
	case pUnavailable:
		return e(http.StatusServiceUnavailable, "Service unavailable")
	case pInternal:
		return e(http.StatusInternalServerError, "Internal server error")
	}
	r := renderV2(p)
	return e(r.status, genericName(r.status))
}
