package postgres

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// TestAddEventsOnItsGenericPlan: inside a transaction AddEvents' statement
// runs on its generic plan (PostgreSQL's own choice planned it anew on
// every execution), and the transaction's later statements get the
// plan_cache_mode they had before. One connection, so that its prepared
// statements' counters can be read.
func TestAddEventsOnItsGenericPlan(t *testing.T) {
	t.Parallel()
	dsn := testDSN(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	s, err := Open(t.Context(), dsn+sep+"pool_max_conns=1", Options{Schema: newSchema(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ctx := ctxTimeout(t)
	sub := newSubject(t, s, "planned")
	var before string
	require.NoError(t, s.db.pool.QueryRow(ctx, `SELECT current_setting('plan_cache_mode')`).Scan(&before))

	const txs = 8 // PostgreSQL tries five custom plans before it may choose
	for i := range txs {
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			at := time.Date(2026, 12, 4, 12, 0, i, 0, time.UTC)
			evs := []*verification.Event{
				{ID: "plan-" + strconv.Itoa(i) + "-a", SubjectID: sub.ID, Type: "test.a", OccurredAt: at},
				{ID: "plan-" + strconv.Itoa(i) + "-b", SubjectID: sub.ID, Type: "test.b", OccurredAt: at},
			}
			if err := tx.AddEvents(ctx, evs); err != nil {
				return err
			}
			require.Positive(t, evs[0].Seq)
			require.Greater(t, evs[1].Seq, evs[0].Seq, "numbered in the slice's order")
			var mode string
			require.NoError(t, tx.(*Store).q.QueryRow(ctx, `SELECT current_setting('plan_cache_mode')`).Scan(&mode))
			require.Equal(t, before, mode, "the rest of the transaction plans as before")
			return nil
		}))
	}
	var generic, custom int64
	require.NoError(t, s.db.pool.QueryRow(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements
		WHERE statement LIKE '%WITH ev AS%unnest%'`).Scan(&generic, &custom))
	require.Positive(t, generic)
	require.Zero(t, custom, "planned anew for its arguments")
}
