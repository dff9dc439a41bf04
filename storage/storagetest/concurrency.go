package storagetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// The concurrency contract is fixed, not tunable: a store that cannot run
// these counts without failing a transaction does not meet it.
const (
	workers      = 8
	txsPerWorker = 50 // workers*txsPerWorker transactions on one subject
)

// deadlockTimeout is how long a concurrency test may run before the suite
// reports a probable deadlock instead of hanging until go test's timeout.
const deadlockTimeout = 2 * time.Minute

// RunConcurrency checks the store under concurrent use; run it with -race.
// Every transaction must succeed: a store that serialises writers must wait
// (a busy timeout, a row lock), and one that detects conflicts must retry.
func RunConcurrency(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "LockSubjectSerialisesTransactions", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		const total = workers * txsPerWorker
		errs := make(chan error, workers+1)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				<-start
				for i := range txsPerWorker {
					if err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
						return incrementLevel(ctx, tx, sub.ID, fmt.Sprintf("worker %d transaction %d", w, i))
					}); err != nil {
						errs <- fmt.Errorf("worker %d, transaction %d: %w", w, i, err)
						return
					}
				}
			})
		}
		// A reader outside any transaction must only ever see committed,
		// increasing levels.
		stop := make(chan struct{})
		var readers sync.WaitGroup
		readers.Go(func() {
			<-start
			last := -1
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := s.GetSubject(ctx, sub.ID)
				if err != nil {
					errs <- fmt.Errorf("reader: GetSubject: %w", err)
					return
				}
				if got.Level < last || got.Level > total {
					errs <- fmt.Errorf("reader: saw level %d after %d (must never decrease nor exceed %d)", got.Level, last, total)
					return
				}
				last = got.Level
				time.Sleep(time.Millisecond)
			}
		})
		close(start)
		waitFor(t, &wg, "the incrementing transactions")
		close(stop)
		waitFor(t, &readers, "the reader")
		requireNoErrors(t, errs, "every transaction must succeed: the store must wait for the lock (or retry), never fail")

		got, err := s.GetSubject(ctx, sub.ID)
		require.NoError(t, err)
		require.Equal(t, total, got.Level,
			"%d transactions each did LockSubject, Level+1, UpdateSubject: a final level below %d means LockSubject did not serialise them (lost updates)", total, total)
		page, err := s.ListGrants(ctx, verification.GrantFilter{SubjectID: sub.ID, Limit: 2 * total})
		require.NoError(t, err)
		require.Equal(t, total, page.Total, "every committed transaction added exactly one grant")
		require.Len(t, page.Items, total)
		for i, g := range page.Items {
			require.Equal(t, i+1, g.Level.ID,
				"grant #%d (ID %d) must raise the level to %d: grants in ID order must follow the order the locked transactions ran in", i+1, g.ID, i+1)
			if i == 0 {
				require.Nil(t, g.Previous, "the first grant has no previous level")
			} else {
				require.NotNil(t, g.Previous, "grant #%d must have a previous level", i+1)
				require.Equal(t, i, g.Previous.ID, "grant #%d: the previous level read under the lock", i+1)
			}
		}
	})

	test(t, newStore, "TransactionsOnDistinctSubjects", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		const perSubject = 25
		subs := make([]verification.Subject, workers)
		for w := range subs {
			subs[w] = newSubject(t, s, fmt.Sprint("worker", w))
		}
		errs := make(chan error, workers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w, sub := range subs {
			wg.Go(func() {
				<-start
				for i := range perSubject {
					if err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
						if err := incrementLevel(ctx, tx, sub.ID, fmt.Sprintf("worker %d transaction %d", w, i)); err != nil {
							return err
						}
						e := newEvent(sub.ID, fmt.Sprintf("w%d-%d", w, i), i)
						return tx.AddEvent(ctx, &e)
					}); err != nil {
						errs <- fmt.Errorf("worker %d (subject %d), transaction %d: %w", w, sub.ID, i, err)
						return
					}
				}
			})
		}
		close(start)
		waitFor(t, &wg, "the transactions on distinct subjects")
		requireNoErrors(t, errs, "transactions locking distinct subjects must all succeed")
		for w, sub := range subs {
			got, err := s.GetSubject(ctx, sub.ID)
			require.NoError(t, err)
			require.Equal(t, perSubject, got.Level, "worker %d's subject: one level per transaction", w)
			page, err := s.ListGrants(ctx, verification.GrantFilter{SubjectID: sub.ID, Limit: 0})
			require.NoError(t, err)
			require.Equal(t, perSubject, page.Total, "worker %d's subject: one grant per transaction", w)
			events, err := s.ListEvents(ctx, verification.EventFilter{SubjectID: sub.ID})
			require.NoError(t, err)
			require.Len(t, events, perSubject, "worker %d's subject: one event per transaction", w)
			for i, e := range events {
				require.Equal(t, fmt.Sprintf("w%d-%d", w, i), e.ID, "worker %d's events must be in commit order (Seq increases in commit order per subject)", w)
			}
		}
	})

	test(t, newStore, "CreatesOfDistinctSubjects", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		const perWorker = 10
		ids := make([][]int64, workers)
		errs := make(chan error, workers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				<-start
				for i := range perWorker {
					sub := verification.Subject{Identifier: ident(fmt.Sprintf("w%dn%d", w, i)), Level: w*perWorker + i, CreatedAt: at(i), UpdatedAt: at(i)}
					if err := s.CreateSubject(ctx, &sub); err != nil {
						errs <- fmt.Errorf("worker %d, CreateSubject %d: %w", w, i, err)
						return
					}
					ids[w] = append(ids[w], sub.ID)
				}
			})
		}
		close(start)
		waitFor(t, &wg, "the concurrent creates")
		requireNoErrors(t, errs, "concurrent creates of distinct subjects must all succeed")
		seen := map[int64]string{}
		for w := range workers {
			var prev int64
			for i, id := range ids[w] {
				name := fmt.Sprintf("w%dn%d", w, i)
				require.Positive(t, id, "%s: ID", name)
				require.NotContains(t, seen, id, "%s got ID %d, already given to %s", name, id, seen[id])
				require.Greater(t, id, prev, "%s: one goroutine's subjects must get increasing IDs", name)
				seen[id], prev = name, id
				got, err := s.GetSubjectByIdentifier(ctx, ident(name))
				require.NoError(t, err, name)
				require.Equal(t, id, got.ID, "%s: GetSubjectByIdentifier must find the subject with the ID CreateSubject returned", name)
				require.Equal(t, w*perWorker+i, got.Level, "%s: the subject's own fields", name)
			}
		}
	})

	test(t, newStore, "CreatesOfTheSameIdentifier", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		for round := range 5 {
			identifier := ident(fmt.Sprint("contested", round))
			results := make([]error, workers)
			subs := make([]verification.Subject, workers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					<-start
					subs[w] = verification.Subject{Identifier: identifier, Level: w + 1, CreatedAt: at(w), UpdatedAt: at(w)}
					results[w] = s.CreateSubject(ctx, &subs[w])
				})
			}
			close(start)
			waitFor(t, &wg, "the concurrent creates")
			winner := -1
			for w, err := range results {
				if err == nil {
					require.Equal(t, -1, winner, "round %d: workers %d and %d both created identifier %s: exactly one create may succeed", round, winner, w, identifier)
					winner = w
					continue
				}
				require.ErrorIs(t, err, verification.ErrConflict, "round %d, worker %d: a losing concurrent create must fail with ErrConflict (not a driver or busy error)", round, w)
			}
			require.NotEqual(t, -1, winner, "round %d: one of the concurrent creates of identifier %s must succeed", round, identifier)
			got, err := s.GetSubjectByIdentifier(ctx, identifier)
			require.NoError(t, err)
			require.Equal(t, subs[winner].ID, got.ID, "round %d: the stored subject is the winner's", round)
			require.Equal(t, winner+1, got.Level, "round %d: the stored subject is the winner's", round)
		}
	})

	test(t, newStore, "ConcurrentEvents", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		const perWorker = 25
		subs := make([]verification.Subject, workers)
		for w := range subs {
			subs[w] = newSubject(t, s, fmt.Sprint("worker", w))
		}
		errs := make(chan error, workers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w, sub := range subs {
			wg.Go(func() {
				<-start
				for i := range perWorker {
					e := newEvent(sub.ID, fmt.Sprintf("w%d-%d", w, i), i)
					if err := s.AddEvent(ctx, &e); err != nil {
						errs <- fmt.Errorf("worker %d, AddEvent %d: %w", w, i, err)
						return
					}
				}
			})
		}
		close(start)
		waitFor(t, &wg, "the concurrent AddEvent calls")
		requireNoErrors(t, errs, "concurrent AddEvent calls must all succeed")
		events, err := s.ListEvents(ctx, verification.EventFilter{})
		require.NoError(t, err)
		require.Len(t, events, workers*perWorker)
		next := make([]int, workers)
		var prev int64
		for _, e := range events {
			require.Greater(t, e.Seq, prev, "ListEvents must return events in strictly increasing Seq order (Seq is unique)")
			prev = e.Seq
			var w, i int
			_, err := fmt.Sscanf(e.ID, "w%d-%d", &w, &i)
			require.NoError(t, err, "event ID %q", e.ID)
			require.Equal(t, next[w], i, "worker %d added its events one after the other: they must come in that order (Seq increases in commit order per subject)", w)
			next[w]++
		}
	})
}

