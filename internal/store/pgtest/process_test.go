package pgtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindBinaries(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{"13/bin", "17/bin", "9/bin", "18/bin"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"13/bin/initdb", "13/bin/postgres", "17/bin/initdb", "17/bin/postgres", "9/bin/initdb", "9/bin/postgres", "18/bin/initdb"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, glob, want string
		wantErr          bool
	}{
		{name: "the newest complete installation wins, compared as numbers", glob: filepath.Join(root, "*/bin"), want: filepath.Join(root, "17/bin")},
		{name: "no installation and nothing on PATH says how to install one", glob: filepath.Join(root, "none/*/bin"), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", t.TempDir())
			got, err := findBinaries(tc.glob)
			if tc.wantErr {
				if !errors.Is(err, errNoBinaries) || !strings.Contains(err.Error(), "apt-get install -y postgresql") || !strings.Contains(err.Error(), "make test") {
					t.Fatalf("got %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q %v, want %q", got, err, tc.want)
			}
		})
	}
}

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ name, dsn, want string }{
		{"a URL gets the database as its path", "postgres://u:p@db:5432/postgres?sslmode=disable", "postgres://u:p@db:5432/t1?sslmode=disable"},
		{"a URL without a database gets one", "postgresql://u@db", "postgresql://u@db/t1"},
		{"a keyword string gets a later dbname", "host=db user=u dbname=postgres", "host=db user=u dbname=postgres dbname=t1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := withDatabase(tc.dsn, "t1"); err != nil || got != tc.want {
				t.Fatalf("got %q %v, want %q", got, err, tc.want)
			}
		})
	}
}
