package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type state struct {
	kept, streams int
	health        map[string]bool
}

func (s *state) KeptSessions() int { return s.kept }
func (s *state) OpenStreams() int  { return s.streams }
func (s *state) ConnectorHealth(f func(string, bool)) {
	for c, up := range s.health {
		f(c, up)
	}
}

func TestAggregatorGaugesAreReadAtScrapeTime(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := &state{kept: 3, streams: 1, health: map[string]bool{"notes": true, "weather": false}}
	if err := RegisterAggregator(reg, s); err != nil {
		t.Fatal(err)
	}
	if got := series(t, reg, "vmcp_kept_connector_sessions")[""]; got != 3 {
		t.Errorf("kept = %v, want 3", got)
	}
	if got := series(t, reg, "vmcp_client_streams_open")[""]; got != 1 {
		t.Errorf("streams = %v, want 1", got)
	}
	up := series(t, reg, "vmcp_connector_up")
	if up["connector=notes"] != 1 || up["connector=weather"] != 0 || len(up) != 2 {
		t.Errorf("up = %v, want notes 1, weather 0", up)
	}
	// A reload removes weather: its series goes with it.
	s.kept, s.health = 0, map[string]bool{"notes": true}
	if up := series(t, reg, "vmcp_connector_up"); len(up) != 1 {
		t.Errorf("up after weather was removed = %v", up)
	}
	if got := series(t, reg, "vmcp_kept_connector_sessions")[""]; got != 0 {
		t.Errorf("kept = %v, want 0", got)
	}
	if err := RegisterAggregator(reg, s); err == nil {
		t.Error("registering twice in one registry succeeded")
	}
}