// incrementLevel is one state transition: lock the subject, read its level,
// record a grant to the next level and store the new level.
func incrementLevel(ctx context.Context, tx verification.Store, subjectID int64, reason string) error {
	cur, err := tx.LockSubject(ctx, subjectID)
	if err != nil {
		return fmt.Errorf("LockSubject: %w", err)
	}
	g := verification.Grant{
		SubjectID: subjectID,
		Level:     verification.LevelRef{ID: cur.Level + 1, Name: levelName(cur.Level + 1)},
		Reason:    reason,
		CreatedAt: at(cur.Level + 1),
	}
	if cur.Level > 0 {
		g.Previous = &verification.LevelRef{ID: cur.Level, Name: levelName(cur.Level)}
	}
	if err := tx.AddGrant(ctx, &g); err != nil {
		return fmt.Errorf("AddGrant: %w", err)
	}
	// Let other goroutines run between the read and the write, as real
	// work would: without the lock, they now read the same level.
	runtime.Gosched()
	cur.Level++
	cur.UpdatedAt = g.CreatedAt
	if err := tx.UpdateSubject(ctx, cur); err != nil {
		return fmt.Errorf("UpdateSubject: %w", err)
	}
	return nil
}

// waitFor waits for wg, failing the test if it takes longer than
// deadlockTimeout.
func waitFor(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(deadlockTimeout):
		t.Fatalf("%s still running after %v: probably a deadlock (a transaction waiting on a lock that is never released, or fn using the outer store instead of tx)", what, deadlockTimeout)
	}
}

// requireNoErrors drains errs (after every sender is done) and fails the
// test if it holds any error.
func requireNoErrors(t *testing.T, errs chan error, what string) {
	t.Helper()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	require.NoError(t, errors.Join(all...), what)
}
