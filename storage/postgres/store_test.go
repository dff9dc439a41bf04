package postgres

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

func newSubject(t *testing.T, s verification.Store, name string, tags ...string) verification.Subject {
	t.Helper()
	sub := verification.Subject{Identifier: name + strings.Repeat("0", 36-len(name)), Tags: tags}
	require.NoError(t, s.CreateSubject(t.Context(), &sub))
	return sub
}

func TestOpenFailsEarly(t *testing.T) {
	t.Parallel()
	testDSN(t)
	ctx := ctxTimeout(t)

	_, err := Open(ctx, "postgres://user:secret@[::1", Options{})
	require.Error(t, err, "a malformed DSN fails at Open")
	require.NotContains(t, err.Error(), "secret", "the error must not quote the password")

	// Nothing listens on port 1: pgxpool connects lazily, Open pings.
	_, err = Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5", Options{})
	require.Error(t, err, "an unreachable server fails at Open, not at the first request")
	require.Contains(t, err.Error(), "127.0.0.1:1")

	for _, bad := range []string{"Public", "1abc", "a-b", `x"y`, "pg_kyc", strings.Repeat("a", 64)} {
		_, err = New(ctx, sharedPool(t), Options{Schema: bad})
		require.ErrorIs(t, err, verification.ErrInvalid, "schema %q", bad)
	}
	_, err = New(ctx, nil, Options{})
	require.ErrorIs(t, err, verification.ErrInvalid)
}

func TestOpenCreatesSchemaAndClose(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	ctx := ctxTimeout(t)
	s, err := Open(ctx, testDSN(t), Options{Schema: schema})
	require.NoError(t, err)
	require.Equal(t, schema, s.Schema())
	var n int
	require.NoError(t, sharedPool(t).QueryRow(ctx,
		"SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", schema).Scan(&n))
	require.GreaterOrEqual(t, n, 10, "every table lives in the chosen schema")
	require.NoError(t, sharedPool(t).QueryRow(ctx,
		"SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('subjects', 'grants')").Scan(&n))
	require.Zero(t, n, "nothing is created outside the schema")

	pool := s.db.pool
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "closing twice is harmless")
	_, err = s.GetSubject(ctx, 1)
	require.ErrorIs(t, err, verification.ErrClosed)
	err = s.InTx(ctx, func(context.Context, verification.Store) error { return nil })
	require.ErrorIs(t, err, verification.ErrClosed)
	require.Error(t, pool.Ping(ctx), "Close closes the pool Open created")
}

func TestNewLeavesHostPoolOpen(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	require.NoError(t, s.Close())
	_, err := s.ListGrants(t.Context(), verification.GrantFilter{Limit: 1})
	require.ErrorIs(t, err, verification.ErrClosed)
	require.NoError(t, sharedPool(t).Ping(t.Context()), "Close must not close a pool the host passed in")
}

func TestNoSessionStateLeaksIntoHostPool(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxTimeout(t)
	sub := newSubject(t, s, "alice")
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		_, err := tx.LockSubject(ctx, sub.ID)
		return err
	}))
	// Every connection of the shared pool keeps the server's defaults.
	pool := sharedPool(t)
	for range 4 {
		var path string
		var locks int
		require.NoError(t, pool.QueryRow(ctx, "SHOW search_path").Scan(&path))
		require.NotContains(t, path, s.Schema())
		require.NoError(t, pool.QueryRow(ctx,
			`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1
			    AND classid = (($1::bigint >> 32) & 4294967295)::oid AND objid = ($1::bigint & 4294967295)::oid`,
			migrationLockKey(s.Schema())).Scan(&locks))
		require.Zero(t, locks, "the migration lock is transaction-scoped and released at commit")
	}
}

