package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a configuration file, at a position in it.
type Problem struct {
	File    string
	Line    int
	Column  int
	Message string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Message)
}

// Problems is every problem found in one configuration file; Load returns it as its error so that
// a user fixes them all in one pass rather than one per run.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// LoadFile reads, resolves and validates the configuration at path.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Load(path, data)
}

// Load parses data as the configuration file named path. On failure the error is a Problems
// listing every problem found, each with its line and column.
func Load(path string, data []byte) (*Config, error) {
	l := &loader{file: path, positions: map[string]*yaml.Node{}}
	cfg := &Config{Path: path}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	// An empty file is an all-defaults configuration, which yaml reports as io.EOF.
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, Problems{l.syntaxProblem(err)}
	}
	// A document holding only "---", "~" or "null" is as empty as an empty file.
	if len(doc.Content) > 0 && !isNull(doc.Content[0]) {
		root := doc.Content[0]
		l.walk(root, reflect.TypeOf(Config{}), "")
		if err := root.Decode(cfg); err != nil {
			// walk has already described shape errors where it found them; yaml's own
			// messages would only repeat them less precisely.
			if len(l.problems) == 0 {
				l.typeErrors(err)
			}
			return nil, l.sorted()
		}
		// Unknown keys do not stop decoding, so a file with a typo also gets its other
		// problems reported in the same run.
	}
	cfg.Path = path
	applyDefaults(cfg)
	l.validate(cfg)
	if len(l.problems) > 0 {
		return nil, l.sorted()
	}
	return cfg, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

type loader struct {
	file      string
	positions map[string]*yaml.Node
	problems  Problems
}

func (l *loader) sorted() Problems {
	sort.SliceStable(l.problems, func(i, j int) bool {
		a, b := l.problems[i], l.problems[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return l.problems
}

func (l *loader) addAt(n *yaml.Node, format string, args ...any) {
	line, col := 1, 1
	if n != nil {
		line, col = n.Line, n.Column
	}
	l.problems = append(l.problems, Problem{File: l.file, Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
}

// add reports a problem at the node recorded for path, or at the nearest recorded parent when
// the field itself is absent (a missing required key is reported where its mapping starts).
func (l *loader) add(path, format string, args ...any) {
	l.addAt(l.node(path), format, args...)
}

func (l *loader) node(path string) *yaml.Node {
	for p := path; ; {
		if n, ok := l.positions[p]; ok {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return l.positions[""]
		}
		p = p[:i]
	}
}

var lineRE = "line "

func (l *loader) syntaxProblem(err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if i := strings.Index(msg, lineRE); i >= 0 {
		rest := msg[i+len(lineRE):]
		j := strings.IndexByte(rest, ':')
		if j > 0 {
			if n, convErr := strconv.Atoi(rest[:j]); convErr == nil {
				line = n
				msg = strings.TrimSpace(rest[j+1:])
			}
		}
	}
	return Problem{File: l.file, Line: line, Column: 1, Message: "invalid YAML: " + msg}
}

// typeErrors turns yaml.v3's "line N: cannot unmarshal …" messages into Problems.
func (l *loader) typeErrors(err error) {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		l.addAt(nil, "%v", err)
		return
	}
	for _, e := range te.Errors {
		p := l.syntaxProblem(errors.New(e))
		p.Message = strings.TrimPrefix(p.Message, "invalid YAML: ")
		l.problems = append(l.problems, p)
	}
}

var (
	secretType    = reflect.TypeOf(Secret{})
	durationType  = reflect.TypeOf(time.Duration(0))
	connRefType   = reflect.TypeOf(ConnectorRef{})
	byteSizeType  = reflect.TypeOf(ByteSize(0))
	scalarAllowed = map[reflect.Type]bool{secretType: true, durationType: true, connRefType: true, byteSizeType: true}
)

// walk records the position of every node by its path and reports keys that name no field, so a
// misspelt key is an error instead of a silently ignored setting.
func (l *loader) walk(n *yaml.Node, t reflect.Type, path string) {
	l.positions[path] = n
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			l.addAt(n, "%s: expected a duration such as \"30s\"", displayPath(path))
			return
		}
		d, err := time.ParseDuration(n.Value)
		switch {
		case err != nil:
			l.addAt(n, "%s: %q is not a duration (use e.g. \"30s\" or \"5m\")", displayPath(path), n.Value)
		case d < 0:
			// A negative timeout or lifetime would make every request fail at once.
			l.addAt(n, "%s: %q must not be negative", displayPath(path), n.Value)
		default:
			// yaml.v3 decodes a string into a time.Duration with time.ParseDuration but refuses
			// an integer, so a bare 0, which ParseDuration accepts, is handed over as a string.
			n.Tag = "!!str"
		}
		return
	case t == byteSizeType:
		if _, err := parseByteSize(n.Value); n.Kind != yaml.ScalarNode || err != nil {
			l.addAt(n, "%s: expected a size such as 512MiB or 2GiB", displayPath(path))
		}
		return
	case t == secretType && n.Kind != yaml.ScalarNode:
		// Without this, a mapping here would be reported as unknown keys of an internal type,
		// and a sequence would fail later at decode time without a position.
		l.addAt(n, "%s: a secret must be a ${env:NAME} or ${file:path} reference", displayPath(path))
		return
	case scalarAllowed[t] && n.Kind == yaml.ScalarNode:
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			l.addAt(n, "%s: expected a mapping", displayPath(path))
			return
		}
		fields := yamlFields(t)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if seen[k.Value] {
				l.addAt(k, "%s: duplicate key %q", displayPath(path), k.Value)
				continue
			}
			seen[k.Value] = true
			f, ok := fields[k.Value]
			if !ok {
				l.addAt(k, "unknown key %q in %s (known: %s)", k.Value, describe(path), strings.Join(sortedKeys(fields), ", "))
				continue
			}
			l.walk(v, f.Type, join(path, k.Value))
		}
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			l.addAt(n, "%s: expected a list", displayPath(path))
			return
		}
		for i, item := range n.Content {
			l.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			l.addAt(n, "%s: expected a mapping", displayPath(path))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			l.walk(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
		}
	default:
		if n.Kind != yaml.ScalarNode {
			l.addAt(n, "%s: expected a single value", displayPath(path))
		}
	}
}

func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f
	}
	return out
}

func sortedKeys(m map[string]reflect.StructField) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func displayPath(path string) string {
	if path == "" {
		return "configuration"
	}
	return path
}

func describe(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

// resolveRelative makes p relative to the configuration file's directory.
func resolveRelative(cfg *Config, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(cfg.Path), p)
}

// Resolve makes a path written in the configuration absolute or relative to the working
// directory: relative paths in the file are relative to the file's own directory.
func (c *Config) Resolve(p string) string { return resolveRelative(c, p) }

// PolicyDir is the directory of .rego files auth.policies names, resolved against the
// configuration file's directory; "" for the embedded defaults (or a policy bundle).
func (c *Config) PolicyDir() string {
	if c.Auth.Policies == "" {
		return ""
	}
	return c.Resolve(c.Auth.Policies)
}
