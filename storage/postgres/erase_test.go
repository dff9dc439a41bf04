package postgres

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestEraseLeavesNoIdentifierOrFreeText erases a subject with reviewers'
// and admins' reasons and searches every text, JSON and bytea column of
// the schema for its external identifier and those reasons: only the keyed
// digest stays. Then the erased subject refuses writes and the identifier
// onboards again.
func TestEraseLeavesNoIdentifierOrFreeText(t *testing.T) {
	t.Parallel()
	testDSN(t)
	s := openStore(t)
	svc, _ := verificationtest.NewServiceOn(t, verificationtest.SeedLadder(t), s, verification.Options{IdentifierKey: []byte("test identifier key")})
	pd := verificationtest.SeedPersonalData(t, svc)
	markers := append([]string{pd.Identifier}, pd.FreeText...)

	type column struct{ table, name string }
	rows, err := s.db.pool.Query(t.Context(), `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = $1 AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'bytea', 'ARRAY')
		ORDER BY table_name, column_name`, s.db.schema)
	require.NoError(t, err)
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (column, error) {
		var c column
		return c, r.Scan(&c.table, &c.name)
	})
	require.NoError(t, err)
	require.NotEmpty(t, cols)
	found := func() []string {
		var out []string
		for _, m := range markers {
			for _, c := range cols {
				var n int
				q := fmt.Sprintf(`SELECT count(*) FROM %s.%s WHERE position($1 in %s::text) > 0`,
					s.db.quoted, pgx.Identifier{c.table}.Sanitize(), pgx.Identifier{c.name}.Sanitize())
				require.NoError(t, s.db.pool.QueryRow(t.Context(), q, m).Scan(&n), q)
				if n > 0 {
					out = append(out, fmt.Sprintf("%s x%d in %s.%s", m, n, c.table, c.name))
				}
			}
		}
		return out
	}
	before := found()
	for _, m := range markers {
		require.Condition(t, func() bool {
			for _, f := range before {
				if len(f) > len(m) && f[:len(m)] == m {
					return true
				}
			}
			return false
		}, "%s is in the database before erasure (else this test proves nothing): %v", m, before)
	}

	require.NoError(t, svc.Erase(t.Context(), verification.SystemActor(), pd.Subject.ID))
	require.Empty(t, found(), "the identifier and free text are gone from every column")
	verificationtest.CheckErased(t, svc, pd)
}
