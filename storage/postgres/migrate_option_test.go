package postgres

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestSkipMigrate: with SkipMigrate, Open and New never create or change
// the schema; they refuse one that lacks migrations (absent, or partly
// migrated) until Migrate has run, and then open it as usual.
func TestSkipMigrate(t *testing.T) {
	t.Parallel()
	all, err := migrations()
	require.NoError(t, err)
	for stop := 0; stop < len(all); stop++ {
		t.Run(fmt.Sprintf("at version %d", stop), func(t *testing.T) {
			t.Parallel()
			ctx := ctxTimeout(t)
			pool := sharedPool(t)
			schema := newSchema(t)
			if stop > 0 {
				require.NoError(t, migrate(ctx, pool, schema, stop))
			}
			opts := Options{Schema: schema, SkipMigrate: true}
			_, err := New(ctx, pool, opts)
			require.ErrorIs(t, err, ErrSchemaOutdated)
			require.ErrorContains(t, err, fmt.Sprintf("at version %d, this library needs %d", stop, len(all)))
			_, err = Open(ctx, testDSN(t), opts)
			require.ErrorIs(t, err, ErrSchemaOutdated)
			var exists bool
			require.NoError(t, pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists))
			require.Equal(t, stop > 0, exists, "SkipMigrate created the schema")

			require.NoError(t, Migrate(ctx, pool, opts))
			require.NoError(t, Migrate(ctx, pool, opts), "Migrate is idempotent")
			s, err := New(ctx, pool, opts)
			require.NoError(t, err)
			defer s.Close()
			var v int
			require.NoError(t, pool.QueryRow(ctx, "SELECT max(version) FROM "+pgx.Identifier{schema}.Sanitize()+".schema_migrations").Scan(&v))
			require.Equal(t, len(all), v)
		})
	}
}

func TestMigrateRefuses(t *testing.T) {
	t.Parallel()
	ctx := ctxTimeout(t)
	require.Error(t, Migrate(ctx, nil, Options{}))
	require.Error(t, Migrate(ctx, sharedPool(t), Options{Schema: "Bad-Name"}))
	s := openStore(t)
	all, err := migrations()
	require.NoError(t, err)
	exec(t, s, `INSERT INTO {{schema}}.schema_migrations (version, name) VALUES ($1, 'from_the_future')`, len(all)+1)
	require.ErrorIs(t, Migrate(ctx, sharedPool(t), Options{Schema: s.Schema()}), ErrSchemaTooNew)
	_, err = New(ctx, sharedPool(t), Options{Schema: s.Schema(), SkipMigrate: true})
	require.ErrorIs(t, err, ErrSchemaTooNew)
}
