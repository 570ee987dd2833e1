package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// A connector that takes its API key only as a query parameter gets it from vmcp, on routed
// calls and on the aggregator's fan-out alike; a key the client put in the URL is replaced.
func TestAnAPIKeyInAQueryParameterReachesOnlyItsConnector(t *testing.T) {
	s := startSystem(t)
	const key = "weather-key-9f2e41"
	if err := os.WriteFile(filepath.Join(s.dir, "weather-key"), []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	s.weatherSee.mu.Lock()
	s.weatherSee.hook = func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.URL.Query().Get("api_key"))
	}
	s.weatherSee.mu.Unlock()
	s.reload(func() {
		s.config.Connector("weather").Credential = `{type: query, param: api_key, token: "${file:weather-key}"}`
		s.writeConfig()
	})

	cs := connect(t, s.url("demo")+"?api_key=client-chosen", s.token("hana", "demo"))
	toolNames(t, cs)
	if res := callTool(t, cs, "weather__get_forecast", map[string]any{"city": "Kyoto", "days": 1}); res.IsError {
		t.Fatalf("call: %v", res.Content)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 2 {
		t.Fatalf("the weather connector saw %d requests", len(seen))
	}
	for _, got := range seen {
		if got != key {
			t.Errorf("the weather connector got api_key %q, want the configured key", got)
		}
	}
	for _, h := range s.notesSeen.all() {
		for k, vs := range h {
			if strings.Contains(strings.Join(vs, ","), key) {
				t.Errorf("the notes connector saw the weather key in %s", k)
			}
		}
	}
}
