package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSkipMigrate: with SkipMigrate, Open never changes the schema; it
// refuses a database that lacks migrations (none, or some) until Migrate
// has run, and then opens it as usual.
func TestSkipMigrate(t *testing.T) {
	t.Parallel()
	ms, err := migrations()
	require.NoError(t, err)
	for _, prefix := range []string{"", "kyc_"} {
		for stop := 0; stop < len(ms); stop++ {
			t.Run(fmt.Sprintf("prefix %q at version %d", prefix, stop), func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				path := filepath.Join(t.TempDir(), "kyc.db")
				opts := Options{TablePrefix: prefix, SkipMigrate: true}
				if stop > 0 {
					require.NoError(t, migrateTo(ctx, openWriter(t, path), prefix, stop))
				}
				_, err := Open(ctx, path, opts)
				require.ErrorIs(t, err, ErrSchemaOutdated)
				require.ErrorContains(t, err, fmt.Sprintf("at schema version %d, this store needs %d", stop, len(ms)))
				w := openWriter(t, path)
				v := 0
				if stop > 0 {
					v, err = schemaVersion(ctx, w, prefix)
					require.NoError(t, err)
				} else {
					require.False(t, tableExists(t, w, versionTable(prefix)), "SkipMigrate created the version table")
				}
				require.Equal(t, stop, v, "SkipMigrate changed the schema")

				require.NoError(t, Migrate(ctx, path, opts))
				require.NoError(t, Migrate(ctx, path, opts), "Migrate is idempotent")
				s, err := Open(ctx, path, opts)
				require.NoError(t, err)
				defer s.Close()
				v, err = schemaVersion(ctx, s.c.reader, prefix)
				require.NoError(t, err)
				require.Equal(t, len(ms), v)
			})
		}
	}
}

// TestSkipMigrateRefusesNewerSchema: a schema from a newer version is
// refused with or without SkipMigrate, and by Migrate.
func TestSkipMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "kyc.db")
	require.NoError(t, Migrate(ctx, path, Options{}))
	ms, err := migrations()
	require.NoError(t, err)
	_, err = openWriter(t, path).ExecContext(ctx, `INSERT INTO `+versionTable("")+` (version, name) VALUES (?, 'future')`, len(ms)+1)
	require.NoError(t, err)
	_, err = Open(ctx, path, Options{SkipMigrate: true})
	require.ErrorIs(t, err, ErrSchemaTooNew)
	require.ErrorIs(t, Migrate(ctx, path, Options{}), ErrSchemaTooNew)
}
