package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
