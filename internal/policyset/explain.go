package policyset

import (
	"context"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Explain evaluates like Decide (without logging the decision) and also says which rule
// produced the answer: the location of the decision rule — or of the else branch — that
// succeeded, from OPA's evaluation trace. It serves the dry run; the request path never traces.
func (q *Query) Explain(ctx context.Context, input ast.Value) (Decision, *ast.Location, error) {
	tracer := topdown.NewBufferTracer()
	rs, err := q.pq.Eval(ctx, rego.EvalParsedInput(input), rego.EvalQueryTracer(tracer))
	d, err := decisionOf(q.query, rs, err)
	d.Revision = q.set.Revision
	return d, decidingRule(*tracer, q.query), err
}

// decidingRule is the last rule of the queried name that exited successfully.
func decidingRule(events []*topdown.Event, query string) *ast.Location {
	ref := ast.MustParseRef(query)
	var loc *ast.Location
	for _, e := range events {
		if e.Op != topdown.ExitOp {
			continue
		}
		r, ok := e.Node.(*ast.Rule)
		//lint:ignore SA1019 Path names else branches by their rule's document, which Ref does not; the decision rules are plain (not ref) rules.
		if !ok || r.Module == nil || !r.Path().Equal(ref) {
			continue
		}
		loc = r.Location
	}
	return loc
}
