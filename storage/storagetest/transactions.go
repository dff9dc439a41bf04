package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// errBoom is the error the suite's transactions fail with.
var errBoom = errors.New("storagetest: fn failed on purpose")

// RunTransactions checks InTx: commit, rollback of every kind of write on an
// error or a panic, nesting, and cancelled contexts.
func RunTransactions(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "CommitMakesEveryWriteVisible", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		w := seedWorld(t, s)
		var wr txWrites
		err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			wr = writeEverything(t, ctx, tx, w)
			checkWrites(t, ctx, tx, w, wr, "read through tx inside the transaction")
			return nil
		})
		require.NoError(t, err, "InTx whose fn returns nil")
		checkWrites(t, ctx, s, w, wr, "read after commit")
	})

	test(t, newStore, "ErrorRollsBackEveryWrite", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		w := seedWorld(t, s)
		before := takeSnapshot(t, s, w)
		var wr txWrites
		err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			wr = writeEverything(t, ctx, tx, w)
			return fmt.Errorf("step 12: %w", errBoom)
		})
		require.ErrorIs(t, err, errBoom, "InTx must return the error fn returned")
		requireSnapshot(t, before, takeSnapshot(t, s, w), "after a transaction whose fn returned an error")
		requireRolledBack(t, s, wr)
		redoUniques(t, s, wr)
	})

	test(t, newStore, "PanicRollsBackEveryWriteAndRepanics", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		w := seedWorld(t, s)
		before := takeSnapshot(t, s, w)
		var wr txWrites
		require.Panics(t, func() {
			_ = s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
				wr = writeEverything(t, ctx, tx, w)
				panic("storagetest: fn panicked on purpose")
			})
		}, "InTx must re-panic when fn panics")
		requireSnapshot(t, before, takeSnapshot(t, s, w), "after a transaction whose fn panicked")
		requireRolledBack(t, s, wr)
		// The store must still work: no lock, connection or transaction leaked.
		redoUniques(t, s, wr)
		dave := verification.Subject{Identifier: ident("dave"), CreatedAt: at(9), UpdatedAt: at(9)}
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			return tx.CreateSubject(ctx, &dave)
		}), "InTx after a panicking transaction")
		_, err := s.GetSubject(ctx, dave.ID)
		require.NoError(t, err, "a transaction after a panicking one must commit")
	})

	test(t, newStore, "NestedInTxJoinsTheTransaction", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		w := seedWorld(t, s)
		before := takeSnapshot(t, s, w)

		// Inner succeeds, outer fails: the inner writes are rolled back too.
		carol := verification.Subject{Identifier: ident("carol"), CreatedAt: at(1), UpdatedAt: at(1)}
		dave := verification.Subject{Identifier: ident("dave"), CreatedAt: at(1), UpdatedAt: at(1)}
		var grant verification.Grant
		err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			require.NoError(t, tx.CreateSubject(ctx, &carol))
			err := tx.InTx(ctx, func(ctx context.Context, inner verification.Store) error {
				_, err := inner.GetSubject(ctx, carol.ID)
				require.NoError(t, err, "the inner transaction must see the outer one's writes")
				require.NoError(t, inner.CreateSubject(ctx, &dave))
				grant = addGrant(t, inner, dave.ID, 0, 1, 1)
				return nil
			})
			require.NoError(t, err, "a nested InTx whose fn returns nil")
			_, err = tx.GetSubject(ctx, dave.ID)
			require.NoError(t, err, "the outer transaction must see the inner one's writes")
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		requireSnapshot(t, before, takeSnapshot(t, s, w), "after an outer transaction failed around a successful inner one")
		for _, sub := range []verification.Subject{carol, dave} {
			_, err = s.GetSubject(ctx, sub.ID)
			require.ErrorIs(t, err, verification.ErrNotFound, "a subject created in a nested InTx must be rolled back with the outer transaction")
		}
		_, err = s.GetGrant(ctx, grant.ID)
		require.ErrorIs(t, err, verification.ErrNotFound, "a grant added in a nested InTx must be rolled back with the outer transaction")

		// The inner error comes back out of tx.InTx and, returned, out of InTx.
		errInner := errors.New("storagetest: inner fn failed")
		err = s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			require.NoError(t, tx.CreateSubject(ctx, &carol))
			err := tx.InTx(ctx, func(ctx context.Context, inner verification.Store) error {
				require.NoError(t, inner.CreateSubject(ctx, &dave))
				return fmt.Errorf("inner: %w", errInner)
			})
			require.ErrorIs(t, err, errInner, "a nested InTx must return its fn's error")
			return err
		})
		require.ErrorIs(t, err, errInner)
		requireSnapshot(t, before, takeSnapshot(t, s, w), "after a failed nested transaction")
		_, err = s.GetSubjectByIdentifier(ctx, carol.Identifier)
		require.ErrorIs(t, err, verification.ErrNotFound)
		_, err = s.GetSubjectByIdentifier(ctx, dave.Identifier)
		require.ErrorIs(t, err, verification.ErrNotFound)

		// Both succeed: everything commits.
		err = s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			require.NoError(t, tx.CreateSubject(ctx, &carol))
			return tx.InTx(ctx, func(ctx context.Context, inner verification.Store) error {
				require.NoError(t, inner.CreateSubject(ctx, &dave))
				grant = addGrant(t, inner, dave.ID, 0, 1, 1)
				return nil
			})
		})
		require.NoError(t, err)
		for _, sub := range []verification.Subject{carol, dave} {
			got, err := s.GetSubjectByIdentifier(ctx, sub.Identifier)
			require.NoError(t, err, "a nested transaction must commit with the outer one")
			requireSubject(t, sub, got, "a subject created in a nested transaction")
		}
		got, err := s.GetGrant(ctx, grant.ID)
		require.NoError(t, err, "a nested transaction must commit with the outer one")
		requireGrant(t, grant, got, "a grant added in a nested transaction")
	})

	test(t, newStore, "NotFoundInsideTxDoesNotSpoilIt", func(t *testing.T, s verification.Store) {
		// The Service reads objects that may be absent inside transitions
		// (a file removed meanwhile) and carries on.
		ctx := t.Context()
		w := seedWorld(t, s)
		carol := verification.Subject{Identifier: ident("carol"), CreatedAt: at(1), UpdatedAt: at(1)}
		err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			notFound := func(err error, what string) {
				require.ErrorIs(t, err, verification.ErrNotFound, "%s inside a transaction", what)
			}
			_, err := tx.LockSubject(ctx, w.bob.ID+1000)
			notFound(err, "LockSubject of an unknown subject")
			_, err = tx.GetSubjectByIdentifier(ctx, ident("nobody"))
			notFound(err, "GetSubjectByIdentifier of an unknown identifier")
			_, err = tx.GetRequirementState(ctx, w.alice.ID, "nothing")
			notFound(err, "GetRequirementState of an unknown name")
			_, err = tx.GetGrant(ctx, 1_000_000)
			notFound(err, "GetGrant of an unknown ID")
			_, err = tx.GetApplicationByUUID(ctx, uuid(999))
			notFound(err, "GetApplicationByUUID of an unknown UUID")
			_, err = tx.GetFile(ctx, "no-such-file")
			notFound(err, "GetFile of an unknown ID")
			notFound(tx.UpdateFile(ctx, newFile(w.alice.ID, "no-such-file", "passport", "front", levels.Pending, 0, 0)), "UpdateFile of an unknown ID")
			notFound(tx.DeleteFile(ctx, "no-such-file"), "DeleteFile of an unknown ID")
			notFound(tx.UpdateIDSession(ctx, newSession(w.alice.ID, "no-such-session", 0)), "UpdateIDSession of an unknown ID")
			require.NoError(t, tx.CreateSubject(ctx, &carol), "a write after not-found errors inside the same transaction")
			return nil
		})
		require.NoError(t, err, "a transaction whose reads found nothing must still commit")
		_, err = s.GetSubject(ctx, carol.ID)
		require.NoError(t, err, "a transaction whose reads found nothing must still commit")
	})

	test(t, newStore, "CancelledContext", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		w := seedWorld(t, s)
		before := takeSnapshot(t, s, w)

		// Already cancelled: InTx fails and nothing is written, even if fn runs
		// and writes with a live context.
		carol := verification.Subject{Identifier: ident("carol"), CreatedAt: at(1), UpdatedAt: at(1)}
		err := s.InTx(cancelledContext(t), func(ctx context.Context, tx verification.Store) error {
			live := context.WithoutCancel(ctx)
			if err := tx.CreateSubject(live, &carol); err != nil {
				return err
			}
			g := verification.Grant{SubjectID: w.alice.ID, Level: verification.LevelRef{ID: 2, Name: "Level 2"}, Reason: "created", CreatedAt: at(1)}
			return tx.AddGrant(live, &g)
		})
		require.ErrorIs(t, err, context.Canceled, "InTx with a cancelled context must return an error matching context.Canceled")
		requireSnapshot(t, before, takeSnapshot(t, s, w), "after InTx with a cancelled context")
		_, err = s.GetSubjectByIdentifier(ctx, carol.Identifier)
		require.ErrorIs(t, err, verification.ErrNotFound, "InTx with a cancelled context must not write")

		// Cancelled inside fn: the next write fails with context.Canceled and,
		// fn returning that error, everything is rolled back.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		carol = verification.Subject{Identifier: ident("carol"), CreatedAt: at(1), UpdatedAt: at(1)}
		err = s.InTx(cctx, func(ctx context.Context, tx verification.Store) error {
			require.NoError(t, tx.CreateSubject(ctx, &carol))
			cancel()
			g := verification.Grant{SubjectID: carol.ID, Level: verification.LevelRef{ID: 1, Name: "Level 1"}, Reason: "created", CreatedAt: at(1)}
			err := tx.AddGrant(ctx, &g)
			require.ErrorIs(t, err, context.Canceled, "AddGrant inside a transaction with a cancelled context")
			return err
		})
		require.ErrorIs(t, err, context.Canceled, "InTx must return fn's context.Canceled")
		requireSnapshot(t, before, takeSnapshot(t, s, w), "after a transaction cancelled inside fn")
		_, err = s.GetSubjectByIdentifier(ctx, carol.Identifier)
		require.ErrorIs(t, err, verification.ErrNotFound, "a transaction cancelled inside fn must not commit")

		// Cancelled inside fn, fn returns nil anyway: InTx either commits and
		// returns nil, or rolls back and returns context.Canceled; never half.
		cctx, cancel = context.WithCancel(ctx)
		defer cancel()
		carol = verification.Subject{Identifier: ident("carol"), CreatedAt: at(1), UpdatedAt: at(1)}
		err = s.InTx(cctx, func(ctx context.Context, tx verification.Store) error {
			require.NoError(t, tx.CreateSubject(ctx, &carol))
			cancel()
			return nil
		})
		_, getErr := s.GetSubjectByIdentifier(ctx, carol.Identifier)
		if err == nil {
			require.NoError(t, getErr, "InTx returned nil after its context was cancelled inside fn, so it must have committed")
		} else {
			require.ErrorIs(t, err, context.Canceled, "InTx whose context was cancelled inside fn must return context.Canceled if it does not commit")
			require.ErrorIs(t, getErr, verification.ErrNotFound, "InTx returned %v, so it must not have committed", err)
		}
	})
}