func TestMigrationsUpgradeOneAtATime(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	ctx := ctxTimeout(t)
	pool := sharedPool(t)
	all, err := migrations()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(all), 2)
	q := pgx.Identifier{schema}.Sanitize()

	// Version 1 only, with data written the way that version's code would.
	require.NoError(t, migrate(ctx, pool, schema, 1))
	_, err = pool.Exec(ctx, `INSERT INTO `+q+`.subjects (identifier, tags, level) VALUES ('old000000000000000000000000000000000', '{eu}', 1)`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `
		WITH c AS (UPDATE `+q+`.subjects SET grant_count = grant_count + 1 RETURNING id, grant_count),
		     n AS (UPDATE `+q+`.counters SET value = value + 1 WHERE name = 'grants' RETURNING value)
		INSERT INTO `+q+`.grants (id, client_id, client_seq, level_id, level_name, reason)
		SELECT n.value, c.id, c.grant_count, 1, 'Level 0', 'created' FROM c, n`)
	require.NoError(t, err)
	var exists bool
	require.NoError(t, pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", schema+".applications").Scan(&exists))
	require.False(t, exists, "version 1 has no applications table")

	// Each later version applies on top, one at a time, keeping the data.
	for v := 2; v <= len(all); v++ {
		require.NoError(t, migrate(ctx, pool, schema, v))
		var got int
		require.NoError(t, pool.QueryRow(ctx, "SELECT max(version) FROM "+q+".schema_migrations").Scan(&got))
		require.Equal(t, v, got)
	}
	s, err := New(ctx, pool, Options{Schema: schema})
	require.NoError(t, err, "opening an up-to-date schema applies nothing")
	sub, err := s.GetSubjectByIdentifier(ctx, "old000000000000000000000000000000000")
	require.NoError(t, err)
	require.Equal(t, []string{"eu"}, sub.Tags)
	page, err := s.ListGrants(ctx, verification.GrantFilter{Tags: []string{"eu"}, Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 1, page.Total)
	a := verification.Application{UUID: "u1", SubjectID: sub.ID, Level: 2, Status: verification.ApplicationDraft}
	require.NoError(t, s.CreateApplication(ctx, &a), "the upgraded schema has the later tables")

	var rows int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+q+".schema_migrations").Scan(&rows))
	require.Equal(t, len(all), rows)
}

func TestMigrationsRefuseNewerSchema(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	all, err := migrations()
	require.NoError(t, err)
	exec(t, s, `INSERT INTO {{schema}}.schema_migrations (version, name) VALUES ($1, 'from_the_future')`, len(all)+1)
	_, err = New(t.Context(), sharedPool(t), Options{Schema: s.Schema()})
	require.ErrorIs(t, err, ErrSchemaTooNew)
	require.Contains(t, err.Error(), "upgrade github.com/openkyc/kyc")
}

func TestMigrationsRefuseForeignHistory(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	exec(t, s, `UPDATE {{schema}}.schema_migrations SET name = 'something_else' WHERE version = 1`)
	_, err := New(t.Context(), sharedPool(t), Options{Schema: s.Schema()})
	require.ErrorContains(t, err, "something_else")
}

func TestMigrationsConcurrentOpen(t *testing.T) {
	t.Parallel()
	schema := newSchema(t)
	ctx := ctxTimeout(t)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			s, err := New(ctx, sharedPool(t), Options{Schema: schema})
			if err == nil {
				_, err = s.ListGrants(ctx, verification.GrantFilter{})
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err, "replicas opening a new schema together must all succeed")
	}
	all, err := migrations()
	require.NoError(t, err)
	var rows int
	require.NoError(t, sharedPool(t).QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema}.Sanitize()+".schema_migrations").Scan(&rows))
	require.Equal(t, len(all), rows, "each migration applied once")
}

