package postgres

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// TestListDueUsesIndex asserts, with EXPLAIN ANALYZE over 150,000
// requirement states of which 1,000 can come due, that the expiry sweep's
// and the warning pass's listings read the partial due index only: no
// sequential scan of requirement_states and no node that filters out more
// rows than a page, with the actual parameters and with the generic plan
// PostgreSQL may switch to after a prepared statement's fifth run.
func TestListDueUsesIndex(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxTimeout(t)
	const subjects, due = 50_000, 1_000
	exec(t, s, `INSERT INTO {{schema}}.requirement_states (subject_id, name, status, attempts, updated_at, valid_until, warned_at)
		SELECT g, n, 'approved', 1, '2024-01-01T00:00:00Z'::timestamptz,
		       CASE WHEN n = 'idDocument' AND g % ($1::int / $2::int) = 0 THEN '2025-01-01T00:00:00Z'::timestamptz + g * interval '1 minute' END,
		       CASE WHEN n = 'idDocument' AND g % ($1::int / $2::int) = 0 AND g % 100 = 0 THEN '2024-12-01T00:00:00Z'::timestamptz END
		  FROM generate_series(1, $1::int) g CROSS JOIN (VALUES ('emailCode'), ('idDocument'), ('nationality')) v(n)`, subjects, due)
	exec(t, s, `ANALYZE {{schema}}.requirement_states`)

	conn, err := s.db.pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()

	cut := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []verification.DueFilter{
		{Name: "idDocument", Before: cut, Limit: 100},
		{Name: "idDocument", Before: cut, Limit: 100, AfterValidUntil: time.Date(2025, 1, 20, 0, 0, 0, 0, time.UTC), AfterSubjectID: 27_000},
		{Name: "idDocument", Before: cut, Limit: 100, Unwarned: true},
		{Name: "emailCode", Before: cut, Limit: 100},
	}
	for i, f := range cases {
		got, err := s.ListDueRequirementStates(ctx, f)
		require.NoError(t, err)
		if f.Name == "idDocument" {
			require.NotEmpty(t, got, "%+v", f)
		}
		q := s.sql(dueSQL)
		args := dueArgs(f)
		check := func(what string, plan []map[string]any) {
			t.Helper()
			require.Len(t, plan, 1)
			var walk func(node map[string]any)
			walk = func(node map[string]any) {
				if node["Relation Name"] == "requirement_states" {
					require.NotEqual(t, "Seq Scan", node["Node Type"], "%s %+v: %v", what, f, plan)
					require.Equal(t, "requirement_states_due_idx", node["Index Name"], "%s %+v: %v", what, f, plan)
					removed, _ := node["Rows Removed by Filter"].(float64)
					require.LessOrEqual(t, removed, float64(2*f.Limit), "%s %+v: the listing filtered out %v rows", what, f, removed)
				}
				children, _ := node["Plans"].([]any)
				for _, c := range children {
					walk(c.(map[string]any))
				}
			}
			walk(plan[0]["Plan"].(map[string]any))
		}
		var plan []map[string]any
		var raw []byte
		require.NoError(t, conn.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+q, args...).Scan(&raw))
		require.NoError(t, json.Unmarshal(raw, &plan))
		check("custom plan", plan)

		name := fmt.Sprintf("kyc_due_%d", i)
		_, err = conn.Exec(ctx, "PREPARE "+name+" AS "+q)
		require.NoError(t, err)
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan")
		require.NoError(t, err)
		lits := []string{
			"'" + f.Name + "'", "'" + f.Before.Format(time.RFC3339Nano) + "'::timestamptz",
			"'" + f.AfterValidUntil.Format(time.RFC3339Nano) + "'::timestamptz", fmt.Sprint(f.AfterSubjectID), fmt.Sprint(f.Unwarned), fmt.Sprint(f.Limit),
		}
		raw = nil
		require.NoError(t, tx.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE "+name+"("+strings.Join(lits, ", ")+")").Scan(&raw))
		require.NoError(t, json.Unmarshal(raw, &plan))
		require.NoError(t, tx.Rollback(ctx))
		_, err = conn.Exec(ctx, "DEALLOCATE "+name)
		require.NoError(t, err)
		check("generic plan", plan)
	}
}
