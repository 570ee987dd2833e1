package clientmeta

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestCacheLifetimeFollowsHeadersWithinBounds(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	date := now.Format(http.TimeFormat)
	for _, tc := range []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"no cache headers means the default", http.Header{}, DefaultCacheTTL},
		{"max-age is honoured", http.Header{"Cache-Control": {"public, max-age=600"}}, 10 * time.Minute},
		{"a quoted max-age is accepted", http.Header{"Cache-Control": {`max-age="600"`}}, 10 * time.Minute},
		{"directive names are case-insensitive", http.Header{"Cache-Control": {"Max-Age=600"}}, 10 * time.Minute},
		{"max-age below the floor is raised to it", http.Header{"Cache-Control": {"max-age=5"}}, MinCacheTTL},
		{"max-age above the ceiling is lowered to it", http.Header{"Cache-Control": {"max-age=31536000"}}, MaxCacheTTL},
		{"a max-age too large for int64 is the ceiling", http.Header{"Cache-Control": {"max-age=99999999999999999999"}}, MaxCacheTTL},
		{"max-age=0 is the floor", http.Header{"Cache-Control": {"max-age=0"}}, MinCacheTTL},
		{"no-store is the floor", http.Header{"Cache-Control": {"no-store"}}, MinCacheTTL},
		{"no-cache is the floor", http.Header{"Cache-Control": {"max-age=600, no-cache"}}, MinCacheTTL},
		{"two max-age directives mean stale", http.Header{"Cache-Control": {"max-age=600", "max-age=700"}}, MinCacheTTL},
		{"a negative max-age means stale", http.Header{"Cache-Control": {"max-age=-1"}}, MinCacheTTL},
		{"Age is subtracted", http.Header{"Cache-Control": {"max-age=600"}, "Age": {"300"}}, 5 * time.Minute},
		{"Expires is used without max-age", http.Header{"Date": {date}, "Expires": {now.Add(2 * time.Hour).Format(http.TimeFormat)}}, 2 * time.Hour},
		{"max-age wins over Expires", http.Header{"Cache-Control": {"max-age=120"}, "Date": {date}, "Expires": {now.Add(2 * time.Hour).Format(http.TimeFormat)}}, 2 * time.Minute},
		{"an invalid Expires means stale", http.Header{"Expires": {"0"}}, MinCacheTTL},
		{"an Expires in the past is the floor", http.Header{"Date": {date}, "Expires": {now.Add(-time.Hour).Format(http.TimeFormat)}}, MinCacheTTL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cacheTTL(tc.header, now); got != tc.want {
				t.Fatalf("cacheTTL(%v) = %v, want %v", tc.header, got, tc.want)
			}
		})
	}
}

func TestTheCacheStaysWithinItsBound(t *testing.T) {
	f := NewFetcher(Options{MaxEntries: 3})
	t.Cleanup(f.Close)
	now := time.Now()
	doc := &Document{}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cachePut("expired", doc, now.Add(-time.Second), now)
	f.cachePut("soon", doc, now.Add(time.Minute), now)
	f.cachePut("late", doc, now.Add(time.Hour), now)
	f.cachePut("new1", doc, now.Add(time.Hour), now) // evicts the expired entry
	if _, ok := f.cache["expired"]; ok || len(f.cache) != 3 {
		t.Fatalf("after the first overflow: %v", keys(f.cache))
	}
	f.cachePut("new2", doc, now.Add(time.Hour), now) // evicts the one closest to expiry
	if _, ok := f.cache["soon"]; ok || len(f.cache) != 3 {
		t.Fatalf("after the second overflow: %v", keys(f.cache))
	}
	f.cachePut("late", doc, now.Add(2*time.Hour), now) // replacing evicts nothing
	if len(f.cache) != 3 {
		t.Fatalf("after a replacement: %v", keys(f.cache))
	}
	if _, ok := f.cacheGet("late", now.Add(3*time.Hour)); ok {
		t.Fatal("an expired entry was served")
	}
	if _, ok := f.cache["late"]; ok {
		t.Fatal("an expired entry was kept after a lookup")
	}
}

func keys(m map[string]cacheEntry) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return fmt.Sprint(out)
}
