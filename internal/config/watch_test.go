package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

const (
	watchDeadline = 10 * time.Second
	rejected      = "config reload rejected; keeping the last good configuration"
)

func watchConfig(timeout string) []byte {
	return []byte("connectors:\n  - name: notes\n    url: http://127.0.0.1:19001/mcp\n    timeout: " + timeout + "\nvirtual_servers:\n  - name: demo\n    connectors: [notes]\n")
}

// watcher is a running Watch over a config file in a temporary directory.
type watcher struct {
	path string
	logs *observer.ObservedLogs

	mu      sync.Mutex
	applied []*Config
	// refuse makes apply fail, as a component that cannot take a configuration would.
	refuse bool
}

func startWatch(t *testing.T) *watcher {
	t.Helper()
	w := &watcher{path: filepath.Join(t.TempDir(), "vmcp.yaml")}
	initial := watchConfig("1s")
	if err := os.WriteFile(w.path, initial, 0o644); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	w.logs = logs
	apply := func(c *Config) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.refuse {
			return errors.New("xds: cannot take this configuration")
		}
		w.applied = append(w.applied, c)
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- watch(ctx, w.path, initial, zap.New(core), apply, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Watch returned before watching: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watch returned %v after cancel, want nil", err)
			}
		case <-time.After(watchDeadline):
			t.Error("Watch did not return after its context was cancelled")
		}
	})
	return w
}

func (w *watcher) snapshot() []*Config {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*Config(nil), w.applied...)
}

func (w *watcher) setRefuse(v bool) {
	w.mu.Lock()
	w.refuse = v
	w.mu.Unlock()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(watchDeadline)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		<-tick.C
	}
}

func (w *watcher) waitApplied(t *testing.T, n int) *Config {
	t.Helper()
	eventually(t, "apply to be called", func() bool { return len(w.snapshot()) >= n })
	got := w.snapshot()
	if len(got) != n {
		t.Fatalf("apply called %d times, want %d", len(got), n)
	}
	return got[n-1]
}

func (w *watcher) waitRejections(t *testing.T, n int) []observer.LoggedEntry {
	t.Helper()
	eventually(t, "a rejection to be logged", func() bool { return w.logs.FilterMessage(rejected).Len() >= n })
	return w.logs.FilterMessage(rejected).All()
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// renameInto writes data beside path and renames it over path, as editors and ConfigMaps do.
func renameInto(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, data)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestWatchAppliesAnEditedFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, path string, data []byte)
	}{
		{"an edit written in place is applied", writeFile},
		{"an edit written to a temporary file and renamed over it is applied", renameInto},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := startWatch(t)
			tc.write(t, w.path, watchConfig("7s"))
			got := w.waitApplied(t, 1)
			if d := got.Connectors[0].Timeout; d != 7*time.Second {
				t.Errorf("applied timeout %v, want 7s", d)
			}
			if got.Path != w.path {
				t.Errorf("applied config has Path %q, want %q", got.Path, w.path)
			}
			// A second edit after the first is applied too: the watch survives a rename.
			tc.write(t, w.path, watchConfig("9s"))
			if d := w.waitApplied(t, 2).Connectors[0].Timeout; d != 9*time.Second {
				t.Errorf("second applied timeout %v, want 9s", d)
			}
			if n := w.logs.FilterMessage("config reloaded").Len(); n != 2 {
				t.Errorf("%d reloads logged, want 2", n)
			}
		})
	}
}

func TestWatchKeepsTheLastGoodConfigurationWhenTheFileIsBroken(t *testing.T) {
	w := startWatch(t)
	writeFile(t, w.path, watchConfig("7s"))
	good := w.waitApplied(t, 1)

	// Line 4 holds the broken duration.
	writeFile(t, w.path, watchConfig("soon"))
	entries := w.waitRejections(t, 1)
	// apply runs before the rejection would be logged, so by now it has been called if it
	// ever will be for this edit.
	if got := w.snapshot(); len(got) != 1 || got[0] != good {
		t.Fatalf("apply called for a broken file (%d calls)", len(got))
	}
	if len(entries) != 1 {
		t.Fatalf("%d rejections logged, want 1", len(entries))
	}
	e := entries[0]
	want := w.path + `:4:14: connectors[0].timeout: "soon" is not a duration (use e.g. "30s" or "5m")`
	if e.Level != zapcore.ErrorLevel || e.ContextMap()["problem"] != want {
		t.Errorf("rejection logged as %v %v, want error with problem %q", e.Level, e.ContextMap(), want)
	}

	// The next valid edit is applied.
	writeFile(t, w.path, watchConfig("8s"))
	if d := w.waitApplied(t, 2).Connectors[0].Timeout; d != 8*time.Second {
		t.Errorf("applied timeout %v, want 8s", d)
	}
}

