// Package migration reads the numbered SQL migration files the SQL stores
// embed (NNNN_name.sql, numbered 1, 2, 3, ... without gaps). Applying them is
// each store's own business: the SQL dialects and locking differ.
package migration

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// File is one numbered migration.
type File struct {
	// Version is the number the file name starts with (1, 2, ...).
	Version int
	// Name is the file name without ".sql", e.g. "0001_core".
	Name string
	// SQL is the file's content.
	SQL string
}

// Load returns the migrations in dir of fsys in version order, or an error
// naming a malformed file name or a gap in the numbering.
func Load(fsys fs.FS, dir string) ([]File, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("reading migrations: %w", err)
	}
	var out []File
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", name, err)
		}
		out = append(out, File{Version: v, Name: strings.TrimSuffix(name, ".sql"), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations must be numbered 1, 2, ... without gaps; found %s at position %d", m.Name, i+1)
		}
	}
	return out, nil
}
