package providers

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
)

// The errors adapters return; test with errors.Is. Messages never contain
// secrets, signatures or personal data.
var (
	// ErrBadSignature: a webhook delivery's signature is missing, malformed
	// or does not match the raw body (or the sender's key header is wrong).
	// The route answers 401 and never parses the body.
	ErrBadSignature = errors.New("providers: webhook signature invalid")
	// ErrMalformedPayload: a verified body is not in the provider's
	// documented shape (not JSON, a required field missing or of the wrong
	// type, an unparsable time).
	ErrMalformedPayload = errors.New("providers: webhook payload malformed")
	// ErrInvalidParams: StartSession or a media call was given input the
	// adapter refuses before calling out (an empty subject reference, an id
	// with characters no provider id has).
	ErrInvalidParams = errors.New("providers: invalid parameters")
	// ErrUnavailable: the provider did not answer usefully after the
	// configured retries (timeouts, connection errors, 5xx, 429). Try again
	// later; never hold a user's request waiting on it.
	ErrUnavailable = errors.New("providers: provider unavailable")
	// ErrRejected: the provider refused the request (4xx other than 429):
	// wrong credentials, an unknown session, input it does not accept.
	// Retrying the same request will not help.
	ErrRejected = errors.New("providers: request rejected by provider")
	// ErrBadResponse: the provider answered 2xx in a shape the adapter
	// cannot use (malformed JSON, a required field missing).
	ErrBadResponse = errors.New("providers: provider answer malformed")
)

// CallError describes a failed outbound call. It wraps ErrUnavailable,
// ErrRejected or ErrBadResponse (errors.Is), or the caller's context error
// when the caller gave up.
type CallError struct {
	// Provider is the adapter's name.
	Provider string
	// Op names the call, e.g. "POST /v1/sessions" (ids are never included).
	Op string
	// StatusCode is the provider's last HTTP status, 0 when none arrived.
	StatusCode int
	// Attempts is how many requests were sent; 0 when not counted (an
	// answer found malformed after the call).
	Attempts int
	// Err is the kind (a sentinel above or a context error).
	Err error
	// Cause is the underlying error (network error, JSON error), for logs.
	Cause error
}

// Error describes the failure without ids, secrets or response bodies.
func (e *CallError) Error() string {
	msg := fmt.Sprintf("%s: %s", e.Provider, e.Op)
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(": HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Attempts > 0 {
		msg += fmt.Sprintf(" after %d attempt(s)", e.Attempts)
	}
	msg += fmt.Sprintf(": %v", e.Err)
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the error kind, so errors.Is(err, ErrUnavailable) works.
func (e *CallError) Unwrap() error { return e.Err }

// InvalidParams returns an error matching ErrInvalidParams that says what
// is wrong, for adapters' own checks.
func InvalidParams(msg string) error { return &paramError{msg: msg} }

type paramError struct{ msg string }

func (e *paramError) Error() string { return "providers: invalid parameters: " + e.msg }
func (e *paramError) Unwrap() error { return ErrInvalidParams }

// MalformedPayload returns an error matching ErrMalformedPayload that says
// what is wrong with a provider's payload; never quote the payload in it.
func MalformedPayload(provider, format string, args ...any) error {
	return &payloadError{provider: provider, msg: fmt.Sprintf(format, args...)}
}

type payloadError struct{ provider, msg string }

func (e *payloadError) Error() string {
	return e.provider + ": webhook payload malformed: " + e.msg
}
func (e *payloadError) Unwrap() error { return ErrMalformedPayload }

// SignHMAC returns the lower-case hex HMAC of msg under key with the hash h
// (sha256.New, sha512.New, sha1.New): the signature scheme all three
// providers use, over different messages.
func SignHMAC(h func() hash.Hash, key, msg []byte) string {
	m := hmac.New(h, key)
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyHMAC checks that sigHex (hex, either case, surrounding spaces
// ignored) is the HMAC of msg under key with the hash h, comparing in
// constant time. It returns nil or an error matching ErrBadSignature; an
// empty key never verifies anything.
func VerifyHMAC(h func() hash.Hash, key, msg []byte, sigHex string) error {
	if len(key) == 0 {
		return fmt.Errorf("%w: no secret configured", ErrBadSignature)
	}
	got, err := hex.DecodeString(strings.TrimSpace(sigHex))
	if err != nil || len(got) == 0 {
		return fmt.Errorf("%w: signature is not hex", ErrBadSignature)
	}
	m := hmac.New(h, key)
	m.Write(msg)
	if !hmac.Equal(got, m.Sum(nil)) {
		return fmt.Errorf("%w: mismatch", ErrBadSignature)
	}
	return nil
}
