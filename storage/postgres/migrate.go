package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	migfiles "github.com/openkyc/kyc/internal/migration"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrSchemaTooNew is returned by Open and New when the schema was migrated
// by a newer version of this package than the running one: downgrading is
// not supported, upgrade the library instead.
var ErrSchemaTooNew = errors.New("postgres: schema written by a newer version of openkyc")

// schemaPlaceholder is replaced in migrations and queries by the store's
// quoted schema name.
const schemaPlaceholder = "{{schema}}"

// migration is one numbered file of migrations/.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. Their
// versions must run 1, 2, 3, ... without gaps.
func migrations() ([]migration, error) {
	files, err := migfiles.Load(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	out := make([]migration, len(files))
	for i, f := range files {
		out[i] = migration{version: f.Version, name: f.Name, sql: f.SQL}
	}
	return out, nil
}

// migrationLockKey is the pg_advisory_xact_lock key that serialises
// migrations of one schema: a 64-bit hash of a name-spaced string, so it
// differs per schema and is unlikely to clash with the host's own keys.
func migrationLockKey(schema string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("github.com/openkyc/kyc/storage/postgres migrate " + schema))
	return int64(h.Sum64())
}

// migrate brings schema up to version target (0 means the latest) in one
// transaction. The transaction first takes a transaction-scoped advisory
// lock, so replicas starting together apply each migration once and wait
// for each other; a session lock would stay held on a pooled connection.
// It returns ErrSchemaTooNew when the schema is past every known version.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string, target int) error {
	all, err := migrations()
	if err != nil {
		return err
	}
	if target == 0 || target > len(all) {
		target = len(all)
	}
	q := pgx.Identifier{schema}.Sanitize()
	return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey(schema)); err != nil {
			return fmt.Errorf("postgres: migration lock: %w", err)
		}
		// Create the schema only when missing: CREATE SCHEMA IF NOT EXISTS
		// needs the CREATE privilege on the database even when the schema
		// exists, and a host may have created it for a less privileged user.
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
			return fmt.Errorf("postgres: look up schema %s: %w", q, err)
		}
		if !exists {
			if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+q); err != nil {
				return fmt.Errorf("postgres: create schema %s: %w", q, err)
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+q+`.schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("postgres: create schema_migrations: %w", err)
		}
		rows, err := tx.Query(ctx, "SELECT version, name FROM "+q+".schema_migrations ORDER BY version")
		if err != nil {
			return fmt.Errorf("postgres: read schema_migrations: %w", err)
		}
		type applied struct {
			version int
			name    string
		}
		var done []applied
		for rows.Next() {
			var a applied
			if err := rows.Scan(&a.version, &a.name); err != nil {
				rows.Close()
				return fmt.Errorf("postgres: read schema_migrations: %w", err)
			}
			done = append(done, a)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: read schema_migrations: %w", err)
		}
		for i, a := range done {
			if a.version > len(all) {
				return fmt.Errorf("%w: schema %s is at version %d, this library knows versions up to %d; upgrade github.com/openkyc/kyc",
					ErrSchemaTooNew, q, done[len(done)-1].version, len(all))
			}
			if a.version != i+1 || a.name != all[i].name {
				return fmt.Errorf("postgres: schema %s has migration %d %q where %d %q was expected; is the schema used by something else?",
					q, a.version, a.name, i+1, all[i].name)
			}
		}
		if len(done) >= target {
			return nil
		}
		for _, m := range all[len(done):target] {
			if _, err := tx.Exec(ctx, strings.ReplaceAll(m.sql, schemaPlaceholder, q)); err != nil {
				return fmt.Errorf("postgres: apply migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO "+q+".schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
				return fmt.Errorf("postgres: record migration %s: %w", m.name, err)
			}
		}
		return nil
	})
}
