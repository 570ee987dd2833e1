package aggregator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
)

// keepAlive is how often an idle notification stream gets an SSE comment, well inside Envoy's
// stream idle timeout (5 minutes in the bootstrap), so that open streams are not cut.
var keepAlive = 25 * time.Second

// discover answers 2026-07-28's server/discover: the revisions vmcp speaks and the merged
// capabilities of the virtual server's connectors, learned through the connector sessions vmcp
// keeps for the caller.
func (s *Server) discover(w http.ResponseWriter, r *http.Request, req *request, msg *jsonrpc.Message) {
	outcomes := s.fanOut(r.Context(), req.vs, func(ctx context.Context, c *connector) (any, error) {
		e, err := s.kept.get(ctx, s, c, req.caller.Subject, req.vs.name, req.signed)
		return e.caps, err
	})
	caps := make([]map[string]json.RawMessage, 0, len(outcomes))
	for _, o := range outcomes {
		if o.err == nil {
			caps = append(caps, o.value.(map[string]json.RawMessage))
		}
	}
	info := s.serverInfo(req)
	result := map[string]any{
		"supportedVersions": discoverVersions,
		"capabilities":      mergeCapabilities(caps),
		"serverInfo":        info,
		"instructions":      s.instructions(req),
		"_meta":             map[string]any{"io.modelcontextprotocol/serverInfo": info},
	}
	writeResult(w, msg.ID, cacheHints(result), "")
}

func (s *Server) serverInfo(req *request) map[string]any {
	return map[string]any{"name": "vmcp/" + req.vs.name, "version": s.version}
}

func (s *Server) instructions(req *request) string {
	if req.vs.names.Static() {
		return "Tools of this virtual MCP server are named <connector>" + req.vs.separator + "<tool>." + discoveryInstructions(req.vs)
	}
	return "This virtual MCP server bundles the tools of several MCP servers." + discoveryInstructions(req.vs)
}

// mergeCapabilities is what the virtual server offers: tools always (with list_changed, which
// vmcp sends itself), and prompts, resources, completions and logging when any connector
// offers them.
func mergeCapabilities(connectors []map[string]json.RawMessage) map[string]any {
	caps := map[string]any{"tools": map[string]any{"listChanged": true}}
	for _, c := range connectors {
		for _, k := range []string{"prompts", "resources"} {
			if _, ok := c[k]; ok {
				caps[k] = map[string]any{"listChanged": true}
			}
		}
		for _, k := range []string{"completions", "logging"} {
			if _, ok := c[k]; ok {
				caps[k] = map[string]any{}
			}
		}
	}
	return caps
}

// listen serves 2026-07-28's subscriptions/listen: an SSE answer that first acknowledges the
// subscriptions vmcp honours (list changes) and then carries list_changed notifications until
// the client goes away.
func (s *Server) listen(w http.ResponseWriter, r *http.Request, req *request, msg *jsonrpc.Message) {
	var p struct {
		Notifications map[string]json.RawMessage `json:"notifications"`
	}
	json.Unmarshal(msg.Params, &p)
	// The acknowledgement lists only what vmcp will send: the list changes asked for
	// (resourceSubscriptions are not honoured, so they are left out).
	honoured := map[string]bool{}
	for kind := range listChanged {
		var on bool
		json.Unmarshal(p.Notifications[kind+"ListChanged"], &on)
		if on {
			honoured[kind+"ListChanged"] = true
		}
	}
	// MCP 2026-07-28 (subscriptions/listen): every notification on the stream, the
	// acknowledgement first, carries the listen request's id as its subscription id.
	meta := map[string]any{"io.modelcontextprotocol/subscriptionId": msg.ID}
	ack := map[string]any{"jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged", "params": map[string]any{"notifications": honoured, "_meta": meta}}
	// When vmcp shuts down the subscription ends gracefully: with the listen request's result.
	closing := map[string]any{"jsonrpc": "2.0", "id": msg.ID, "result": map[string]any{"resultType": "complete", "_meta": meta}}
	s.stream(w, r, req, ack, func(kind string) bool { return honoured[kind+"ListChanged"] }, nil, meta, closing)
}

// getStream serves the GET stream of the 2025 revisions: server-initiated messages for a
// session, which from vmcp are the list_changed notifications.
func (s *Server) getStream(w http.ResponseWriter, r *http.Request, req *request) {
	sess, ok := s.openSession(w, req)
	if !ok {
		return
	}
	relayed := make(chan []byte, 16)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	s.relayStreams(ctx, req, &sess, r.Header.Get("Last-Event-ID"), relayed)
	s.stream(w, r, req, nil, func(string) bool { return true }, relayed, nil, nil)
}

// stream holds an SSE answer open, writing first (if any), then a list_changed notification for
// every change of the virtual server's lists that wanted accepts (with meta as its _meta, when
// set), and the events relayed from connectors; closing (if any) is its last message when vmcp
// shuts down.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, req *request, first any, wanted func(kind string) bool, relayed <-chan []byte, meta, closing map[string]any) {
	// Through the ResponseController: a POST's writer (subscriptions/listen) is wrapped for the
	// audit record and flushes through Unwrap.
	flusher := http.NewResponseController(w)
	sub := s.hub.subscribe(req.vs.name)
	defer s.hub.unsubscribe(sub)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if first != nil {
		writeEvent(w, first)
	} else {
		fmt.Fprint(w, ": vmcp\n\n")
	}
	if err := flusher.Flush(); err != nil {
		s.log.Warn("aggregator: notification stream cannot be flushed", zap.Error(err))
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			if closing != nil {
				writeEvent(w, closing)
				flusher.Flush()
			}
			return
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case ev := <-relayed:
			w.Write(ev)
			w.Write([]byte("\n\n"))
		case kind := <-sub.ch:
			if !wanted(kind) {
				continue
			}
			n := map[string]any{"jsonrpc": "2.0", "method": listChanged[kind]}
			if meta != nil {
				n["params"] = map[string]any{"_meta": meta}
			}
			writeEvent(w, n)
		}
		if flusher.Flush() != nil {
			return
		}
	}
}

func writeEvent(w http.ResponseWriter, msg any) {
	b, _ := json.Marshal(msg)
	fmt.Fprintf(w, "event: message\ndata: %s\n\n", b)
}
