package providers_test

import (
	"fmt"
	"time"

	"github.com/openkyc/kyc/providers"
)

// Three deliveries for one Veriff session arrive out of order, one of them
// twice. Folding them with Supersedes ends where in-order delivery would:
// the newer decline after the approval applies, the late "submitted" and
// the duplicate do not.
func ExampleDecision_Supersedes() {
	at := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	submitted := providers.Decision{Provider: "veriff", EventKey: "veriff:e1", SessionID: "s1", Outcome: providers.OutcomeSubmitted, OccurredAt: at}
	approved := providers.Decision{Provider: "veriff", EventKey: "veriff:e2", SessionID: "s1", Outcome: providers.OutcomeApproved, Final: true, OccurredAt: at.Add(time.Minute)}
	declined := providers.Decision{Provider: "veriff", EventKey: "veriff:e3", SessionID: "s1", Outcome: providers.OutcomeDeclined, Final: true, OccurredAt: at.Add(time.Hour)}

	var current *providers.Decision
	seen := map[string]bool{}
	for _, d := range []providers.Decision{approved, declined, submitted, approved} {
		switch {
		case seen[d.EventKey]:
			fmt.Println(d.Outcome, "duplicate")
		case current == nil || d.Supersedes(*current):
			fmt.Println(d.Outcome, "applied")
			current = &d
		default:
			fmt.Println(d.Outcome, "stale")
		}
		seen[d.EventKey] = true
	}
	fmt.Println("end state:", current.Outcome)
	// Output:
	// approved applied
	// declined applied
	// submitted stale
	// approved duplicate
	// end state: declined
}

func ExampleOutcome_Rank() {
	for _, o := range providers.Outcomes {
		fmt.Println(o.Rank(), o, o.Final())
	}
	// Output:
	// 1 started false
	// 2 submitted false
	// 3 review false
	// 4 resubmission_requested false
	// 5 expired true
	// 6 declined true
	// 7 approved true
}
