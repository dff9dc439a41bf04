package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
)

// transition is a read-modify-write state transition as the Service makes
// them: lock the subject, read its state, write the subject, the state and an
// event.
func transition(ctx context.Context, tx verification.Store, subjectID int64, id string) error {
	sub, err := tx.LockSubject(ctx, subjectID)
	if err != nil {
		return err
	}
	st, err := tx.GetRequirementState(ctx, subjectID, "counter")
	if err != nil {
		return err
	}
	if st.Attempts != sub.Level {
		return fmt.Errorf("state %d and subject level %d disagree: a transition interleaved", st.Attempts, sub.Level)
	}
	sub.Level++
	st.Attempts++
	if err := tx.UpdateSubject(ctx, sub); err != nil {
		return err
	}
	if err := tx.PutRequirementState(ctx, st); err != nil {
		return err
	}
	return tx.AddEvent(ctx, &verification.Event{ID: id, SubjectID: subjectID, Type: verification.EventRequirementSubmitted, OccurredAt: base})
}

// TestConcurrentTransitions runs 8 goroutines x 200 read-modify-write
// transitions on one subject: none may fail (no SQLITE_BUSY, no "database is
// locked") and none may be lost. The second case splits the goroutines over
// two Stores on the same file, as two processes would: their writers then
// contend for the file lock, which BEGIN IMMEDIATE and the busy timeout turn
// into waiting instead of failing.
func TestConcurrentTransitions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		stores  int
		workers int
		txs     int
	}{
		{"one store", 1, 8, 200},
		{"two stores on one file", 2, 8, 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "kyc.db")
			stores := make([]*sqlite.Store, tt.stores)
			for i := range stores {
				s, err := sqlite.Open(ctx, path, sqlite.Options{})
				require.NoError(t, err)
				t.Cleanup(func() { _ = s.Close() })
				stores[i] = s
			}
			s := stores[0]
			sub := newSubject(t, s, "alice")
			require.NoError(t, s.PutRequirementState(ctx, verification.RequirementState{SubjectID: sub.ID, Name: "counter", Status: levels.Pending}))

			var wg sync.WaitGroup
			errs := make(chan error, tt.workers)
			for w := range tt.workers {
				st := stores[w%len(stores)]
				wg.Go(func() {
					for i := range tt.txs {
						err := st.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
							return transition(ctx, tx, sub.ID, fmt.Sprintf("w%d-%d", w, i))
						})
						if err != nil {
							errs <- fmt.Errorf("worker %d transition %d: %w", w, i, err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				msg := strings.ToLower(err.Error())
				require.NotContains(t, msg, "database is locked")
				require.NotContains(t, msg, "sqlite_busy")
				require.NoError(t, err)
			}

			want := tt.workers * tt.txs
			got, err := s.GetSubject(ctx, sub.ID)
			require.NoError(t, err)
			require.Equal(t, want, got.Level, "every transition counted once: none lost")
			events, err := s.ListEvents(ctx, verification.EventFilter{SubjectID: sub.ID})
			require.NoError(t, err)
			require.Len(t, events, want)
			for i := 1; i < len(events); i++ {
				require.Greater(t, events[i].Seq, events[i-1].Seq)
			}
		})
	}
}