func TestWatchLogsEveryProblemOfABrokenFile(t *testing.T) {
	w := startWatch(t)
	broken := []byte("server:\n  log_level: loud\nconnectors:\n  - name: Bad\n    url: ftp://h/mcp\n")
	renameInto(t, w.path, broken)
	entries := w.waitRejections(t, 3)
	want := []string{
		w.path + `:2:14: server.log_level: "loud" is not one of debug, info, warn, error`,
		w.path + `:4:11: connector name "Bad" must be lowercase letters, digits and '-', starting with a letter or digit (at most 63)`,
		w.path + `:5:10: connectors[0].url: "ftp://h/mcp" must use http or https`,
	}
	if len(entries) != len(want) {
		t.Fatalf("%d rejections logged, want %d", len(entries), len(want))
	}
	for i, e := range entries {
		if got := e.ContextMap()["problem"]; got != want[i] {
			t.Errorf("rejection %d: problem %q, want %q", i, got, want[i])
		}
	}
	if n := len(w.snapshot()); n != 0 {
		t.Errorf("apply called %d times for a broken file", n)
	}
}

func TestWatchLogsAnApplyErrorAndAppliesTheNextEdit(t *testing.T) {
	w := startWatch(t)
	w.setRefuse(true)
	writeFile(t, w.path, watchConfig("7s"))
	entries := w.waitRejections(t, 1)
	fields := entries[0].ContextMap()
	if fields["file"] != w.path || fields["error"] != "xds: cannot take this configuration" {
		t.Errorf("rejection fields %v, want the file and apply's error", fields)
	}
	if n := len(w.snapshot()); n != 0 {
		t.Fatalf("a refused configuration was recorded %d times", n)
	}

	w.setRefuse(false)
	writeFile(t, w.path, watchConfig("8s"))
	if d := w.waitApplied(t, 1).Connectors[0].Timeout; d != 8*time.Second {
		t.Errorf("applied timeout %v, want 8s", d)
	}
}

func TestWatchIgnoresOtherFilesInTheDirectory(t *testing.T) {
	w := startWatch(t)
	// A change to a neighbour, then one to the config: only the second may be applied, and
	// the neighbour must not have been read as configuration.
	writeFile(t, filepath.Join(filepath.Dir(w.path), "other.yaml"), []byte("not: [a config"))
	writeFile(t, w.path, watchConfig("7s"))
	w.waitApplied(t, 1)
	if n := w.logs.FilterMessage(rejected).Len(); n != 0 {
		t.Errorf("%d rejections logged; the neighbouring file was read", n)
	}
}

func TestWatchFailsForAMissingDirectory(t *testing.T) {
	err := Watch(context.Background(), filepath.Join(t.TempDir(), "gone", "vmcp.yaml"), nil, zap.NewNop(), func(*Config) error { return nil })
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Watch = %v, want a not-exist error", err)
	}
}

