package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

func TestGrantsAppendOnly(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxTimeout(t)
	sub := newSubject(t, s, "alice")
	g := verification.Grant{SubjectID: sub.ID, Level: verification.LevelRef{ID: 1, Name: "Level 0"}, Reason: "created"}
	require.NoError(t, s.AddGrant(ctx, &g))

	for _, sql := range []string{
		`UPDATE {{schema}}.grants SET reason = 'rewritten' WHERE id = $1`,
		`DELETE FROM {{schema}}.grants WHERE id = $1`,
		`TRUNCATE {{schema}}.grants CASCADE`,
	} {
		var args []any
		if strings.Contains(sql, "$1") {
			args = append(args, g.ID)
		}
		_, err := s.db.pool.Exec(ctx, s.sql(sql), args...)
		require.ErrorContains(t, err, "grants are append-only", sql)
	}
	got, err := s.GetGrant(ctx, g.ID)
	require.NoError(t, err)
	require.Equal(t, "created", got.Reason)
}

// TestListGrantsMatchesModel checks every listing shape (all, client,
// tags, client+tags; both orders; offsets from 0 past the end) against a
// model computed in Go, with grants written in and out of transactions,
// some rolled back, and tags changed after the grants were written.
func TestListGrantsMatchesModel(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxTimeout(t)
	rng := rand.New(rand.NewPCG(1, 2))
	tagPool := []string{"eu", "us", "vip"}

	var subs []verification.Subject
	for i := range 12 {
		var tags []string
		for _, tg := range tagPool {
			if rng.IntN(3) == 0 {
				tags = append(tags, tg)
			}
		}
		subs = append(subs, newSubject(t, s, fmt.Sprintf("model%02dx", i), tags...))
	}
	var grants []verification.Grant
	for i := range 150 {
		sub := subs[rng.IntN(len(subs))]
		g := verification.Grant{SubjectID: sub.ID, Level: verification.LevelRef{ID: i%3 + 1, Name: "L"}, Reason: fmt.Sprint("r", i)}
		switch rng.IntN(3) {
		case 0:
			require.NoError(t, s.AddGrant(ctx, &g))
			grants = append(grants, g)
		case 1:
			require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
				if _, err := tx.LockSubject(ctx, sub.ID); err != nil {
					return err
				}
				return tx.AddGrant(ctx, &g)
			}))
			grants = append(grants, g)
		default:
			err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
				require.NoError(t, tx.AddGrant(ctx, &g))
				return errors.New("rolled back")
			})
			require.Error(t, err)
		}
	}
	for i, g := range grants {
		require.EqualValues(t, i+1, g.ID, "grant ids are dense in commit order")
	}
	// Tags change after the grants: listings follow the current tags.
	for i := range subs {
		if i%4 == 0 {
			subs[i].Tags = []string{tagPool[i%len(tagPool)]}
			require.NoError(t, s.UpdateSubject(ctx, subs[i]))
		}
	}
	tagsOf := map[int64][]string{}
	for _, sub := range subs {
		tagsOf[sub.ID] = sub.Tags
	}

	model := func(f verification.GrantFilter) (int, []int64) {
		ids := []int64{}
		for _, g := range grants {
			if f.SubjectID != 0 && g.SubjectID != f.SubjectID {
				continue
			}
			if f.Tags != nil && !(verification.Subject{Tags: tagsOf[g.SubjectID]}).HasAnyTag(f.Tags) {
				continue
			}
			ids = append(ids, g.ID)
		}
		if f.Desc {
			slices.Reverse(ids)
		}
		total := len(ids)
		ids = ids[min(f.Offset, len(ids)):]
		return total, ids[:min(f.Limit, len(ids))]
	}

	filters := []verification.GrantFilter{{}, {Tags: []string{}}, {Tags: []string{"eu"}}, {Tags: []string{"us", "vip"}}, {Tags: []string{"none"}}}
	for _, sub := range subs[:5] {
		filters = append(filters, verification.GrantFilter{SubjectID: sub.ID}, verification.GrantFilter{SubjectID: sub.ID, Tags: []string{"eu"}})
	}
	filters = append(filters, verification.GrantFilter{SubjectID: 9999})
	for _, base := range filters {
		for _, desc := range []bool{false, true} {
			for _, off := range []int{0, 1, 7, 40, 99, 200, math.MaxInt} {
				for _, lim := range []int{0, 1, 10, 1000, math.MaxInt} {
					f := base
					f.Desc, f.Offset, f.Limit = desc, off, lim
					wantTotal, wantIDs := model(f)
					page, err := s.ListGrants(ctx, f)
					require.NoError(t, err, "%+v", f)
					require.Equal(t, wantTotal, page.Total, "total of %+v", f)
					require.Equal(t, wantIDs, idsOf(page.Items), "items of %+v", f)
				}
			}
		}
	}
	// Items carry every field.
	page, err := s.ListGrants(ctx, verification.GrantFilter{SubjectID: grants[0].SubjectID, Limit: 1})
	require.NoError(t, err)
	require.Equal(t, grants[0], page.Items[0])
}

