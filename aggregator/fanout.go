package aggregator

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/session"
	"github.com/vmcp-dev/vmcp/internal/toolpolicy"
	"github.com/vmcp-dev/vmcp/internal/tracing"
)

// outcome is one connector's answer in a fan-out.
type outcome struct {
	connector *connector
	value     any
	err       error
}

// fanOut runs fn for every connector of vs in parallel, each under its own timeout, and returns
// the outcomes in configuration order. A slow or failing connector only loses its own answer.
func (s *Server) fanOut(ctx context.Context, vs *virtualServer, fn func(context.Context, *connector) (any, error)) []outcome {
	out := make([]outcome, len(vs.connectors))
	done := make(chan int, len(vs.connectors))
	for i, c := range vs.connectors {
		go func() {
			cctx, cancel := context.WithTimeout(ctx, c.timeout)
			defer cancel()
			cctx, span := tracing.StartFanOut(cctx, c.name)
			defer span.End()
			v, err := fn(cctx, c)
			span.Error(err)
			out[i] = outcome{connector: c, value: v, err: err}
			done <- i
		}()
	}
	for range vs.connectors {
		<-done
	}
	for _, o := range out {
		if o.err != nil {
			s.log.Warn("aggregator: connector left out", zap.String("vs", vs.name), zap.String("connector", o.connector.name), zap.Error(o.err))
		}
	}
	return out
}

// initialize starts a session with every connector and answers with merged capabilities and a
// vmcp session id that carries the connectors' own session ids.
func (s *Server) initialize(w http.ResponseWriter, r *http.Request, req *request, msg *jsonrpc.Message) {
	var params struct {
		ProtocolVersion string          `json:"protocolVersion"`
		Capabilities    json.RawMessage `json:"capabilities"`
		ClientInfo      json.RawMessage `json:"clientInfo"`
	}
	if err := json.Unmarshal(msg.Params, &params); err != nil {
		writeError(w, 200, msg.ID, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "initialize: bad params"))
		return
	}
	version := negotiate(params.ProtocolVersion)
	outcomes := s.fanOut(r.Context(), req.vs, func(ctx context.Context, c *connector) (any, error) {
		if c.health.resting(time.Now()) {
			// The client's calls to its tools go in a session vmcp keeps, made when it is back.
			return nil, errResting
		}
		// The connector learns what the client can do (elicitation, sampling, roots), so that it
		// asks the client only for what it supports; vmcp relays those requests.
		a, err := s.initConnector(ctx, c, req.signed, version, params.Capabilities)
		c.health.observe(err, time.Now())
		return a, err
	})
	sess := session.State{Subject: req.caller.Subject, VirtualServer: req.vs.name, ProtocolVersion: version, Upstream: map[string]string{},
		URLElicitation: session.DeclaresURLElicitation(params.Capabilities)}
	var caps []map[string]json.RawMessage
	for _, o := range outcomes {
		if o.err != nil {
			continue
		}
		a := o.value.(*initAnswer)
		if a.sessionID != "" {
			sess.Upstream[o.connector.name] = a.sessionID
		}
		caps = append(caps, a.caps)
	}
	sid, err := s.sessions.Seal(sess)
	if err != nil {
		writeError(w, 200, msg.ID, jsonrpc.Errorf(jsonrpc.CodeInternalError, "cannot create session"))
		return
	}
	writeResult(w, msg.ID, map[string]any{
		"protocolVersion": version,
		"capabilities":    mergeCapabilities(caps),
		"serverInfo":      s.serverInfo(req),
		"instructions":    s.instructions(req),
	}, sid)
}

// setLevel passes logging/setLevel on to every connector, best effort: a connector without
// logging just refuses it, and the client's request still succeeds.
func (s *Server) setLevel(ctx context.Context, req *request, params json.RawMessage) map[string]any {
	var p map[string]json.RawMessage
	json.Unmarshal(params, &p)
	delete(p, "_meta")
	s.fanOut(ctx, req.vs, func(ctx context.Context, c *connector) (any, error) {
		return nil, s.inSession(ctx, req, c, "logging/setLevel", func(cl call) error {
			cl.params = p
			_, err := s.up.do(ctx, cl)
			return err
		})
	})
	return map[string]any{}
}