func TestErrorsNeverLeakDriverErrors(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxTimeout(t)
	alice := newSubject(t, s, "alice")

	dup := verification.Subject{Identifier: alice.Identifier}
	err := s.CreateSubject(ctx, &dup)
	require.ErrorIs(t, err, verification.ErrConflict)
	var pgErr *pgconn.PgError
	require.False(t, errors.As(err, &pgErr), "a conflict carries no driver error")

	err = s.AddGrant(ctx, &verification.Grant{SubjectID: 999, Level: verification.LevelRef{ID: 1, Name: "L"}})
	require.ErrorIs(t, err, verification.ErrNotFound)
	err = s.CreateFile(ctx, verification.File{ID: "f", SubjectID: 999})
	require.ErrorIs(t, err, verification.ErrNotFound)
	require.NoError(t, s.CreateFile(ctx, verification.File{ID: "f", SubjectID: alice.ID}))
	require.ErrorIs(t, s.CreateFile(ctx, verification.File{ID: "f", SubjectID: 999}), verification.ErrConflict)

	// A grant refused for an unknown subject leaves no gap in the ids.
	g := verification.Grant{SubjectID: alice.ID, Level: verification.LevelRef{ID: 1, Name: "L"}}
	require.NoError(t, s.AddGrant(ctx, &g))
	require.EqualValues(t, 1, g.ID)

	// A raw foreign-key violation (no such subject for a tag row) is
	// ErrNotFound, an unexpected error is wrapped and named.
	_, err = s.db.pool.Exec(ctx, s.sql(`INSERT INTO {{schema}}.subject_tags VALUES (999, 'x')`))
	require.ErrorIs(t, fail(ctx, "op", err), verification.ErrNotFound)
	err = s.PutRequirementState(ctx, verification.RequirementState{SubjectID: alice.ID, Name: "x", Status: levels.Pending, Answer: []byte("{not json")})
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "postgres: put requirement state: "), err.Error())
	require.False(t, errors.Is(err, verification.ErrNotFound) || errors.Is(err, verification.ErrConflict))
}

func TestContextErrorsPassThrough(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	sub := newSubject(t, s, "alice")

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.GetSubject(cancelled, sub.ID)
	require.ErrorIs(t, err, context.Canceled)

	// A transaction waiting for a row lock gives up with its context, and
	// the caller sees the context's error, not pgx's wrapping of it.
	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.InTx(t.Context(), func(ctx context.Context, tx verification.Store) error {
			if _, err := tx.LockSubject(ctx, sub.ID); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err = s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		_, err := tx.LockSubject(ctx, sub.ID)
		return err
	})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, context.DeadlineExceeded, err, "exactly the context's error")

	ctx, cancel = context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		errc <- s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			_, err := tx.LockSubject(ctx, sub.ID)
			return err
		})
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	require.Equal(t, context.Canceled, <-errc)
	close(release)
	require.NoError(t, <-done)
}

