package routing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/toolnames"
	"github.com/vmcp-dev/vmcp/internal/toolpolicy"
)

var update = flag.Bool("update", false, "rewrite the decisions in testdata/*.txtar")

// Each testdata/*.txtar is a configuration (config.yaml), what the connectors list
// (catalog.json, optional) and cases: NAME.request is a request as JSON, NAME.decision the
// decision Decide must make about it, as JSON. -update rewrites the decisions.
func TestDecisions(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.txtar (%v)", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ar := parseArchive(data)
			cfg, err := config.Load(filepath.Join(t.TempDir(), "vmcp.yaml"), ar.get("config.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			table, err := Compile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var lists listing
			if raw := ar.get("catalog.json"); raw != nil {
				if err := strictJSON(raw, &lists); err != nil {
					t.Fatalf("catalog.json: %v", err)
				}
			}
			cases := 0
			for i := 0; i < len(ar.files); i++ {
				name, ok := strings.CutSuffix(ar.files[i].name, ".request")
				if !ok {
					continue
				}
				cases++
				got := decideCase(t, table, lists, name, ar.files[i].data)
				want := ar.get(name + ".decision")
				if *update {
					ar.set(name+".decision", got, i+1)
					continue
				}
				if want == nil {
					t.Errorf("%s: no %s.decision; decided (run with -update to keep it):\n%s", name, name, got)
				} else if !bytes.Equal(got, want) {
					t.Errorf("%s: decided\n%s\nwant\n%s", name, got, want)
				}
			}
			if cases == 0 {
				t.Fatal("no *.request cases")
			}
			if *update {
				if err := os.WriteFile(file, ar.format(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// caseRequest is a case's request: who asks on which virtual server, the JSON-RPC method and
// params, and what the connectors' lists are like.
type caseRequest struct {
	VirtualServer string `json:"vs"`
	Caller        struct {
		Subject  string   `json:"subject"`
		Email    string   `json:"email"`
		ClientID string   `json:"client_id"`
		Groups   []string `json:"groups"`
	} `json:"caller"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	// Catalog is "" for the archive's catalog.json, "none" for no catalog at all, "down" for one
	// that cannot read any list.
	Catalog string `json:"catalog"`
}

// caseDecision is a decision as the testdata shows it.
type caseDecision struct {
	// ReadError is ReadRequest's refusal, when it refused; nothing was decided then.
	ReadError *jsonrpc.Error `json:"read_error,omitempty"`
	Action    string         `json:"action,omitempty"`
	Connector string         `json:"connector,omitempty"`
	Target    string         `json:"target,omitempty"`
	Original  string         `json:"original,omitempty"`
	Unwrapped bool           `json:"unwrapped,omitempty"`
	// Params are the params after Decide, shown when it rewrote them (call_tool).
	Params    json.RawMessage `json:"params,omitempty"`
	Arguments map[string]any  `json:"arguments,omitempty"`
	Error     *jsonrpc.Error  `json:"error,omitempty"`
	Audit     *caseAudit      `json:"audit,omitempty"`
	Cause     string          `json:"cause,omitempty"`
	// Asked are the catalog's answers Decide asked for, in order.
	Asked []string `json:"asked,omitempty"`
}

type caseAudit struct {
	Decision string `json:"decision,omitempty"`
	Policy   string `json:"policy,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// PolicyRevision is shown as "(the table's)" when it is the Table's policy revision, so
	// that a change to the default policies does not change every decision here.
	PolicyRevision string `json:"policy_revision,omitempty"`
	DecisionID     string `json:"decision_id,omitempty"`
	Outcome        string `json:"outcome,omitempty"`
}

func decideCase(t *testing.T, table *Table, lists listing, name string, raw []byte) []byte {
	t.Helper()
	var cr caseRequest
	if err := strictJSON(raw, &cr); err != nil {
		t.Fatalf("%s.request: %v", name, err)
	}
	out := caseDecision{}
	req, rpcErr := ReadRequest(cr.Method, cr.Params)
	if rpcErr != nil {
		out.ReadError = rpcErr
		return indent(t, out)
	}
	req.VirtualServer, req.Caller, req.SignedIdentity = table.ByName(cr.VirtualServer), toolpolicy.Caller(cr.Caller), "signed:"+cr.Caller.Subject
	if req.VirtualServer == nil {
		t.Fatalf("%s.request: no virtual server %q", name, cr.VirtualServer)
	}
	before := mustJSON(req.Params)
	cat := &fakeCatalog{table: table, lists: lists, down: cr.Catalog == "down", subject: cr.Caller.Subject}
	var catalog Catalog = cat
	switch cr.Catalog {
	case "none":
		catalog = nil
	case "", "down":
	default:
		t.Fatalf("%s.request: catalog %q is none of \"\", none, down", name, cr.Catalog)
	}
	d := table.Decide(context.Background(), req, catalog)
	out.Action, out.Connector, out.Target, out.Original = d.Action.String(), d.Connector, d.Target, d.Original
	out.Unwrapped, out.Arguments, out.Error, out.Asked = d.Unwrapped, d.Arguments, d.Error, cat.asked
	if after := mustJSON(req.Params); !bytes.Equal(before, after) {
		out.Params = after
	}
	if d.Audit != (Audit{}) {
		a := d.Audit
		out.Audit = &caseAudit{Decision: a.Decision, Policy: a.Policy, Reason: a.Reason, PolicyRevision: a.PolicyRevision, DecisionID: a.DecisionID, Outcome: a.Outcome}
		if a.PolicyRevision == table.Policy().Revision() && a.PolicyRevision != "" {
			out.Audit.PolicyRevision = "(the table's)"
		}
	}
	if d.Cause != nil {
		out.Cause = d.Cause.Error()
	}
	checkInvariants(t, name, d)
	return indent(t, out)
}

// checkInvariants holds for every decision, whatever the testdata says.
func checkInvariants(t *testing.T, name string, d Decision) {
	t.Helper()
	switch d.Action {
	case Route:
		if d.Connector == "" || d.Original == "" || d.Error != nil || d.Audit.Decision != "allow" {
			t.Errorf("%s: a route without a connector, a name or a policy's allow: %+v", name, d)
		}
	case Refuse:
		if d.Error == nil || d.Audit.Outcome == "" {
			t.Errorf("%s: a refusal without an error or an outcome: %+v", name, d)
		}
	case Aggregate:
		if d.Error != nil || d.Audit.Decision != "" {
			t.Errorf("%s: the aggregator answers a request decided upon: %+v", name, d)
		}
	}
}

func indent(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// listing is what the connectors list, as catalog.json says.
type listing struct {
	// Tools and Prompts are each connector's own names.
	Tools   map[string][]string `json:"tools"`
	Prompts map[string][]string `json:"prompts"`
	// Resources maps a URI as the client sees it to the connector serving it and its own URI.
	Resources map[string][2]string `json:"resources"`
}

// fakeCatalog answers from a listing, as the aggregator does from the connectors' lists, and
// notes what it was asked.
type fakeCatalog struct {
	table   *Table
	lists   listing
	down    bool
	subject string
	asked   []string
}

var errDown = errors.New("connector down: connection refused")

func (c *fakeCatalog) ask(ctx context.Context, signed, subject, format string, args ...any) error {
	c.asked = append(c.asked, fmt.Sprintf(format, args...))
	if signed != "signed:"+c.subject || subject != c.subject {
		return fmt.Errorf("asked on behalf of %q (%q), not the caller", subject, signed)
	}
	if c.down {
		return errDown
	}
	return ctx.Err()
}

func (c *fakeCatalog) Index(ctx context.Context, signed, subject, vs, kind string) (*toolnames.Index, error) {
	if err := c.ask(ctx, signed, subject, "index %s of %s", kind, vs); err != nil {
		return nil, err
	}
	v := c.table.ByName(vs)
	if kind == "prompts" {
		return v.Prompts().Index(c.lists.Prompts), nil
	}
	return v.Names().Index(c.lists.Tools), nil
}

func (c *fakeCatalog) ResourceConnector(ctx context.Context, signed, subject, vs, uri string) (string, string, error) {
	if err := c.ask(ctx, signed, subject, "resource %s on %s", uri, vs); err != nil {
		return "", "", err
	}
	r := c.lists.Resources[uri]
	return r[0], r[1], nil
}

func (c *fakeCatalog) HasTool(ctx context.Context, signed, subject, vs, connector, original string) (bool, error) {
	if err := c.ask(ctx, signed, subject, "has tool %s %s on %s", connector, original, vs); err != nil {
		return false, err
	}
	for _, name := range c.lists.Tools[connector] {
		if name == original {
			return true, nil
		}
	}
	return false, nil
}

// archive is a txtar archive: a comment, then files, each after a "-- NAME --" line.
type archive struct {
	comment []byte
	files   []archiveFile
}

type archiveFile struct {
	name string
	data []byte
}

func parseArchive(data []byte) archive {
	var ar archive
	cur := &ar.comment
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		data = rest
		if name, ok := markerName(line); ok {
			ar.files = append(ar.files, archiveFile{name: name})
			cur = &ar.files[len(ar.files)-1].data
			continue
		}
		*cur = append(*cur, line...)
		*cur = append(*cur, '\n')
	}
	return ar
}

func markerName(line []byte) (string, bool) {
	s := string(line)
	if !strings.HasPrefix(s, "-- ") || !strings.HasSuffix(s, " --") || len(s) < 7 {
		return "", false
	}
	return strings.TrimSpace(s[3 : len(s)-3]), true
}

func (ar *archive) get(name string) []byte {
	for _, f := range ar.files {
		if f.name == name {
			return f.data
		}
	}
	return nil
}

// set replaces the file name, or inserts it at position at.
func (ar *archive) set(name string, data []byte, at int) {
	for i := range ar.files {
		if ar.files[i].name == name {
			ar.files[i].data = data
			return
		}
	}
	ar.files = append(ar.files[:at], append([]archiveFile{{name: name, data: data}}, ar.files[at:]...)...)
}

func (ar *archive) format() []byte {
	var buf bytes.Buffer
	buf.Write(ar.comment)
	for _, f := range ar.files {
		fmt.Fprintf(&buf, "-- %s --\n", f.name)
		buf.Write(f.data)
	}
	return buf.Bytes()
}
