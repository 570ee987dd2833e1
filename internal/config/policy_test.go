package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyBlockProblemsAreNamedByLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vmcp.yaml")
	if err := os.WriteFile(filepath.Join(dir, "bundle.tar.gz"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"file and url together", "policy:\n  bundle: {file: bundle.tar.gz, url: http://b}\n", "set exactly one of file and url"},
		{"a missing bundle file", "policy:\n  bundle: {file: nope.tar.gz}\n", "policy.bundle.file"},
		{"a bundle url that is not http", "policy:\n  bundle: {url: ftp://b}\n", `"ftp://b" is not an http(s) URL`},
		{"signing without a key", "policy:\n  bundle: {url: http://b, signing: {algorithm: RS256}}\n", "public_key_file is required"},
		{"an unknown signing algorithm", "policy:\n  bundle: {url: http://b, signing: {public_key_file: bundle.tar.gz, algorithm: none}}\n", `"none" is not one OPA verifies`},
		{"a bundle and a policy directory", "auth: {policies: .}\npolicy:\n  bundle: {url: http://b}\n", "exclusive"},
		{"inverted polling delays", "policy:\n  bundle: {url: http://b, min_delay: 20s, max_delay: 10s}\n", "min_delay <= max_delay"},
		{"a decision log service without url", "policy:\n  decision_logs: {labels: {a: b}}\n", "policy.decision_logs.url"},
		{"a relative mask path", "policy:\n  decision_logs: {url: http://l, mask_decision: system/log/mask}\n", "must be a path"},
		{"an unknown key", "policy:\n  bundle: {url: http://b, polling: 1s}\n", `unknown key "polling"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(path, []byte(tc.yaml))
			var ps Problems
			if !errors.As(err, &ps) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v; want a problem mentioning %q", err, tc.want)
			}
		})
	}
	cfg, err := Load(path, []byte("policy:\n  bundle: {file: bundle.tar.gz}\n  decision_logs: {url: https://l, labels: {env: prod}}\n"))
	if err != nil || cfg.Policy.Bundle.File != "bundle.tar.gz" || cfg.Policy.DecisionLogs.Labels["env"] != "prod" {
		t.Fatalf("a valid policy block: %+v, %v", cfg.Policy, err)
	}
}
