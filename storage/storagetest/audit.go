package storagetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// RunAudit checks verification.AuditStore: an append-only trail with dense
// Seqs, filters, tag scoping by the subjects' current tags, batched scans
// and a head that stays linear under concurrent appenders.
func RunAudit(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "AppendLastScanRoundTrip", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		_, err := s.LastAudit(ctx)
		require.ErrorIs(t, err, verification.ErrNotFound, "LastAudit on an empty trail must fail with ErrNotFound")
		alice := newSubject(t, s, "alice")
		want := []verification.AuditEntry{
			auditEntry(alice.ID, verification.AdminActor(7, nil), verification.AuditReviewDecided, 0, map[string]string{"decision": "rejected", "attempt": "2"}),
			auditEntry(0, verification.SystemActor(), verification.AuditRetentionRun, 1, nil),
			auditEntry(alice.ID, verification.ProviderActor("veriff"), verification.AuditProviderDecision, 2, map[string]string{"quote": `"<&>" \ é`}),
		}
		for i := range want {
			appendLinked(t, s, &want[i])
			last, err := s.LastAudit(ctx)
			require.NoError(t, err)
			requireAudit(t, want[i], last, "LastAudit after appending entry %d", want[i].Seq)
		}
		got := scanAll(t, s, verification.AuditFilter{})
		require.Len(t, got, len(want), "ScanAudit must return every entry")
		for i := range want {
			requireAudit(t, want[i], got[i], "ScanAudit item %d", i)
			require.Equal(t, want[i].ComputeHash(), got[i].Hash, "the entry read back must hash as written")
		}
	})

	test(t, newStore, "AppendNeedsTheNextSeq", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		first := auditEntry(sub.ID, verification.HostActor(), verification.AuditSubjectTags, 0, nil)
		for _, seq := range []int64{0, -1, 2} {
			e := first
			e.Seq = seq
			require.ErrorIs(t, s.AppendAudit(ctx, e), verification.ErrConflict, "AppendAudit with Seq %d on an empty trail must fail with ErrConflict", seq)
		}
		appendLinked(t, s, &first)
		for _, seq := range []int64{1, 3, 100} {
			e := first
			e.Seq = seq
			require.ErrorIs(t, s.AppendAudit(ctx, e), verification.ErrConflict, "AppendAudit with Seq %d after entry 1 must fail with ErrConflict", seq)
		}
		got := scanAll(t, s, verification.AuditFilter{})
		require.Len(t, got, 1, "refused appends must insert nothing")
	})

	test(t, newStore, "RolledBackAppendLeavesNothing", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		boom := errors.New("boom")
		err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			e := auditEntry(sub.ID, verification.HostActor(), verification.AuditSubjectHold, 0, nil)
			e.Seq, e.Hash = 1, e.ComputeHash()
			if err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
			last, err := tx.LastAudit(ctx)
			if err != nil {
				return err
			}
			if last.Seq != 1 {
				return fmt.Errorf("LastAudit inside the transaction returned seq %d, want 1", last.Seq)
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = s.LastAudit(ctx)
		require.ErrorIs(t, err, verification.ErrNotFound, "a rolled-back append must leave the trail empty")
		e := auditEntry(sub.ID, verification.HostActor(), verification.AuditSubjectHold, 0, nil)
		appendLinked(t, s, &e)
		require.Equal(t, int64(1), e.Seq, "the Seq of a rolled-back append is handed out again")
	})

	test(t, newStore, "Filters", func(t *testing.T, s verification.Store) {
		alice := newSubject(t, s, "alice", "eu")
		bob := newSubject(t, s, "bob", "us")
		carol := newSubject(t, s, "carol", "eu", "us")
		dave := newSubject(t, s, "dave")
		admin7, admin8 := verification.AdminActor(7, nil), verification.AdminActor(8, nil)
		var all []verification.AuditEntry
		plan := []struct {
			sub    int64
			actor  verification.Actor
			action verification.AuditAction
		}{
			{alice.ID, admin7, verification.AuditReviewDecided},
			{bob.ID, admin8, verification.AuditReviewDecided},
			{0, verification.SystemActor(), verification.AuditRetentionRun},
			{carol.ID, admin7, verification.AuditDocumentViewed},
			{dave.ID, verification.HostActor(), verification.AuditSubjectTags},
			{alice.ID, admin8, verification.AuditGrantManual},
			{bob.ID, verification.ProviderActor("veriff"), verification.AuditProviderDecision},
			{alice.ID, admin7, verification.AuditDocumentViewed},
		}
		for i, p := range plan {
			e := auditEntry(p.sub, p.actor, p.action, i, nil)
			appendLinked(t, s, &e)
			all = append(all, e)
		}
		for _, f := range []verification.AuditFilter{
			{},
			{SubjectID: alice.ID},
			{SubjectID: dave.ID + 1000},
			{Tags: []string{"eu"}},
			{Tags: []string{"us"}},
			{Tags: []string{"eu", "us"}},
			{Tags: []string{}},
			{Tags: []string{"nope"}},
			{Tags: []string{"eu"}, SubjectID: bob.ID},
			{ActorKind: verification.ActorAdmin},
			{ActorKind: verification.ActorAdmin, ActorID: "7"},
			{ActorKind: verification.ActorSystem},
			{Action: verification.AuditDocumentViewed},
			{Action: verification.AuditDocumentViewed, SubjectID: alice.ID},
			{Since: at(3)},
			{Until: at(3)},
			{Since: at(2), Until: at(5)},
			{AfterSeq: 3},
			{AfterSeq: 3, Limit: 2},
			{Limit: 1},
			{AfterSeq: 8},
			{Tags: []string{"eu"}, ActorKind: verification.ActorAdmin, ActorID: "7", Action: verification.AuditDocumentViewed, Since: at(1), Until: at(10)},
		} {
			what := fmt.Sprintf("ScanAudit(%+v) (alice %d eu, bob %d us, carol %d eu+us, dave %d)", f, alice.ID, bob.ID, carol.ID, dave.ID)
			want := filterAudit(all, f, map[int64][]string{alice.ID: {"eu"}, bob.ID: {"us"}, carol.ID: {"eu", "us"}})
			require.Equal(t, auditSeqs(want), auditSeqs(scanAll(t, s, f)), "%s: the matching entries in Seq order (Since inclusive, Until exclusive, AfterSeq exclusive, Limit after the filters)", what)
		}
		// Tags filter by the subjects' current tags.
		bob.Tags = []string{"eu"}
		require.NoError(t, s.UpdateSubject(t.Context(), bob))
		want := filterAudit(all, verification.AuditFilter{Tags: []string{"eu"}}, map[int64][]string{alice.ID: {"eu"}, bob.ID: {"eu"}, carol.ID: {"eu", "us"}})
		require.Equal(t, auditSeqs(want), auditSeqs(scanAll(t, s, verification.AuditFilter{Tags: []string{"eu"}})), "after bob's tags became [eu], a scan by eu must include bob's entries")
	})

	test(t, newStore, "ScanInBatches", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		const n = 1300 // more than two batches of every store of this module
		err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			prev := ""
			for i := 1; i <= n; i++ {
				e := auditEntry(sub.ID, verification.AdminActor(1, nil), verification.AuditDocumentViewed, i, nil)
				e.Seq, e.PrevHash = int64(i), prev
				e.Hash = e.ComputeHash()
				if err := tx.AppendAudit(ctx, e); err != nil {
					return fmt.Errorf("appending entry %d: %w", i, err)
				}
				prev = e.Hash
			}
			return nil
		})
		require.NoError(t, err)
		// fn may call the store (outside and inside a transaction) while
		// the scan runs: stores must not hold a cursor or lock across fn.
		next := int64(1)
		err = s.ScanAudit(ctx, verification.AuditFilter{}, func(e verification.AuditEntry) error {
			if e.Seq != next {
				return fmt.Errorf("got seq %d, want %d", e.Seq, next)
			}
			next++
			if e.Seq%500 == 0 {
				if _, err := s.GetSubject(ctx, sub.ID); err != nil {
					return err
				}
				return s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
					_, err := tx.LastAudit(ctx)
					return err
				})
			}
			return nil
		})
		require.NoError(t, err, "a scan whose fn uses the store must not deadlock or fail")
		require.Equal(t, int64(n+1), next, "ScanAudit must return every entry once, in Seq order")
		stop := errors.New("stop")
		count := 0
		err = s.ScanAudit(ctx, verification.AuditFilter{}, func(verification.AuditEntry) error {
			count++
			if count == 700 {
				return stop
			}
			return nil
		})
		require.ErrorIs(t, err, stop, "ScanAudit must return fn's error")
		require.Equal(t, 700, count, "ScanAudit must stop at fn's first error")
		got := 0
		require.NoError(t, s.ScanAudit(ctx, verification.AuditFilter{AfterSeq: 1000, Limit: 250}, func(verification.AuditEntry) error { got++; return nil }))
		require.Equal(t, 250, got, "Limit applies across batches")
		// Inside a transaction too.
		err = s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			c := 0
			if err := tx.ScanAudit(ctx, verification.AuditFilter{}, func(verification.AuditEntry) error {
				c++
				if c%600 == 0 {
					_, err := tx.LastAudit(ctx)
					return err
				}
				return nil
			}); err != nil {
				return err
			}
			if c != n {
				return fmt.Errorf("scanned %d entries inside a transaction, want %d", c, n)
			}
			return nil
		})
		require.NoError(t, err)
	})

	test(t, newStore, "ReturnsCopies", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		sum := map[string]string{"decision": "approved"}
		e := auditEntry(sub.ID, verification.AdminActor(1, []string{"eu"}), verification.AuditReviewDecided, 0, sum)
		appendLinked(t, s, &e)
		sum["decision"] = "rejected"
		got := scanAll(t, s, verification.AuditFilter{})
		require.Len(t, got, 1)
		require.Equal(t, "approved", got[0].Summary["decision"], "the store must not keep the caller's Summary map")
		require.Nil(t, got[0].Actor.Tags, "the actor's tags are not stored")
		got[0].Summary["decision"] = "x"
		last, err := s.LastAudit(ctx)
		require.NoError(t, err)
		require.Equal(t, "approved", last.Summary["decision"], "returned entries must be copies")
	})

	test(t, newStore, "ConcurrentAppendersStayLinear", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		const perWorker = 25
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				for i := range perWorker {
					e := auditEntry(sub.ID, verification.AdminActor(int64(w+1), nil), verification.AuditDocumentViewed, i, nil)
					if err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error { return appendLinkedTx(ctx, tx, &e) }); err != nil {
						errs <- fmt.Errorf("worker %d append %d: %w", w, i, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err, "every append must succeed: LastAudit inside InTx serialises appenders")
		}
		requireChain(t, scanAll(t, s, verification.AuditFilter{}), workers*perWorker)
	})

	test(t, newStore, "CancelledContext", func(t *testing.T, s verification.Store) {
		ctx := cancelledContext(t)
		sub := newSubject(t, s, "alice")
		_, err := s.LastAudit(ctx)
		require.ErrorIs(t, err, context.Canceled, "LastAudit")
		e := auditEntry(sub.ID, verification.HostActor(), verification.AuditSubjectHold, 0, nil)
		e.Seq, e.Hash = 1, e.ComputeHash()
		require.ErrorIs(t, s.AppendAudit(ctx, e), context.Canceled, "AppendAudit")
		require.ErrorIs(t, s.ScanAudit(ctx, verification.AuditFilter{}, func(verification.AuditEntry) error { return nil }), context.Canceled, "ScanAudit")
		require.Empty(t, scanAll(t, s, verification.AuditFilter{}), "nothing is appended with a cancelled context")
	})
}

