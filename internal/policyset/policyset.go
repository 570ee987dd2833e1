// Package policyset loads and compiles vmcp's Rego policies: the embedded defaults, an operator's
// directory of .rego files, or an OPA bundle (modules and data documents). Each query is
// prepared once per configuration or policy change, never per request.
package policyset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/vmcp-dev/vmcp/policies"
)

// Set is a loaded, immutable collection of Rego modules and data documents.
type Set struct {
	modules map[string]string
	data    map[string]any
	// store holds data for every query prepared over the set: one read-only copy, made once.
	store storage.Store
	// Source says where the modules came from, for logs and audit records.
	Source string
	// Revision names this exact content: the bundle manifest's revision, or a content hash for
	// a directory or the defaults. Every decision carries it.
	Revision string
	// logger, when set, receives every decision in OPA's decision-log shape.
	logger DecisionLogger
}

var packageRE = regexp.MustCompile(`(?m)^\s*package\s+([A-Za-z0-9_.]+)`)

// Load reads the .rego files in dir (tests excluded). A package the directory does not define
// (say vmcp.tools, when the operator only wrote vmcp.authz) keeps its embedded default, so a
// partial policy directory never leaves a decision undefined. dir "" is the defaults alone.
func Load(dir string) (*Set, error) {
	if dir == "" {
		return newSet(map[string]string{}, nil, "embedded default policies", "")
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.rego"))
	if err != nil {
		return nil, err
	}
	mods := map[string]string{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.rego") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", p, err)
		}
		mods[p] = string(b)
	}
	return newSet(mods, nil, dir, "")
}

// FromBundle takes an OPA bundle's modules and data; like Load, packages it leaves out keep their
// embedded defaults. Its revision is the manifest's (a content hash when the manifest has none).
func FromBundle(b *bundle.Bundle, source string) (*Set, error) {
	mods := make(map[string]string, len(b.Modules))
	for _, m := range b.Modules {
		if strings.HasSuffix(m.Path, "_test.rego") {
			continue
		}
		mods[m.Path] = string(m.Raw)
	}
	return newSet(mods, b.Data, source, b.Manifest.Revision)
}

// FromModules is a set of already-read modules and data (the policy runtime's snapshot of an
// activated bundle).
func FromModules(mods map[string]string, data map[string]any, source, revision string) (*Set, error) {
	return newSet(mods, data, source, revision)
}

func newSet(mods map[string]string, data map[string]any, source, revision string) (*Set, error) {
	defaults, err := policies.Defaults()
	if err != nil {
		return nil, err
	}
	defined := map[string]bool{}
	for _, src := range mods {
		if m := packageRE.FindStringSubmatch(src); m != nil {
			defined[m[1]] = true
		}
	}
	for name, src := range defaults {
		if m := packageRE.FindStringSubmatch(src); m != nil && !defined[m[1]] {
			mods["default:"+name] = src
		}
	}
	if revision == "" {
		revision = contentRevision(mods)
	}
	if data == nil {
		data = map[string]any{}
	}
	return &Set{modules: mods, data: data, store: inmem.NewFromObject(data), Source: source, Revision: revision}, nil
}

// contentRevision is a short hash of the modules' names and text: it changes exactly when the
// policies do, so decisions made by a directory's policies are traceable too.
func contentRevision(mods map[string]string) string {
	h := sha256.New()
	for _, n := range sortedKeys(mods) {
		fmt.Fprintf(h, "%s\x00%s\x00", n, mods[n])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

func sortedKeys(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Modules returns the set's module sources by name (defaults filled in), for tools that compile
// or test them (the policy CLI).
func (s *Set) Modules() map[string]string {
	out := make(map[string]string, len(s.modules))
	for k, v := range s.modules {
		out[k] = v
	}
	return out
}

// Data returns the set's data document. Callers must not modify it.
func (s *Set) Data() map[string]any { return s.data }

// WithDecisionLogger returns a copy of the set whose decisions are also handed to l.
func (s *Set) WithDecisionLogger(l DecisionLogger) *Set {
	c := *s
	c.logger = l
	return &c
}

// Resolve is the set a configuration is applied with: active (a bundle's, chosen by the gateway
// for every component at once) when there is one, else dir's (or the defaults').
func Resolve(active *Set, dir string) (*Set, error) {
	if active != nil {
		return active, nil
	}
	return Load(dir)
}

// Prepare compiles query over the set.
func (s *Set) Prepare(ctx context.Context, query string) (*Query, error) {
	opts := []func(*rego.Rego){rego.Query(query), rego.Store(s.store)}
	for _, n := range sortedKeys(s.modules) {
		opts = append(opts, rego.Module(n, s.modules[n]))
	}
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("compile policies from %s: %w", s.Source, err)
	}
	path := strings.ReplaceAll(strings.TrimPrefix(query, "data."), ".", "/")
	return &Query{pq: pq, query: query, path: path, set: s}, nil
}

// Query is a prepared decision query over one set.
type Query struct {
	pq          rego.PreparedEvalQuery
	query, path string
	set         *Set
}

// Revision is the revision of the set the query was prepared over.
func (q *Query) Revision() string { return q.set.Revision }

// Source is where the set's policies came from.
func (q *Query) Source() string { return q.set.Source }

// Decision is the common shape of vmcp's policy answers: {"allow": bool, "reason": string, …}.
type Decision struct {
	Allow  bool
	Reason string
	// Fields holds the whole answer, for rule-specific extras (scope, headers).
	Fields map[string]any
	// ID is the decision id shipped in the decision log ("" when decision logs are off); audit
	// events carry it too, so both records of one decision can be joined.
	ID string
	// Revision is the policy revision that decided.
	Revision string
}

// Decide evaluates the prepared query. An answer that is undefined or not of the decision shape
// is an error, which callers turn into a denial: policies fail closed.
func (q *Query) Decide(ctx context.Context, input ast.Value) (Decision, error) {
	rs, err := q.pq.Eval(ctx, rego.EvalParsedInput(input))
	d, derr := decisionOf(q.query, rs, err)
	d.Revision = q.set.Revision
	if q.set.logger != nil {
		d.ID = q.set.logger.LogDecision(ctx, Record{Path: q.path, Input: input, Result: resultOf(rs), Revision: q.set.Revision, Err: derr})
	}
	return d, derr
}

func decisionOf(query string, rs rego.ResultSet, err error) (Decision, error) {
	if err != nil {
		return Decision{}, fmt.Errorf("evaluate %s: %w", query, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return Decision{}, fmt.Errorf("%s is undefined for this input", query)
	}
	obj, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return Decision{}, fmt.Errorf("%s is not an object", query)
	}
	allow, ok := obj["allow"].(bool)
	if !ok {
		return Decision{}, fmt.Errorf("%s.allow is not a boolean", query)
	}
	reason, _ := obj["reason"].(string)
	return Decision{Allow: allow, Reason: reason, Fields: obj}, nil
}

func resultOf(rs rego.ResultSet) any {
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil
	}
	return rs[0].Expressions[0].Value
}

// DecisionLogger receives decisions for OPA-format decision logs. LogDecision must not block the
// request path; it returns the decision id it logged under.
type DecisionLogger interface {
	LogDecision(ctx context.Context, r Record) string
}

// Record is one decision as the decision log needs it.
type Record struct {
	// Path is the decision's path in OPA's form, e.g. vmcp/authz/decision.
	Path     string
	Input    ast.Value
	Result   any
	Revision string
	Err      error
}