func idsOf(gs []verification.Grant) []int64 {
	ids := []int64{}
	for _, g := range gs {
		ids = append(ids, g.ID)
	}
	return ids
}

// loadGrants fills the store with n grants over subjects subjects (tagged
// t0..t9 by id modulo 10; grant i belongs to subject i mod subjects + 1)
// straight in SQL, keeping the counters right, then ANALYZEs the tables.
func loadGrants(tb testing.TB, s *Store, subjects, n int) {
	tb.Helper()
	exec(tb, s, `INSERT INTO {{schema}}.subjects (identifier, tags, level, grant_count)
		SELECT 'sub' || lpad(i::text, 33, '0'), ARRAY['t' || (i % 10)], 1, 0 FROM generate_series(1, $1::int) i`, subjects)
	exec(tb, s, `INSERT INTO {{schema}}.grants (id, client_id, client_seq, level_id, level_name, reason, created_at)
		SELECT i, (i - 1) % $2::int + 1, (i - 1) / $2::int + 1, 1, 'Level 1', 'created', now()
		  FROM generate_series(1, $1::int) i`, n, subjects)
	recount(tb, s)
}

// recount sets the counters AddGrant maintains (the global counter, each
// subject's grant_count, the tag-set buckets) from grants written straight
// into the table, then ANALYZEs the tables.
func recount(tb testing.TB, s *Store) {
	tb.Helper()
	exec(tb, s, `UPDATE {{schema}}.subjects s SET grant_count = (SELECT count(*) FROM {{schema}}.grants g WHERE g.client_id = s.id)`)
	exec(tb, s, `UPDATE {{schema}}.counters SET value = (SELECT count(*) FROM {{schema}}.grants) WHERE name = 'grants'`)
	exec(tb, s, `DELETE FROM {{schema}}.grant_buckets`)
	exec(tb, s, `INSERT INTO {{schema}}.grant_buckets (tagset_id, bucket, n)
		SELECT s.tagset_id, g.id / `+bucketSize+`, count(*)
		  FROM {{schema}}.grants g JOIN {{schema}}.subjects s ON s.id = g.client_id
		 WHERE s.tagset_id IS NOT NULL GROUP BY 1, 2`)
	exec(tb, s, `VACUUM ANALYZE {{schema}}.subjects, {{schema}}.subject_tags, {{schema}}.grants, {{schema}}.counters, {{schema}}.tagsets, {{schema}}.grant_buckets`)
}

// TestListGrantsUsesIndexes asserts, with EXPLAIN over 100,000 grants, that
// no listing reads the grants table sequentially: neither the plan made for
// the actual parameters nor the generic plan PostgreSQL may switch to after
// a prepared statement's fifth run.
func TestListGrantsUsesIndexes(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxTimeout(t)
	const subjects, n = 500, 100_000
	loadGrants(t, s, subjects, n)

	conn, err := s.db.pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()

	cases := []verification.GrantFilter{
		{Limit: 50}, {Limit: 50, Offset: 90_000}, {Limit: 50, Desc: true}, {Limit: 50, Offset: 90_000, Desc: true},
		{SubjectID: 7, Limit: 50}, {SubjectID: 7, Limit: 50, Offset: 150}, {SubjectID: 7, Limit: 50, Offset: 150, Desc: true},
		{SubjectID: 7, Tags: []string{"t7"}, Limit: 50, Offset: 100},
		{Tags: []string{"t3"}, Limit: 50}, {Tags: []string{"t3"}, Limit: 50, Desc: true},
		{Tags: []string{"t3"}, Limit: 50, Offset: 9_000}, {Tags: []string{"t3", "t4"}, Limit: 50, Offset: 9_000, Desc: true},
	}
	for i, f := range cases {
		q, args := grantListing(f)
		q = s.sql(q)
		page, err := s.ListGrants(ctx, f)
		require.NoError(t, err)
		require.Len(t, page.Items, 50, "%+v", f)

		custom := explain(t, conn.Conn(), "EXPLAIN (ANALYZE, BUFFERS) "+q, args...)
		t.Logf("%+v:\n%s", f, custom)
		require.NotContains(t, custom, "Seq Scan on grants", "%+v:\n%s", f, custom)
		require.Contains(t, custom, "Index", "%+v:\n%s", f, custom)

		// The generic plan, through PREPARE / EXPLAIN EXECUTE.
		name := fmt.Sprintf("kyc_explain_%d", i)
		_, err = conn.Exec(ctx, "PREPARE "+name+" AS "+q)
		require.NoError(t, err)
		lits := make([]string, len(args))
		for j, a := range args {
			lits[j] = literal(a)
		}
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan")
		require.NoError(t, err)
		generic := explain(t, tx.Conn(), "EXPLAIN EXECUTE "+name+"("+strings.Join(lits, ", ")+")")
		require.NoError(t, tx.Rollback(ctx))
		_, err = conn.Exec(ctx, "DEALLOCATE "+name)
		require.NoError(t, err)
		require.NotContains(t, generic, "Seq Scan on grants", "generic plan of %+v:\n%s", f, generic)
	}
}

