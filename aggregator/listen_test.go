package aggregator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/sse"
)

// modernParams are a 2026-07-28 request's params.
func modernParams(p map[string]any) map[string]any {
	p["_meta"] = map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": map[string]any{}}
	return p
}

// TestListenStreamsThroughTheAuditWriterAndEndsWithItsResult serves subscriptions/listen over a
// real HTTP server, where the answer must be flushed event by event through the writer that
// counts it for the audit record: the acknowledgement arrives at once, and vmcp shutting down
// ends the stream with the listen request's result, both tagged with its id.
func TestListenStreamsThroughTheAuditWriterAndEndsWithItsResult(t *testing.T) {
	b := startBig(t)
	srv := httptest.NewServer(b.agg)
	defer srv.Close()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 9, "method": "subscriptions/listen",
		"params": modernParams(map[string]any{"notifications": map[string]any{"toolsListChanged": true}})})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v/plain/mcp", bytes.NewReader(body))
	signed, _ := b.signer.Sign(identity.Identity{Subject: "ann", VirtualServer: "plain", Expiry: time.Now().Add(time.Hour).Unix()})
	req.Header.Set(headers.Identity, signed)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("listen: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := sse.NewReader(resp.Body)
	read := func() map[string]any {
		t.Helper()
		ev, err := events.Next()
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(ev.Data, &m)
		return m
	}
	subscription := func(m map[string]any, where string) any {
		part, _ := m[where].(map[string]any)
		meta, _ := part["_meta"].(map[string]any)
		return meta["io.modelcontextprotocol/subscriptionId"]
	}
	if ack := read(); ack["method"] != "notifications/subscriptions/acknowledged" || subscription(ack, "params") != 9.0 {
		t.Fatalf("first event %v, want the acknowledgement with subscription id 9", ack)
	}
	b.agg.Close()
	if end := read(); end["id"] != 9.0 || subscription(end, "result") != 9.0 || end["result"].(map[string]any)["resultType"] != "complete" {
		t.Errorf("last event %v, want listen's result", end)
	}
}

func TestEveryResultOfA2026RequestCarriesResultType(t *testing.T) {
	b := startBig(t)
	for _, tc := range []struct {
		method string
		params map[string]any
	}{
		{"tools/call", map[string]any{"name": "search_tools", "arguments": map[string]any{"query": "send a message"}}},
		{"completion/complete", map[string]any{"ref": map[string]any{"type": "ref/prompt", "name": "nope"}, "argument": map[string]any{"name": "a", "value": ""}}},
		{"tools/list", map[string]any{}},
	} {
		var res map[string]any
		json.Unmarshal(b.rpc("small", "ann", nil, tc.method, modernParams(tc.params)), &res)
		if res["resultType"] != "complete" {
			t.Errorf("%s: %v, want resultType complete", tc.method, res)
		}
	}
}