// world is the committed state the transaction tests start from.
type world struct {
	alice, bob   verification.Subject
	state        verification.RequirementState
	review       verification.Review
	grant        verification.Grant
	app          verification.Application
	file1, file2 verification.File
	sess         verification.IDSession
	event        verification.Event
}

func seedWorld(t *testing.T, s verification.Store) world {
	t.Helper()
	ctx := t.Context()
	w := world{alice: newSubject(t, s, "alice", "eu"), bob: newSubject(t, s, "bob", "us")}
	w.state = verification.RequirementState{SubjectID: w.alice.ID, Name: "emailCode", Status: levels.Pending, Answer: json.RawMessage(`"123456"`), Attempts: 1, UpdatedAt: at(1)}
	require.NoError(t, s.PutRequirementState(ctx, w.state))
	w.review = verification.Review{SubjectID: w.alice.ID, Requirement: "nationality", Decision: verification.Approve, AdminID: 3, CreatedAt: at(1)}
	require.NoError(t, s.AddReview(ctx, &w.review))
	w.grant = addGrant(t, s, w.alice.ID, 0, 1, 1)
	addGrant(t, s, w.bob.ID, 0, 1, 1)
	w.app = verification.Application{UUID: uuid(1), SubjectID: w.alice.ID, Level: 2, Status: verification.ApplicationDraft, CreatedAt: at(1), ExpiresAt: at(60)}
	require.NoError(t, s.CreateApplication(ctx, &w.app))
	w.file1 = newFile(w.alice.ID, "file-1", "passport", "front", levels.Pending, 1, 0)
	w.file2 = newFile(w.alice.ID, "file-2", "passport", "back", levels.Pending, 1, 0)
	require.NoError(t, s.CreateFile(ctx, w.file1))
	require.NoError(t, s.CreateFile(ctx, w.file2))
	w.sess = newSession(w.alice.ID, "sess-1", 1)
	require.NoError(t, s.AddIDSession(ctx, w.sess))
	w.event = newEvent(w.alice.ID, "ev-1", 1)
	require.NoError(t, s.AddEvent(ctx, &w.event))
	return w
}

