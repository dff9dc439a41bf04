package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestReadRoutesDoNotTakeTheWriter holds the single writer in a transaction
// and requires that the read routes' Service calls still answer: a wizard
// resume that changes nothing, the status and the pending request run on
// the read pool. A wizard call that has something to write waits for the
// writer (and gives up with its context).
func TestReadRoutesDoNotTakeTheWriter(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openStore(t, sqlite.Options{})
	svc, err := verification.New(verificationtest.SeedLadder(t), s, verification.Options{})
	require.NoError(t, err)
	sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: ident("alice")})
	require.NoError(t, err)
	fresh, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: ident("bob")})
	require.NoError(t, err)
	first, err := svc.InitWizard(ctx, sub.ID) // creates the application: a write
	require.NoError(t, err)
	require.NotEmpty(t, first.UUID)
	require.False(t, first.Done(), "a new subject has steps left")

	inTx, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			if _, err := tx.LockSubject(ctx, sub.ID); err != nil {
				return err
			}
			close(inTx)
			<-release
			return nil
		})
	}()
	<-inTx
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	again, err := svc.InitWizard(rctx, sub.ID)
	require.NoError(t, err, "a wizard resume that writes nothing must not wait for the writer")
	require.Equal(t, first.UUID, again.UUID)
	require.Equal(t, first.Stage, again.Stage)
	require.Equal(t, first.Requirement, again.Requirement)
	_, err = svc.Status(rctx, sub.ID, 0)
	require.NoError(t, err, "the status must not wait for the writer")
	_, err = svc.PendingRequest(rctx, sub.ID)
	require.NoError(t, err, "the pending request must not wait for the writer")

	wctx, wcancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer wcancel()
	_, err = svc.InitWizard(wctx, fresh.ID)
	require.ErrorIs(t, err, context.DeadlineExceeded, "a wizard that starts an application needs the writer")

	close(release)
	require.NoError(t, <-done)
	started, err := svc.InitWizard(ctx, fresh.ID)
	require.NoError(t, err)
	require.NotEmpty(t, started.UUID, "once the writer is free the new application is created")
}

// TestPooledReadsDoNotCarryOver interleaves the read routes' store calls
// for a subject with tags, states, an open application and a grant, and
// for a fresh subject: the pooled scan destinations must not carry the
// first subject's values into the second's answers.
func TestPooledReadsDoNotCarryOver(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openStore(t, sqlite.Options{})
	svc, err := verification.New(verificationtest.SeedLadder(t), s, verification.Options{})
	require.NoError(t, err)
	full, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: ident("alice"), Tags: []string{"eu"}})
	require.NoError(t, err)
	_, err = svc.Answer(ctx, full.ID, "isBusiness", []byte(`false`))
	require.NoError(t, err)
	_, err = svc.InitWizard(ctx, full.ID)
	require.NoError(t, err)
	_, err = svc.GrantLevel(ctx, verification.AdminActor(1, nil), verification.GrantLevelParams{SubjectID: full.ID, Level: 2, Reason: "manual"})
	require.NoError(t, err)
	fresh, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: ident("bob")})
	require.NoError(t, err)

	for range 10 {
		st, err := s.GetSubjectStatuses(ctx, full.ID)
		require.NoError(t, err)
		require.NotEmpty(t, st.States)
		sub, open, err := s.GetOpenApplications(ctx, full.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"eu"}, sub.Tags)
		require.NotEmpty(t, open)
		pr, err := s.GetSubjectProgress(ctx, full.ID)
		require.NoError(t, err)
		require.NotEmpty(t, pr.Open)
		gr, err := s.ListSubjectGrants(ctx, verification.GrantFilter{SubjectID: full.ID, Limit: 10})
		require.NoError(t, err)
		require.NotEmpty(t, gr.Page.Items)

		st, err = s.GetSubjectStatuses(ctx, fresh.ID)
		require.NoError(t, err)
		require.Equal(t, verification.SubjectStatuses{ID: fresh.ID, Level: fresh.Level, States: levels.States{}}, st)
		sub, open, err = s.GetOpenApplications(ctx, fresh.ID)
		require.NoError(t, err)
		require.Equal(t, fresh.ID, sub.ID)
		require.Equal(t, fresh.Identifier, sub.Identifier)
		require.Nil(t, sub.Tags)
		require.Empty(t, open)
		pr, err = s.GetSubjectProgress(ctx, fresh.ID)
		require.NoError(t, err)
		require.Equal(t, fresh.ID, pr.ID)
		require.Equal(t, fresh.Level, pr.Level)
		require.Empty(t, pr.States)
		require.Empty(t, pr.Open)
		gr, err = s.ListSubjectGrants(ctx, verification.GrantFilter{SubjectID: fresh.ID, Limit: 10})
		require.NoError(t, err)
		require.Equal(t, 1, gr.Page.Total, "the grant of its creation")
		require.Len(t, gr.Page.Items, 1)
		g := gr.Page.Items[0]
		require.Equal(t, fresh.ID, g.SubjectID)
		require.Nil(t, g.Previous, "the first grant has no previous level (the other subject's has)")
		require.Zero(t, g.AdminID, "no admin granted it (the other subject's was)")
		require.NotEqual(t, "manual", g.Reason)
	}
}
