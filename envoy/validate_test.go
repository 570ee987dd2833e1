package envoy

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"sigs.k8s.io/yaml"
)

// Every Envoy config we ship is checked twice: decoded strictly into Envoy's own protobufs
// (go-control-plane; unknown fields and unknown "@type"s rejected; protoc-gen-validate rules, down
// into every typed_config) and by the real Envoy with `envoy --mode validate`.

// skipDirs are not part of what we ship: VCS data, local tools, dependencies, runtime data.
var skipDirs = map[string]bool{".git": true, ".tools": true, ".vmcp": true, "node_modules": true, "bin": true}

// findBootstraps returns every YAML or JSON file under root (relative paths) that is an Envoy
// bootstrap: a mapping with a top-level static_resources, dynamic_resources or admin key.
func findBootstraps(t *testing.T, root string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if isBootstrap(data) {
			rel, _ := filepath.Rel(root, path)
			found = append(found, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func isBootstrap(data []byte) bool {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return false // not ours to judge: some other test owns files that are not YAML
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(j, &top) != nil {
		return false
	}
	for _, k := range []string{"static_resources", "dynamic_resources", "admin"} {
		if _, ok := top[k]; ok {
			return true
		}
	}
	return false
}

// checkBootstrap is the double check of one bootstrap file.
func checkBootstrap(t *testing.T, bin, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var b bootstrapv3.Bootstrap
	if err := decodeStrict(data, &b); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if err := validateDeep(&b); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	envoyValidate(t, bin, file)
}

func TestEveryShippedEnvoyConfigIsValid(t *testing.T) {
	bin := envoyBin(t)
	root := moduleRoot(t)
	files := findBootstraps(t, root)
	// Guard against a walk that silently finds nothing.
	for _, g := range shippedBootstraps {
		if want := filepath.Join("envoy", g.file); !slices.Contains(files, want) {
			t.Errorf("the repository walk did not find %s (found %v)", want, files)
		}
	}
	for _, f := range files {
		t.Run(filepath.ToSlash(f), func(t *testing.T) {
			t.Parallel()
			checkBootstrap(t, bin, filepath.Join(root, f))
		})
	}
}

func TestRenderedBootstrapsAreValid(t *testing.T) {
	bin := envoyBin(t)
	tests := []struct {
		name   string
		params BootstrapParams
	}{
		{"the defaults", defaultParams()},
		{"the docker addresses", dockerParams()},
		{"hostnames and IPv6", BootstrapParams{NodeID: "n", Edge: "[::]:8080", Egress: "[::1]:8081", Admin: "[::1]:9901",
			XDS: "vmcp:18000", Authz: "vmcp.vmcp-system.svc.cluster.local:18001", ExtProc: "[fd00::1]:18002", HTTP: "my_vmcp:18003"}},
		{"tracing on", tracingParams()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := Render(tt.params)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "bootstrap.yaml")
			if err := os.WriteFile(file, out, 0o644); err != nil {
				t.Fatal(err)
			}
			checkBootstrap(t, bin, file)
		})
	}
}

func TestStrictDecodingRejectsMistakes(t *testing.T) {
	// The strict decode is only worth something if it actually fails on the mistakes people make.
	good, err := Render(defaultParams())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new string
	}{
		{"a misspelt field", "failure_mode_allow: false", "failure_mode_alow: false"},
		{"a field of another filter", "allow_mode_override: true", "clear_route_cache: true"},
		{"an unknown @type", "ext_proc.v3.ExternalProcessor", "ext_proc.v3.ExternalProcesor"},
		{"an invalid enum", "request_body_mode: BUFFERED", "request_body_mode: BUFFER"},
		{"a value a validate rule forbids", "connect_timeout: 1s", "connect_timeout: -1s"},
		{"an empty cluster name inside a typed_config", "{cluster_name: vmcp_authz}", "{cluster_name: \"\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := strings.Replace(string(good), tt.old, tt.new, 1)
			if bad == string(good) {
				t.Fatalf("%q is not in the rendered bootstrap", tt.old)
			}
			var b bootstrapv3.Bootstrap
			err := decodeStrict([]byte(bad), &b)
			if err == nil {
				err = validateDeep(&b)
			}
			if err == nil {
				t.Error("accepted")
			}
		})
	}
}
