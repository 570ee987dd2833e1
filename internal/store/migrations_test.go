package store

import (
	"slices"
	"strings"
	"testing"
)

// Both databases' schemas evolve in step: the same versions under the same names, none missing
// on one side, none twice.
func TestBothDialectsRunTheSameMigrations(t *testing.T) {
	names := map[string][]string{}
	for _, d := range []dialect{sqliteDialect, postgresDialect} {
		ms, err := migrationsIn(commonMigrations, d.migrations)
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		for i, m := range ms {
			if m.version != i+1 {
				t.Fatalf("%s: migration %d is %s: versions must run 1, 2, 3, … without gaps", d.name, i+1, m.name)
			}
			if strings.TrimSpace(m.sql) == "" {
				t.Fatalf("%s: %s is empty", d.name, m.name)
			}
			names[d.name] = append(names[d.name], m.name)
		}
	}
	if !slices.Equal(names["sqlite"], names["postgres"]) {
		t.Fatalf("SQLite runs %v, PostgreSQL %v", names["sqlite"], names["postgres"])
	}
	if len(names["sqlite"]) == 0 {
		t.Fatal("no migrations")
	}
}

func TestAVersionInTwoDirectoriesIsRefused(t *testing.T) {
	// migrations/sqlite and migrations/postgres both hold version 1.
	if _, err := migrationsIn("migrations/sqlite", "migrations/postgres"); err == nil || !strings.Contains(err.Error(), "share a version") {
		t.Fatalf("got %v, want a shared-version error", err)
	}
}