// connectorCall addresses method to connector c in the caller's connector session: the one in
// their vmcp session, or the one vmcp keeps for sessionless callers.
func (s *Server) connectorCall(ctx context.Context, req *request, c *connector, method string) (call, error) {
	cl := call{connector: c, identity: req.signed, protocolVersion: req.protocol, method: method}
	if req.session != nil && req.session.Upstream[c.name] != "" {
		cl.sessionID = s.remaps.current(req.caller.Subject, req.vs.name, c.name, req.session.Upstream[c.name])
		return cl, nil
	}
	// A client without a session (stateless, or a revision without sessions), or whose session
	// began while this connector was down: use the connector session vmcp keeps for this caller.
	kept, err := s.kept.get(ctx, s, c, req.caller.Subject, req.vs.name, req.signed)
	if err != nil {
		return cl, err
	}
	cl.sessionID, cl.protocolVersion = kept.sessionID, kept.version
	return cl, nil
}

// listPrompts pages through prompts/list on every connector and merges the prompts, each named
// as the virtual server shows it (resources keep their URIs: listResources).
func (s *Server) listPrompts(ctx context.Context, req *request, cursor string) (map[string]any, *jsonrpc.Error) {
	const key = "prompts"
	outcomes := s.listEverywhere(ctx, req, "prompts/list", key)
	idx := s.indexOf(req, outcomes, key)
	visible := s.listedTo(ctx, req, key)
	items := []json.RawMessage{}
	for _, o := range outcomes {
		if o.err != nil {
			continue
		}
		for _, cached := range o.value.([]map[string]json.RawMessage) {
			// Lists are cached and shared between requests: change a copy.
			item := maps.Clone(cached)
			var name string
			if json.Unmarshal(item["name"], &name) != nil {
				continue
			}
			exposed, _, ok := req.vs.prompts.Expose(o.connector.name, name, idx)
			if !ok {
				continue
			}
			item["name"], _ = json.Marshal(exposed)
			if !visible(o.connector.name, item["name"]) {
				continue
			}
			if b, err := json.Marshal(item); err == nil {
				items = append(items, b)
			}
		}
	}
	return page(items, key, cursor)
}

// listedTo says, by the vmcp.connectors policy, whether the caller of req may see an item of a
// list (key: prompts, resources, resourceTemplates) of a connector, named as the client sees it.
func (s *Server) listedTo(ctx context.Context, req *request, key string) func(connector string, name json.RawMessage) bool {
	primitive, _ := primitiveOf(key)
	scope := toolpolicy.NewScope(toolpolicy.Caller{Subject: req.caller.Subject, Email: req.caller.Email, ClientID: req.caller.ClientID, Groups: req.caller.Groups}, req.vs.policy)
	return func(connector string, name json.RawMessage) bool {
		var n string
		json.Unmarshal(name, &n)
		d, err := req.catalog.tools.DecidePrimitive(ctx, toolpolicy.PrimitiveInput{
			Action: toolpolicy.ActionList, Primitive: primitive, Scope: scope, Connector: connector, Name: n,
		})
		if err != nil {
			// Fail closed: what the policy cannot decide on is not shown.
			s.log.Error("aggregator: connectors policy failed; hiding the item", zap.String("connector", connector), zap.Error(err))
		}
		return err == nil && d.Allow
	}
}

// primitiveOf names the primitive a list key holds, for vmcp.connectors, and the field that
// names each item.
func primitiveOf(key string) (primitive, field string) {
	switch key {
	case "resources":
		return toolpolicy.PrimitiveResource, "uri"
	case "resourceTemplates":
		return toolpolicy.PrimitiveResourceTemplate, "uriTemplate"
	}
	return toolpolicy.PrimitivePrompt, "name"
}

// maxPages bounds how many pages vmcp follows from one connector, so a connector that always
// returns a nextCursor cannot keep a request busy forever.
const maxPages = 100

func (s *Server) listAll(ctx context.Context, c call, key string) ([]map[string]json.RawMessage, error) {
	var all []map[string]json.RawMessage
	cursor := ""
	for range maxPages {
		if cursor != "" {
			c.params = map[string]any{"cursor": cursor}
		}
		res, err := s.up.do(ctx, c)
		if err != nil {
			return nil, err
		}
		var page map[string]json.RawMessage
		if err := json.Unmarshal(res.result, &page); err != nil {
			return nil, errors.New(c.method + ": malformed result")
		}
		var items []map[string]json.RawMessage
		if raw := page[key]; len(raw) > 0 {
			if err := json.Unmarshal(raw, &items); err != nil {
				return nil, errors.New(c.method + ": malformed " + key)
			}
		}
		all = append(all, items...)
		cursor = ""
		if raw := page["nextCursor"]; len(raw) > 0 {
			json.Unmarshal(raw, &cursor)
		}
		if cursor == "" {
			return all, nil
		}
	}
	return all, nil
}

