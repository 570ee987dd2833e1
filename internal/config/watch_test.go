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
			if d := got.Connectors[0].Timeout.D(); d != 7*time.Second {
				t.Errorf("applied timeout %v, want 7s", d)
			}
			if got.Path != w.path {
				t.Errorf("applied config has Path %q, want %q", got.Path, w.path)
			}
			// A second edit after the first is applied too: the watch survives a rename.
			tc.write(t, w.path, watchConfig("9s"))
			if d := w.waitApplied(t, 2).Connectors[0].Timeout.D(); d != 9*time.Second {
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
	if d := w.waitApplied(t, 2).Connectors[0].Timeout.D(); d != 8*time.Second {
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
	if d := w.waitApplied(t, 1).Connectors[0].Timeout.D(); d != 8*time.Second {
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
