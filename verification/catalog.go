package verification

import (
	"context"
	"errors"
)

// Code is an error catalog code of the verification status API, e.g. "ER708". The core
// defines the codes of domain failures; the HTTP adapter adds those of
// authentication and request parsing, and renders every code.
type Code string

// CatalogEntry is one entry of the error catalog: its code, the error kind
// it carries and the exact message and solution texts of the verification status API.
type CatalogEntry struct {
	// Code is the catalog code ("ER708").
	Code Code `json:"code"`
	// Sentinel is the sentinel error the code's errors match (ErrConflict for
	// ER706, ...); not part of the wire.
	Sentinel error `json:"-"`
	// Message is the verification status API's message text.
	Message string `json:"message"`
	// Solution is the verification status API's solution text.
	Solution string `json:"solution"`
}

// The catalog codes of domain failures (the verification status API).
const (
	CodeIdentifierNotLinked Code = "ER705"
	CodeIdentifierInUse     Code = "ER706"
	CodeIdentifierMalformed Code = "ER707"
	CodePendingDocument     Code = "ER708"
	CodeUserDeleted         Code = "ER709"
)

// Catalog lists the catalog entries of the domain failures, in code order,
// with the verification status API's exact texts: the one table of the core's coded errors.
// httpadapter.Catalog merges it with the codes the adapter owns.
var Catalog = []CatalogEntry{
	{CodeIdentifierNotLinked, ErrNotFound, "User identifier is not linked to a user.", "Provide a valid user identifier, link this user identifier to a user account, or use the user/password authentication mechanism."},
	{CodeIdentifierInUse, ErrConflict, "User identifier is invalid.", "Provide a valid user identifier, a unique identifier string for the user account that is not already in use."},
	{CodeIdentifierMalformed, ErrInvalid, "User identifier is invalid.", "Please provide an identifier, consisting of 36 - 255 characters, numeric or alphanumeric only."},
	{CodePendingDocument, ErrPendingDocument, "There is a pending document for this side.", "Wait for the pending document to be reviewed."},
	{CodeUserDeleted, ErrDeleted, "User not found, or user has been deleted.", "Provide a valid user identifier."},
}

// Sentinels is the one list of error kinds: every error the Service returns
// matches exactly one of them with errors.Is.
var Sentinels = []error{
	ErrNotFound, ErrConflict, ErrInvalid, ErrForbidden, ErrDeleted, ErrPendingDocument, ErrAttemptsExhausted,
	ErrRejectedFinal, ErrExpired, ErrLegalHold, ErrTooLarge, ErrUploadQuota, ErrUnsupportedMedia, ErrUnavailable, ErrClosed, ErrAuditBroken, ErrInternal,
}

// Entry returns c's catalog entry and whether c is a code of the core.
func (c Code) Entry() (CatalogEntry, bool) {
	for _, e := range Catalog {
		if e.Code == c {
			return e, true
		}
	}
	return CatalogEntry{}, false
}

// isContextErr reports whether err is a context cancellation or deadline.
func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