// txWrites is what writeEverything wrote.
type txWrites struct {
	carol        verification.Subject // created
	alice        verification.Subject // updated
	newState     verification.RequirementState
	replaced     verification.RequirementState
	review       verification.Review
	grant        verification.Grant // for alice
	carolGrant   verification.Grant // for carol, created in the same transaction
	app          verification.Application
	appUpdated   verification.Application
	file3        verification.File
	file1Updated verification.File
	sess         verification.IDSession
	sessUpdated  verification.IDSession
	event        verification.Event
}

// writeEverything makes one write of every kind through tx.
func writeEverything(t *testing.T, ctx context.Context, tx verification.Store, w world) txWrites {
	t.Helper()
	var wr txWrites
	wr.carol = verification.Subject{Identifier: ident("carol"), Tags: []string{"eu"}, CreatedAt: at(2), UpdatedAt: at(2)}
	require.NoError(t, tx.CreateSubject(ctx, &wr.carol), "CreateSubject inside a transaction")

	locked, err := tx.LockSubject(ctx, w.alice.ID)
	require.NoError(t, err, "LockSubject inside a transaction")
	wr.alice = locked
	wr.alice.Level = 2
	wr.alice.Tags = []string{"us", "vip"}
	wr.alice.UpdatedAt = at(2)
	require.NoError(t, tx.UpdateSubject(ctx, wr.alice), "UpdateSubject inside a transaction")

	wr.newState = verification.RequirementState{SubjectID: w.alice.ID, Name: "nationality", Status: levels.Approved, Answer: json.RawMessage(`"DE"`), Attempts: 1, UpdatedAt: at(2)}
	require.NoError(t, tx.PutRequirementState(ctx, wr.newState), "PutRequirementState (insert) inside a transaction")
	wr.replaced = w.state
	wr.replaced.Status, wr.replaced.Answer, wr.replaced.UpdatedAt = levels.Approved, nil, at(2)
	require.NoError(t, tx.PutRequirementState(ctx, wr.replaced), "PutRequirementState (replace) inside a transaction")

	wr.review = verification.Review{SubjectID: w.alice.ID, Requirement: "emailCode", Decision: verification.Approve, CreatedAt: at(2)}
	require.NoError(t, tx.AddReview(ctx, &wr.review), "AddReview inside a transaction")

	wr.grant = addGrant(t, tx, w.alice.ID, 1, 2, 2)
	wr.carolGrant = addGrant(t, tx, wr.carol.ID, 0, 1, 2)

	wr.app = verification.Application{UUID: uuid(2), SubjectID: wr.carol.ID, Level: 1, Status: verification.ApplicationDraft, CreatedAt: at(2), ExpiresAt: at(62)}
	require.NoError(t, tx.CreateApplication(ctx, &wr.app), "CreateApplication inside a transaction")
	wr.appUpdated = w.app
	wr.appUpdated.Status = verification.ApplicationApproved
	wr.appUpdated.DecidedAt, wr.appUpdated.DecidedBy = at(2), 3
	wr.appUpdated.Steps = []verification.Step{{Requirement: "idDocument", DocumentType: 1, Files: []string{"file-1"}, At: at(2)}}
	require.NoError(t, tx.UpdateApplication(ctx, wr.appUpdated), "UpdateApplication inside a transaction")

	wr.file3 = newFile(wr.carol.ID, "file-3", "id_card", "front", levels.Pending, 2, 0)
	require.NoError(t, tx.CreateFile(ctx, wr.file3), "CreateFile inside a transaction")
	wr.file1Updated = w.file1
	wr.file1Updated.Status, wr.file1Updated.DecidedAt, wr.file1Updated.BlobKey = levels.Approved, at(2), ""
	require.NoError(t, tx.UpdateFile(ctx, wr.file1Updated), "UpdateFile inside a transaction")
	require.NoError(t, tx.DeleteFile(ctx, w.file2.ID), "DeleteFile inside a transaction")

	wr.sess = newSession(wr.carol.ID, "sess-2", 2)
	require.NoError(t, tx.AddIDSession(ctx, wr.sess), "AddIDSession inside a transaction")
	wr.sessUpdated = w.sess
	wr.sessUpdated.Status = "declined"
	require.NoError(t, tx.UpdateIDSession(ctx, wr.sessUpdated), "UpdateIDSession inside a transaction")

	wr.event = newEvent(wr.carol.ID, "ev-2", 2)
	require.NoError(t, tx.AddEvent(ctx, &wr.event), "AddEvent inside a transaction")
	return wr
}

