package store

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migrations are numbered SQL files (0001_name.sql, …): those both databases run as written in
// migrations/common, the others in each dialect's own directory (their types differ) under one
// shared sequence of versions. A migration is applied once, in a transaction, and recorded in
// schema_migrations; released files are never edited, only followed by new ones.
//
//go:embed migrations
var migrationFiles embed.FS

const commonMigrations = "migrations/common"

type migration struct {
	version int
	name    string
	sql     string
}

// migrationsIn returns the migrations of dirs in version order; two files of one version, in one
// directory or in two, are refused.
func migrationsIn(dirs ...string) ([]migration, error) {
	var out []migration
	for _, dir := range dirs {
		entries, err := fs.ReadDir(migrationFiles, dir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			version, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
			if err != nil {
				return nil, fmt.Errorf("store: migration %s: name must start with a number", e.Name())
			}
			body, err := fs.ReadFile(migrationFiles, dir+"/"+e.Name())
			if err != nil {
				return nil, err
			}
			out = append(out, migration{version: version, name: e.Name(), sql: string(body)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("store: migrations %s and %s share a version", out[i-1].name, out[i].name)
		}
	}
	return out, nil
}