func (s *Server) listEverywhere(ctx context.Context, req *request, method, key string) []outcome {
	return s.fanOut(ctx, req.vs, func(ctx context.Context, c *connector) (any, error) {
		return s.listOne(ctx, req, c, method, key)
	})
}

// listOne is one connector's complete list (method, its items under key): cached, or the stale
// one of a resting connector, or asked for afresh.
func (s *Server) listOne(ctx context.Context, req *request, c *connector, method, key string) ([]map[string]json.RawMessage, error) {
	now := time.Now()
	if items, ok := req.catalog.lists.get(c.name, method, now); ok {
		return items, nil
	}
	if c.health.resting(now) {
		if items, ok := req.catalog.lists.stale(c.name, method); ok {
			return items, nil
		}
		return nil, errResting
	}
	// A connector that forgot the caller's session (it restarted, say) gets a new one
	// (reopen.go), rather than leaving it out of this client's lists for good.
	var items []map[string]json.RawMessage
	err := s.inSession(ctx, req, c, method, func(cl call) (err error) {
		items, err = s.listAll(ctx, cl, key)
		return err
	})
	c.health.observe(err, now)
	if err == nil && req.catalog.lists.put(c.name, method, items, time.Now()) {
		s.listChangedAt(req.catalog, c.name, strings.TrimSuffix(key, "Templates"))
	}
	return items, err
}

// visibleTools merges every connector's tools as this caller may see them: renamed, redescribed
// and hidden as configured, and filtered by the vmcp.tools policy. tools/list pages through it;
// tool search (discovery.go) indexes it.
func (s *Server) visibleTools(ctx context.Context, req *request) []json.RawMessage {
	scope := toolpolicy.NewScope(toolpolicy.Caller{Subject: req.caller.Subject, Email: req.caller.Email, ClientID: req.caller.ClientID, Groups: req.caller.Groups}, req.vs.policy)
	outcomes := s.listEverywhere(ctx, req, "tools/list", "tools")
	idx := s.indexOf(req, outcomes, "tools")
	items := []json.RawMessage{}
	for _, o := range outcomes {
		if o.err != nil {
			continue
		}
		for _, cached := range o.value.([]map[string]json.RawMessage) {
			original, ok := rawString(cached["name"])
			if !ok {
				continue
			}
			exposed, custom, visible := req.vs.names.Expose(o.connector.name, original, idx)
			if !visible {
				continue
			}
			d, err := req.catalog.tools.Decide(ctx, toolpolicy.Input{
				Action: toolpolicy.ActionList, Scope: scope,
				Connector: o.connector.name, Tool: original, Exposed: exposed,
			})
			if err != nil {
				// Fail closed: a tool the policy cannot decide on is not shown.
				s.log.Error("aggregator: tool policy failed; hiding the tool", zap.String("tool", exposed), zap.Error(err))
				continue
			}
			if !d.Allow {
				continue
			}
			// Lists are cached and shared between requests: encode a renamed copy.
			items = append(items, toolJSON(cached, exposed, custom.Description))
		}
	}
	return items
}

// initAnswer is what a connector said to initialize.
type initAnswer struct {
	sessionID string
	version   string
	caps      map[string]json.RawMessage
}

// initConnector starts an MCP session with one connector, in the revision vmcp and the client
// agreed on, and completes the lifecycle (notifications/initialized) before anything else is sent.
func (s *Server) initConnector(ctx context.Context, c *connector, signedIdentity, version string, clientCaps json.RawMessage) (*initAnswer, error) {
	if len(clientCaps) == 0 || string(clientCaps) == "null" {
		clientCaps = json.RawMessage("{}")
	}
	params := map[string]any{
		"protocolVersion": version,
		"capabilities":    clientCaps,
		"clientInfo":      map[string]any{"name": "vmcp", "version": s.version},
	}
	res, err := s.up.do(ctx, call{connector: c, identity: signedIdentity, method: "initialize", params: params})
	if err != nil {
		return nil, err
	}
	var ir struct {
		ProtocolVersion string                     `json:"protocolVersion"`
		Capabilities    map[string]json.RawMessage `json:"capabilities"`
	}
	if err := json.Unmarshal(res.result, &ir); err != nil {
		return nil, errors.New("initialize: malformed result")
	}
	if err := s.up.notify(ctx, call{connector: c, identity: signedIdentity, sessionID: res.sessionID, protocolVersion: ir.ProtocolVersion, method: "notifications/initialized"}); err != nil {
		return nil, err
	}
	return &initAnswer{sessionID: res.sessionID, version: ir.ProtocolVersion, caps: ir.Capabilities}, nil
}
