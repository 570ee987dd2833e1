package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// Two MCP servers from npm that speak stdio only — the reference filesystem and memory servers,
// pinned in e2e/ts/package-lock.json — run by vmcp as command connectors behind one virtual
// server, driven by the go-sdk client through Envoy. One is killed and comes back with its
// tools; the other is stopped (SIGSTOP: alive, silent) and its call fails with a clear timeout,
// after which vmcp replaces it.
func TestStdioServersFromNpmRunBehindOneVirtualServer(t *testing.T) {
	ts := npmDir(t, "ts")
	unlock, err := lockTSDeps(ts, syscall.LOCK_SH)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	s := startSystem(t)
	docs := filepath.Join(s.dir, "docs")
	if err := os.Mkdir(docs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(docs, "hello.txt"), []byte("hello from a stdio server"), 0o644); err != nil {
		t.Fatal(err)
	}
	const secret = "stdio-env-secret-41c7"
	if err := os.WriteFile(filepath.Join(s.dir, "stdio-secret"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	server := func(pkg string) string {
		return filepath.Join(ts, "node_modules", "@modelcontextprotocol", pkg, "dist", "index.js")
	}
	s.reload(func() {
		s.config.Connectors = append(s.config.Connectors,
			harness.Connector{Name: "fs", Command: []string{"node", server("server-filesystem"), docs},
				Extra: "limits: {memory: 1GiB, open_files: 512, request_timeout: 3s}"},
			harness.Connector{Name: "memory", Command: []string{"node", server("server-memory")},
				Extra: fmt.Sprintf("env: {MEMORY_FILE_PATH: %q, E2E_SECRET: \"${file:stdio-secret}\"}\nlimits: {request_timeout: 3s}", filepath.Join(s.dir, "memory.jsonl"))})
		s.writeConfig(harness.VirtualServer{Name: "local", Connectors: []string{"fs", "memory"}})
	})

	cs := connect(t, s.url("local"), s.token("alice", "local"))
	// A cold node start took 11 s on a loaded CI machine, and the aggregator rests a connector
	// that failed (503 while starting) with growing pauses: allow for both.
	harness.Eventually(t, 2*time.Minute, func() error {
		names, err := listTools(cs)
		if err != nil {
			return err
		}
		for _, want := range []string{"fs__read_text_file", "fs__list_directory", "memory__create_entities", "memory__read_graph"} {
			if !slices.Contains(names, want) {
				return fmt.Errorf("tools/list lacks %s: %v", want, names)
			}
		}
		return nil
	})

	if got := toolText(t, callTool(t, cs, "fs__read_text_file", map[string]any{"path": filepath.Join(docs, "hello.txt")})); got != "hello from a stdio server" {
		t.Errorf("fs__read_text_file: %q", got)
	}
	callTool(t, cs, "memory__create_entities", map[string]any{"entities": []any{
		map[string]any{"name": "vmcp", "entityType": "project", "observations": []string{"bridges stdio servers"}},
	}})
	if got := toolText(t, callTool(t, cs, "memory__read_graph", map[string]any{})); !strings.Contains(got, "bridges stdio servers") {
		t.Errorf("memory__read_graph after create_entities: %s", got)
	}
	out := s.vmcp.Output()
	if !strings.Contains(out, "Secure MCP Filesystem Server running on stdio") {
		t.Error("the filesystem server's stderr is not in vmcp's log")
	}
	if strings.Contains(out, secret) {
		t.Error("vmcp's log holds a command connector's env secret")
	}

	t.Run("a crashed server is restarted and its tools come back", func(t *testing.T) {
		before := childPid(t, s.vmcp.Pid(), "server-memory")
		if err := syscall.Kill(before, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 90*time.Second, func() error {
			res, err := tryCallTool(cs, "memory__read_graph", map[string]any{})
			if err != nil {
				return err
			}
			if res.IsError {
				return fmt.Errorf("memory__read_graph: %v", res.Content[0])
			}
			// The graph lives in MEMORY_FILE_PATH, so the new process has it too.
			if got := res.Content[0].(*mcp.TextContent).Text; !strings.Contains(got, "bridges stdio servers") {
				return fmt.Errorf("memory__read_graph: %s", got)
			}
			return nil
		})
		if after := childPid(t, s.vmcp.Pid(), "server-memory"); after == before {
			t.Errorf("the memory server still runs as %d", before)
		}
		if names, err := listTools(cs); err != nil || !slices.Contains(names, "memory__create_entities") {
			t.Errorf("tools after the restart: %v, %v", names, err)
		}
		if !strings.Contains(s.vmcp.Output(), "connector process down; restarting") {
			t.Error("vmcp did not log the restart")
		}
	})

	t.Run("a hung server times out with a clear error and is replaced", func(t *testing.T) {
		before := childPid(t, s.vmcp.Pid(), "server-filesystem")
		if err := syscall.Kill(before, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err := tryCallTool(cs, "fs__list_directory", map[string]any{"path": docs})
		if err == nil || !strings.Contains(err.Error(), "connector fs did not answer within 3s") {
			t.Fatalf("a call to the hung server: %v, want vmcp's timeout error", err)
		}
		if took := time.Since(start); took > 15*time.Second {
			t.Errorf("the timeout took %s", took)
		}
		harness.Eventually(t, 90*time.Second, func() error {
			res, err := tryCallTool(cs, "fs__list_directory", map[string]any{"path": docs})
			if err != nil {
				return err
			}
			if got := res.Content[0].(*mcp.TextContent).Text; !strings.Contains(got, "hello.txt") {
				return fmt.Errorf("fs__list_directory: %s", got)
			}
			return nil
		})
		if childPid(t, s.vmcp.Pid(), "server-filesystem") == before {
			t.Error("the hung server was not replaced")
		}
	})

	t.Run("stopping vmcp stops its servers", func(t *testing.T) {
		pids := []int{childPid(t, s.vmcp.Pid(), "server-filesystem"), childPid(t, s.vmcp.Pid(), "server-memory")}
		s.vmcp.Stop()
		if n := strings.Count(s.vmcp.Output(), "connector process stopped"); n != 2 {
			t.Errorf("%d servers logged a clean stop, want 2", n)
		}
		harness.Eventually(t, 10*time.Second, func() error {
			for _, p := range pids {
				if syscall.Kill(p, 0) == nil && !zombie(p) {
					return fmt.Errorf("server process %d is still running", p)
				}
			}
			return nil
		})
	})
}

// childPid finds the one running process below root whose command line contains name.
func childPid(t *testing.T, root int, name string) int {
	t.Helper()
	var found int
	harness.Eventually(t, 30*time.Second, func() error {
		parent := map[int]int{}
		entries, err := os.ReadDir("/proc")
		if err != nil {
			return err
		}
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if state, ppid, ok := procStat(pid); ok && state != "Z" {
				parent[pid] = ppid
			}
		}
		var matches []int
		for pid := range parent {
			below := false
			for p := parent[pid]; p > 1 && !below; p = parent[p] {
				below = p == root
			}
			if !below {
				continue
			}
			cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
			if strings.Contains(string(cmdline), name) {
				matches = append(matches, pid)
			}
		}
		if len(matches) != 1 {
			return fmt.Errorf("%d processes named %s below %d: %v", len(matches), name, root, matches)
		}
		found = matches[0]
		return nil
	})
	return found
}

// zombie reports whether pid has exited and waits only to be reaped (or is gone).
func zombie(pid int) bool {
	state, _, ok := procStat(pid)
	return !ok || state == "Z"
}

// procStat reads a process's state and parent from /proc/PID/stat: "pid (comm) state ppid …",
// where comm may hold spaces and parentheses.
func procStat(pid int) (state string, ppid int, ok bool) {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 2 {
		return "", 0, false
	}
	ppid, _ = strconv.Atoi(fields[1])
	return fields[0], ppid, true
}
