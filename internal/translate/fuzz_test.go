package translate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzTranslate feeds any bytes, as a connector of any revision could send them, to every
// translator: nothing panics, and a JSON-RPC message in gives a JSON-RPC message out.
func FuzzTranslate(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		raw, _ := os.ReadFile(file)
		var g golden
		if json.Unmarshal(raw, &g) == nil {
			f.Add([]byte(g.In), 0, 3)
		}
	}
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required","inputRequests":{"a":{"method":"elicitation/create","params":{"mode":"url"}}}}}`), 3, 2)
	methods := []string{"tools/call", "resources/read", "prompts/get", "completion/complete"}
	f.Fuzz(func(t *testing.T, msg []byte, client, connector int) {
		if client < 0 || connector < 0 {
			return
		}
		c, k := revisions[client%len(revisions)], revisions[connector%len(revisions)]
		for _, m := range methods {
			out, keep := For(c, k, m).Bytes(msg)
			if keep && json.Valid(msg) && !json.Valid(out) {
				t.Fatalf("%s→%s %s: valid %s became invalid %s", k, c, m, msg, out)
			}
		}
	})
}