func TestInTx(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxTimeout(t)

	t.Run("ConflictDoesNotAbortTheTransaction", func(t *testing.T) {
		alice := newSubject(t, s, "txalice")
		err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			dup := verification.Subject{Identifier: alice.Identifier}
			require.ErrorIs(t, tx.CreateSubject(ctx, &dup), verification.ErrConflict)
			require.ErrorIs(t, tx.AddEvent(ctx, &verification.Event{ID: "e1"}), nil)
			require.ErrorIs(t, tx.AddEvent(ctx, &verification.Event{ID: "e1"}), verification.ErrConflict)
			require.ErrorIs(t, tx.CreateApplication(ctx, &verification.Application{UUID: "a", SubjectID: 999}), verification.ErrNotFound)
			bob := verification.Subject{Identifier: "txbob00000000000000000000000000000000"}
			return tx.CreateSubject(ctx, &bob)
		})
		require.NoError(t, err, "an ErrConflict answered inside a transaction leaves it usable")
		_, err = s.GetSubjectByIdentifier(ctx, "txbob00000000000000000000000000000000")
		require.NoError(t, err)
	})

	t.Run("PanicRollsBackAndRepanics", func(t *testing.T) {
		require.PanicsWithValue(t, "boom", func() {
			_ = s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
				sub := verification.Subject{Identifier: "panic0000000000000000000000000000000"}
				require.NoError(t, tx.CreateSubject(ctx, &sub))
				panic("boom")
			})
		})
		_, err := s.GetSubjectByIdentifier(ctx, "panic0000000000000000000000000000000")
		require.ErrorIs(t, err, verification.ErrNotFound)
	})

	t.Run("NestedRunsInline", func(t *testing.T) {
		errInner := errors.New("inner")
		var used verification.Store
		err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			sub := verification.Subject{Identifier: "nested000000000000000000000000000000"}
			require.NoError(t, tx.CreateSubject(ctx, &sub))
			used = tx
			return tx.InTx(ctx, func(ctx context.Context, inner verification.Store) error {
				require.Same(t, tx, inner)
				g := verification.Grant{SubjectID: sub.ID, Level: verification.LevelRef{ID: 1, Name: "L"}}
				require.NoError(t, inner.AddGrant(ctx, &g))
				return errInner
			})
		})
		require.ErrorIs(t, err, errInner)
		_, err = s.GetSubjectByIdentifier(ctx, "nested000000000000000000000000000000")
		require.ErrorIs(t, err, verification.ErrNotFound, "the inner error rolls back the whole transaction")
		_, err = used.GetSubject(ctx, 1)
		require.ErrorIs(t, err, verification.ErrClosed, "a finished transaction's store refuses calls")
		require.ErrorIs(t, used.InTx(ctx, func(context.Context, verification.Store) error { return nil }), verification.ErrClosed)
	})

	t.Run("RolledBackGrantLeavesNoGap", func(t *testing.T) {
		sub := newSubject(t, s, "gap")
		var first verification.Grant
		_ = s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			first = verification.Grant{SubjectID: sub.ID, Level: verification.LevelRef{ID: 1, Name: "L"}}
			require.NoError(t, tx.AddGrant(ctx, &first))
			return errors.New("roll back")
		})
		g := verification.Grant{SubjectID: sub.ID, Level: verification.LevelRef{ID: 1, Name: "L"}}
		require.NoError(t, s.AddGrant(ctx, &g))
		require.Equal(t, first.ID, g.ID, "a rolled-back grant's id is handed out again")
		page, err := s.ListGrants(ctx, verification.GrantFilter{SubjectID: sub.ID, Limit: 10})
		require.NoError(t, err)
		require.Equal(t, 1, page.Total)
	})
}

func TestTimesAndNulls(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxTimeout(t)
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	created := time.Date(2024, 3, 1, 10, 0, 0, 123456789, paris)
	sub := verification.Subject{Identifier: strings.Repeat("t", 36), CreatedAt: created}
	require.NoError(t, s.CreateSubject(ctx, &sub))
	got, err := s.GetSubject(ctx, sub.ID)
	require.NoError(t, err)
	require.Equal(t, created.UTC().Truncate(time.Microsecond), got.CreatedAt, "UTC, microseconds")
	require.Equal(t, time.UTC, got.CreatedAt.Location())
	require.True(t, got.DeletedAt.IsZero() && got.UpdatedAt.IsZero(), "zero times come back zero")
	var nulls int
	require.NoError(t, s.db.pool.QueryRow(ctx, s.sql(`SELECT count(*) FROM {{schema}}.subjects WHERE deleted_at IS NULL AND updated_at IS NULL AND redacted_at IS NULL`)).Scan(&nulls))
	require.Equal(t, 1, nulls, "zero times are stored as NULL")
}

func TestSubjectTagsFollowUpdates(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxTimeout(t)
	sub := newSubject(t, s, "tags", "eu", "vip")
	tags := func() []string {
		rows, err := s.db.pool.Query(ctx, s.sql(`SELECT tag FROM {{schema}}.subject_tags WHERE subject_id = $1 ORDER BY tag`), sub.ID)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}
	require.Equal(t, []string{"eu", "vip"}, tags())
	sub.Tags = []string{"us", "vip"}
	require.NoError(t, s.UpdateSubject(ctx, sub))
	require.Equal(t, []string{"us", "vip"}, tags())
	sub.Tags = nil
	require.NoError(t, s.UpdateSubject(ctx, sub))
	require.Empty(t, tags())
}
