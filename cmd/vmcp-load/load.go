package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/internal/edgeclient"
)

// newTransport is one connection pool sized for n concurrent callers, so the run measures
// requests, not TCP handshakes.
func newTransport(n int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 4*n, 4*n
	return t
}

// connect opens a go-sdk client session on url (with token, when not empty).
func connect(ctx context.Context, url, token string, rt http.RoundTripper) (*mcp.ClientSession, error) {
	if token != "" {
		rt = edgeclient.Bearer{Token: token, Base: rt}
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "vmcp-load", Version: "1"}, nil)
	return client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: rt}}, nil)
}

// run is the outcome of one measured phase.
type run struct {
	calls     int
	errors    int
	firstErr  string // the first failure, to say what the errors were
	elapsed   time.Duration
	latencies []time.Duration // sorted
}

func (r run) throughput() float64 { return float64(r.calls) / r.elapsed.Seconds() }

// pct is the p-th percentile (0 < p ≤ 100) of the successful calls' latencies.
func (r run) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.latencies))*p/100+0.5) - 1
	return r.latencies[max(0, min(i, len(r.latencies)-1))]
}

// callLoad has k go-sdk clients on url call tool (args) total times between them, after warm
// calls each that are not measured. It stops early when ctx ends.
func callLoad(ctx context.Context, url, token, tool string, args map[string]any, k, total, warm int) (run, error) {
	rt := newTransport(k)
	defer rt.CloseIdleConnections()
	sessions := make([]*mcp.ClientSession, k)
	for i := range sessions {
		cs, err := connect(ctx, url, token, rt)
		if err != nil {
			return run{}, fmt.Errorf("connect %s: %w", url, err)
		}
		defer cs.Close()
		sessions[i] = cs
	}
	params := &mcp.CallToolParams{Name: tool, Arguments: args}
	for _, cs := range sessions {
		for range warm {
			if res, err := cs.CallTool(ctx, params); err != nil || res.IsError {
				return run{}, fmt.Errorf("warm-up call of %s at %s: %v %v", tool, url, err, res)
			}
		}
	}
	var next, failed atomic.Int64
	var firstErr atomic.Pointer[string]
	lat := make([][]time.Duration, k)
	var wg sync.WaitGroup
	start := time.Now()
	for i, cs := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) && ctx.Err() == nil {
				t0 := time.Now()
				res, err := cs.CallTool(ctx, params)
				d := time.Since(t0)
				if err != nil || res.IsError {
					failed.Add(1)
					msg := fmt.Sprintf("after %s: %v", d.Round(time.Millisecond), err)
					if err == nil {
						msg = fmt.Sprintf("after %s: tool error %v", d.Round(time.Millisecond), res.Content)
					}
					firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				lat[i] = append(lat[i], d)
			}
		}()
	}
	wg.Wait()
	r := run{elapsed: time.Since(start), errors: int(failed.Load()), latencies: slices.Concat(lat...)}
	if e := firstErr.Load(); e != nil {
		r.firstErr = *e
	}
	r.calls = len(r.latencies)
	slices.Sort(r.latencies)
	return r, ctx.Err()
}

// coldList opens a go-sdk client on url and times its first tools/list, which fans out to every
// connector (their lists are not cached yet); it returns the time and the tools on that page.
func coldList(ctx context.Context, url, token string) (time.Duration, int, error) {
	rt := newTransport(1)
	defer rt.CloseIdleConnections()
	cs, err := connect(ctx, url, token, rt)
	if err != nil {
		return 0, 0, fmt.Errorf("connect %s: %w", url, err)
	}
	defer cs.Close()
	t0 := time.Now()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	return time.Since(t0), len(res.Tools), nil
}

// rawLists times n tools/list requests as plain HTTP posts (no session: the lists are cached),
// which shows vmcp's own cost without a client SDK's decoding of a thousand tools.
func rawLists(ctx context.Context, url, token string, n int) (run, error) {
	rt := newTransport(1)
	defer rt.CloseIdleConnections()
	c := rawClient{http: &http.Client{Transport: rt}, url: url}
	var r run
	start := time.Now()
	for range n {
		t0 := time.Now()
		out, _, err := c.post(ctx, token, "", `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`)
		if err != nil || !strings.Contains(out, `"tools":[`) {
			return run{}, fmt.Errorf("raw tools/list: %v %.200s", err, out)
		}
		r.latencies = append(r.latencies, time.Since(t0))
	}
	r.elapsed, r.calls = time.Since(start), n
	slices.Sort(r.latencies)
	return r, nil
}

// rawClient speaks MCP over plain HTTP requests, for thousands of sessions without a go-sdk
// client (and its goroutines) per session in this process.
type rawClient struct {
	http *http.Client
	url  string
}

// post sends one JSON-RPC message and returns the answer's body and session id header.
func (c rawClient) post(ctx context.Context, token, session, body string) (string, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, strings.NewReader(body))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", "", err
	}
	if resp.StatusCode/100 != 2 {
		return "", "", fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, b)
	}
	return string(b), resp.Header.Get("Mcp-Session-Id"), nil
}

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"vmcp-load","version":"1"}}}`

// openSession is a client that initializes, completes the lifecycle and makes one call, then
// keeps its session (it never sends DELETE). With stateless set it skips initialize and calls
// without a session, as a client of a session-less revision does: vmcp keeps a connector
// session for it.
func (c rawClient) openSession(ctx context.Context, token, callBody string, stateless bool) error {
	sid := ""
	if !stateless {
		var err error
		if _, sid, err = c.post(ctx, token, "", initializeBody); err != nil {
			return fmt.Errorf("initialize: %w", err)
		}
		if sid == "" {
			return fmt.Errorf("initialize: no Mcp-Session-Id")
		}
		if _, _, err := c.post(ctx, token, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil {
			return fmt.Errorf("notifications/initialized: %w", err)
		}
	}
	out, _, err := c.post(ctx, token, sid, callBody)
	if err != nil {
		return fmt.Errorf("tools/call: %w", err)
	}
	if !strings.Contains(out, `"result"`) || strings.Contains(out, `"isError":true`) {
		return fmt.Errorf("tools/call: %.200s", out)
	}
	return nil
}

// openSessions opens one session per token, conc at a time. Failures are counted, not fatal (a
// busy machine times out a few); it gives up when more than 1 in 20 fail, and returns the count
// and the first failure.
func openSessions(ctx context.Context, url string, tokens []string, conc int, callBody string, stateless bool) (int, error) {
	rt := newTransport(conc)
	defer rt.CloseIdleConnections()
	c := rawClient{http: &http.Client{Transport: rt}, url: url}
	var next, failed atomic.Int64
	var first atomic.Pointer[error]
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(tokens)) && ctx.Err() == nil; i = next.Add(1) - 1 {
				if err := c.openSession(ctx, tokens[i], callBody, stateless); err != nil {
					err = fmt.Errorf("session %d: %w", i, err)
					first.CompareAndSwap(nil, &err)
					if failed.Add(1) > int64(len(tokens)/20) {
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	var err error
	if e := first.Load(); e != nil {
		err = *e
	}
	if n := failed.Load(); n > int64(len(tokens)/20) || ctx.Err() != nil {
		return int(n), fmt.Errorf("%d sessions failed, the first: %w", n, err)
	}
	return int(failed.Load()), err
}

// callBody is a raw tools/call request.
func callBody(tool string, args map[string]any) string {
	var b bytes.Buffer
	json.NewEncoder(&b).Encode(map[string]any{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": map[string]any{"name": tool, "arguments": args}})
	return b.String()
}
