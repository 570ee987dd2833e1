package config

import (
	"strings"
	"testing"
)

func TestToolDiscoveryLoadsWithDefaultsAndPins(t *testing.T) {
	cfg, err := Load("vmcp.yaml", []byte(`
connectors: [{name: notes, url: "http://127.0.0.1:1/mcp"}]
virtual_servers:
  - name: big
    connectors:
      - name: notes
        tools: {add_note: {name: write_note}}
    tools: {discovery: auto, pinned: [notes__write_note, notes__list_notes]}
  - name: plain
    connectors: [notes]
`))
	if err != nil {
		t.Fatal(err)
	}
	big, plain := cfg.VirtualServers[0].Tools, cfg.VirtualServers[1].Tools
	if big.Discovery != DiscoveryAuto || big.Threshold != DefaultDiscoveryThreshold || len(big.Pinned) != 2 {
		t.Errorf("big: %+v", big)
	}
	if plain.Discovery != DiscoveryOff || plain.Enabled() {
		t.Errorf("a virtual server without tools: is not off: %+v", plain)
	}
}

func TestToolDiscoveryIsActiveByModeAndVisibleCount(t *testing.T) {
	for _, tc := range []struct {
		d       ToolDiscovery
		visible int
		want    bool
	}{
		{ToolDiscovery{Discovery: DiscoveryOff, Threshold: 1}, 500, false},
		{ToolDiscovery{Discovery: DiscoverySearch, Threshold: 40}, 0, true},
		{ToolDiscovery{Discovery: DiscoveryAuto, Threshold: 40}, 40, false},
		{ToolDiscovery{Discovery: DiscoveryAuto, Threshold: 40}, 41, true},
	} {
		if got := tc.d.Active(tc.visible); got != tc.want {
			t.Errorf("%+v with %d visible: active = %v, want %v", tc.d, tc.visible, got, tc.want)
		}
	}
}

func TestToolDiscoveryProblemsAreNamedByLineAndColumn(t *testing.T) {
	const head = "connectors:\n  - {name: notes, url: \"http://127.0.0.1:1/mcp\"}\n  - {name: search, url: \"http://127.0.0.1:2/mcp\"}\nvirtual_servers:\n  - name: vs\n"
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{
			name: "an unknown mode",
			yaml: head + "    connectors: [notes]\n    tools: {discovery: lazy}\n",
			want: []string{`vmcp.yaml:7:24: virtual server "vs": tools.discovery "lazy" is not off, search or auto`},
		},
		{
			name: "a zero or negative threshold",
			yaml: head + "    connectors: [notes]\n    tools:\n      discovery: auto\n      threshold: 0\n",
			want: []string{`vmcp.yaml:9:18: virtual server "vs": tools.threshold must be at least 1 (discovery: search always searches)`},
		},
		{
			name: "a pin without a connector prefix, one for a connector elsewhere, and a duplicate",
			yaml: head + "    connectors: [notes]\n    tools:\n      discovery: search\n      pinned: [add_note, weather__get_forecast, notes__x, notes__x]\n",
			want: []string{
				`vmcp.yaml:9:16: virtual server "vs": pinned "add_note" must be <connector>__<tool>`,
				`vmcp.yaml:9:26: virtual server "vs": pinned "weather__get_forecast" names connector "weather", which is not on this virtual server`,
				`vmcp.yaml:9:59: virtual server "vs": tool "notes__x" is pinned twice`,
			},
		},
		{
			name: "a pin of a hidden tool or of a renamed tool's old name",
			yaml: head + "    connectors:\n      - name: notes\n        tools: {a: {hidden: true}, b: {name: c}}\n    tools: {discovery: search, pinned: [notes__a, notes__b, notes__c]}\n",
			want: []string{
				`vmcp.yaml:9:41: virtual server "vs": pinned "notes__a" is hidden or renamed on this virtual server; pin the name clients see`,
				`vmcp.yaml:9:51: virtual server "vs": pinned "notes__b" is hidden or renamed on this virtual server; pin the name clients see`,
			},
		},
		{
			name: "a connector prefix that could produce a meta-tool's name",
			yaml: head + "    connectors: [notes, search]\n    prefix: {separator: _}\n    tools: {discovery: auto}\n",
			want: []string{`vmcp.yaml:6:25: virtual server "vs": connector "search" with separator "_" could list a tool named "search_tools", which tool discovery reserves`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("vmcp.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("loaded without problems")
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", err, strings.Join(tc.want, "\n"))
			}
		})
	}
	// Outside prefix mode always, a pin may be a bare tool name; a prefixed one is still checked.
	never := head + "    connectors:\n      - name: notes\n        tools: {a: {hidden: true}}\n    prefix: {mode: never}\n    tools: {discovery: search, pinned: [add_note, notes__a, search_tools]}\n"
	_, err := Load("vmcp.yaml", []byte(never))
	want := `vmcp.yaml:10:51: virtual server "vs": pinned "notes__a" is hidden or renamed on this virtual server; pin the name clients see` + "\n" +
		`vmcp.yaml:10:61: virtual server "vs": pinned "search_tools" is a meta-tool, listed anyway`
	if err == nil || err.Error() != want {
		t.Errorf("prefix mode never: %v\nwant:\n%s", err, want)
	}
	// The same prefix is fine while discovery is off: nothing is reserved then.
	if _, err := Load("vmcp.yaml", []byte(head+"    connectors: [notes, search]\n    prefix: {separator: _}\n")); err != nil {
		t.Errorf("discovery off: %v", err)
	}
}
