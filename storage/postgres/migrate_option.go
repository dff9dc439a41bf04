package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openkyc/kyc/verification"
)

// ErrSchemaOutdated is returned by Open and New with Options.SkipMigrate
// when the schema lacks migrations this version of the store needs. Apply
// them with Migrate (or open once without SkipMigrate), then open again.
var ErrSchemaOutdated = errors.New("postgres: schema is older than this version of openkyc")

// Migrate brings opts.Schema (DefaultSchema when empty) up to the newest
// migration this package embeds, creating the schema if needed, under the
// same advisory lock Open takes, and returns. It is the explicit step for
// operators who open their stores with Options.SkipMigrate (migrations in
// a deploy job, as with golang-migrate); the pool may belong to a more
// privileged role than the application's. opts.SkipMigrate is ignored. It
// fails with ErrSchemaTooNew on a schema written by a newer version.
func Migrate(ctx context.Context, pool *pgxpool.Pool, opts Options) error {
	if pool == nil {
		return fmt.Errorf("postgres: nil pool: %w", verification.ErrInvalid)
	}
	if opts.Schema == "" {
		opts.Schema = DefaultSchema
	}
	if err := validSchema(opts.Schema); err != nil {
		return err
	}
	if err := migrate(ctx, pool, opts.Schema, 0); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}

// migrateOnOpen is the schema step of Open and New: migrate, or with
// SkipMigrate only check that the schema is exactly the newest one this
// package knows (never creating or changing anything).
func migrateOnOpen(ctx context.Context, pool *pgxpool.Pool, schema string, skip bool) error {
	if !skip {
		return migrate(ctx, pool, schema, 0)
	}
	all, err := migrations()
	if err != nil {
		return err
	}
	q := pgx.Identifier{schema}.Sanitize()
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", q+".schema_migrations").Scan(&exists); err != nil {
		return fmt.Errorf("postgres: read the schema version of %s: %w", q, err)
	}
	current := 0
	if exists {
		if err := pool.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM "+q+".schema_migrations").Scan(&current); err != nil {
			return fmt.Errorf("postgres: read the schema version of %s: %w", q, err)
		}
	}
	switch {
	case current > len(all):
		return fmt.Errorf("%w: schema %s is at version %d, this library knows versions up to %d; upgrade github.com/openkyc/kyc",
			ErrSchemaTooNew, q, current, len(all))
	case current < len(all):
		return fmt.Errorf("%w: schema %s is at version %d, this library needs %d; run postgres.Migrate (Options.SkipMigrate is set)",
			ErrSchemaOutdated, q, current, len(all))
	}
	return nil
}
