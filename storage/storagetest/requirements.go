package storagetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// RunRequirementStates checks verification.RequirementStore.
func RunRequirementStates(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "PutGetRoundTrip", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		want := verification.RequirementState{
			SubjectID:  sub.ID,
			Name:       "nationality",
			Status:     levels.Rejected,
			Answer:     json.RawMessage(`{"country": "DE", "since": [2001, 2002], "dual": false}`),
			Reason:     "unreadable",
			Final:      true,
			Attempts:   3,
			UpdatedAt:  at(7),
			ValidUntil: at(60 * 24 * 365),
			WarnedAt:   at(8),
		}
		require.NoError(t, s.PutRequirementState(ctx, want))
		got, err := s.GetRequirementState(ctx, sub.ID, "nationality")
		require.NoError(t, err, "GetRequirementState of a state just put")
		requireState(t, want, got, "GetRequirementState")
		list, err := s.ListRequirementStates(ctx, sub.ID)
		require.NoError(t, err)
		require.Len(t, list, 1)
		requireState(t, want, list[0], "ListRequirementStates")
	})

	test(t, newStore, "LockSubjectStates", func(t *testing.T, s verification.Store) {
		// Optional (verification.SubjectStatesLocker): inside a
		// transaction, what LockSubject and ListRequirementStates return.
		ctx := t.Context()
		alice, bob := newSubject(t, s, "alice", "eu", "vip"), newSubject(t, s, "bob")
		for _, st := range []verification.RequirementState{
			{SubjectID: alice.ID, Name: "proof", Status: levels.Pending, Answer: json.RawMessage(`{"a": 1}`), Attempts: 2, UpdatedAt: at(3)},
			{SubjectID: alice.ID, Name: "idDocument", Status: levels.Rejected, Reason: "blurred", Final: true, UpdatedAt: at(2), ValidUntil: at(9), WarnedAt: at(4)},
			{SubjectID: alice.ID, Name: "idDocument2", Status: levels.Approved, UpdatedAt: at(1)},
			{SubjectID: bob.ID + 1000, Name: "proof", Status: levels.Approved, UpdatedAt: at(1)}, // no such subject
		} {
			require.NoError(t, s.PutRequirementState(ctx, st))
		}
		deleted := bob
		deleted.DeletedAt = at(5)
		require.NoError(t, s.UpdateSubject(ctx, deleted))
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			l, ok := tx.(verification.SubjectStatesLocker)
			if !ok {
				t.Skip("the store is not a verification.SubjectStatesLocker")
			}
			for _, id := range []int64{alice.ID, bob.ID} {
				wantSub, err := tx.LockSubject(ctx, id)
				require.NoError(t, err)
				wantStates, err := tx.ListRequirementStates(ctx, id)
				require.NoError(t, err)
				sub, states, err := l.LockSubjectStates(ctx, id)
				require.NoError(t, err, "LockSubjectStates of subject %d", id)
				requireSubject(t, wantSub, sub, "LockSubjectStates")
				require.NotNil(t, states, "no states reads back empty, not nil")
				require.Len(t, states, len(wantStates))
				for i := range wantStates {
					requireState(t, wantStates[i], states[i], "LockSubjectStates")
				}
			}
			_, _, err := l.LockSubjectStates(ctx, bob.ID+1000)
			require.ErrorIs(t, err, verification.ErrNotFound, "an absent subject (with states under its ID)")
			return nil
		}))
	})

	test(t, newStore, "ListDue", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice, bob, carol := newSubject(t, s, "alice"), newSubject(t, s, "bob"), newSubject(t, s, "carol")
		put := func(sub verification.Subject, name string, until, warned time.Time) verification.RequirementState {
			st := verification.RequirementState{SubjectID: sub.ID, Name: name, Status: levels.Approved, Attempts: 1, UpdatedAt: at(1), ValidUntil: until, WarnedAt: warned}
			require.NoError(t, s.PutRequirementState(ctx, st))
			return st
		}
		a := put(alice, "idDocument", at(10), time.Time{})
		c := put(carol, "idDocument", at(10), at(5))
		b := put(bob, "idDocument", at(20), time.Time{})
		put(alice, "proof", at(10), time.Time{})      // another requirement
		put(bob, "proof", time.Time{}, time.Time{})   // never due
		put(carol, "idDocument2", at(1), time.Time{}) // a longer name with the same prefix
		subjects := func(list []verification.RequirementState) []int64 {
			out := []int64{}
			for _, st := range list {
				out = append(out, st.SubjectID)
			}
			return out
		}
		list := func(f verification.DueFilter) []verification.RequirementState {
			t.Helper()
			got, err := s.ListDueRequirementStates(ctx, f)
			require.NoError(t, err, "ListDueRequirementStates(%+v)", f)
			require.NotNil(t, got, "an empty listing is empty, not nil")
			return got
		}

		got := list(verification.DueFilter{Name: "idDocument", Before: at(30), Limit: 10})
		require.Equal(t, []int64{alice.ID, carol.ID, bob.ID}, subjects(got), "in (ValidUntil, SubjectID) order")
		requireState(t, a, got[0], "a due state")
		requireState(t, c, got[1], "a due, warned state")
		requireState(t, b, got[2], "a due state")
		require.Equal(t, []int64{alice.ID, carol.ID}, subjects(list(verification.DueFilter{Name: "idDocument", Before: at(10), Limit: 10})),
			"Before is inclusive: a state due exactly then is listed")
		require.Empty(t, list(verification.DueFilter{Name: "idDocument", Before: at(9), Limit: 10}))
		require.Equal(t, []int64{alice.ID, bob.ID}, subjects(list(verification.DueFilter{Name: "idDocument", Before: at(30), Unwarned: true, Limit: 10})),
			"Unwarned leaves out the warned state")
		require.Equal(t, []int64{alice.ID}, subjects(list(verification.DueFilter{Name: "idDocument", Before: at(30), Limit: 1})), "Limit caps")
		require.Equal(t, []int64{carol.ID, bob.ID}, subjects(list(verification.DueFilter{Name: "idDocument", Before: at(30), AfterValidUntil: at(10), AfterSubjectID: alice.ID, Limit: 10})),
			"the cursor is exclusive")
		require.Equal(t, []int64{bob.ID}, subjects(list(verification.DueFilter{Name: "idDocument", Before: at(30), AfterValidUntil: at(10), AfterSubjectID: carol.ID, Limit: 10})))
		require.Equal(t, []int64{alice.ID}, subjects(list(verification.DueFilter{Name: "proof", Before: at(30), Limit: 10})), "a zero ValidUntil is never due")
		require.Empty(t, list(verification.DueFilter{Name: "nothing", Before: at(30), Limit: 10}))
		require.Empty(t, list(verification.DueFilter{Name: "idDocument", Before: at(30), Limit: 0}), "Limit 0 lists nothing")

		// Renewal moves a state out of the cut-off, expiry takes it out of the index.
		a.ValidUntil, a.WarnedAt = at(100), time.Time{}
		require.NoError(t, s.PutRequirementState(ctx, a))
		b.Status, b.ValidUntil = levels.Missing, time.Time{}
		require.NoError(t, s.PutRequirementState(ctx, b))
		require.Equal(t, []int64{carol.ID}, subjects(list(verification.DueFilter{Name: "idDocument", Before: at(30), Limit: 10})))

		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.ListDueRequirementStates(cctx, verification.DueFilter{Name: "idDocument", Before: at(30), Limit: 10})
		require.ErrorIs(t, err, context.Canceled)
	})

	test(t, newStore, "AnswerJSONKinds", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		answers := map[string]string{
			"object": `{"a": {"b": [1, 2.5, "x", null]}, "é": "ünïcode"}`,
			"array":  `[{"documentType": 1, "files": ["f1", "f2"]}]`,
			"string": `"123456"`,
			"bool":   `true`,
			"number": `42`,
		}
		for name, answer := range answers {
			st := verification.RequirementState{SubjectID: sub.ID, Name: name, Status: levels.Pending, Answer: json.RawMessage(answer), Attempts: 1, UpdatedAt: at(1)}
			require.NoError(t, s.PutRequirementState(ctx, st), "PutRequirementState with a JSON %s answer", name)
		}
		for name, answer := range answers {
			got, err := s.GetRequirementState(ctx, sub.ID, name)
			require.NoError(t, err)
			requireJSON(t, json.RawMessage(answer), got.Answer, "a JSON "+name+" answer")
		}
	})

	test(t, newStore, "NilAnswerStaysEmpty", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		st := verification.RequirementState{SubjectID: sub.ID, Name: "emailCode", Status: levels.Missing, UpdatedAt: at(1)}
		require.NoError(t, s.PutRequirementState(ctx, st))
		got, err := s.GetRequirementState(ctx, sub.ID, "emailCode")
		require.NoError(t, err)
		require.Empty(t, got.Answer, "a nil Answer must come back empty (not \"null\"), got %q", got.Answer)
		requireState(t, st, got, "a state without answer")

		// Erasure: replacing an answer with nil must drop it.
		st.Answer = json.RawMessage(`"123456"`)
		st.Status = levels.Pending
		require.NoError(t, s.PutRequirementState(ctx, st))
		st.Answer = nil
		st.UpdatedAt = at(2)
		require.NoError(t, s.PutRequirementState(ctx, st))
		got, err = s.GetRequirementState(ctx, sub.ID, "emailCode")
		require.NoError(t, err)
		require.Empty(t, got.Answer, "replacing an answer with nil (erasure) must drop it, got %q", got.Answer)
	})

	test(t, newStore, "PutReplaces", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		first := verification.RequirementState{SubjectID: sub.ID, Name: "emailCode", Status: levels.Rejected, Answer: json.RawMessage(`"111111"`), Reason: "wrong code", Final: true, Attempts: 1, UpdatedAt: at(1)}
		require.NoError(t, s.PutRequirementState(ctx, first))
		second := verification.RequirementState{SubjectID: sub.ID, Name: "emailCode", Status: levels.Approved, Answer: json.RawMessage(`"222222"`), Attempts: 2, UpdatedAt: at(2)}
		require.NoError(t, s.PutRequirementState(ctx, second), "PutRequirementState of an existing (SubjectID, Name) must replace it")
		got, err := s.GetRequirementState(ctx, sub.ID, "emailCode")
		require.NoError(t, err)
		requireState(t, second, got, "GetRequirementState after a replacing put (Reason and Final must be cleared too)")
		list, err := s.ListRequirementStates(ctx, sub.ID)
		require.NoError(t, err)
		require.Len(t, list, 1, "a replacing put must not add a second state")
		requireState(t, second, list[0], "ListRequirementStates after a replacing put")
	})

	test(t, newStore, "ListOrderedByName", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		// Put in a scrambled order. Byte-wise order puts upper case first:
		// "AMLD5Questions" < "aml"; a locale collation would swap them.
		for i, name := range []string{"nationality", "aml", "verificationFlag", "AMLD5Questions", "isBusiness", "emailCode", "idDocument"} {
			st := verification.RequirementState{SubjectID: sub.ID, Name: name, Status: levels.Pending, UpdatedAt: at(i)}
			require.NoError(t, s.PutRequirementState(ctx, st))
		}
		list, err := s.ListRequirementStates(ctx, sub.ID)
		require.NoError(t, err)
		names := make([]string, len(list))
		for i, st := range list {
			names[i] = st.Name
			require.Equal(t, sub.ID, st.SubjectID)
		}
		require.Equal(t, []string{"AMLD5Questions", "aml", "emailCode", "idDocument", "isBusiness", "nationality", "verificationFlag"}, names,
			"ListRequirementStates must order by Name, byte-wise as Go compares strings (COLLATE \"C\" in PostgreSQL)")
	})

	test(t, newStore, "NotFound", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		require.NoError(t, s.PutRequirementState(ctx, verification.RequirementState{SubjectID: alice.ID, Name: "emailCode", Status: levels.Pending, UpdatedAt: at(1)}))
		_, err := s.GetRequirementState(ctx, alice.ID, "nationality")
		require.ErrorIs(t, err, verification.ErrNotFound, "GetRequirementState of a name never put")
		_, err = s.GetRequirementState(ctx, alice.ID, "EmailCode")
		require.ErrorIs(t, err, verification.ErrNotFound, "GetRequirementState names match exactly (case-sensitive)")
		_, err = s.GetRequirementState(ctx, bob.ID, "emailCode")
		require.ErrorIs(t, err, verification.ErrNotFound, "GetRequirementState must not find another subject's state")
		_, err = s.GetRequirementState(ctx, bob.ID+1000, "emailCode")
		require.ErrorIs(t, err, verification.ErrNotFound, "GetRequirementState of an unknown subject")
	})

	test(t, newStore, "ListEmptyAndIsolation", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		list, err := s.ListRequirementStates(ctx, alice.ID)
		require.NoError(t, err, "ListRequirementStates of a subject without states is not an error")
		require.Empty(t, list)
		list, err = s.ListRequirementStates(ctx, alice.ID+1000)
		require.NoError(t, err, "ListRequirementStates of an unknown subject is empty, not an error")
		require.Empty(t, list)

		a := verification.RequirementState{SubjectID: alice.ID, Name: "emailCode", Status: levels.Approved, Answer: json.RawMessage(`"111111"`), Attempts: 1, UpdatedAt: at(1)}
		b := verification.RequirementState{SubjectID: bob.ID, Name: "emailCode", Status: levels.Rejected, Answer: json.RawMessage(`"222222"`), Reason: "no", Attempts: 2, UpdatedAt: at(2)}
		b2 := verification.RequirementState{SubjectID: bob.ID, Name: "nationality", Status: levels.Pending, Answer: json.RawMessage(`"FR"`), Attempts: 1, UpdatedAt: at(3)}
		for _, st := range []verification.RequirementState{a, b, b2} {
			require.NoError(t, s.PutRequirementState(ctx, st))
		}
		list, err = s.ListRequirementStates(ctx, alice.ID)
		require.NoError(t, err)
		require.Len(t, list, 1, "ListRequirementStates must list only the subject's own states")
		requireState(t, a, list[0], "alice's state (same name as bob's)")
		list, err = s.ListRequirementStates(ctx, bob.ID)
		require.NoError(t, err)
		require.Len(t, list, 2, "ListRequirementStates must list only the subject's own states")
		requireState(t, b, list[0], "bob's first state")
		requireState(t, b2, list[1], "bob's second state")
		got, err := s.GetRequirementState(ctx, alice.ID, "emailCode")
		require.NoError(t, err)
		requireState(t, a, got, "putting bob's state must not replace alice's state of the same name")
	})

	test(t, newStore, "ReturnsCopies", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		answer := json.RawMessage(`"123456"`)
		st := verification.RequirementState{SubjectID: sub.ID, Name: "emailCode", Status: levels.Pending, Answer: answer, Attempts: 1, UpdatedAt: at(1)}
		require.NoError(t, s.PutRequirementState(ctx, st))
		answer[1] = '9'
		got, err := s.GetRequirementState(ctx, sub.ID, "emailCode")
		require.NoError(t, err)
		requireJSON(t, json.RawMessage(`"123456"`), got.Answer, "the store must not keep the caller's Answer bytes")
		got.Answer[1] = '8'
		list, err := s.ListRequirementStates(ctx, sub.ID)
		require.NoError(t, err)
		require.Len(t, list, 1)
		requireJSON(t, json.RawMessage(`"123456"`), list[0].Answer, "GetRequirementState must return a copy of Answer")
		list[0].Answer[1] = '7'
		got, err = s.GetRequirementState(ctx, sub.ID, "emailCode")
		require.NoError(t, err)
		requireJSON(t, json.RawMessage(`"123456"`), got.Answer, "ListRequirementStates must return a copy of Answer")
	})

	test(t, newStore, "CancelledContext", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		dead := cancelledContext(t)
		st := verification.RequirementState{SubjectID: sub.ID, Name: "emailCode", Status: levels.Pending, UpdatedAt: at(1)}
		require.ErrorIs(t, s.PutRequirementState(dead, st), context.Canceled, "PutRequirementState with a cancelled context")
		_, err := s.GetRequirementState(ctx, sub.ID, "emailCode")
		require.ErrorIs(t, err, verification.ErrNotFound, "PutRequirementState with a cancelled context must not write")
		_, err = s.GetRequirementState(dead, sub.ID, "emailCode")
		require.ErrorIs(t, err, context.Canceled, "GetRequirementState with a cancelled context")
		_, err = s.ListRequirementStates(dead, sub.ID)
		require.ErrorIs(t, err, context.Canceled, "ListRequirementStates with a cancelled context")
	})
}
