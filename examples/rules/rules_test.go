package rules_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/examples/rules"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

func ladder(t *testing.T) *levels.Ladder {
	t.Helper()
	l, err := rules.Ladder()
	require.NoError(t, err, "ladder.json must load")
	return l
}

// The rules themselves: which answers pass, pure functions, no I/O.
func TestAnswers(t *testing.T) {
	t.Parallel()
	l := ladder(t)
	tests := []struct {
		requirement, answer string
		ok                  bool
	}{
		{"emailCode", `"123456"`, true},
		{"emailCode", `"12345"`, false},
		{"emailCode", `"12345a"`, false},
		{"nationality", `"NL"`, true},
		{"nationality", `"Netherlands"`, false}, // the value, not the label
		{"AMLD5Questions", `{"Question1":"answer1","Question2":"answer2"}`, true},
		{"AMLD5Questions", `{"Question1":"answer1"}`, false},
		{"isBusiness", `"no"`, false},
	}
	for _, tc := range tests {
		t.Run(tc.requirement+"="+tc.answer, func(t *testing.T) {
			t.Parallel()
			req, ok := l.Requirement(tc.requirement)
			require.True(t, ok)
			err := req.Validate(json.RawMessage(tc.answer))
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

// Which level a set of approvals reaches, and what remains.
func TestLevels(t *testing.T) {
	t.Parallel()
	l := ladder(t)
	res := l.Evaluate(levels.States{"isBusiness": levels.Approved, "emailCode": levels.Approved, "nationality": levels.Approved}, 0)
	assert.Equal(t, "Level 1", res.Level.Name)
	assert.Len(t, res.Outstanding, 3)

	res = l.Evaluate(levels.States{"AMLD5Questions": levels.Approved}, 0)
	assert.Equal(t, "Level 0", res.Level.Name, "a higher approval does not skip a missing lower requirement")

	req, _ := l.Requirement("verificationFlag")
	assert.False(t, req.AnsweredByUser(), "only the host or a reviewer sets verificationFlag")
}

// The whole flow on the in-memory engine with a settable clock: still no
// server, no database.
func TestFlowWithTheEngine(t *testing.T) {
	t.Parallel()
	svc, clock := verificationtest.NewService(t, ladder(t))
	ctx := context.Background()
	sub := verificationtest.CreateSubject(t, svc)

	for name, answer := range map[string]string{"isBusiness": `false`, "nationality": `"DE"`, "emailCode": `"123456"`} {
		_, err := svc.Answer(ctx, sub.ID, name, json.RawMessage(answer))
		require.NoError(t, err, name)
	}
	verificationtest.RequireLevel(t, svc, sub.ID, 1) // emailCode awaits the host's check

	step, err := svc.InitWizard(ctx, sub.ID)
	require.NoError(t, err)
	require.True(t, step.Done(), "nothing left to upload for Level 1: the application is submitted")

	clock.Advance(25 * time.Hour) // past the 24-hour TTL
	n, err := svc.ExpireDue(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	pr, err := svc.PendingRequest(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, verification.PendingStatusNoRequest, pr.Status)
}
