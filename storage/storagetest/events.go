package storagetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// RunEvents checks verification.EventStore.
func RunEvents(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "AddAssignsIncreasingSeqAndRoundTrips", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		want := []verification.Event{
			{ID: "ev-1", SubjectID: alice.ID, Type: verification.EventSubjectCreated, Data: json.RawMessage(`{}`), OccurredAt: at(0)},
			{ID: "ev-2", SubjectID: bob.ID, Type: verification.EventSubjectCreated, Data: json.RawMessage(`{"identifier": "x"}`), OccurredAt: at(1)},
			{ID: "ev-3", SubjectID: alice.ID, Type: verification.EventLevelGranted, Data: json.RawMessage(`{"grantId": 1, "level": 2, "previousLevel": 1, "reason": "Application: 838"}`), OccurredAt: at(1)},
			{ID: "ev-4", SubjectID: alice.ID, Type: verification.EventRequirementRejected, Data: json.RawMessage(`{"requirement": "idDocument", "reasons": ["blurry", "glare"], "final": false}`), OccurredAt: at(-5)},
		}
		var prev int64
		for i := range want {
			require.NoError(t, s.AddEvent(ctx, &want[i]), "AddEvent(%s)", want[i].ID)
			require.Positive(t, want[i].Seq, "AddEvent must set a positive Seq on the event it is given")
			require.Greater(t, want[i].Seq, prev, "AddEvent must assign increasing Seq values (events added one after the other, across subjects)")
			prev = want[i].Seq
		}
		got, err := s.ListEvents(ctx, verification.EventFilter{})
		require.NoError(t, err)
		require.Equal(t, eventIDs(want), eventIDs(got), "ListEvents must return every event in Seq order")
		for i := range want {
			requireEvent(t, want[i], got[i], fmt.Sprintf("ListEvents item %d", i))
		}
	})

	test(t, newStore, "DuplicateIDConflicts", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		first := newEvent(alice.ID, "ev-1", 0)
		require.NoError(t, s.AddEvent(ctx, &first))
		dup := newEvent(bob.ID, "ev-1", 1)
		dup.Type = verification.EventSubjectDeleted
		require.ErrorIs(t, s.AddEvent(ctx, &dup), verification.ErrConflict, "AddEvent with an ID already used (by any subject) must fail with ErrConflict")
		got, err := s.ListEvents(ctx, verification.EventFilter{})
		require.NoError(t, err)
		require.Len(t, got, 1, "a conflicting AddEvent must not insert anything")
		requireEvent(t, first, got[0], "the first event after a conflicting add")
	})

	// AddEvents: sizes that fill whole statements and leave one over (a
	// store may insert in fixed-size groups), inside and outside a
	// transaction, with a sink registered so each event gets its delivery.
	for _, tc := range []struct {
		name string
		n    int
		inTx bool
	}{
		{"AddEventsOne", 1, false},
		{"AddEventsTwo", 2, false},
		{"AddEventsThree", 3, false},
		{"AddEventsFiveInTx", 5, true},
	} {
		test(t, newStore, tc.name, func(t *testing.T, s verification.Store) {
			ctx := t.Context()
			ob := requireOutbox(t, s)
			require.NoError(t, ob.RegisterSink(ctx, "crm"))
			alice := newSubject(t, s, "alice")
			bob := newSubject(t, s, "bob")
			before := newEvent(bob.ID, "ev-0", 0)
			require.NoError(t, s.AddEvent(ctx, &before))
			want := make([]verification.Event, tc.n)
			batch := make([]*verification.Event, tc.n)
			for i := range want {
				sub := alice.ID
				if i%2 == 1 {
					sub = bob.ID
				}
				want[i] = newEvent(sub, fmt.Sprint("ev-", i+1), i)
				want[i].Data = json.RawMessage(fmt.Sprintf(`{"n": %d}`, i))
				batch[i] = &want[i]
			}
			want[0].Data = nil // a NULL payload among the others
			if tc.inTx {
				require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
					return tx.AddEvents(ctx, batch)
				}))
			} else {
				require.NoError(t, s.AddEvents(ctx, batch))
			}
			prev := before.Seq
			for i := range want {
				require.Greater(t, want[i].Seq, prev, "AddEvents must assign increasing Seq values along the slice, above the events before")
				prev = want[i].Seq
			}
			got, err := s.ListEvents(ctx, verification.EventFilter{AfterSeq: before.Seq})
			require.NoError(t, err)
			require.Equal(t, eventIDs(want), eventIDs(got), "ListEvents after AddEvents: the events in slice order")
			for i := range want {
				requireEvent(t, want[i], got[i], fmt.Sprintf("AddEvents item %d", i))
			}
			page, err := ob.ListDeliveries(ctx, verification.DeliveryFilter{Limit: 100})
			require.NoError(t, err)
			keys := []string{"ev-0/crm"}
			for i := range want {
				keys = append(keys, want[i].ID+"/crm")
			}
			require.Equal(t, keys, deliveryKeys(page.Items), "every event AddEvents adds gets a delivery per registered sink")
		})
	}

	test(t, newStore, "AddEventsConflictsInsertNothing", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		first := newEvent(alice.ID, "ev-1", 0)
		require.NoError(t, s.AddEvent(ctx, &first))
		for _, ids := range [][]string{
			{"ev-2", "ev-1"},         // used before
			{"ev-1", "ev-2", "ev-3"}, // used before, first
			{"ev-2", "ev-3", "ev-2"}, // repeated in the batch
			{"ev-2", "ev-2"},
		} {
			batch := make([]*verification.Event, len(ids))
			for i, id := range ids {
				e := newEvent(alice.ID, id, i+1)
				batch[i] = &e
			}
			require.ErrorIs(t, s.AddEvents(ctx, batch), verification.ErrConflict, "AddEvents(%v) with an ID used or repeated", ids)
			got, err := s.ListEvents(ctx, verification.EventFilter{})
			require.NoError(t, err)
			require.Equal(t, []string{"ev-1"}, eventIDs(got), "a conflicting AddEvents(%v) must not insert any of its events", ids)
		}
		require.NoError(t, s.AddEvents(ctx, nil), "AddEvents of no events")
		dead := cancelledContext(t)
		e := newEvent(alice.ID, "ev-2", 1)
		require.ErrorIs(t, s.AddEvents(dead, []*verification.Event{&e}), context.Canceled, "AddEvents with a cancelled context")
		got, err := s.ListEvents(ctx, verification.EventFilter{})
		require.NoError(t, err)
		require.Equal(t, []string{"ev-1"}, eventIDs(got), "AddEvents with a cancelled context must not write")
	})

	test(t, newStore, "WriteAtCommit", func(t *testing.T, s verification.Store) {
		// Optional (verification.CommitWriter): what AddEvents and then
		// UpdateSubject of each subject do, errors included, with nothing
		// written when one fails; the store may defer the writes to the
		// commit and report their error from InTx.
		ctx := t.Context()
		alice, bob := newSubject(t, s, "alice"), newSubject(t, s, "bob")
		used := newEvent(bob.ID, "ev-used", 0)
		require.NoError(t, s.AddEvent(ctx, &used))
		write := func(events []*verification.Event, subjects ...verification.Subject) error {
			return s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
				w, ok := tx.(verification.CommitWriter)
				if !ok {
					t.Skip("the store is not a verification.CommitWriter")
				}
				if _, err := tx.LockSubject(ctx, alice.ID); err != nil {
					return err
				}
				return w.WriteAtCommit(ctx, events, subjects)
			})
		}
		events := func(ids ...string) []*verification.Event {
			out := make([]*verification.Event, len(ids))
			for i, id := range ids {
				e := newEvent(alice.ID, id, i+1)
				out[i] = &e
			}
			return out
		}
		counted := alice
		counted.EventSeq, counted.UpdatedAt = 2, at(9)

		require.ErrorIs(t, write(events("ev-a", "ev-used"), counted), verification.ErrConflict, "a used event ID")
		absent := counted
		absent.ID = bob.ID + 1000
		require.ErrorIs(t, write(events("ev-a", "ev-b"), counted, absent), verification.ErrNotFound, "an absent subject")
		got, err := s.ListEvents(ctx, verification.EventFilter{})
		require.NoError(t, err)
		require.Equal(t, []string{"ev-used"}, eventIDs(got), "a failed WriteAtCommit writes no event")
		sub, err := s.GetSubject(ctx, alice.ID)
		require.NoError(t, err)
		requireSubject(t, alice, sub, "after a failed WriteAtCommit")

		evs := events("ev-a", "ev-b")
		require.NoError(t, write(evs, counted))
		require.Greater(t, evs[0].Seq, used.Seq, "Seq set by the time InTx returned")
		require.Greater(t, evs[1].Seq, evs[0].Seq, "in the slice's order")
		got, err = s.ListEvents(ctx, verification.EventFilter{SubjectID: alice.ID})
		require.NoError(t, err)
		require.Len(t, got, 2)
		for i := range evs {
			requireEvent(t, *evs[i], got[i], "WriteAtCommit's event")
		}
		sub, err = s.GetSubject(ctx, alice.ID)
		require.NoError(t, err)
		requireSubject(t, counted, sub, "WriteAtCommit's subject")
		require.NoError(t, write(nil), "nothing to write")
	})

	test(t, newStore, "ListFilters", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		var all []verification.Event
		for i, sub := range []int64{alice.ID, bob.ID, alice.ID, alice.ID, bob.ID, alice.ID, bob.ID} {
			e := newEvent(sub, fmt.Sprint("ev-", i+1), -i)
			require.NoError(t, s.AddEvent(ctx, &e))
			all = append(all, e)
		}
		last := all[len(all)-1].Seq
		for _, f := range []verification.EventFilter{
			{},
			{Limit: 3},
			{Limit: 100},
			{AfterSeq: all[2].Seq},
			{AfterSeq: all[2].Seq, Limit: 2},
			{AfterSeq: last},
			{AfterSeq: last + 1000},
			{SubjectID: alice.ID},
			{SubjectID: bob.ID},
			{SubjectID: bob.ID + 1000},
			{SubjectID: alice.ID, Limit: 2},
			{SubjectID: alice.ID, AfterSeq: all[2].Seq},
			{SubjectID: bob.ID, AfterSeq: all[1].Seq, Limit: 1},
			{SubjectID: bob.ID, AfterSeq: last},
		} {
			var want []verification.Event
			for _, e := range all {
				if e.Seq > f.AfterSeq && (f.SubjectID == 0 || e.SubjectID == f.SubjectID) && (f.Limit == 0 || len(want) < f.Limit) {
					want = append(want, e)
				}
			}
			what := fmt.Sprintf("ListEvents(%+v) (alice is %d, bob %d, Seqs %v)", f, alice.ID, bob.ID, seqs(all))
			got, err := s.ListEvents(ctx, f)
			require.NoError(t, err, what)
			require.Equal(t, eventIDs(want), eventIDs(got), "%s: the events, in Seq order (AfterSeq is exclusive, Limit applies after the filters)", what)
			for i := range want {
				requireEvent(t, want[i], got[i], fmt.Sprintf("%s item %d", what, i))
			}
		}
	})

	test(t, newStore, "ReturnsCopies", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		data := json.RawMessage(`{"level":1}`)
		e := verification.Event{ID: "ev-1", SubjectID: sub.ID, Type: verification.EventLevelGranted, Data: data, OccurredAt: at(0)}
		require.NoError(t, s.AddEvent(ctx, &e))
		copy(data, `{"level":9}`)
		got, err := s.ListEvents(ctx, verification.EventFilter{})
		require.NoError(t, err)
		require.Len(t, got, 1)
		requireJSON(t, json.RawMessage(`{"level":1}`), got[0].Data, "the store must not keep the caller's Data bytes")
		for i := range got[0].Data {
			got[0].Data[i] = ' '
		}
		got, err = s.ListEvents(ctx, verification.EventFilter{})
		require.NoError(t, err)
		requireJSON(t, json.RawMessage(`{"level":1}`), got[0].Data, "ListEvents must return copies of Data")
	})

	test(t, newStore, "CancelledContext", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		dead := cancelledContext(t)
		e := newEvent(sub.ID, "ev-1", 0)
		require.ErrorIs(t, s.AddEvent(dead, &e), context.Canceled, "AddEvent with a cancelled context")
		got, err := s.ListEvents(ctx, verification.EventFilter{})
		require.NoError(t, err)
		require.Empty(t, got, "AddEvent with a cancelled context must not write")
		_, err = s.ListEvents(dead, verification.EventFilter{})
		require.ErrorIs(t, err, context.Canceled, "ListEvents with a cancelled context")
	})
}

// newEvent returns a level.granted event that occurred at base+minute.
func newEvent(subjectID int64, id string, minute int) verification.Event {
	return verification.Event{
		ID: id, SubjectID: subjectID, Type: verification.EventLevelGranted,
		Data:       json.RawMessage(fmt.Sprintf(`{"event": %q, "level": 1}`, id)),
		OccurredAt: at(minute),
	}
}

func seqs(es []verification.Event) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}