// auditEntry returns an unlinked entry at minute n.
func auditEntry(subjectID int64, actor verification.Actor, action verification.AuditAction, n int, summary map[string]string) verification.AuditEntry {
	entity, id := verification.AuditEntitySubject, fmt.Sprint(subjectID)
	if subjectID == 0 {
		entity, id = verification.AuditEntityRetention, ""
	}
	return verification.AuditEntry{At: at(n), Actor: actor, Action: action, SubjectID: subjectID, Entity: entity, EntityID: id, Summary: maps.Clone(summary)}
}

// appendLinked links e to the trail's head and appends it in a transaction.
func appendLinked(t *testing.T, s verification.Store, e *verification.AuditEntry) {
	t.Helper()
	require.NoError(t, s.InTx(t.Context(), func(ctx context.Context, tx verification.Store) error { return appendLinkedTx(ctx, tx, e) }), "appending an audit entry")
}

// appendLinkedTx is what the Service does: lock and read the head, link,
// hash, append.
func appendLinkedTx(ctx context.Context, tx verification.Store, e *verification.AuditEntry) error {
	e.Seq, e.PrevHash = 1, ""
	last, err := tx.LastAudit(ctx)
	switch {
	case err == nil:
		e.Seq, e.PrevHash = last.Seq+1, last.Hash
	case !errors.Is(err, verification.ErrNotFound):
		return err
	}
	e.Hash = e.ComputeHash()
	return tx.AppendAudit(ctx, *e)
}

