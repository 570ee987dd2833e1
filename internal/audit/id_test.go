package audit

import (
	"strings"
	"testing"
	"time"
)

func TestIDsSortByTimeAndDoNotCollide(t *testing.T) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := range 100000 {
		id := NewID(base.Add(time.Duration(i/10) * time.Millisecond))
		if len(id) != 26 || strings.Trim(id, crockford) != "" {
			t.Fatalf("id %q is not 26 Crockford base32 characters", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q after %d ids", id, i)
		}
		seen[id] = true
		if i%10 == 0 && id <= prev {
			t.Fatalf("id %q for a later millisecond sorts before %q", id, prev)
		}
		if i%10 == 9 {
			prev = id[:10] + strings.Repeat("Z", 16) // the largest id of this millisecond
		}
	}
}

func TestIDEncodesTheMillisecond(t *testing.T) {
	// ULID spec example: 1469918176385 ms → 01ARYZ6S41.
	if got := NewID(time.UnixMilli(1469918176385))[:10]; got != "01ARYZ6S41" {
		t.Errorf("time part = %s, want 01ARYZ6S41", got)
	}
}
