package envoy

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/config"
)

var update = flag.Bool("update", false, "rewrite the checked-in bootstrap files from the template")

// defaultParams is the bootstrap `vmcp dev` renders for the default configuration.
func defaultParams() BootstrapParams {
	return BootstrapParams{
		NodeID:  NodeID,
		Edge:    config.DefaultEdge,
		Egress:  config.DefaultEgress,
		Admin:   config.DefaultAdmin,
		XDS:     config.DefaultXDS,
		Authz:   config.DefaultAuthz,
		ExtProc: config.DefaultExtProc,
		HTTP:    config.DefaultHTTP,
	}
}

// dockerParams is the bootstrap for docker-compose.yaml. Envoy shares the vmcp container's network
// namespace there (like a sidecar in a pod), so vmcp's servers and the egress listener stay on
// loopback; only the edge listens on every address, for the published port.
func dockerParams() BootstrapParams {
	p := defaultParams()
	p.Edge = "0.0.0.0:8080"
	return p
}

// shippedBootstraps are the rendered bootstraps checked into the repository.
var shippedBootstraps = []struct {
	file   string
	params func() BootstrapParams
}{
	{"bootstrap.yaml", defaultParams},
	{"bootstrap-docker.yaml", dockerParams},
}

func TestGoldenBootstrapFilesMatchTheTemplate(t *testing.T) {
	for _, g := range shippedBootstraps {
		t.Run(g.file, func(t *testing.T) {
			got, err := Render(g.params())
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(g.file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(g.file)
			if err != nil {
				t.Fatalf("%v (run `go test ./envoy -run Golden -update`)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("envoy/%s is not the rendering of bootstrap.yaml.tmpl; run `go test ./envoy -run Golden -update`", g.file)
			}
		})
	}
}

func TestRenderNamesTheBadField(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*BootstrapParams)
		want   string
	}{
		{"an edge address without a port", func(p *BootstrapParams) { p.Edge = "127.0.0.1" }, "Edge"},
		{"an egress listener on a hostname", func(p *BootstrapParams) { p.Egress = "localhost:8081" }, "Egress"},
		{"an admin port out of range", func(p *BootstrapParams) { p.Admin = "127.0.0.1:65536" }, "Admin"},
		{"an empty xDS address", func(p *BootstrapParams) { p.XDS = "" }, "XDS"},
		{"an authz address without a host", func(p *BootstrapParams) { p.Authz = ":18001" }, "Authz"},
		{"an extproc port of zero", func(p *BootstrapParams) { p.ExtProc = "127.0.0.1:0" }, "ExtProc"},
		{"an HTTP host that would break the YAML", func(p *BootstrapParams) { p.HTTP = `"x: y":18003` }, "HTTP"},
		{"an HTTP port that is a name", func(p *BootstrapParams) { p.HTTP = "vmcp:http" }, "HTTP"},
		{"an empty node id", func(p *BootstrapParams) { p.NodeID = "" }, "NodeID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := defaultParams()
			tt.mutate(&p)
			_, err := Render(p)
			if err == nil {
				t.Fatal("Render accepted it")
			}
			if !strings.Contains(err.Error(), tt.want+":") {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
		})
	}
}

func TestRenderAcceptsHostnamesAndIPv6(t *testing.T) {
	p := defaultParams()
	p.Edge, p.Egress, p.Admin = "[::]:8080", "[::1]:8081", "[::1]:9901"
	p.XDS, p.Authz, p.ExtProc, p.HTTP = "vmcp:18000", "vmcp.vmcp-system.svc.cluster.local:18001", "[fd00::1]:18002", "my_vmcp:18003"
	out, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	// Envoy's socket_address wants IPv6 hosts without brackets.
	for _, want := range []string{`address: "::"`, `address: "::1"`, `address: "fd00::1"`, `address: "vmcp.vmcp-system.svc.cluster.local"`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("rendered bootstrap lacks %s", want)
		}
	}
}

func TestParamsFromConfig(t *testing.T) {
	t.Run("takes every address from the configuration", func(t *testing.T) {
		cfg := &config.Config{Server: config.Server{
			Listen: config.Listen{XDS: "10.0.0.1:1", Authz: "10.0.0.1:2", ExtProc: "10.0.0.1:3", HTTP: "10.0.0.1:4"},
			Envoy:  config.Envoy{Edge: "0.0.0.0:80", Egress: "127.0.0.1:81", Admin: "127.0.0.1:82"},
		}}
		want := BootstrapParams{NodeID: NodeID, Edge: "0.0.0.0:80", Egress: "127.0.0.1:81", Admin: "127.0.0.1:82",
			XDS: "10.0.0.1:1", Authz: "10.0.0.1:2", ExtProc: "10.0.0.1:3", HTTP: "10.0.0.1:4"}
		if got := ParamsFromConfig(cfg); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("falls back to the config defaults for empty fields", func(t *testing.T) {
		if got := ParamsFromConfig(&config.Config{}); got != defaultParams() {
			t.Errorf("got %+v, want %+v", got, defaultParams())
		}
	})
	t.Run("renders the example configuration", func(t *testing.T) {
		cfg, err := config.LoadFile(filepath.Join(moduleRoot(t), "examples", "vmcp.yaml"))
		if err != nil {
			t.Fatalf("examples/vmcp.yaml: %v", err)
		}
		if _, err := Render(ParamsFromConfig(cfg)); err != nil {
			t.Fatal(err)
		}
	})
}
