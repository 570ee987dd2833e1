package aggregator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/vmcp-dev/vmcp/examples/connectors/weather"
	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/identity"
	"github.com/vmcp-dev/vmcp/internal/session"
)

// The aggregator normally reaches connectors through Envoy's egress listener; here the egress
// address is the weather connector itself, which serves on every path.
func TestToolListsAreCachedPerConnectorAndServedUnchangedToConcurrentCallers(t *testing.T) {
	var lists atomic.Int64
	h := weather.New(weather.Options{})
	conn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), `"method":"tools/list"`) {
			lists.Add(1)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	}))
	defer conn.Close()
	egress := strings.TrimPrefix(conn.URL, "http://")

	cfg, err := config.Load("t.yaml", []byte(`
connectors: [{name: weather, url: "http://`+egress+`/mcp"}]
virtual_servers: [{name: demo, connectors: [weather]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := identity.NewSigner([]byte(strings.Repeat("i", 32)))
	codec, _ := session.NewCodec([]byte(strings.Repeat("s", 32)), time.Hour)
	agg := NewServer(egress, signer, codec, "test", nil, zaptest.NewLogger(t))
	commit, err := agg.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	signed, _ := signer.Sign(identity.Identity{Subject: "alice", VirtualServer: "demo", Expiry: time.Now().Add(time.Hour).Unix()})

	list := func() []string {
		req := httptest.NewRequest(http.MethodPost, "/v/demo/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("x-vmcp-identity", signed)
		rec := httptest.NewRecorder()
		agg.ServeHTTP(rec, req)
		var m struct {
			Result struct {
				Tools []struct{ Name string } `json:"tools"`
			} `json:"result"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Errorf("tools/list: %s", rec.Body.String())
			return nil
		}
		var names []string
		for _, tool := range m.Result.Tools {
			names = append(names, tool.Name)
		}
		return names
	}
	first := list()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := list(); strings.Join(got, ",") != strings.Join(first, ",") {
				t.Errorf("a cached list came back as %v, want %v", got, first)
			}
		}()
	}
	wg.Wait()
	if len(first) == 0 || first[0] != "weather__convert_temperature" && first[0] != "weather__get_forecast" {
		t.Fatalf("tools = %v", first)
	}
	if n := lists.Load(); n > 1 {
		t.Errorf("the connector was asked for its tools %d times for 9 lists; want once (cached)", n)
	}

	// A reload starts with an empty cache.
	commit, _ = agg.Prepare(cfg)
	commit()
	list()
	if n := lists.Load(); n != 2 {
		t.Errorf("after a reload the connector was asked %d times in all, want 2", n)
	}
}
