package providers_test

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/openkyc/kyc/providers"
)

type sessionKey struct{ provider, session string }

// service models what Service.ApplyProviderDecision does with the rule, in
// one transaction per delivery: a known event key is a no-op (duplicate);
// otherwise the decision is recorded, and it becomes the session's current
// state when it supersedes the current one (applied), or is kept as stale.
type service struct {
	seen    map[string]bool
	current map[sessionKey]providers.Decision
	applied map[string]bool
	stale   map[string]bool
	dups    int
}

func newService() *service {
	return &service{seen: map[string]bool{}, current: map[sessionKey]providers.Decision{}, applied: map[string]bool{}, stale: map[string]bool{}}
}

func (s *service) deliver(d providers.Decision) {
	key := d.Provider + "\x00" + d.EventKey
	if s.seen[key] {
		s.dups++
		return
	}
	s.seen[key] = true
	k := sessionKey{d.Provider, d.SessionID}
	cur, ok := s.current[k]
	if !ok || d.Supersedes(cur) {
		s.current[k] = d
		s.applied[key] = true
		return
	}
	s.stale[key] = true
}

// genEvents draws distinct provider events over a few sessions, with times
// drawn from a small range so that ties in time, and in time and rank, are
// common.
func genEvents(t *rapid.T, label string, distinctTimes bool) []providers.Decision {
	n := rapid.IntRange(1, 24).Draw(t, label+" count")
	sessions := []sessionKey{{"veriff", "s1"}, {"veriff", "s2"}, {"sumsub", "s1"}}
	next := map[sessionKey]time.Time{}
	out := make([]providers.Decision, 0, n)
	for i := range n {
		sk := rapid.SampledFrom(sessions).Draw(t, "session")
		var at time.Time
		if distinctTimes {
			// The provider's real history: strictly later per session.
			if next[sk].IsZero() {
				next[sk] = t0
			}
			at = next[sk].Add(time.Duration(rapid.IntRange(1, 3600).Draw(t, "gap")) * time.Second)
			next[sk] = at
		} else if rapid.IntRange(0, 9).Draw(t, "untimed") != 0 {
			at = t0.Add(time.Duration(rapid.IntRange(0, 4).Draw(t, "second")) * time.Second)
		}
		o := rapid.SampledFrom(providers.Outcomes).Draw(t, "outcome")
		final := o.Final()
		if rapid.IntRange(0, 9).Draw(t, "flip final") == 0 {
			final = !final // a provisional approval, say
		}
		out = append(out, providers.Decision{
			Provider: sk.provider, SessionID: sk.session, EventKey: fmt.Sprintf("%s:e%02d", sk.provider, i),
			Outcome: o, Final: final, OccurredAt: at, SubjectRef: "subject-" + sk.session,
		})
	}
	return out
}

// deliveries shuffles events and delivers some of them more than once, as
// at-least-once webhooks do.
func deliveries(t *rapid.T, events []providers.Decision) []providers.Decision {
	all := append([]providers.Decision(nil), events...)
	dups := rapid.SliceOfN(rapid.IntRange(0, len(events)-1), 0, 2*len(events)).Draw(t, "duplicated")
	for _, i := range dups {
		all = append(all, events[i])
	}
	return rapid.Permutation(all).Draw(t, "delivery order")
}

func fold(ds []providers.Decision) *service {
	s := newService()
	for _, d := range ds {
		s.deliver(d)
	}
	return s
}

// TestPropertyInOrderHistory: the provider's history, delivered in order,
// ends in each session's last decision. Shuffled and duplicated, it ends in
// exactly the same state, whatever the outcomes (an approval followed by a
// newer decline ends declined; an older decline arriving after an approval
// is stale).
func TestPropertyInOrderHistory(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		history := genEvents(t, "history", true)
		inOrder := fold(history)

		last := map[sessionKey]providers.Decision{}
		for _, d := range history {
			last[sessionKey{d.Provider, d.SessionID}] = d
		}
		if len(inOrder.stale) != 0 {
			t.Fatalf("in-order delivery marked %d decisions stale", len(inOrder.stale))
		}
		assertSameState(t, last, inOrder.current)

		shuffled := fold(deliveries(t, history))
		assertSameState(t, inOrder.current, shuffled.current)
		if len(shuffled.applied)+len(shuffled.stale) != len(history) {
			t.Fatalf("%d applied + %d stale, want %d distinct events", len(shuffled.applied), len(shuffled.stale), len(history))
		}
	})
}

// TestPropertyOrderIndependent: for any set of events, including ties in
// time, rank and finality and untimed events, every delivery order with
// any duplicates ends in the same state as delivering each event once in
// the order generated; duplicates are no-ops; every distinct event is
// either applied or stale, exactly once.
func TestPropertyOrderIndependent(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		events := genEvents(t, "events", false)
		once := fold(events)
		ds := deliveries(t, events)
		got := fold(ds)
		assertSameState(t, once.current, got.current)
		if got.dups != len(ds)-len(events) {
			t.Fatalf("%d duplicates seen, %d delivered", got.dups, len(ds)-len(events))
		}
		for k := range got.seen {
			if got.applied[k] == got.stale[k] {
				t.Fatalf("event %s applied=%v stale=%v", k, got.applied[k], got.stale[k])
			}
		}
		// The end state is each session's maximum under the rule.
		for k, cur := range got.current {
			for _, d := range events {
				if (sessionKey{d.Provider, d.SessionID}) == k && d.Supersedes(cur) {
					t.Fatalf("%v would supersede the end state %v", d, cur)
				}
			}
		}
	})
}

// TestPropertyStrictTotalOrder: on distinct events of one session,
// Supersedes is irreflexive, asymmetric, total and transitive, which is
// what makes the fold order-independent.
func TestPropertyStrictTotalOrder(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		events := genEvents(t, "events", false)
		var one []providers.Decision
		for _, d := range events {
			if d.Provider == events[0].Provider && d.SessionID == events[0].SessionID {
				one = append(one, d)
			}
		}
		for _, a := range one {
			if a.Supersedes(a) {
				t.Fatalf("%v supersedes itself", a)
			}
			for _, b := range one {
				if a.EventKey == b.EventKey {
					continue
				}
				if a.Supersedes(b) == b.Supersedes(a) {
					t.Fatalf("exactly one of %v and %v must supersede the other", a, b)
				}
				for _, c := range one {
					if a.Supersedes(b) && b.Supersedes(c) && !a.Supersedes(c) {
						t.Fatalf("not transitive: %v > %v > %v", a, b, c)
					}
				}
			}
		}
	})
}

func assertSameState(t *rapid.T, want, got map[sessionKey]providers.Decision) {
	if len(want) != len(got) {
		t.Fatalf("%d sessions, want %d", len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || g.EventKey != w.EventKey {
			t.Fatalf("session %v ends at %v, want %v", k, g, w)
		}
	}
}
