package verification

import (
	"errors"
	"fmt"
)

// Sentinel error kinds. Every error the Service returns matches exactly one of
// them with errors.Is; stores return them too (never a driver error). The HTTP
// adapter alone decides which status and body each kind gets.
var (
	// ErrNotFound: the object does not exist (or is not visible to the caller).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the change clashes with the current state (a duplicate
	// identifier, an answer while a review is pending, a racing update).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the input is malformed; Error.Field names the field.
	ErrInvalid = errors.New("invalid input")
	// ErrForbidden: the caller may not do this (e.g. answer a host-set requirement).
	ErrForbidden = errors.New("forbidden")
	// ErrDeleted: the subject has been deleted (catalog ER709).
	ErrDeleted = errors.New("subject deleted")
	// ErrPendingDocument: a document for this side awaits review (catalog ER708).
	ErrPendingDocument = errors.New("pending document for this side")
	// ErrAttemptsExhausted: the requirement's attempt cap is reached; an admin
	// must reset it before the subject may answer again.
	ErrAttemptsExhausted = errors.New("attempts exhausted")
	// ErrRejectedFinal: the requirement was rejected for good (a final
	// rejection); only an admin reset reopens it.
	ErrRejectedFinal = errors.New("rejected with a final decision")
	// ErrExpired: the object (an application, a wizard) has expired.
	ErrExpired = errors.New("expired")
	// ErrLegalHold: the subject is under legal hold; erasure and retention
	// purges are refused.
	ErrLegalHold = errors.New("subject under legal hold")
	// ErrTooLarge: an upload is over the size limit.
	ErrTooLarge = errors.New("file too large")
	// ErrUnsupportedMedia: an upload's content (by magic bytes) is not accepted.
	ErrUnsupportedMedia = errors.New("unsupported file content")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store closed")
	// ErrInternal: anything unexpected; the cause is kept for logs only.
	ErrInternal = errors.New("internal error")
)

// Error is the error type the Service returns. The wrapped cause, if
// any, is for logs and is never rendered to clients.
type Error struct {
	// Sentinel is the error's kind: one of the sentinel errors above (see
	// Sentinels); errors.Is matches it.
	Sentinel error
	// Code is the catalog code when one applies (see Catalog).
	Code Code
	// Field names the offending input for ErrInvalid (a JSON path such as
	// "answer.files.front"), or what was not found for ErrNotFound.
	Field string
	// Message says what went wrong; safe to show to a client.
	Message string
	cause   error
}

// Error implements error.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Sentinel.Error()
	}
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return "verification: " + msg
}

// Unwrap lets errors.Is match the kind and the internal cause.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Sentinel}
	}
	return []error{e.Sentinel, e.cause}
}

// Cause returns the internal cause (for logs), or nil.
func (e *Error) Cause() error { return e.cause }

func newErr(kind error, format string, args ...any) *Error {
	return &Error{Sentinel: kind, Message: fmt.Sprintf(format, args...)}
}

func invalid(field, format string, args ...any) *Error {
	return &Error{Sentinel: ErrInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// coded returns the error of a catalog code (see Catalog).
func coded(c Code) *Error {
	e, ok := c.Entry()
	if !ok {
		panic("verification: unknown catalog code " + string(c))
	}
	return &Error{Sentinel: e.Sentinel, Code: c, Message: e.Message}
}

// internal wraps an unexpected error (a store failure) so it matches
// ErrInternal and keeps the cause for logs. Errors that already carry a kind
// (sentinels from the store, *Error, context errors) pass through unchanged.
func internal(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	for _, k := range Sentinels {
		if k != ErrInternal && errors.Is(err, k) {
			return &Error{Sentinel: k, Message: k.Error(), cause: err}
		}
	}
	if isContextErr(err) {
		return err
	}
	return &Error{Sentinel: ErrInternal, Message: "internal error", cause: err}
}
