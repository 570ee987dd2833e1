package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	var ec exitCode
	switch {
	case err == nil:
	case errors.As(err, &ec):
		code = int(ec)
	default:
		code = 1
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

func TestValidateAcceptsTheExampleConfiguration(t *testing.T) {
	out, errOut, code := runCLI(t, "validate", "-c", "../../examples/vmcp.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "valid (2 connectors, 1 virtual servers)") {
		t.Errorf("stdout = %q", out)
	}
}

func TestValidateNamesEveryProblemWithItsPosition(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	bad := `connectors:
  - name: notes
    url: ftp://example.com/mcp
    colour: blue
virtual_servers:
  - name: demo
    connectors: [notes, ghost]
`
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCLI(t, "validate", "-c", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{
		path + `:3:10: connectors[0].url: "ftp://example.com/mcp" must use http or https`,
		path + `:4:5: unknown key "colour"`,
		path + `:7:25: virtual server "demo" names connector "ghost", which is not defined under connectors`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestCommandsExplainMissingFlags(t *testing.T) {
	for _, args := range [][]string{{"validate"}, {"serve"}, {"envoy-bootstrap"}, {"token", "--user", "a"}, {"nonsense"}, {}} {
		_, errOut, code := runCLI(t, args...)
		if code != 2 || errOut == "" {
			t.Errorf("vmcp %v: exit %d, stderr %q; want exit 2 with an explanation", args, code, errOut)
		}
	}
}

func TestEnvoyBootstrapRendersForTheConfiguration(t *testing.T) {
	out, errOut, code := runCLI(t, "envoy-bootstrap", "-c", "../../examples/vmcp.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"vmcp_edge", "vmcp_egress", "failure_mode_allow: false", "18001", "18002"} {
		if !strings.Contains(out, want) {
			t.Errorf("bootstrap lacks %q", want)
		}
	}
}
