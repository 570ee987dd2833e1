package audit_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/store"
)

const crashDirEnv = "VMCP_AUDIT_TEST_CRASH_DIR"

// TestMain lets the test binary be the process that is killed: with crashDirEnv set it records
// events into a recorder over SQLite in that directory, saying after each Record returned
// ("answered") which one it was, until it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		recordUntilKilled(dir)
		return
	}
	os.Exit(m.Run())
}

func recordUntilKilled(dir string) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(dir, "vmcp.db"))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	// The default flush interval: events wait up to 200 ms in memory for the store.
	rec, err := audit.NewRecorder(db, audit.Options{SpillDir: filepath.Join(dir, "spill")}, zap.NewNop(), nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	go rec.Run(ctx)
	// Two calls whose outcome comes later (a direct route's): one never gets it, the other
	// does.
	never := mcpEvent("crash", 0)
	never.RequestID = "pending-never"
	rec.Pending(never)
	done := mcpEvent("crash", 0)
	done.RequestID = "pending-done"
	done.ID = rec.Pending(done).ID
	done.Outcome = audit.OutcomeToolError
	rec.Record(done)
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		rec.Record(mcpEvent("crash", i))
		fmt.Fprintf(out, "answered %d\n", i)
		out.Flush()
		if i%50 == 0 {
			time.Sleep(time.Millisecond) // a steady request rate, not a burst
		}
	}
}

// An event whose Record returned (the request was answered) survives the process being killed
// with SIGKILL: the next Recorder on the same directory replays it, and every event is in the
// store exactly once. So does one given to Pending whose outcome never came, without it; one
// whose outcome came is stored with it.
func TestAnEventRecordedBeforeSIGKILLIsStoredExactlyOnceAfterTheRestart(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	last := -1
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		n, err := strconv.Atoi(strings.TrimPrefix(line, "answered "))
		if err != nil {
			cmd.Process.Kill()
			t.Fatalf("child: %s", line)
		}
		last = n
		if n == 3000 {
			// Killed mid-load, some events stored, the newest ones still in memory.
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			break
		}
	}
	cmd.Wait()
	if last < 3000 {
		t.Fatalf("the child stopped after %d events: %v", last, sc.Err())
	}

	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(dir, "vmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	outcomes := map[string]string{}
	stored := func() map[string]int {
		seen := map[string]int{}
		cursor := ""
		for {
			evs, next, err := db.QueryAuditEvents(ctx, audit.Filter{Subject: "crash", Limit: 1000, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				seen[e.RequestID]++
				outcomes[e.RequestID] = e.Outcome
			}
			if next == "" {
				return seen
			}
			cursor = next
		}
	}
	before := len(stored())
	h := newHarness(t, db, audit.Options{SpillDir: filepath.Join(dir, "spill"), FlushInterval: 2 * time.Millisecond})
	stop := h.run(t)
	missing := func(seen map[string]int) []string {
		var out []string
		for i := 0; i <= last; i++ {
			if seen["crash-"+itoa(i)] == 0 {
				out = append(out, itoa(i))
			}
		}
		return out
	}
	eventually(t, "every answered event to be stored", func() bool { return len(missing(stored())) == 0 })
	stop()
	seen := stored()
	if m := missing(seen); len(m) > 0 {
		t.Fatalf("%d answered events are not in the store after the restart: %v", len(m), m)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s stored %d times", id, n)
		}
	}
	if outcomes["pending-never"] != audit.OutcomeUnknown || outcomes["pending-done"] != audit.OutcomeToolError {
		t.Errorf("calls whose outcome came later: %q (never came), %q (came); want unknown and tool_error", outcomes["pending-never"], outcomes["pending-done"])
	}
	t.Logf("%d of %d answered events were in the store at the kill; the rest came from the journal", before, last+1)
	left, _ := filepath.Glob(filepath.Join(dir, "spill", "*.jsonl"))
	if len(left) != 0 {
		t.Errorf("files left in the spill directory after a clean stop: %v", left)
	}
}
