package config

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// A connector is either reached at a URL or run as a command: most MCP servers people already
// use (npx/uvx packages, single binaries) speak stdio only. For a command connector vmcp starts
// the program, supervises it, and serves it over Streamable HTTP on loopback; everything past
// that (Envoy cluster, aggregator, extproc) sees an ordinary URL connector.
//
//	connectors:
//	  - name: files
//	    command: [npx, -y, "@modelcontextprotocol/server-filesystem", /srv/docs]
//	    env: {GITHUB_TOKEN: "${env:GITHUB_TOKEN}", NODE_ENV: production}
//	    dir: /srv
//	    limits: {memory: 512MiB, open_files: 1024, request_timeout: 30s}

// Limits bound a command connector's process and how long vmcp waits for it.
type Limits struct {
	// Memory caps the process's data segment (RLIMIT_DATA, Linux): its heap and private
	// writable mappings. Not the address space: JavaScript and Java runtimes reserve gigabytes
	// of address space they never touch, and RLIMIT_AS would stop them from starting.
	Memory ByteSize `yaml:"memory"`
	// OpenFiles caps its file descriptors (RLIMIT_NOFILE).
	OpenFiles uint64 `yaml:"open_files"`
	// RequestTimeout is how long one request may go without any sign of life from the process
	// (its answer, or a progress notification for it) before it fails with a clear error and
	// the process is checked with a ping; one that does not answer the ping either is
	// restarted.
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

// DefaultRequestTimeout is a command connector's default Limits.RequestTimeout.
const DefaultRequestTimeout = 30 * time.Second

// ByteSize is a number of bytes written in YAML with an optional unit: 512MiB, 2GiB, 1G, 4096.
type ByteSize uint64

// UnmarshalYAML reads a size such as "512MiB".
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*b = v
	return nil
}

// MarshalYAML writes the size in bytes.
func (b ByteSize) MarshalYAML() (any, error) { return uint64(b), nil }

var byteUnits = map[string]uint64{
	"": 1, "B": 1,
	"K": 1 << 10, "KI": 1 << 10, "KIB": 1 << 10, "KB": 1000,
	"M": 1 << 20, "MI": 1 << 20, "MIB": 1 << 20, "MB": 1000 * 1000,
	"G": 1 << 30, "GI": 1 << 30, "GIB": 1 << 30, "GB": 1000 * 1000 * 1000,
	"T": 1 << 40, "TI": 1 << 40, "TIB": 1 << 40, "TB": 1000 * 1000 * 1000 * 1000,
}

func parseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(s)
	}
	num, unit := s[:i], strings.ToUpper(strings.TrimSpace(s[i:]))
	mult, ok := byteUnits[unit]
	v, err := strconv.ParseUint(num, 10, 64)
	if !ok || err != nil || v == 0 || v > ^uint64(0)/mult {
		return 0, fmt.Errorf("%q is not a size (use e.g. 512MiB or 2GiB)", s)
	}
	return ByteSize(v * mult), nil
}

// IsCommand reports whether the connector is a local stdio server rather than a URL.
func (c *Connector) IsCommand() bool { return len(c.Command) > 0 }

// Environ returns the connector's configured environment as sorted NAME=value pairs, with
// secret references resolved. The values must stay out of logs and errors.
func (c *Connector) Environ() []string {
	out := make([]string, 0, len(c.Env))
	for k, v := range c.Env {
		out = append(out, k+"="+v.Value())
	}
	sort.Strings(out)
	return out
}

func applyCommandDefaults(conn *Connector) {
	if conn.IsCommand() && conn.Limits.RequestTimeout == 0 {
		conn.Limits.RequestTimeout = DefaultRequestTimeout
	}
}

// envNameRE is the portable shape of an environment variable name (POSIX "Environment
// Variables": letters, digits and underscore, not starting with a digit).
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validateTransport checks that a connector is exactly one of url and command, and the
// command's program, environment, directory and limits.
func (l *loader) validateTransport(c *Config, p string, conn *Connector) {
	_, commandWritten := l.positions[p+".command"]
	switch {
	case conn.URL != "" && commandWritten:
		l.add(p+".command", "connector %q: set either url or command, not both", conn.Name)
	case conn.URL != "":
		l.checkURL(p+".url", conn.URL)
	case !commandWritten:
		l.add(p, "connector %q: url or command is required", conn.Name)
	}
	if !commandWritten {
		for _, k := range []string{"env", "dir", "limits"} {
			if _, ok := l.positions[p+"."+k]; ok {
				l.add(p+"."+k, "connector %q: %s is only for command connectors", conn.Name, k)
			}
		}
		return
	}
	switch {
	case len(conn.Command) == 0 || conn.Command[0] == "":
		l.add(p+".command", "connector %q: command must name a program, e.g. [npx, -y, \"@modelcontextprotocol/server-memory\"]", conn.Name)
	default:
		if err := checkProgram(c, conn.Command[0]); err != nil {
			l.add(p+".command[0]", "connector %q: %v", conn.Name, err)
		}
	}
	if conn.Credential.Type != CredentialNone {
		// vmcp guards the loopback endpoint it serves the process on with a credential of its
		// own; what a connector credential would mean for a local process (per-user tokens
		// handed to it) comes with per-user processes.
		l.add(p+".credential", "connector %q: command connectors take no credential yet; pass secrets to the process in env", conn.Name)
	}
	for name := range conn.Env {
		ep := p + ".env." + name
		if !envNameRE.MatchString(name) {
			l.add(ep, "connector %q: %q is not an environment variable name", conn.Name, name)
			continue
		}
		s := conn.Env[name]
		if err := s.resolveEnv(c); err != nil {
			l.add(ep, "%s.env.%s: %v", p, name, err)
		}
		conn.Env[name] = s
	}
	if conn.Dir != "" {
		if fi, err := os.Stat(resolveRelative(c, conn.Dir)); err != nil {
			l.add(p+".dir", "connector %q: dir %s: %v", conn.Name, conn.Dir, unwrapPathErr(err))
		} else if !fi.IsDir() {
			l.add(p+".dir", "connector %q: dir %s is not a directory", conn.Name, conn.Dir)
		}
	}
}

// checkProgram reports a program that cannot be run: not on PATH, or (as a path, relative to
// the configuration file) missing or not executable. Finding this at load time turns a restart
// loop into one positioned error.
func checkProgram(c *Config, prog string) error {
	if !strings.Contains(prog, "/") {
		if _, err := exec.LookPath(prog); err != nil {
			return fmt.Errorf("program %q is not on PATH", prog)
		}
		return nil
	}
	path := resolveRelative(c, prog)
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Errorf("program %s: %v", prog, unwrapPathErr(err))
	case fi.IsDir() || fi.Mode()&0o111 == 0:
		return fmt.Errorf("program %s is not an executable file", prog)
	}
	return nil
}

// ResolveProgram returns the path to run for a command connector's program: a path with a slash
// is relative to the configuration file, a bare name is looked up on PATH when started.
func (c *Config) ResolveProgram(prog string) string {
	if !strings.Contains(prog, "/") {
		return prog
	}
	return filepath.Clean(resolveRelative(c, prog))
}

// resolveEnv resolves an environment value: a ${env:…}/${file:…} reference like any secret, or
// a plain value written in the file (NODE_ENV: production), taken as it is.
func (s *Secret) resolveEnv(cfg *Config) error {
	if !strings.HasPrefix(s.Ref, "${") {
		s.value = s.Ref
		return nil
	}
	return s.resolve(cfg)
}
