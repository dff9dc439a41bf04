package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

func TestParseStatuses(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, packed string
		want         levels.States
		final        []string
		err          bool
	}{
		{"none", "", levels.States{}, nil, false},
		{"one", "5:emaila", levels.States{"email": levels.Approved}, nil, false},
		{"all four", "1:am1:bp1:cr1:da", levels.States{"a": levels.Missing, "b": levels.Pending, "c": levels.Rejected, "d": levels.Approved}, nil, false},
		{"final", "1:aR1:bp1:cA", levels.States{"a": levels.Rejected, "b": levels.Pending, "c": levels.Approved}, []string{"a", "c"}, false},
		{"separators in a name", "4:1:2pa", levels.States{"1:2p": levels.Approved}, nil, false},
		{"multi-byte name", "3:äxp", levels.States{"äx": levels.Pending}, nil, false},
		{"no length", ":emaila", nil, nil, true},
		{"not a number", "x:emaila", nil, nil, true},
		{"too long", "9:emaila", nil, nil, true},
		{"no status", "5:email", nil, nil, true},
		{"unknown status", "5:emailz", nil, nil, true},
		{"unknown final status", "5:emailZ", nil, nil, true},
		{"no colon", "5email", nil, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, final, err := parseStatuses(c.packed)
			if c.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
			require.Equal(t, c.final, final)
		})
	}
}

// TestPinnedReadWait holds every pinned connection and requires that a
// one-statement read waits for one within its context (its deadline and
// cancellation end the wait), answers once one is given back, and that
// Close ends the wait with ErrClosed.
func TestPinnedReadWait(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "kyc.db"), Options{MaxReadConns: 2})
	require.NoError(t, err)
	closed := false
	t.Cleanup(func() {
		if !closed {
			require.NoError(t, s.Close())
		}
	})
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	sub := verification.Subject{Identifier: "alice", Level: 1, CreatedAt: now, UpdatedAt: now}
	require.NoError(t, s.CreateSubject(ctx, &sub))
	held := []*liteConn{<-s.c.pinned, <-s.c.pinned}

	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = s.GetSubjectStatuses(dctx, sub.ID)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the wait for a pinned connection honours the deadline")
	cctx, cancelNow := context.WithCancel(ctx)
	cancelNow()
	_, err = s.GetSubjectProgress(cctx, sub.ID)
	require.ErrorIs(t, err, context.Canceled)

	answered := make(chan error, 1)
	go func() {
		_, err := s.GetSubjectStatuses(ctx, sub.ID)
		answered <- err
	}()
	s.c.release(held[0])
	require.NoError(t, <-answered, "a read answers once a pinned connection is given back")

	s.c.pinned <- held[1]
	for range held { // hold both again, then close with a read waiting
		<-s.c.pinned
	}
	waiting := make(chan error, 1)
	go func() {
		_, err := s.ListSubjectGrants(ctx, verification.GrantFilter{SubjectID: sub.ID, Limit: 10})
		waiting <- err
	}()
	closeErr := make(chan error, 1)
	go func() { closeErr <- s.Close() }()
	require.ErrorIs(t, <-waiting, verification.ErrClosed, "Close ends the wait")
	for _, p := range held {
		s.c.release(p) // Close waits for the pinned reads in progress
	}
	closed = true
	require.NoError(t, <-closeErr)
}

// TestDestPoolZeroesWhatGoesBack: a set of destinations comes from the pool
// with zero values and pointers into its own values, also when it is a set
// that went back holding an answer's values.
func TestDestPoolZeroesWhatGoesBack(t *testing.T) {
	t.Parallel()
	p := destPool[grantRow]{wire: func(c *grantRow) []any { return []any{&c.total, &c.reason} }}
	reused := false
	for range 20 { // sync.Pool may drop a set (always possible, often under -race)
		d := p.get()
		require.Equal(t, grantRow{}, d.v)
		require.Same(t, &d.v.total, d.dest[0])
		require.Same(t, &d.v.reason, d.dest[1])
		d.v.total, d.v.reason.String, d.v.reason.Valid = 7, "alice's reason", true
		p.put(d)
		again := p.get()
		require.Equal(t, grantRow{}, again.v, "a set goes back zeroed")
		reused = reused || again == d
		p.put(again)
	}
	require.True(t, reused, "the pool never gave a set back: the zeroing was not exercised")
}
