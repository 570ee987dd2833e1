package config

import (
	"errors"
	"testing"
)

// FuzzLoad checks that no file makes Load panic, and that every rejection is a list of problems
// with a position in the file. Seeds are under testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Load("fuzz.yaml", data)
		if err == nil {
			if cfg == nil {
				t.Fatal("Load returned neither a config nor an error")
			}
			return
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("Load returned %T, want non-empty Problems", err)
		}
		for _, p := range ps {
			if p.File != "fuzz.yaml" || p.Line < 1 || p.Column < 1 || p.Message == "" {
				t.Fatalf("problem without a position or message: %+v", p)
			}
		}
	})
}
