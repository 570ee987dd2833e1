package aggregator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/headers"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/sse"
)

// A tool is known to the metrics once a list of its connector names it — by the name clients
// see — and a made-up or hidden name never is, so that it cannot become a label of its own.
func TestKnownToolGoesByTheCachedListsOnly(t *testing.T) {
	b := startBig(t)
	if b.agg.KnownTool("plain", "slack__create_message") {
		t.Fatal("a tool is known before any list was fetched")
	}
	b.rpc("plain", "alice", nil, "tools/list", map[string]any{})
	b.rpc("big", "alice", nil, "tools/list", map[string]any{})
	for _, c := range []struct {
		vs, tool string
		want     bool
	}{
		{"plain", "slack__create_message", true},
		{"plain", "slack__no_such_tool", false},
		{"plain", "create_message", false},      // the connector's own name, without its prefix
		{"plain", "github__list_issues", false}, // github is not on plain
		{"big", "slack__create_message", true},
		{"big", "github__delete_repository", false},
		{"nowhere", "slack__create_message", false},
	} {
		if got := b.agg.KnownTool(c.vs, c.tool); got != c.want {
			t.Errorf("KnownTool(%s, %s) = %v, want %v", c.vs, c.tool, got, c.want)
		}
	}
}

func TestKeptSessionsCountsTheUnexpiredOnes(t *testing.T) {
	b := startBig(t)
	for _, user := range []string{"alice", "bob"} {
		signed, _ := b.signer.Sign(identity.Identity{Subject: user, VirtualServer: "plain", Expiry: time.Now().Add(time.Hour).Unix()})
		if _, _, err := b.agg.ConnectorSession(context.Background(), signed, user, "plain", "slack", false); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.agg.KeptSessions(); n != 2 {
		t.Fatalf("KeptSessions = %d, want 2", n)
	}
	b.agg.kept.mu.Lock()
	e := b.agg.kept.m[keptKey{"bob", "plain", "slack"}]
	e.expires = time.Now().Add(-time.Second)
	b.agg.kept.m[keptKey{"bob", "plain", "slack"}] = e
	b.agg.kept.mu.Unlock()
	if n := b.agg.KeptSessions(); n != 1 {
		t.Fatalf("KeptSessions = %d with one expired, want 1", n)
	}
}

func TestConnectorHealthReportsEachConnectorOnce(t *testing.T) {
	b := startBig(t)
	health := func() map[string]bool {
		m := map[string]bool{}
		b.agg.ConnectorHealth(func(c string, up bool) {
			if _, twice := m[c]; twice {
				t.Errorf("connector %s reported twice", c)
			}
			m[c] = up
		})
		return m
	}
	got := health()
	if len(got) != 10 || !got["slack"] || !got["github"] {
		t.Fatalf("health before any request = %v, want 10 connectors up", got)
	}
	catalog := b.agg.state.Load()
	slack := catalog.byName["plain"].connectors[0]
	slack.health.observe(fmt.Errorf("connector slack: %w", errUpstream), time.Now())
	if got := health(); got["slack"] || !got["github"] {
		t.Fatalf("after slack failed: %v, want slack down, github up", got)
	}
	slack.health.observe(nil, time.Now())
	if got := health(); !got["slack"] {
		t.Fatalf("after slack answered again: %v, want it up", got)
	}
}

// A listen stream counts as open from its acknowledgement until the client goes away.
func TestOpenStreamsFollowsTheClients(t *testing.T) {
	b := startBig(t)
	srv := httptest.NewServer(b.agg)
	defer srv.Close()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "subscriptions/listen",
		"params": modernParams(map[string]any{"notifications": map[string]any{"toolsListChanged": true}})})
	ctx, hangUp := context.WithCancel(context.Background())
	defer hangUp()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v/plain/mcp", bytes.NewReader(body))
	signed, _ := b.signer.Sign(identity.Identity{Subject: "ann", VirtualServer: "plain", Expiry: time.Now().Add(time.Hour).Unix()})
	req.Header.Set(headers.Identity, signed)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := sse.NewReader(resp.Body).Next(); err != nil {
		t.Fatalf("no acknowledgement: %v", err)
	}
	if n := b.agg.OpenStreams(); n != 1 {
		t.Fatalf("OpenStreams = %d with one stream open, want 1", n)
	}
	hangUp()
	// The server learns of the hang-up when its connection closes: poll for it.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for b.agg.OpenStreams() != 0 {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("OpenStreams = %d 10 s after the client hung up", b.agg.OpenStreams())
		}
	}
}