// checkWrites asserts that every write of writeEverything is visible in s.
func checkWrites(t *testing.T, ctx context.Context, s verification.Store, w world, wr txWrites, when string) {
	t.Helper()
	got, err := s.GetSubject(ctx, wr.carol.ID)
	require.NoError(t, err, "%s: the created subject", when)
	requireSubject(t, wr.carol, got, when+": the created subject")
	got, err = s.GetSubjectByIdentifier(ctx, wr.carol.Identifier)
	require.NoError(t, err, "%s: the created subject by identifier", when)
	requireSubject(t, wr.carol, got, when+": the created subject by identifier")
	got, err = s.GetSubject(ctx, w.alice.ID)
	require.NoError(t, err)
	requireSubject(t, wr.alice, got, when+": the updated subject")

	states, err := s.ListRequirementStates(ctx, w.alice.ID)
	require.NoError(t, err)
	require.Len(t, states, 2, "%s: requirement states", when)
	requireState(t, wr.replaced, states[0], when+": the replaced requirement state")
	requireState(t, wr.newState, states[1], when+": the inserted requirement state")

	reviews, err := s.ListReviews(ctx, w.alice.ID)
	require.NoError(t, err)
	require.Equal(t, []verification.Review{w.review, wr.review}, reviews, "%s: reviews", when)

	for _, g := range []verification.Grant{wr.grant, wr.carolGrant} {
		got, err := s.GetGrant(ctx, g.ID)
		require.NoError(t, err, "%s: grant %d", when, g.ID)
		requireGrant(t, g, got, when+": the added grant")
	}
	page, err := s.ListGrants(ctx, verification.GrantFilter{Limit: 100, Tags: []string{"vip"}})
	require.NoError(t, err)
	require.Equal(t, 2, page.Total, "%s: ListGrants with Tags must see the tags updated in the transaction (alice now carries vip and has 2 grants)", when)

	app, err := s.GetApplicationByUUID(ctx, wr.app.UUID)
	require.NoError(t, err, "%s: the created application", when)
	requireApp(t, wr.app, app, when+": the created application")
	app, err = s.GetApplication(ctx, w.app.ID)
	require.NoError(t, err)
	requireApp(t, wr.appUpdated, app, when+": the updated application")

	f, err := s.GetFile(ctx, wr.file3.ID)
	require.NoError(t, err, "%s: the created file", when)
	require.Equal(t, wr.file3, f, "%s: the created file", when)
	f, err = s.GetFile(ctx, w.file1.ID)
	require.NoError(t, err)
	require.Equal(t, wr.file1Updated, f, "%s: the updated file", when)
	_, err = s.GetFile(ctx, w.file2.ID)
	require.ErrorIs(t, err, verification.ErrNotFound, "%s: the deleted file", when)

	sessions, err := s.ListIDSessions(ctx, wr.carol.ID)
	require.NoError(t, err)
	require.Equal(t, []verification.IDSession{wr.sess}, sessions, "%s: the added ID session", when)
	sessions, err = s.ListIDSessions(ctx, w.alice.ID)
	require.NoError(t, err)
	require.Equal(t, []verification.IDSession{wr.sessUpdated}, sessions, "%s: the updated ID session", when)

	events, err := s.ListEvents(ctx, verification.EventFilter{AfterSeq: w.event.Seq})
	require.NoError(t, err)
	require.Len(t, events, 1, "%s: the added event", when)
	requireEvent(t, wr.event, events[0], when+": the added event")
}

