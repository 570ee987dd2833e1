package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Secret is a credential named by reference in the configuration: ${env:NAME} reads an
// environment variable, ${file:path} a file (relative to the configuration file; one trailing
// newline is dropped). The resolved value is never printed: String, JSON and YAML give the
// reference or a redaction marker only.
type Secret struct {
	// Ref is the reference as written in the file.
	Ref   string
	value string
}

// Redacted is what a secret value looks like wherever it would otherwise be printed.
const Redacted = "[redacted]"

// Value is the resolved secret. Callers must keep it out of logs, errors and audit records.
func (s Secret) Value() string { return s.value }

// IsSet reports whether the configuration names a secret here.
func (s Secret) IsSet() bool { return s.Ref != "" }

func (s Secret) String() string {
	if s.Ref == "" {
		return ""
	}
	return s.Ref
}

// GoString keeps %#v from printing the resolved value.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret{Ref: %q}", s.Ref) }

// MarshalJSON writes the reference, never the value. (fmt's %q is not JSON: it writes \x00 and
// \a escapes that JSON parsers refuse.)
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.Ref) }

// MarshalYAML writes the reference, never the value.
func (s Secret) MarshalYAML() (any, error) { return s.Ref, nil }

// UnmarshalYAML accepts a reference only; literal secrets in the file are refused so that the
// file can be shared, reviewed and committed.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a secret must be a ${env:NAME} or ${file:path} reference", n.Line)
	}
	s.Ref = n.Value
	return nil
}

// NewSecret returns a secret holding value directly, for code that builds configuration
// programmatically (tests, `vmcp dev`).
func NewSecret(ref, value string) Secret { return Secret{Ref: ref, value: value} }

// resolve reads the referenced value. Errors name the reference, never a value.
func (s *Secret) resolve(cfg *Config) error {
	if s.Ref == "" {
		return nil
	}
	inner, ok := strings.CutPrefix(s.Ref, "${")
	if ok {
		inner, ok = strings.CutSuffix(inner, "}")
	}
	if !ok {
		return fmt.Errorf("a secret must be a ${env:NAME} or ${file:path} reference, not a literal value")
	}
	kind, arg, _ := strings.Cut(inner, ":")
	switch kind {
	case "env":
		if arg == "" {
			return fmt.Errorf("%s: empty environment variable name", s.Ref)
		}
		v, ok := os.LookupEnv(arg)
		if !ok {
			return fmt.Errorf("%s: environment variable %s is not set", s.Ref, arg)
		}
		s.value = v
	case "file":
		if arg == "" {
			return fmt.Errorf("%s: empty file path", s.Ref)
		}
		path := resolveRelative(cfg, arg)
		cfg.secretFiles = append(cfg.secretFiles, path)
		data, err := readSecretFile(path)
		if err != nil {
			// The path is not secret; the content is never read into the message.
			return fmt.Errorf("%s: cannot read file: %v", s.Ref, unwrapPathErr(err))
		}
		s.value = strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	default:
		return fmt.Errorf("%s: unknown reference kind %q (use env or file)", s.Ref, kind)
	}
	if s.value == "" {
		return fmt.Errorf("%s: resolves to an empty value", s.Ref)
	}
	return nil
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// maxSecretFile bounds a ${file:…} read: a reference to /dev/zero or to a log file by mistake
// must fail with a message, not exhaust memory.
const maxSecretFile = 1 << 20

var errSecretTooLarge = errors.New("larger than 1 MiB; not a credential")

func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSecretFile {
		return nil, errSecretTooLarge
	}
	return data, nil
}