func explain(t *testing.T, conn *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	rows, err := conn.Query(t.Context(), sql, args...)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return strings.Join(lines, "\n")
}

// literal renders a listing argument as SQL for EXECUTE.
func literal(a any) string {
	switch v := a.(type) {
	case []string:
		if v == nil {
			return "NULL::text[]"
		}
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = "'" + s + "'"
		}
		return "ARRAY[" + strings.Join(q, ", ") + "]::text[]"
	default:
		return fmt.Sprint(v)
	}
}

// TestListGrantsTagBucketsMatchOracle checks the tag-scoped listing over
// many buckets, after subjects changed tag sets (moving their counts) and
// gained grants, against a plain OFFSET query, and the bucket counts
// against a recount.
func TestListGrantsTagBucketsMatchOracle(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	// About 1,700 queries over 30,000 grants: more than one step's 30 s
	// on a loaded 2-core machine, so this test gets its own bound.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	loadGrants(t, s, 300, 30_000)

	retag := map[int64][]string{5: {"t1", "t2"}, 6: nil, 7: {"new"}, 8: {"t2", "t1"}, 11: {"new", "t1"}}
	for id, tags := range retag {
		sub, err := s.GetSubject(ctx, id)
		require.NoError(t, err)
		sub.Tags = tags
		require.NoError(t, s.UpdateSubject(ctx, sub))
	}
	for i := range 40 {
		g := verification.Grant{SubjectID: int64(i%12 + 1), Level: verification.LevelRef{ID: 2, Name: "L"}, Reason: "more"}
		require.NoError(t, s.AddGrant(ctx, &g))
	}

	var bad int
	require.NoError(t, s.db.pool.QueryRow(ctx, s.sql(`
		WITH want AS (
			SELECT s.tagset_id, g.id / `+bucketSize+` AS bucket, count(*) AS n
			  FROM {{schema}}.grants g JOIN {{schema}}.subjects s ON s.id = g.client_id
			 WHERE s.tagset_id IS NOT NULL GROUP BY 1, 2)
		SELECT count(*) FROM want FULL JOIN (SELECT * FROM {{schema}}.grant_buckets WHERE n <> 0) got USING (tagset_id, bucket)
		 WHERE want.n IS DISTINCT FROM got.n`)).Scan(&bad))
	require.Zero(t, bad, "grant_buckets must equal a recount")

	oracle := func(f verification.GrantFilter) (int, []int64) {
		order := "ASC"
		if f.Desc {
			order = "DESC"
		}
		tagged := `client_id IN (SELECT subject_id FROM {{schema}}.subject_tags WHERE tag = ANY ($1))`
		var total int
		require.NoError(t, s.db.pool.QueryRow(ctx, s.sql(`SELECT count(*) FROM {{schema}}.grants WHERE `+tagged), f.Tags).Scan(&total))
		rows, err := s.db.pool.Query(ctx, s.sql(`SELECT id FROM {{schema}}.grants WHERE `+tagged+` ORDER BY id `+order+` OFFSET $2 LIMIT $3`),
			f.Tags, f.Offset, f.Limit)
		require.NoError(t, err)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		require.NoError(t, err)
		return total, append([]int64{}, ids...)
	}
	for _, tags := range [][]string{{"t1"}, {"t1", "t2"}, {"t2", "new"}, {"new"}, {"t9"}, {"zzz"}} {
		total, _ := oracle(verification.GrantFilter{Tags: tags})
		for _, desc := range []bool{false, true} {
			for _, off := range []int{0, 1, 99, 100, 101, 1023, 1024, 1500, 2999, total - 1, total, total + 5} {
				for _, lim := range []int{0, 1, 50, 1000} {
					f := verification.GrantFilter{Tags: tags, Desc: desc, Offset: max(off, 0), Limit: lim}
					wantTotal, wantIDs := oracle(f)
					page, err := s.ListGrants(ctx, f)
					require.NoError(t, err)
					require.Equal(t, wantTotal, page.Total, "total of %+v", f)
					require.Equal(t, wantIDs, idsOf(page.Items), "items of %+v", f)
				}
			}
		}
	}
}