// requireRolledBack asserts that none of the objects writeEverything created
// exists.
func requireRolledBack(t *testing.T, s verification.Store, wr txWrites) {
	t.Helper()
	ctx := t.Context()
	_, err := s.GetSubject(ctx, wr.carol.ID)
	require.ErrorIs(t, err, verification.ErrNotFound, "a subject created in a rolled-back transaction must not exist (by ID)")
	_, err = s.GetSubjectByIdentifier(ctx, wr.carol.Identifier)
	require.ErrorIs(t, err, verification.ErrNotFound, "a subject created in a rolled-back transaction must not exist (by identifier)")
	for _, g := range []verification.Grant{wr.grant, wr.carolGrant} {
		_, err = s.GetGrant(ctx, g.ID)
		require.ErrorIs(t, err, verification.ErrNotFound, "a grant added in a rolled-back transaction must not exist")
	}
	_, err = s.GetApplicationByUUID(ctx, wr.app.UUID)
	require.ErrorIs(t, err, verification.ErrNotFound, "an application created in a rolled-back transaction must not exist")
	_, err = s.GetFile(ctx, wr.file3.ID)
	require.ErrorIs(t, err, verification.ErrNotFound, "a file created in a rolled-back transaction must not exist")
	sessions, err := s.ListIDSessions(ctx, wr.carol.ID)
	require.NoError(t, err)
	require.Empty(t, sessions, "an ID session added in a rolled-back transaction must not exist")
	events, err := s.ListEvents(ctx, verification.EventFilter{SubjectID: wr.carol.ID})
	require.NoError(t, err)
	require.Empty(t, events, "an event added in a rolled-back transaction must not exist")
}