func scanAll(t *testing.T, s verification.Store, f verification.AuditFilter) []verification.AuditEntry {
	t.Helper()
	var out []verification.AuditEntry
	require.NoError(t, s.ScanAudit(t.Context(), f, func(e verification.AuditEntry) error {
		out = append(out, e)
		return nil
	}), "ScanAudit(%+v)", f)
	return out
}

// filterAudit is the reference filter (tags: the subjects' current tags).
func filterAudit(all []verification.AuditEntry, f verification.AuditFilter, tags map[int64][]string) []verification.AuditEntry {
	var out []verification.AuditEntry
	for _, e := range all {
		sub := verification.Subject{Tags: tags[e.SubjectID]}
		switch {
		case e.Seq <= f.AfterSeq,
			f.SubjectID != 0 && e.SubjectID != f.SubjectID,
			f.Tags != nil && (e.SubjectID == 0 || !sub.HasAnyTag(f.Tags)),
			f.ActorKind != "" && e.Actor.Kind != f.ActorKind,
			f.ActorID != "" && e.Actor.ID != f.ActorID,
			f.Action != "" && e.Action != f.Action,
			!f.Since.IsZero() && e.At.Before(f.Since),
			!f.Until.IsZero() && !e.At.Before(f.Until),
			f.Limit > 0 && len(out) >= f.Limit:
			continue
		}
		out = append(out, e)
	}
	return out
}

func auditSeqs(es []verification.AuditEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

func requireAudit(t *testing.T, want, got verification.AuditEntry, format string, args ...any) {
	t.Helper()
	want.Actor.Tags = nil
	if len(want.Summary) == 0 {
		want.Summary = nil
	}
	if len(got.Summary) == 0 {
		got.Summary = nil
	}
	require.Equal(t, want, got, "%s: the audit entry read back differs from the one written (times UTC, microseconds)", fmt.Sprintf(format, args...))
}

// requireChain checks that es is a whole, linked trail of n entries.
func requireChain(t *testing.T, es []verification.AuditEntry, n int) {
	t.Helper()
	require.Len(t, es, n, "the trail must hold every committed append")
	prev := ""
	for i, e := range es {
		require.Equal(t, int64(i+1), e.Seq, "Seqs must be 1..n without gaps")
		require.Equal(t, prev, e.PrevHash, "entry %d must link to entry %d: the head must not fork under concurrent appenders", e.Seq, e.Seq-1)
		require.Equal(t, e.ComputeHash(), e.Hash, "entry %d must hash as written", e.Seq)
		prev = e.Hash
	}
}
