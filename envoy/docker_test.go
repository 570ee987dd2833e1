package envoy

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"gopkg.in/yaml.v3"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// No Docker engine runs where these tests do, so docker-compose.yaml and the Dockerfile are
// checked here: strictly parsed, and held consistent with the bootstrap they mount and the vmcp
// configuration they run.

// composeFile is the part of the Compose specification docker-compose.yaml uses. Decoding with
// KnownFields rejects anything else, a misspelt key included.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]*struct{}      `yaml:"volumes"`
}

type composeService struct {
	Build       string   `yaml:"build"`
	Image       string   `yaml:"image"`
	Command     []string `yaml:"command"`
	Volumes     []string `yaml:"volumes"`
	Ports       []string `yaml:"ports"`
	NetworkMode string   `yaml:"network_mode"`
	DependsOn   []string `yaml:"depends_on"`
	Restart     string   `yaml:"restart"`
}

func decodeYAMLStrict(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatal(err)
	}
}

func loadCompose(t *testing.T, root string) composeFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "docker-compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	decodeYAMLStrict(t, data, &c)
	return c
}

// mountOf returns the host path (relative to root) bind-mounted at target, and whether it is.
func (s composeService) mountOf(target string) (string, bool) {
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == target && strings.HasPrefix(parts[0], ".") {
			return parts[0], true
		}
	}
	return "", false
}

func TestDockerComposeRunsOurImagesAndFiles(t *testing.T) {
	root := moduleRoot(t)
	c := loadCompose(t, root)
	for _, name := range []string{"vmcp", "connectors", "envoy"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("no service %q", name)
		}
	}
	vmcp, connectors, envoy := c.Services["vmcp"], c.Services["connectors"], c.Services["envoy"]

	if want := "envoyproxy/envoy:v" + SupportedVersion; envoy.Image != want {
		t.Errorf("envoy image = %q, want %q", envoy.Image, want)
	}
	for name, s := range map[string]composeService{"vmcp": vmcp, "connectors": connectors} {
		if s.Build != "." || s.Image != vmcp.Image {
			t.Errorf("%s: build %q image %q; want the Dockerfile's image, shared", name, s.Build, s.Image)
		}
	}
	if len(connectors.Command) == 0 || connectors.Command[0] != "example-connectors" {
		t.Errorf("connectors command = %v", connectors.Command)
	}
	// Every bind mount's source is in the repository.
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if !strings.HasPrefix(src, ".") {
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s: volume %q is neither a path nor declared", name, src)
				}
				continue
			}
			if _, err := os.Stat(filepath.Join(root, src)); err != nil {
				t.Errorf("%s: mounts %s: %v", name, src, err)
			}
		}
	}
	// Envoy and the connectors join vmcp's network namespace: the egress listener, which
	// injects connector credentials, stays on loopback and the aggregator still reaches it.
	for name, s := range map[string]composeService{"envoy": envoy, "connectors": connectors} {
		if s.NetworkMode != "service:vmcp" {
			t.Errorf("%s: network_mode %q, want service:vmcp", name, s.NetworkMode)
		}
	}
}