// redoUniques creates again, outside any transaction, the uniquely keyed
// objects writeEverything created: a rolled-back write must not keep its
// identifier, UUID or ID taken.
func redoUniques(t *testing.T, s verification.Store, wr txWrites) {
	t.Helper()
	ctx := t.Context()
	carol := wr.carol
	carol.ID = 0
	require.NoError(t, s.CreateSubject(ctx, &carol), "the identifier of a subject created in a rolled-back transaction must be free again")
	app := wr.app
	app.ID, app.SubjectID = 0, carol.ID
	require.NoError(t, s.CreateApplication(ctx, &app), "the UUID of an application created in a rolled-back transaction must be free again")
	f := wr.file3
	f.SubjectID = carol.ID
	require.NoError(t, s.CreateFile(ctx, f), "the ID of a file created in a rolled-back transaction must be free again")
	sess := wr.sess
	sess.SubjectID = carol.ID
	require.NoError(t, s.AddIDSession(ctx, sess), "the ID of an ID session added in a rolled-back transaction must be free again")
	ev := wr.event
	ev.Seq, ev.SubjectID = 0, carol.ID
	require.NoError(t, s.AddEvent(ctx, &ev), "the ID of an event added in a rolled-back transaction must be free again")
}

// snapshot is everything observable about the world's subjects.
type snapshot struct {
	Subjects   []verification.Subject
	States     [][]verification.RequirementState
	Reviews    [][]verification.Review
	Grants     verification.Page[verification.Grant]
	Apps       []verification.Application
	AppsTotal  int
	Files      []verification.File
	IDSessions [][]verification.IDSession
	Events     []verification.Event
}

