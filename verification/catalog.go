package verification

import (
	"context"
	"errors"
)

// Code is an error catalog code of seed 000, e.g. "ER708".
type Code string

// CatalogEntry is one entry of the error catalog: its code and the exact
// message and solution texts of seed 000.
type CatalogEntry struct {
	Code     Code   `json:"code"`
	Message  string `json:"message"`
	Solution string `json:"solution"`
}

// The catalog codes of seed 000.
const (
	CodeUserTokenNotFound      Code = "ER700"
	CodeUserTokenExpired       Code = "ER701"
	CodeUserTokenInvalid       Code = "ER702"
	CodeIdentifierNotTokenUser Code = "ER703"
	CodeIdentifierMissing      Code = "ER704"
	CodeIdentifierNotLinked    Code = "ER705"
	CodeIdentifierInUse        Code = "ER706"
	CodeIdentifierMalformed    Code = "ER707"
	CodePendingDocument        Code = "ER708"
	CodeUserDeleted            Code = "ER709"
	CodeTokenInvalid           Code = "ER800"
	CodeTokenExpired           Code = "ER801"
	CodeTokenNotFound          Code = "ER802"
	CodeMultipleAuthMethods    Code = "ER803"
	CodeAPIKeyInvalid          Code = "ER805"
	CodeAPIKeyNotFound         Code = "ER806"
	CodeGeneral                Code = "ER999"
)

// Extension codes: failures the seeds' routes do not document but a client
// of this library meets (bad parameters, unknown objects, conflicts). They
// continue seed 000's ER7xx range and are rendered in the same shape; the
// HTTP adapter may put the specific field and reason in the message.
const (
	CodeInvalidRequest    Code = "ER710"
	CodeNotFound          Code = "ER711"
	CodeConflict          Code = "ER712"
	CodeForbidden         Code = "ER713"
	CodeAttemptsExhausted Code = "ER714"
	CodeExpired           Code = "ER715"
	CodeTooLarge          Code = "ER716"
	CodeUnsupportedMedia  Code = "ER717"
	CodeIdempotencyReuse  Code = "ER718"
)

// Catalog lists every entry of seed 000's error catalog, in code order, with
// its exact texts.
var Catalog = []CatalogEntry{
	{CodeUserTokenNotFound, "User authorization token not found.", "Provide a user authorization token."},
	{CodeUserTokenExpired, "User authorization token has expired.", "Request a new authorization token, or refresh the token."},
	{CodeUserTokenInvalid, "User authorization token is invalid.", "Provide a valid user authorization token."},
	{CodeIdentifierNotTokenUser, "User identifier does not belong to the user in the user authorization token.", "Provide a valid user identifier, or remove the user identifier header."},
	{CodeIdentifierMissing, "No user identifier found in headers.", "Provide a valid user identifier, or use the user/password authentication mechanism to request a user token and send that."},
	{CodeIdentifierNotLinked, "User identifier is not linked to a user.", "Provide a valid user identifier, link this user identifier to a user account, or use the user/password authentication mechanism."},
	{CodeIdentifierInUse, "User identifier is invalid.", "Provide a valid user identifier, a unique identifier string for the user account that is not already in use."},
	{CodeIdentifierMalformed, "User identifier is invalid.", "Please provide an identifier, consisting of 36 - 255 characters, numeric or alphanumeric only."},
	{CodePendingDocument, "There is a pending document for this side.", "Wait for the pending document to be reviewed."},
	{CodeUserDeleted, "User not found, or user has been deleted.", "Provide a valid user identifier."},
	{CodeTokenInvalid, "Authorization token is invalid.", "Provide a valid authorization token."},
	{CodeTokenExpired, "Authorization token has expired.", "Request a new authorization token."},
	{CodeTokenNotFound, "Authorization token not found.", "Provide an authorization token."},
	{CodeMultipleAuthMethods, "Multiple authorization methods used.", "Use exactly one authorization method."},
	{CodeAPIKeyInvalid, "API key is invalid.", "Provide a valid API key."},
	{CodeAPIKeyNotFound, "API key not found.", "Provide an API key."},
	{CodeGeneral, "A general error has occurred. Please contact our support team.", "Contact our support team."},
}

// Extensions lists the extension codes (see CodeInvalidRequest) with their
// default texts.
var Extensions = []CatalogEntry{
	{CodeInvalidRequest, "The request is invalid.", "Correct the parameter or field named in the message and retry."},
	{CodeNotFound, "The requested resource was not found.", "Check the identifier in the request."},
	{CodeConflict, "The request conflicts with the current state.", "Fetch the current state, then retry if the change still applies."},
	{CodeForbidden, "The operation is not permitted with these credentials.", "Use credentials that carry the required permission."},
	{CodeAttemptsExhausted, "No further attempts are allowed for this requirement.", "Contact our support team to have the requirement reviewed or reset."},
	{CodeExpired, "The verification procedure has expired.", "Start a new verification procedure."},
	{CodeTooLarge, "The request or file is too large.", "Send a smaller request or file."},
	{CodeUnsupportedMedia, "The file type is not supported.", "Upload a JPEG, PNG or PDF file."},
	{CodeIdempotencyReuse, "The Idempotency-Key was already used with a different request.", "Use a new Idempotency-Key for a new request."},
}

var catalogIndex = func() map[Code]CatalogEntry {
	m := make(map[Code]CatalogEntry, len(Catalog)+len(Extensions))
	for _, e := range append(append([]CatalogEntry(nil), Catalog...), Extensions...) {
		if _, dup := m[e.Code]; dup {
			panic("verification: duplicate catalog code " + string(e.Code))
		}
		m[e.Code] = e
	}
	return m
}()

// Entry returns c's catalog entry; an unknown code yields ER999's entry.
func (c Code) Entry() CatalogEntry {
	if e, ok := catalogIndex[c]; ok {
		return e
	}
	return catalogIndex[CodeGeneral]
}

// kind maps a catalog code to the sentinel kind the Service uses for it.
func (c Code) kind() error {
	switch c {
	case CodeIdentifierInUse:
		return ErrConflict
	case CodeIdentifierMalformed:
		return ErrInvalid
	case CodePendingDocument:
		return ErrPendingDocument
	case CodeUserDeleted:
		return ErrDeleted
	case CodeIdentifierNotLinked:
		return ErrNotFound
	case CodeGeneral:
		return ErrInternal
	}
	return ErrForbidden
}

// isContextErr reports whether err is a context cancellation or deadline.
func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
