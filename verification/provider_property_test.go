package verification_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/fake"
	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// sessionEnd is the end state of one provider session that delivery order
// must not change: the applied decision and document facts, the identity
// session it maps onto and the requirement its decisions review.
type sessionEnd struct {
	EventKey    string
	Outcome     providers.Outcome
	Final       bool
	OccurredAt  time.Time
	ReasonCodes []string
	Document    providers.DocumentFacts
	IDProvider  string
	IDStatus    string
	IDDate      time.Time
	ReqStatus   levels.Status
	ReqFinal    bool
	ReqReason   string
}

// TestPropertyProviderDeliveryOrder delivers the decisions of several
// provider sessions (one subject each) twice: once each, in the order they
// happened, and shuffled with repeats. The end states must be equal. The
// subject's level is left out on purpose: an approval that was applied in
// order and later declined has granted a level (grants are history and a
// decline does not lower a level), while a shuffle that delivered the
// decline first never applied the approval.
func TestPropertyProviderDeliveryOrder(t *testing.T) {
	t.Parallel()
	outcomes := rapid.SampledFrom(providers.Outcomes)
	rapid.Check(t, func(rt *rapid.T) {
		nSessions := rapid.IntRange(1, 3).Draw(rt, "sessions")
		var all []providers.Decision
		for si := range nSessions {
			n := rapid.IntRange(1, 6).Draw(rt, "decisions")
			for j := range n {
				d := providers.Decision{
					Provider: fake.Name, EventKey: fmt.Sprintf("s%d-e%d", si, j), SessionID: fmt.Sprintf("sess-%d", si),
					Outcome: outcomes.Draw(rt, "outcome"), Final: rapid.Bool().Draw(rt, "final"),
					Reason:      rapid.SampledFrom([]string{"", "blurred", "expired document"}).Draw(rt, "reason"),
					ReasonCodes: rapid.SliceOfN(rapid.SampledFrom([]string{"102", "103", "539"}), 0, 2).Draw(rt, "codes"),
					Document:    providers.DocumentFacts{Number: fmt.Sprintf("N%d", j), ValidUntil: time.Date(2030, 1, j+1, 0, 0, 0, 0, time.UTC)},
				}
				// Few distinct times, so ties (settled by rank, finality and
				// key) are common; minute -1 is an untimed decision.
				if m := rapid.IntRange(-1, 3).Draw(rt, "minute"); m >= 0 {
					d.OccurredAt = verificationtest.Start.Add(time.Duration(m) * time.Minute)
				}
				all = append(all, d)
			}
		}
		// In order: each session's decisions sorted so that every one
		// supersedes those before it.
		inOrder := slices.Clone(all)
		slices.SortStableFunc(inOrder, func(a, b providers.Decision) int {
			switch {
			case a.SessionID != b.SessionID:
				return strings.Compare(a.SessionID, b.SessionID)
			case b.Supersedes(a):
				return -1
			case a.Supersedes(b):
				return 1
			}
			return 0
		})
		shuffled := slices.Clone(all)
		for range rapid.IntRange(0, len(all)).Draw(rt, "repeats") {
			shuffled = append(shuffled, all[rapid.IntRange(0, len(all)-1).Draw(rt, "repeat")])
		}
		shuffled = rapid.Permutation(shuffled).Draw(rt, "delivery")

		want := applyAll(t, rt, nSessions, inOrder)
		got := applyAll(t, rt, nSessions, shuffled)
		require.Equal(rt, want, got, "the end state must not depend on delivery order or repeats")
	})
}

// applyAll applies ds on a fresh Service with one subject per session and
// returns each session's end state.
func applyAll(t *testing.T, rt *rapid.T, nSessions int, ds []providers.Decision) []sessionEnd {
	p, err := fake.New(fake.Config{Secret: "s", BaseURL: "http://127.0.0.1/fake"})
	require.NoError(rt, err)
	store := memory.New()
	svc, _ := verificationtest.NewServiceOn(t, verificationtest.SeedLadder(t), store, verification.Options{
		Providers: []verification.ProviderConfig{{Provider: p, Requirements: []string{"idDocument"}}},
	})
	subs := make([]verification.Subject, nSessions)
	for i := range subs {
		subs[i] = verificationtest.CreateSubject(t, svc)
	}
	for _, d := range ds {
		var si int
		_, _ = fmt.Sscanf(d.SessionID, "sess-%d", &si)
		d.SubjectRef = subs[si].Identifier
		_, err := svc.ApplyProviderDecision(rt.Context(), d)
		require.NoError(rt, err)
	}
	out := make([]sessionEnd, nSessions)
	for i, sub := range subs {
		ps, err := store.GetProviderSession(rt.Context(), fake.Name, fmt.Sprintf("sess-%d", i))
		require.NoError(rt, err)
		e := sessionEnd{EventKey: ps.EventKey, Outcome: ps.Outcome, Final: ps.Final, OccurredAt: ps.OccurredAt, ReasonCodes: ps.ReasonCodes, Document: ps.Document}
		if len(e.ReasonCodes) == 0 {
			e.ReasonCodes = nil
		}
		ids, err := store.ListIDSessions(rt.Context(), sub.ID)
		require.NoError(rt, err)
		require.Len(rt, ids, 1, "one identity session per provider session")
		e.IDProvider, e.IDStatus, e.IDDate = ids[0].Provider, ids[0].Status, ids[0].CreatedAt
		st, err := store.GetRequirementState(rt.Context(), sub.ID, "idDocument")
		require.NoError(rt, err)
		e.ReqStatus, e.ReqFinal, e.ReqReason = st.Status, st.Final, st.Reason
		out[i] = e
	}
	return out
}