func takeSnapshot(t *testing.T, s verification.Store, w world) snapshot {
	t.Helper()
	ctx := t.Context()
	var snap snapshot
	for _, id := range []int64{w.alice.ID, w.bob.ID} {
		sub, err := s.GetSubject(ctx, id)
		require.NoError(t, err)
		snap.Subjects = append(snap.Subjects, normSubject(sub))
		states, err := s.ListRequirementStates(ctx, id)
		require.NoError(t, err)
		for i := range states {
			if len(states[i].Answer) == 0 {
				states[i].Answer = nil
			}
		}
		snap.States = append(snap.States, orNil(states))
		reviews, err := s.ListReviews(ctx, id)
		require.NoError(t, err)
		snap.Reviews = append(snap.Reviews, orNil(reviews))
		sessions, err := s.ListIDSessions(ctx, id)
		require.NoError(t, err)
		snap.IDSessions = append(snap.IDSessions, orNil(sessions))
	}
	page, err := s.ListGrants(ctx, verification.GrantFilter{Limit: 1000})
	require.NoError(t, err)
	page.Items = orNil(page.Items)
	snap.Grants = page
	apps, err := s.ListApplications(ctx, verification.ApplicationFilter{Limit: 1000})
	require.NoError(t, err)
	for i := range apps.Items {
		apps.Items[i] = normApp(apps.Items[i])
	}
	snap.Apps, snap.AppsTotal = orNil(apps.Items), apps.Total
	files, err := s.ListFiles(ctx, verification.FileFilter{})
	require.NoError(t, err)
	snap.Files = orNil(files)
	events, err := s.ListEvents(ctx, verification.EventFilter{})
	require.NoError(t, err)
	snap.Events = orNil(events)
	return snap
}

func requireSnapshot(t *testing.T, want, got snapshot, when string) {
	t.Helper()
	require.Equal(t, want.Subjects, got.Subjects, "%s: subjects changed", when)
	require.Equal(t, want.States, got.States, "%s: requirement states changed", when)
	require.Equal(t, want.Reviews, got.Reviews, "%s: reviews changed", when)
	require.Equal(t, want.Grants.Total, got.Grants.Total, "%s: ListGrants total changed", when)
	require.Equal(t, want.Grants, got.Grants, "%s: grants changed", when)
	require.Equal(t, want.AppsTotal, got.AppsTotal, "%s: ListApplications total changed", when)
	require.Equal(t, want.Apps, got.Apps, "%s: applications changed", when)
	require.Equal(t, want.Files, got.Files, "%s: files changed", when)
	require.Equal(t, want.IDSessions, got.IDSessions, "%s: ID sessions changed", when)
	require.Equal(t, want.Events, got.Events, "%s: events changed", when)
}

func orNil[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
