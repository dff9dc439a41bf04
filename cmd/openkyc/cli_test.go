package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/openkyc/kyc/verification"
)

// TestMessageNeverQuotesACause: a Service error's wrapped cause (a driver
// error, which may quote a DSN or a value) never reaches the operator, and
// an error of unknown kind is generic.
func TestMessageNeverQuotesACause(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"command error", usageErr("no store"), "no store"},
		{"unknown error", errorString("pq: password authentication failed for user kyc s3cret"), "internal error (the store or a dependency failed; see the database's logs)"},
		{"canceled", context.Canceled, "interrupted"},
		{"service error", &verification.Error{Sentinel: verification.ErrInvalid, Field: "limit", Message: "must be between 0 and 1000"}, "limit: must be between 0 and 1000"},
		{"catalog code", &verification.Error{Sentinel: verification.ErrDeleted, Code: verification.CodeUserDeleted, Message: "gone"}, "gone (ER709)"},
		{"internal service error", &verification.Error{Sentinel: verification.ErrInternal, Message: "internal error"}, "internal error (the store or a dependency failed; see the database's logs)"},
		{"bare sentinel wrapped by a driver", fmt.Errorf("sqlite: row 5 of subjects: %w", verification.ErrNotFound), "not found"},
		{"multi-line", usageErr("first\nsecond"), "first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, message(tc.err))
		})
	}
}

// TestRunRecoversAPanic: a bug answers one line and status 1, never a
// stack trace.
func TestRunRecoversAPanic(t *testing.T) {
	t.Parallel()
	var errOut bytes.Buffer
	code := run(context.Background(), []string{"keys", "new-master", "--id", "k1"}, panicWriter{}, &errOut)
	assert.Equal(t, 1, code)
	assert.Equal(t, "openkyc: internal error (a bug: please report the command you ran)\n", errOut.String())
}

// errorString is an error of no known kind.
type errorString string

func (e errorString) Error() string { return string(e) }

// panicWriter panics on write, standing in for a bug.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("boom") }
