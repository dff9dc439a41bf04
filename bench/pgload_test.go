package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// populatePostgres writes into an empty PostgreSQL store of newPostgresStore
// exactly the rows populate writes through the Store, with COPY instead of
// four statements per subject: populate takes most of an hour for 1M
// subjects here, this takes minutes. What the store's statements would have
// set is set by hand, from storage/postgres/migrations:
//   - subjects: ids 1..n in identifier order (identity), tags and tagset_id
//     NULL (no tags: neither tag trigger fires), grant_count 1 (the created
//     grant's client_seq), event_seq 0 (populate leaves it), created_at and
//     updated_at the fixed time;
//   - grants: id = the subject's id (the 'grants' counter, 1..n in the
//     same order), client_seq 1, reason "created", user_id 0, no previous
//     level; no grant_buckets rows (a subject without a tag set has none);
//   - events: seq 2i-1 and 2i for subject i (identity), subject.created
//     then level.granted, data {};
//   - no deliveries (no sink is registered yet);
//   - the counter 'grants' = n, and the identity sequences of subjects and
//     events at n and 2n, so that the Store's next inserts get the numbers
//     they would have got after populate.
//
// TestPopulatePostgresMatchesStore compares the two on 200 subjects.
func populatePostgres(tb testing.TB, store verification.Store, ladder *levels.Ladder, n int) {
	tb.Helper()
	conn, schema, ok := pgConn(tb, store)
	require.True(tb, ok, "populatePostgres needs a store of newPostgresStore")
	ctx := context.Background()
	defer func() { _ = conn.Close(ctx) }()
	table := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }

	var existing int64
	require.NoError(tb, conn.QueryRow(ctx, "SELECT count(*) FROM "+table("subjects")).Scan(&existing))
	require.Zero(tb, existing, "populatePostgres loads into an empty store only")
	if n == 0 {
		return
	}
	first := ladder.First()
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

	// rows yields n rows of row(i), i = 0..n-1, to CopyFrom.
	rows := func(n int, row func(i int) []any) pgx.CopyFromSource {
		i := -1
		return pgx.CopyFromFunc(func() ([]any, error) {
			i++
			if i >= n {
				return nil, nil
			}
			return row(i), nil
		})
	}
	tx, err := conn.Begin(ctx)
	require.NoError(tb, err)
	defer func() { _ = tx.Rollback(ctx) }()
	copyIn := func(name string, cols []string, src pgx.CopyFromSource, want int) {
		got, err := tx.CopyFrom(ctx, pgx.Identifier{schema, name}, cols, src)
		require.NoError(tb, err, "COPY %s", name)
		require.EqualValues(tb, want, got, "COPY %s", name)
	}
	copyIn("subjects", []string{"id", "identifier", "level", "legal_hold", "created_at", "updated_at", "grant_count", "event_seq"},
		rows(n, func(i int) []any {
			return []any{int64(i + 1), fmt.Sprintf("benchhistory%024d", i), int32(first.ID), false, at, at, int64(1), int64(0)}
		}), n)
	copyIn("grants", []string{"id", "client_id", "client_seq", "level_id", "level_name", "reason", "user_id", "created_at"},
		rows(n, func(i int) []any {
			return []any{int64(i + 1), int64(i + 1), int64(1), int32(first.ID), first.Name, verification.ReasonCreated, int64(0), at}
		}), n)
	types := []verification.EventType{verification.EventSubjectCreated, verification.EventLevelGranted}
	copyIn("events", []string{"seq", "id", "subject_id", "type", "data", "occurred_at"},
		rows(2*n, func(j int) []any {
			i, typ := j/2, types[j%2]
			return []any{int64(j + 1), fmt.Sprintf("hist-%s-%d", typ, i), int64(i + 1), string(typ), "{}", at}
		}), 2*n)
	_, err = tx.Exec(ctx, "UPDATE "+table("counters")+" SET value = value + $1 WHERE name = 'grants'", n)
	require.NoError(tb, err)
	for _, seq := range []struct {
		table, col string
		last       int
	}{{"subjects", "id", n}, {"events", "seq", 2 * n}} {
		_, err = tx.Exec(ctx, "SELECT setval(pg_get_serial_sequence($1, $2), $3)", table(seq.table), seq.col, seq.last)
		require.NoError(tb, err)
	}
	require.NoError(tb, tx.Commit(ctx))
}

// pgConn opens a connection of its own to the database of a store of
// newPostgresStore and returns the store's schema; ok is false (and conn
// nil) for any other store. The caller closes conn.
func pgConn(tb testing.TB, store verification.Store) (conn *pgx.Conn, schema string, ok bool) {
	tb.Helper()
	v, ok := pgSchemas.Load(store)
	if !ok {
		return nil, "", false
	}
	conn, err := pgx.Connect(context.Background(), os.Getenv("OPENKYC_TEST_POSTGRES_DSN"))
	require.NoError(tb, err)
	return conn, v.(string), true
}

