package aggregator

import (
	"testing"
	"time"
)

// A connector refusing one caller's credential (a user who has not connected a per-user OAuth
// connector) must not rest it for everyone, while a real failure does.
func TestARefusedCallerDoesNotRestTheConnector(t *testing.T) {
	now := time.Now()
	var h health
	for _, status := range []int{401, 403} {
		h.observe(&statusError{method: "tools/list", status: status}, now)
		if h.resting(now) {
			t.Fatalf("HTTP %d rested the connector", status)
		}
	}
	h.observe(&statusError{method: "tools/list", status: 502}, now)
	if !h.resting(now) {
		t.Fatal("HTTP 502 did not rest the connector")
	}
}
