package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"

	migfiles "github.com/openkyc/kyc/internal/migration"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// prefixPlaceholder is replaced by Options.TablePrefix in every migration and
// query.
const prefixPlaceholder = "{{prefix}}"

// ErrSchemaTooNew is returned by Open when the database's schema was written
// by a newer version of this package (it has migrations this one does not
// know). Upgrade the library rather than run an old one against it.
var ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this version of the store")

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. Their file
// names are NNNN_name.sql, numbered from 1 without gaps.
func migrations() ([]migration, error) {
	files, err := migfiles.Load(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	out := make([]migration, len(files))
	for i, f := range files {
		out[i] = migration{version: f.Version, name: f.Name, sql: f.SQL}
	}
	return out, nil
}

// withPrefix substitutes the table prefix into a migration or query.
func withPrefix(sqlText, prefix string) string {
	return strings.ReplaceAll(sqlText, prefixPlaceholder, prefix)
}

// versionTable is the name of the schema-version table for prefix.
func versionTable(prefix string) string { return prefix + "schema_migrations" }

// migrate brings the schema up to the newest embedded migration.
func migrate(ctx context.Context, db *sql.DB, prefix string) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return migrateTo(ctx, db, prefix, len(ms))
}

// migrateTo applies, in one IMMEDIATE transaction (db is the writer), every
// embedded migration above the database's current version up to and
// including target. A database whose version is above the newest embedded
// migration fails with ErrSchemaTooNew; one above target is left alone.
func migrateTo(ctx context.Context, db *sql.DB, prefix string, target int) (err error) {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if target < 0 || target > len(ms) {
		return fmt.Errorf("sqlite: no migration %d (newest is %d)", target, len(ms))
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	vt := versionTable(prefix)
	if _, err = tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+vt+` (
		version INTEGER PRIMARY KEY,
		name    TEXT NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("sqlite: migrate: creating %s: %w", vt, err)
	}
	var current int
	if err = tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+vt).Scan(&current); err != nil {
		return fmt.Errorf("sqlite: migrate: reading the schema version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("%w: the database is at schema version %d, this store knows versions up to %d", ErrSchemaTooNew, current, len(ms))
	}
	for _, m := range ms[min(current, target):target] {
		if _, err = tx.ExecContext(ctx, withPrefix(m.sql, prefix)); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.name, err)
		}
		if _, err = tx.ExecContext(ctx, `INSERT INTO `+vt+` (version, name) VALUES (?, ?)`, m.version, m.name); err != nil {
			return fmt.Errorf("sqlite: migration %s: recording it: %w", m.name, err)
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate: commit: %w", err)
	}
	return nil
}

// schemaVersion returns the database's schema version (0 for none).
func schemaVersion(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, prefix string) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+versionTable(prefix)).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("sqlite: reading the schema version: %w", err)
	}
	return v, nil
}
