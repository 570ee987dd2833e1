package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestACommandConnectorLoadsWithItsEnvironmentDirAndLimits(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key"), []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VMCP_TEST_STDIO_TOKEN", "env-secret")
	path := filepath.Join(dir, "vmcp.yaml")
	cfg, err := Load(path, []byte(`connectors:
  - name: files
    command: [sh, -c, "exec cat"]
    env: {NODE_ENV: production, TOKEN: "${env:VMCP_TEST_STDIO_TOKEN}", KEY: "${file:key}"}
    dir: work
    limits: {memory: 512MiB, open_files: 256}
virtual_servers:
  - name: demo
    connectors: [files]
`))
	if err != nil {
		t.Fatal(err)
	}
	c := &cfg.Connectors[0]
	if !c.IsCommand() || c.URL != "" {
		t.Fatalf("IsCommand %v, URL %q", c.IsCommand(), c.URL)
	}
	if want := []string{"KEY=file-secret", "NODE_ENV=production", "TOKEN=env-secret"}; !reflect.DeepEqual(c.Environ(), want) {
		t.Errorf("Environ() = %v, want %v", c.Environ(), want)
	}
	if want := (Limits{Memory: 512 << 20, OpenFiles: 256, RequestTimeout: DefaultRequestTimeout}); c.Limits != want {
		t.Errorf("limits %+v, want %+v", c.Limits, want)
	}
	if got := cfg.Resolve(c.Dir); got != filepath.Join(dir, "work") {
		t.Errorf("dir resolves to %s", got)
	}
	if got := cfg.ResolveProgram("./bin/server"); got != filepath.Join(dir, "bin/server") {
		t.Errorf("a relative program resolves to %s", got)
	}
	if got := cfg.ResolveProgram("npx"); got != "npx" {
		t.Errorf("a bare program name resolves to %s, want it left to PATH", got)
	}
}

func TestCommandConnectorProblemsAreNamedByLineAndColumn(t *testing.T) {
	const head = "connectors:\n  - name: c\n" // connector at line 2
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{
			name: "url and command together",
			yaml: head + "    url: http://h/mcp\n    command: [sh]\n",
			want: []string{`vmcp.yaml:4:14: connector "c": set either url or command, not both`},
		},
		{
			name: "an empty command",
			yaml: head + "    command: []\n",
			want: []string{`vmcp.yaml:3:14: connector "c": command must name a program, e.g. [npx, -y, "@modelcontextprotocol/server-memory"]`},
		},
		{
			name: "a program that is not on PATH",
			yaml: head + "    command: [no-such-program-vmcp]\n",
			want: []string{`vmcp.yaml:3:15: connector "c": program "no-such-program-vmcp" is not on PATH`},
		},
		{
			name: "a program path that does not exist",
			yaml: head + "    command: [./missing]\n",
			want: []string{`vmcp.yaml:3:15: connector "c": program ./missing: no such file or directory`},
		},
		{
			name: "a bad environment name and an unset secret",
			yaml: head + "    command: [sh]\n    env:\n      1BAD: x\n      TOKEN: ${env:VMCP_TEST_UNSET}\n",
			want: []string{
				`vmcp.yaml:5:13: connector "c": "1BAD" is not an environment variable name`,
				`vmcp.yaml:6:14: connectors[0].env.TOKEN: ${env:VMCP_TEST_UNSET}: environment variable VMCP_TEST_UNSET is not set`,
			},
		},
		{
			name: "a size without a number",
			yaml: head + "    command: [sh]\n    limits: {memory: lots}\n",
			want: []string{`vmcp.yaml:4:22: connectors[0].limits.memory: expected a size such as 512MiB or 2GiB`},
		},
		{
			name: "a missing working directory",
			yaml: head + "    command: [sh]\n    dir: nowhere\n",
			want: []string{`vmcp.yaml:4:10: connector "c": dir nowhere: no such file or directory`},
		},
		{
			name: "command settings on a url connector",
			yaml: head + "    url: http://h/mcp\n    env: {A: b}\n",
			want: []string{`vmcp.yaml:4:10: connector "c": env is only for command connectors`},
		},
		{
			name: "a credential on a command connector",
			yaml: head + "    command: [sh]\n    credential: {type: bearer, token: \"${env:HOME}\"}\n",
			want: []string{`vmcp.yaml:4:17: connector "c": command connectors take no credential yet; pass secrets to the process in env`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(filepath.Join(t.TempDir(), "vmcp.yaml"), []byte(tc.yaml))
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Load: %v, want Problems", err)
			}
			got := make([]string, len(ps))
			for i, p := range ps {
				got[i] = p.String()[strings.Index(p.String(), "vmcp.yaml:"):]
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestSizesTakeBinaryAndDecimalUnits(t *testing.T) {
	for in, want := range map[string]ByteSize{
		"4096": 4096, "512MiB": 512 << 20, "512Mi": 512 << 20, "2G": 2 << 30, "1GB": 1e9, "64 KiB": 64 << 10,
	} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("%q: got %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "0", "1.5GiB", "3 parsecs", "99999999999999999999"} {
		if _, err := parseByteSize(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
