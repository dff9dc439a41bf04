package memory_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/storage/storagetest"
	"github.com/openkyc/kyc/verification"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storagetest.Run(t, func(t *testing.T) verification.Store {
		s := memory.New()
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	})
}

// Close is not part of verification.Store, so the suite cannot check it.
func TestClose(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.New()
	sub := verification.Subject{Identifier: "alice0000000000000000000000000000000"}
	require.NoError(t, s.CreateSubject(ctx, &sub))
	require.NoError(t, s.Close())
	_, err := s.GetSubject(ctx, sub.ID)
	require.ErrorIs(t, err, verification.ErrClosed)
	require.ErrorIs(t, s.CreateSubject(ctx, &verification.Subject{Identifier: "bob00000000000000000000000000000000"}), verification.ErrClosed)
	called := false
	err = s.InTx(ctx, func(context.Context, verification.Store) error { called = true; return nil })
	require.ErrorIs(t, err, verification.ErrClosed)
	require.False(t, called, "InTx on a closed store must not run fn")
}
