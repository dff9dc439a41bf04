package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/openkyc/kyc/verification"
)

// cmdError is an error of the command itself (usage, configuration): its
// message is written to the operator as is.
type cmdError struct{ msg string }

func (e *cmdError) Error() string { return e.msg }

// usageErr returns a cmdError.
func usageErr(format string, args ...any) error {
	return &cmdError{msg: fmt.Sprintf(format, args...)}
}

// message is the one line written to stderr for err. It is built from what
// is safe to show (a command's own message, a Service error's Message and
// Field, an error kind), never from a wrapped cause: a driver's error may
// quote a DSN, a query or a value.
func message(err error) string {
	var ce *cmdError
	var brk *verification.AuditBreak
	var ve *verification.Error
	switch {
	case errors.As(err, &ce):
		return oneLine(ce.msg)
	case errors.As(err, &brk):
		return oneLine(fmt.Sprintf("the audit trail is broken at entry %d: %s", brk.Seq, brk.Reason))
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.As(err, &ve) && !errors.Is(ve.Sentinel, verification.ErrInternal):
		msg := ve.Message
		if msg == "" {
			msg = ve.Sentinel.Error()
		}
		if ve.Field != "" {
			msg = ve.Field + ": " + msg
		}
		if ve.Code != "" {
			msg += " (" + string(ve.Code) + ")"
		}
		return oneLine(msg)
	}
	for _, k := range verification.Sentinels {
		if k != verification.ErrInternal && errors.Is(err, k) {
			return k.Error()
		}
	}
	return "internal error (the store or a dependency failed; see the database's logs)"
}

// oneLine keeps the first line of s.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
