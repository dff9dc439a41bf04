package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrSchemaOutdated is returned by Open with Options.SkipMigrate when the
// database lacks migrations this version of the store needs. Apply them
// with Migrate (or open once without SkipMigrate), then open again.
var ErrSchemaOutdated = errors.New("sqlite: database schema is older than this version of the store")

// Migrate brings the schema of the database at path up to the newest
// migration this package embeds, creating the file if needed, and returns.
// It is the explicit step for operators who open their stores with
// Options.SkipMigrate (migrations in a deploy job, as with golang-migrate).
// opts.SkipMigrate is ignored; the other options (TablePrefix above all)
// must be those the application opens the store with. It fails with
// ErrSchemaTooNew on a schema written by a newer version.
func Migrate(ctx context.Context, path string, opts Options) error {
	opts.SkipMigrate = false
	s, err := Open(ctx, path, opts)
	if err != nil {
		return err
	}
	return s.Close()
}

// migrateOnOpen is Open's schema step: migrate, or with SkipMigrate only
// check that the schema is exactly the newest one this package knows.
func migrateOnOpen(ctx context.Context, db *sql.DB, prefix string, skip bool) error {
	if !skip {
		return migrate(ctx, db, prefix)
	}
	ms, err := migrations()
	if err != nil {
		return err
	}
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, versionTable(prefix)).Scan(&tables); err != nil {
		return fmt.Errorf("sqlite: reading the schema version: %w", err)
	}
	current := 0
	if tables > 0 {
		if current, err = schemaVersion(ctx, db, prefix); err != nil {
			return err
		}
	}
	switch {
	case current > len(ms):
		return fmt.Errorf("%w: the database is at schema version %d, this store knows versions up to %d", ErrSchemaTooNew, current, len(ms))
	case current < len(ms):
		return fmt.Errorf("%w: the database is at schema version %d, this store needs %d; run sqlite.Migrate (Options.SkipMigrate is set)", ErrSchemaOutdated, current, len(ms))
	}
	return nil
}