// TestDockerComposeFitsTogether checks what no schema can: that the bootstrap Envoy mounts and
// the vmcp configuration vmcp runs agree on every address, and that the published port is the
// edge listener.
func TestDockerComposeFitsTogether(t *testing.T) {
	root := moduleRoot(t)
	c := loadCompose(t, root)
	vmcp, envoy := c.Services["vmcp"], c.Services["envoy"]

	// The bootstrap Envoy is started with.
	i := slices.Index(envoy.Command, "-c")
	if i < 0 || i+1 >= len(envoy.Command) {
		t.Fatalf("envoy command %v has no -c", envoy.Command)
	}
	src, ok := envoy.mountOf(envoy.Command[i+1])
	if !ok {
		t.Fatalf("envoy's %s is not bind-mounted from the repository", envoy.Command[i+1])
	}
	data, err := os.ReadFile(filepath.Join(root, src))
	if err != nil {
		t.Fatal(err)
	}
	var b bootstrapv3.Bootstrap
	if err := decodeStrict(data, &b); err != nil {
		t.Fatal(err)
	}

	// The configuration vmcp is started with.
	j := slices.Index(vmcp.Command, "-c")
	if j < 0 || j+1 >= len(vmcp.Command) {
		t.Fatalf("vmcp command %v has no -c", vmcp.Command)
	}
	cfgPath := vmcp.Command[j+1]
	dir, ok := vmcp.mountOf(filepath.Dir(cfgPath))
	if !ok {
		t.Fatalf("vmcp's %s is not bind-mounted from the repository", filepath.Dir(cfgPath))
	}
	cfg, err := config.LoadFile(filepath.Join(root, dir, filepath.Base(cfgPath)))
	if err != nil {
		t.Fatal(err)
	}

	// With the shared network namespace, the bootstrap's addresses must be exactly the ones in
	// vmcp's configuration, except for the edge, which listens on every address for the
	// published port.
	want := ParamsFromConfig(cfg)
	edgeHost, edgePort, _ := net.SplitHostPort(want.Edge)
	if edgeHost != "127.0.0.1" && edgeHost != "0.0.0.0" {
		t.Fatalf("the configuration's edge %s is not on this host", want.Edge)
	}
	want.Edge = net.JoinHostPort("0.0.0.0", edgePort)
	wantYAML, err := Render(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wantYAML, data) {
		t.Errorf("%s is not the bootstrap for %s with the edge on 0.0.0.0; the addresses disagree", src, cfgPath)
	}

	// The published container port is the edge listener's.
	published := false
	for _, p := range vmcp.Ports {
		parts := strings.Split(p, ":")
		if parts[len(parts)-1] == edgePort {
			published = true
		}
	}
	if !published {
		t.Errorf("vmcp publishes %v, not the edge port %s", vmcp.Ports, edgePort)
	}
	// Clients use public_url; through the published port that must be this host's edge port.
	if cfg.Server.PublicURL != "http://127.0.0.1:"+edgePort && cfg.Server.PublicURL != "http://localhost:"+edgePort {
		t.Errorf("public_url %s is not reachable through the published port %s", cfg.Server.PublicURL, edgePort)
	}
	// data_dir is relative to the working directory, which the Dockerfile puts on the volume.
	if filepath.IsAbs(cfg.Server.DataDir) {
		t.Errorf("data_dir %s is absolute; the image expects it relative to /var/lib/vmcp", cfg.Server.DataDir)
	}
	if _, ok := vmcp.mountOf("/var/lib/vmcp"); ok {
		t.Error("/var/lib/vmcp should be a named volume, not a bind mount")
	}
	hasData := false
	for _, v := range vmcp.Volumes {
		if strings.HasSuffix(v, ":/var/lib/vmcp") {
			hasData = true
		}
	}
	if !hasData {
		t.Error("vmcp has no volume at /var/lib/vmcp, its data directory")
	}
}

func TestDockerComposeEnvoyFlagsAreAccepted(t *testing.T) {
	// Run the real Envoy with docker-compose's exact arguments (the bootstrap path mapped back
	// to the repository) in validate mode: a flag Envoy 1.40 does not know fails here.
	bin := envoyBin(t)
	root := moduleRoot(t)
	envoy := loadCompose(t, root).Services["envoy"]
	args := slices.Clone(envoy.Command)
	for i, a := range args {
		if src, ok := envoy.mountOf(a); ok {
			args[i] = filepath.Join(root, src)
		}
	}
	args = append(args, "--mode", "validate", "--disable-hot-restart")
	if out, err := exec.CommandContext(t.Context(), bin, args...).CombinedOutput(); err != nil {
		t.Errorf("envoy %v: %v\n%s", args, err, out)
	}
}

func TestDockerfileBuildsVMCP(t *testing.T) {
	root := moduleRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var froms, entrypoint []string
	builds := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "FROM "):
			froms = append(froms, strings.Fields(line)[1])
		case strings.HasPrefix(line, "ENTRYPOINT "):
			entrypoint = append(entrypoint, strings.TrimPrefix(line, "ENTRYPOINT "))
		case strings.Contains(line, "go build") && strings.Contains(line, "./cmd/vmcp"):
			builds = true
		}
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, got FROM %v", froms)
	}
	// The builder's Go is the one go.mod asks for.
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	if want := "golang:" + string(m[1]) + "." + string(m[2]); froms[0] != want && !strings.HasPrefix(froms[0], want+"-") && !strings.HasPrefix(froms[0], want+".") {
		t.Errorf("builder image %s, want %s (go.mod says go %s.%s)", froms[0], want, m[1], m[2])
	}
	if !builds {
		t.Error("the Dockerfile does not go build ./cmd/vmcp")
	}
	if len(entrypoint) != 1 || entrypoint[0] != `["vmcp"]` {
		t.Errorf("ENTRYPOINT %v, want [\"vmcp\"]", entrypoint)
	}
	if !strings.Contains(string(data), "/usr/local/bin/vmcp") {
		t.Error("the image does not install /usr/local/bin/vmcp")
	}
}
