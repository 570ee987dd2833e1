package revision

import (
	"encoding/json"
	"testing"
)

func TestFromMetaAndModern(t *testing.T) {
	for params, want := range map[string]string{
		`{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}`: "2026-07-28",
		`{"_meta":{"progressToken":1}}`:                                      "",
		`{"name":"x"}`:                                                       "",
		``:                                                                   "",
		`[`:                                                                  "",
	} {
		if got := FromMeta(json.RawMessage(params)); got != want {
			t.Errorf("FromMeta(%s) = %q, want %q", params, got, want)
		}
	}
	if Modern("2025-11-25") || !Modern("2026-07-28") || !Modern("2027-01-01") {
		t.Error("Modern compares revisions as dates")
	}
}
