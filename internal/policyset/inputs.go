package policyset

import (
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Inputs is what a set's policies read of their input document, found by reading the policies'
// syntax once at compile time. Callers use it to reuse a decision for inputs that differ only in
// fields no policy reads (a request id, a call's arguments) — the policies themselves stay the
// only place where decisions are made.
type Inputs struct {
	// all is set when some policy reads the input as a whole or by a computed key, so any field
	// may matter.
	all    bool
	fields map[string]bool
	// Deterministic is false when a policy calls a builtin whose answer can change for the same
	// input (time.now_ns, http.send, rand.intn, …): such decisions must never be reused.
	Deterministic bool
}

// LogsDecisions reports whether the set hands every decision to a decision logger: a decision
// reused instead of evaluated would be missing from the log.
func (s *Set) LogsDecisions() bool { return s.logger != nil }

// Reads reports whether some policy of the set may read input.field.
func (in Inputs) Reads(field string) bool { return in.all || in.fields[field] }

// Inputs analyses every module of the set (whatever its package, so the answer is conservative
// for any query over the set).
func (s *Set) Inputs() (Inputs, error) {
	in := Inputs{fields: map[string]bool{}, Deterministic: true}
	names := make([]string, 0, len(s.modules))
	for n := range s.modules {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		mod, err := ast.ParseModule(n, s.modules[n])
		if err != nil {
			return Inputs{}, fmt.Errorf("policy %s: %w", n, err)
		}
		in.visit(mod)
	}
	return in, nil
}

func (in *Inputs) visit(x any) {
	ast.NewGenericVisitor(func(x any) bool {
		switch t := x.(type) {
		case *ast.Expr:
			// object.get(input, "field", default) as a body expression.
			if t.IsCall() {
				return in.call(t.Operator(), t.Operands())
			}
		case ast.Call:
			return in.call(t[0].Value.(ast.Ref), t[1:])
		case ast.Ref:
			in.ref(t)
		}
		return false
	}).Walk(x)
}

// call notes a call of a nondeterministic builtin, and reads object.get(input, "field", …) as
// reading input.field. It returns true when it has visited the operands itself.
func (in *Inputs) call(op ast.Ref, args []*ast.Term) bool {
	if b := ast.BuiltinMap[op.String()]; b != nil && b.Nondeterministic {
		in.Deterministic = false
	}
	if op.String() != ast.ObjectGet.Name || len(args) < 2 {
		return false
	}
	if r, ok := args[0].Value.(ast.Ref); !ok || !r.Equal(ast.InputRootRef) {
		return false
	}
	key, ok := args[1].Value.(ast.String)
	if !ok {
		return false // a computed key: the bare input ref marks everything as read
	}
	in.fields[string(key)] = true
	for _, a := range args[2:] {
		in.visit(a)
	}
	return true
}

func (in *Inputs) ref(r ast.Ref) {
	if !r.HasPrefix(ast.InputRootRef) {
		return
	}
	if len(r) < 2 {
		in.all = true
		return
	}
	key, ok := r[1].Value.(ast.String)
	if !ok {
		in.all = true
		return
	}
	in.fields[string(key)] = true
}
