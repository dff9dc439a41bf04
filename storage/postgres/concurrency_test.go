package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// TestTransitionsAcrossTwoPools runs 8 goroutines x 200 transitions on one
// subject through two Stores with a pool each (two replicas of an
// application): every transition locks the subject, raises its level by one
// and records a grant. No update may be lost: the final level is 1,600 and
// there are exactly 1,600 grants, the k-th of which records level k.
func TestTransitionsAcrossTwoPools(t *testing.T) {
	t.Parallel()
	const workers, perWorker = 8, 200
	schema := newSchema(t)
	stores := []*Store{openOwnPool(t, schema), openOwnPool(t, schema)}
	ctx := ctxTimeout(t)
	sub := newSubject(t, stores[0], "contended")

	errs := make(chan error, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		store := stores[w%len(stores)]
		wg.Go(func() {
			<-start
			for i := range perWorker {
				err := store.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
					cur, err := tx.LockSubject(ctx, sub.ID)
					if err != nil {
						return err
					}
					prev := verification.LevelRef{ID: cur.Level, Name: fmt.Sprint("L", cur.Level)}
					cur.Level++
					if err := tx.UpdateSubject(ctx, cur); err != nil {
						return err
					}
					g := verification.Grant{SubjectID: cur.ID, Level: verification.LevelRef{ID: cur.Level, Name: fmt.Sprint("L", cur.Level)}, Previous: &prev, Reason: fmt.Sprintf("worker %d #%d", w, i)}
					return tx.AddGrant(ctx, &g)
				})
				if err != nil {
					errs <- fmt.Errorf("worker %d transition %d: %w", w, i, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	got, err := stores[1].GetSubject(ctx, sub.ID)
	require.NoError(t, err)
	require.Equal(t, workers*perWorker, got.Level, "lost updates")
	for _, f := range []verification.GrantFilter{{}, {SubjectID: sub.ID}} {
		f.Limit = verification.MaxPageSize
		page, err := stores[0].ListGrants(ctx, f)
		require.NoError(t, err)
		require.Equal(t, workers*perWorker, page.Total)
	}
	for off := 0; off < workers*perWorker; off += verification.MaxPageSize {
		page, err := stores[0].ListGrants(ctx, verification.GrantFilter{SubjectID: sub.ID, Offset: off, Limit: verification.MaxPageSize})
		require.NoError(t, err)
		for i, g := range page.Items {
			k := off + i + 1
			require.EqualValues(t, k, g.ID, "grant ids are dense")
			require.Equal(t, k, g.Level.ID, "grant %d saw the level its predecessor committed", k)
			require.Equal(t, k-1, g.Previous.ID)
		}
	}
}

// TestConcurrentReviewsAcrossTwoServices races two Services, each on its own
// pool, deciding the same pending requirement: exactly one decision wins,
// the other gets ErrConflict, and the winner's grant, review and events are
// recorded once.
func TestConcurrentReviewsAcrossTwoServices(t *testing.T) {
	t.Parallel()
	ladder, err := levels.New([]levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{{Name: "emailCode", Type: levels.String, Rule: "required,numeric,len=6", Review: true}}},
	})
	require.NoError(t, err)
	schema := newSchema(t)
	var svcs []*verification.Service
	for range 2 {
		svc, err := verification.New(ladder, openOwnPool(t, schema), verification.Options{})
		require.NoError(t, err)
		svcs = append(svcs, svc)
	}
	ctx := ctxTimeout(t)

	for round := range 20 {
		sub, err := svcs[0].CreateSubject(ctx, verification.CreateSubjectParams{Identifier: fmt.Sprintf("race%032d", round)})
		require.NoError(t, err)
		_, err = svcs[1].Answer(ctx, sub.ID, "emailCode", json.RawMessage(`"123456"`))
		require.NoError(t, err)

		// Even rounds: both approve. Odd rounds: one approves, one rejects.
		decisions := []verification.ReviewParams{
			{SubjectID: sub.ID, Requirement: "emailCode", Decision: verification.Approve},
			{SubjectID: sub.ID, Requirement: "emailCode", Decision: verification.Approve},
		}
		if round%2 == 1 {
			decisions[1] = verification.ReviewParams{SubjectID: sub.ID, Requirement: "emailCode", Decision: verification.Reject, Reason: "wrong code"}
		}
		errs := make([]error, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() {
				<-start
				_, errs[i] = svcs[i].Review(ctx, verification.AdminActor(int64(i+1), nil), decisions[i])
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		for i, err := range errs {
			if err == nil {
				require.Equal(t, -1, winner, "round %d: both decisions succeeded", round)
				winner = i
			} else {
				require.ErrorIs(t, err, verification.ErrConflict, "round %d: the losing decision", round)
			}
		}
		require.NotEqual(t, -1, winner, "round %d: no decision succeeded: %v", round, errs)
		approved := decisions[winner].Decision == verification.Approve

		reviews, err := svcs[0].Reviews(ctx, verification.SystemActor(), sub.ID)
		require.NoError(t, err)
		require.Len(t, reviews, 1, "round %d", round)
		page, err := svcs[1].Grants(ctx, verification.SystemActor(), verification.GrantFilter{SubjectID: sub.ID, Limit: 10})
		require.NoError(t, err)
		events, err := svcs[0].Events(ctx, verification.SystemActor(), verification.EventFilter{SubjectID: sub.ID})
		require.NoError(t, err)
		count := map[verification.EventType]int{}
		for _, e := range events {
			count[e.Type]++
		}
		if approved {
			require.Equal(t, 2, page.Total, "round %d: the created grant and one review grant", round)
			require.Equal(t, int64(winner+1), page.Items[1].AdminID)
			require.Equal(t, 1, count[verification.EventRequirementApproved], "round %d", round)
			require.Equal(t, 2, count[verification.EventLevelGranted], "round %d", round)
			require.Zero(t, count[verification.EventRequirementRejected], "round %d", round)
		} else {
			require.Equal(t, 1, page.Total, "round %d: a rejection grants nothing", round)
			require.Equal(t, 1, count[verification.EventRequirementRejected], "round %d", round)
			require.Zero(t, count[verification.EventRequirementApproved], "round %d", round)
		}
	}
}

// TestLockSubjectLetsReferencesThrough shows why LockSubject takes FOR NO
// KEY UPDATE rather than FOR UPDATE: while a transition holds a subject,
// other transactions can still insert rows that reference it (their
// foreign-key checks take KEY SHARE), and only a second LockSubject waits.
func TestLockSubjectLetsReferencesThrough(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxTimeout(t)
	sub := newSubject(t, s, "held")
	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			if _, err := tx.LockSubject(ctx, sub.ID); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	quick, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	require.NoError(t, s.CreateFile(quick, verification.File{ID: "f1", SubjectID: sub.ID}), "a referencing insert does not wait")
	a := verification.Application{UUID: "a1", SubjectID: sub.ID, Status: verification.ApplicationDraft}
	require.NoError(t, s.CreateApplication(quick, &a))

	blocked, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	err := s.InTx(blocked, func(ctx context.Context, tx verification.Store) error {
		_, err := tx.LockSubject(ctx, sub.ID)
		return err
	})
	require.ErrorIs(t, err, context.DeadlineExceeded, "a second LockSubject waits for the first")
	close(release)
	require.NoError(t, <-done)
}

// TestLockSubjectStatesReadsAfterTheLock holds a subject's lock in one
// transaction, writes a state there and commits while a second transaction
// waits in LockSubjectStates: the second must see that state. (A single
// statement joining the states to the locked subject reads them from the
// snapshot it took before waiting, and fails this.)
func TestLockSubjectStatesReadsAfterTheLock(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxTimeout(t)
	sub := newSubject(t, s, "contended")
	require.NoError(t, s.PutRequirementState(ctx, verification.RequirementState{SubjectID: sub.ID, Name: "a", Status: levels.Pending}))
	holding, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			if _, _, err := tx.(verification.SubjectStatesLocker).LockSubjectStates(ctx, sub.ID); err != nil {
				return err
			}
			if err := tx.PutRequirementState(ctx, verification.RequirementState{SubjectID: sub.ID, Name: "a", Status: levels.Approved}); err != nil {
				return err
			}
			if err := tx.PutRequirementState(ctx, verification.RequirementState{SubjectID: sub.ID, Name: "b", Status: levels.Pending}); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	second := make(chan []verification.RequirementState, 1)
	secondErr := make(chan error, 1)
	go func() {
		secondErr <- s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			_, states, err := tx.(verification.SubjectStatesLocker).LockSubjectStates(ctx, sub.ID)
			second <- states
			return err
		})
	}()
	// Let the second transaction start its statement and wait for the lock.
	require.Eventually(t, func() bool {
		var waiting int
		err := s.db.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND position($1 in query) > 0 AND position('FOR NO KEY UPDATE' in query) > 0`, s.db.quoted).Scan(&waiting)
		return err == nil && waiting > 0
	}, 10*time.Second, 10*time.Millisecond, "the second LockSubjectStates waits for the lock")
	close(release)
	require.NoError(t, <-first)
	require.NoError(t, <-secondErr)
	states := <-second
	require.Len(t, states, 2, "the state the first transaction added")
	require.Equal(t, "a", states[0].Name)
	require.Equal(t, levels.Approved, states[0].Status, "the state the first transaction changed")
	require.Equal(t, "b", states[1].Name)
}