// pgTables lists the tables of schema, by name.
func pgTables(tb testing.TB, conn *pgx.Conn, schema string) []string {
	tb.Helper()
	rows, err := conn.Query(context.Background(), "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", schema)
	require.NoError(tb, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(tb, err)
	return tables
}

// loadHistory is populatePostgres on PostgreSQL stores and populate on the
// others.
func loadHistory(tb testing.TB, store verification.Store, ladder *levels.Ladder, n int) {
	tb.Helper()
	if _, ok := pgSchemas.Load(store); ok {
		populatePostgres(tb, store, ladder, n)
		return
	}
	populate(tb, store, ladder, n)
}

// pgDump is the contents of a PostgreSQL store's schema: every table's rows
// as text, sorted, and every sequence's last value. The one column left out
// is schema_migrations.applied_at, the time each migration ran.
func pgDump(tb testing.TB, store verification.Store) map[string][]string {
	tb.Helper()
	conn, schema, ok := pgConn(tb, store)
	require.True(tb, ok)
	ctx := context.Background()
	defer func() { _ = conn.Close(ctx) }()
	tables := pgTables(tb, conn, schema)
	require.NotEmpty(tb, tables)
	out := map[string][]string{}
	for _, t := range tables {
		row := "t::text"
		if t == "schema_migrations" {
			row = "(t.version, t.name)::text" // applied_at is when each schema was created
		}
		rows, err := conn.Query(ctx, "SELECT "+row+" FROM "+pgx.Identifier{schema, t}.Sanitize()+" t ORDER BY 1")
		require.NoError(tb, err)
		out[t], err = pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(tb, err)
	}
	rows, err := conn.Query(ctx, "SELECT sequencename || ' ' || COALESCE(last_value::text, 'unused') FROM pg_sequences WHERE schemaname = $1 ORDER BY 1", schema)
	require.NoError(tb, err)
	out["(sequences)"], err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(tb, err)
	return out
}

// TestPopulatePostgresMatchesStore loads 200 subjects through the Store
// (populate) and with COPY (populatePostgres) into two fresh schemas and
// requires the same contents in every table and sequence, then once more
// after one more subject written through the Store on each (so the
// counters and sequences the loader sets lead to the same next numbers).
func TestPopulatePostgresMatchesStore(t *testing.T) {
	if os.Getenv("OPENKYC_TEST_POSTGRES_DSN") == "" {
		t.Skip("set OPENKYC_TEST_POSTGRES_DSN to run against PostgreSQL")
	}
	t.Parallel()
	const n = 200
	ladder := serverLadder(t)
	viaStore, viaCopy := newPostgresStore(t), newPostgresStore(t)
	populate(t, viaStore, ladder, n)
	populatePostgres(t, viaCopy, ladder, n)

	want := pgDump(t, viaStore)
	require.Len(t, want["subjects"], n)
	require.Len(t, want["grants"], n)
	require.Len(t, want["events"], 2*n)
	require.Equal(t, want, pgDump(t, viaCopy))

	// One more subject, grant and event through the Store on both.
	at := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	first := ladder.First()
	for _, store := range []verification.Store{viaStore, viaCopy} {
		require.NoError(t, store.InTx(context.Background(), func(ctx context.Context, tx verification.Store) error {
			s := verification.Subject{Identifier: "benchafterload000000000000000000000001", Level: first.ID, CreatedAt: at, UpdatedAt: at}
			if err := tx.CreateSubject(ctx, &s); err != nil {
				return err
			}
			g := verification.Grant{SubjectID: s.ID, Level: verification.LevelRef{ID: first.ID, Name: first.Name}, Reason: verification.ReasonCreated, CreatedAt: at}
			if err := tx.AddGrant(ctx, &g); err != nil {
				return err
			}
			return tx.AddEvent(ctx, &verification.Event{ID: "after-load", SubjectID: s.ID, Type: verification.EventSubjectCreated, OccurredAt: at})
		}))
	}
	want = pgDump(t, viaStore)
	require.Len(t, want["subjects"], n+1)
	require.Equal(t, want, pgDump(t, viaCopy))
}

// pgSizes returns the bytes of a PostgreSQL store's tables with their
// indexes and TOAST (pg_total_relation_size summed over the schema's
// tables), and of its indexes alone; ok is false for other stores.
func pgSizes(tb testing.TB, store verification.Store) (total, indexes int64, ok bool) {
	tb.Helper()
	conn, schema, ok := pgConn(tb, store)
	if !ok {
		return 0, 0, false
	}
	ctx := context.Background()
	defer func() { _ = conn.Close(ctx) }()
	require.NoError(tb, conn.QueryRow(ctx, `
		SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint, COALESCE(sum(pg_indexes_size(c.oid)), 0)::bigint
		  FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		 WHERE ns.nspname = $1 AND c.relkind = 'r'`, schema).Scan(&total, &indexes))
	return total, indexes, true
}