// A file written in two steps with a pause between (truncate, the first part, a pause, the rest),
// as editors and configuration-management tools do: the first part is itself a valid
// configuration with no connectors and no virtual servers. It must never be applied; the whole
// file is, once it is there.
func TestWatchNeverAppliesTheFirstPartOfAFileWrittenInTwoSteps(t *testing.T) {
	w := startWatch(t)
	whole := append([]byte("server:\n  log_level: info\n"), watchConfig("7s")...)
	first := []byte("server:\n  log_level: info\n")
	if _, err := Load(w.path, first); err != nil {
		t.Fatalf("the first part must be a valid configuration for this test to mean anything: %v", err)
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(first); err != nil {
		t.Fatal(err)
	}
	// The pause is many debounce periods long: the watcher reads the first part on its own.
	eventually(t, "the first part to be read", func() bool {
		return w.logs.FilterMessageSnippet("holding it back").Len() > 0 || len(w.snapshot()) > 0
	})
	if _, err := f.Write(whole[len(first):]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	eventually(t, "the whole file to be applied", func() bool {
		got := w.snapshot()
		return len(got) > 0 && len(got[len(got)-1].VirtualServers) == 1
	})
	for i, c := range w.snapshot() {
		if len(c.VirtualServers) != 1 || len(c.Connectors) != 1 {
			t.Errorf("apply %d: %d virtual servers and %d connectors, want only the whole file's 1 and 1", i+1, len(c.VirtualServers), len(c.Connectors))
		}
	}
	held := w.logs.FilterMessageSnippet("removes every virtual server").All()
	if len(held) == 0 || held[0].Level != zapcore.WarnLevel {
		t.Errorf("holding back the first part was not logged as a warning: %v", held)
	}
}

// A change that does take every virtual server away is applied once the file has stayed the same
// for the settle period, with a warning; so is one removing most connectors.
func TestWatchAppliesADrasticChangeOnceTheFileHasSettled(t *testing.T) {
	for _, tc := range []struct {
		name, data, why string
	}{
		{"no virtual servers left", "connectors:\n  - name: notes\n    url: http://127.0.0.1:19001/mcp\n", "removes every virtual server"},
		{"most connectors removed", "connectors:\n  - name: other\n    url: http://127.0.0.1:19002/mcp\nvirtual_servers:\n  - name: demo\n    connectors: [other]\n", "removes 1 of 1 connectors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := startWatch(t)
			start := time.Now()
			renameInto(t, w.path, []byte(tc.data))
			w.waitApplied(t, 1)
			if took := time.Since(start); took < settle {
				t.Errorf("a drastic change was applied after %s, before the %s settle period", took, settle)
			}
			applied := w.logs.FilterMessageSnippet(tc.why + "; the file has not changed").All()
			if len(applied) != 1 || applied[0].Level != zapcore.WarnLevel {
				t.Errorf("applying the drastic change was not logged as one warning saying why (%q): %v", tc.why, applied)
			}
		})
	}
}

func TestDrasticCountsRemovedVirtualServersAndConnectors(t *testing.T) {
	cfg := func(connectors, servers int) *Config {
		c := &Config{}
		for i := range connectors {
			c.Connectors = append(c.Connectors, Connector{Name: string(rune('a' + i))})
		}
		for i := range servers {
			c.VirtualServers = append(c.VirtualServers, VirtualServer{Name: string(rune('a' + i))})
		}
		return c
	}
	for _, tc := range []struct {
		name       string
		prev, next *Config
		drastic    bool
	}{
		{"the first configuration is never drastic", nil, cfg(0, 0), false},
		{"removing the last virtual server is", cfg(2, 1), cfg(2, 0), true},
		{"removing one of two virtual servers is not", cfg(2, 2), cfg(2, 1), false},
		{"removing half the connectors is not", cfg(4, 1), cfg(2, 1), false},
		{"removing more than half is", cfg(4, 1), cfg(1, 1), true},
		{"adding is not", cfg(1, 1), cfg(3, 2), false},
		{"an empty configuration staying empty is not", cfg(0, 0), cfg(0, 0), false},
	} {
		if got := drastic(tc.prev, tc.next) != ""; got != tc.drastic {
			t.Errorf("%s: drastic = %v", tc.name, got)
		}
	}
}

// Half of a file written in place can be valid and not drastic at all, yet lose what the second
// half said (here the access rule that keeps a tool to admins). It is not read until the file has
// stopped changing, so only the whole file is applied.
func TestWatchWaitsForAFileWrittenInPlaceToSettle(t *testing.T) {
	w := startWatch(t)
	whole := append(watchConfig("1s"), []byte("    access:\n      tools:\n        \"notes__delete_*\": [admins]\n")...)
	first := watchConfig("1s")
	first = first[:len(first)-1] // even the newline is not there yet
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(first); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first part to be seen", func() bool {
		return w.logs.FilterMessageSnippet("waiting for it to settle").Len() > 0 || len(w.snapshot()) > 0
	})
	if _, err := f.Write(whole[len(first):]); err != nil {
		t.Fatal(err)
	}
	got := w.waitApplied(t, 1)
	if len(got.VirtualServers) != 1 || len(got.VirtualServers[0].Access.Tools) != 1 {
		t.Fatalf("applied %+v, want the whole file with its access rule", got.VirtualServers)
	}
	// An edit that replaces the file whole (a rename, atomic) is not held back.
	start := time.Now()
	renameInto(t, w.path, watchConfig("9s"))
	w.waitApplied(t, 2)
	if took := time.Since(start); took >= inPlaceSettle {
		t.Errorf("a file replaced whole was applied only after %s", took)
	}
}
