package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

// oversizeCall is a tools/call whose arguments make the body size bytes.
func oversizeCall(size int) []byte {
	head := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes__add_note","arguments":{"title":"t","body":"`
	tail := `"}}}`
	return []byte(head + strings.Repeat("x", size-len(head)-len(tail)) + tail)
}

// postOversize sends body to url, with its Content-Length as MCP clients do.
func postOversize(client *http.Client, url, token string, body []byte) (status int, answer []byte, took time.Duration, err error) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, time.Since(start), err
	}
	defer resp.Body.Close()
	answer, err = io.ReadAll(resp.Body)
	return resp.StatusCode, answer, time.Since(start), err
}

// A body over server.max_request_bytes (4 MiB by default) always gets an immediate 413 with a
// JSON-RPC error — one after another and several at once — never a request left hanging until
// the edge's request timeout (408 after 30 s), and never reaches a connector. Each one is in the
// audit trail.
func TestOversizeBodiesAlwaysGetAnImmediate413(t *testing.T) {
	s := startSystem(t)
	token := s.token("olga", "demo")
	body := oversizeCall(5 << 20)
	// Well under the edge's 30 s request timeout: a hanging request fails here, not there.
	client := &http.Client{Timeout: 10 * time.Second}
	before := len(s.notesSeen.all())
	check := func(name string) error {
		status, answer, took, err := postOversize(client, s.url("demo"), token, body)
		if err != nil {
			return fmt.Errorf("%s: %v after %s", name, err, took.Round(time.Millisecond))
		}
		if code, _ := rpcErrorOf(answer); status != http.StatusRequestEntityTooLarge || code != -32600 {
			return fmt.Errorf("%s: HTTP %d after %s, %.200s; want 413 with a JSON-RPC -32600", name, status, took.Round(time.Millisecond), answer)
		}
		return nil
	}
	const inARow, atOnce, rounds = 30, 6, 3
	sent := 0
	for i := range inARow {
		sent++
		if err := check(fmt.Sprintf("body %d in a row", i)); err != nil {
			t.Error(err)
		}
	}
	for round := range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, atOnce)
		for i := range atOnce {
			sent++
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := check(fmt.Sprintf("round %d, body %d at once", round, i)); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	if after := len(s.notesSeen.all()); after != before {
		t.Errorf("the notes connector received %d of the oversize requests", after-before)
	}
	// One audit event for each, each an error.
	events := s.awaitAudit(t, sent, func(audit.Event) bool { return true }, "--user", "olga", "--kind", "mcp")
	for _, ev := range events {
		if ev.Outcome != "error" || ev.ErrorCode != -32600 {
			t.Errorf("an oversize request was audited as %+v", ev)
			break
		}
	}
	// vmcp is unharmed.
	if status, _, answer := rawRPC(t, s.url("demo"), token, callBody("weather__get_forecast"), nil); status != 200 || !strings.Contains(string(answer), "Oslo") {
		t.Errorf("after the oversize bodies: HTTP %d %s", status, answer)
	}
}
