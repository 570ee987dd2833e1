// Command vmcp-load is the load run of `make bench`: in one process tree on loopback it starts
// the example weather connector and ten 100-tool connectors (in this process), vmcp with a real
// Envoy (`vmcp dev`), and go-sdk clients. It measures tools/call directly against the connector
// and through vmcp, tools/list on a 10-connector virtual server cold and cached, and vmcp's
// resident memory with thousands of open sessions; then prints the figures against the request
// path's targets (docs/performance.md). Every phase is bounded in count, and the whole run by -timeout.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vmcp-dev/vmcp/examples/connectors/weather"
)

func main() {
	vmcpBin := flag.String("vmcp", "bin/vmcp", "the vmcp binary to run (`vmcp dev`; Envoy from ENVOY_BIN or as vmcp finds it)")
	clients := flag.Int("clients", 8, "concurrent MCP clients in the throughput phase")
	calls := flag.Int("calls", 4000, "tools/call requests in the throughput phase, each way")
	seqCalls := flag.Int("latency-calls", 1000, "tools/call requests by one client in the latency phase, each way")
	lists := flag.Int("lists", 50, "cached tools/list requests on the 10-connector virtual server")
	sessions := flag.Int("sessions", 10000, "sessions of distinct users opened for the memory measurement, of each kind")
	timeout := flag.Duration("timeout", 4*time.Minute, "bound on the whole run")
	traced := flag.Bool("tracing", false, "run vmcp and Envoy with tracing on, every request sampled, exporting to an OTLP/gRPC receiver in this process that counts the spans and keeps none: what tracing costs")
	profile := flag.String("profile", "", "write a CPU profile of vmcp under 8-client tools/call load through it (10 s) to this file, of this process to FILE.load, and vmcp's heap after the sessions to FILE.heap")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := loadRun(ctx, os.Stdout, *vmcpBin, *clients, *calls, *seqCalls, *lists, *sessions, *profile, *traced); err != nil {
		fmt.Fprintln(os.Stderr, "vmcp-load:", err)
		os.Exit(1)
	}
}

// Sizes of the wide virtual server.
const (
	wideConnectors = 10
	wideTools      = 100
)

// toolServer is a connector with n tools, each answering with a short text.
func toolServer(name string, n int) http.Handler {
	srv := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, nil)
	for i := range n {
		srv.AddTool(&mcp.Tool{
			Name:        fmt.Sprintf("tool_%d", i),
			Description: "Does one thing with the given query and returns what it found, as text.",
			InputSchema: map[string]any{"type": "object", "properties": map[string]any{"query": map[string]any{"type": "string", "description": "What to look for."}}},
		}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "found it"}}}, nil
		})
	}
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
}

// figure is one row of the report.
type figure struct {
	name, value, target, result string
}

func check(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

// perCall is d shared among n calls, in milliseconds.
func perCall(d time.Duration, n int) string { return ms(d / time.Duration(max(n, 1))) }

// perCallCount is n shared among calls (each client's connection requests add a little).
func perCallCount(n, calls int) float64 { return float64(n) / float64(max(calls, 1)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

func loadRun(ctx context.Context, out *os.File, vmcpBin string, clients, calls, seqCalls, lists, sessions int, profile string, traced bool) error {
	// A 2026-07-28 connector, as the go-sdk clients are: its calls take the connector's direct
	// route (docs/design.md, "The filter chain").
	weatherAddr, err := serve(weather.New(weather.Options{Stateless: true}))
	if err != nil {
		return err
	}
	wide, names := map[string]string{}, []string{}
	for i := range wideConnectors {
		n := fmt.Sprintf("c%d", i)
		if wide[n], err = serve(toolServer(n, wideTools)); err != nil {
			return err
		}
		names = append(names, n)
	}
	var spans *spanCounter
	if traced {
		if spans, err = startSpanCounter(); err != nil {
			return err
		}
		defer spans.stop()
	}
	loadAvgAtStart := loadAvg()
	started := time.Now()
	sys, err := startSystem(vmcpBin, weatherAddr, wide, names, spans.address())
	if err != nil {
		return err
	}
	defer sys.stop()
	fmt.Fprintf(out, "vmcp and Envoy ready in %s\n", time.Since(started).Round(time.Millisecond))
	m, err := sys.minter(ctx)
	if err != nil {
		return err
	}
	defer m.db.Close()
	loadToken, err := m.token("alice", "load")
	if err != nil {
		return err
	}
	wideToken, err := m.token("alice", "wide")
	if err != nil {
		return err
	}
	direct, via := "http://"+weatherAddr+"/mcp", sys.url("load")
	args := map[string]any{"value": 21.5, "from": "C", "to": "F"}
	var figs []figure

	// Latency: one client, calls one after another, so that added latency is vmcp's and Envoy's
	// work rather than queueing.
	seqDirect, err := callLoad(ctx, direct, "", "convert_temperature", args, 1, seqCalls, 50)
	if err != nil {
		return fmt.Errorf("latency, direct: %w", err)
	}
	seqVia, err := callLoad(ctx, via, loadToken, "weather__convert_temperature", args, 1, seqCalls, 50)
	if err != nil {
		return fmt.Errorf("latency, through vmcp: %w\n%s", err, sys.output())
	}
	p50, p99 := seqVia.pct(50)-seqDirect.pct(50), seqVia.pct(99)-seqDirect.pct(99)
	figs = append(figs,
		figure{"tools/call 1 client direct min / p50 / p99", ms(seqDirect.pct(0)) + " / " + ms(seqDirect.pct(50)) + " / " + ms(seqDirect.pct(99)), "", ""},
		figure{"tools/call 1 client via vmcp min / p50 / p99", ms(seqVia.pct(0)) + " / " + ms(seqVia.pct(50)) + " / " + ms(seqVia.pct(99)), "", ""},
		figure{"tools/call added latency p50", ms(p50), "<= 1 ms", check(p50 <= time.Millisecond)},
		figure{"tools/call added latency p99", ms(p99), "<= 2 ms", check(p99 <= 2*time.Millisecond)},
	)

	// Throughput: clients concurrent clients.
	selfDirect0 := selfCPU()
	thrDirect, err := callLoad(ctx, direct, "", "convert_temperature", args, clients, calls, 10)
	if err != nil {
		return fmt.Errorf("throughput, direct: %w", err)
	}
	selfDirect1 := selfCPU()
	directCalls := thrDirect.calls + thrDirect.errors + 10*clients
	// The same through an Envoy that only proxies: the floor of any Envoy-based gateway.
	bare, err := measureBare(ctx, weatherAddr, args, clients, calls, seqCalls)
	if err != nil {
		return err
	}

	vmcp0, envoy0, err := sys.cpuTimes()
	if err != nil {
		return err
	}
	self0 := selfCPU()
	checks0, msgs0, err := sys.roundTrips()
	if err != nil {
		return err
	}
	thrVia, err := callLoad(ctx, via, loadToken, "weather__convert_temperature", args, clients, calls, 10)
	if err != nil {
		return fmt.Errorf("throughput, through vmcp: %w", err)
	}
	vmcp1, envoy1, err := sys.cpuTimes()
	if err != nil {
		return err
	}
	self1 := selfCPU()
	checks1, msgs1, err := sys.roundTrips()
	if err != nil {
		return err
	}
	viaCalls := thrVia.calls + thrVia.errors + 10*clients
	ratio := thrVia.throughput() / thrDirect.throughput()
	figs = append(figs,
		figure{fmt.Sprintf("tools/call %d clients direct", clients), fmt.Sprintf("%.0f calls/s, p50 %s, p99 %s, %d errors", thrDirect.throughput(), ms(thrDirect.pct(50)), ms(thrDirect.pct(99)), thrDirect.errors), "", ""},
		figure{fmt.Sprintf("tools/call %d clients via vmcp", clients), fmt.Sprintf("%.0f calls/s, p50 %s, p99 %s, %d errors", thrVia.throughput(), ms(thrVia.pct(50)), ms(thrVia.pct(99)), thrVia.errors), "", ""},

		figure{"throughput ratio via/direct", fmt.Sprintf("%.2f", ratio), ">= 0.45", check(ratio >= 0.45 && thrVia.errors == 0)},
		// Processor time per routed call (the warm-up calls included) of each process: what
		// the gateway costs, however busy the machine.
		figure{"processor time per tools/call via vmcp: vmcp / Envoy / clients + connector", perCall(vmcp1-vmcp0, viaCalls) + " / " + perCall(envoy1-envoy0, viaCalls) + " / " + perCall(self1-self0, viaCalls), "", ""},
		// Counted by Envoy: the session's other requests (discover, the warm-up) included.
		figure{"round trips to vmcp per tools/call: ext_authz checks / ext_proc messages", fmt.Sprintf("%.2f / %.2f", perCallCount(checks1-checks0, viaCalls), perCallCount(msgs1-msgs0, viaCalls)), "1 / 1", check(perCallCount(checks1-checks0, viaCalls) <= 1.05 && perCallCount(msgs1-msgs0, viaCalls) <= 1.05)},
		figure{"gateway processor time per tools/call (vmcp + its Envoy)", perCall(vmcp1-vmcp0+envoy1-envoy0, viaCalls), "<= 0.8 ms", check((vmcp1-vmcp0+envoy1-envoy0)/time.Duration(max(viaCalls, 1)) <= 800*time.Microsecond)},
		figure{"processor time per tools/call direct: clients + connector", perCall(selfDirect1-selfDirect0, directCalls), "", ""},
		figure{"tools/call 1 client via bare Envoy (router only) min / p50 / p99", ms(bare.seq.pct(0)) + " / " + ms(bare.seq.pct(50)) + " / " + ms(bare.seq.pct(99)), "", ""},
		figure{fmt.Sprintf("tools/call %d clients via bare Envoy", clients), fmt.Sprintf("%.0f calls/s (ratio %.2f), p50 %s, p99 %s, %d errors", bare.thr.throughput(), bare.thr.throughput()/thrDirect.throughput(), ms(bare.thr.pct(50)), ms(bare.thr.pct(99)), bare.thr.errors), "", ""},
		figure{"processor time per tools/call via bare Envoy: Envoy / clients + connector", perCall(bare.envoyCPU, bare.calls) + " / " + perCall(bare.selfCPU, bare.calls), "", ""},
	)

	if profile != "" {
		if err := profileCalls(ctx, sys, profile, via, loadToken, "weather__convert_temperature", args, clients); err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		fmt.Fprintf(out, "CPU profile of vmcp under load: %s (go tool pprof %s)\n", profile, profile)
	}

	cold, tools, err := coldList(ctx, sys.url("wide"), wideToken)
	if err != nil {
		return fmt.Errorf("tools/list: %w", err)
	}
	// Cached lists are timed with plain HTTP posts: the go-sdk client keeps lists itself, and
	// decoding a thousand tools would be the client's cost, not vmcp's.
	cached, err := rawLists(ctx, sys.url("wide"), wideToken, lists)
	if err != nil {
		return err
	}
	figs = append(figs,
		figure{fmt.Sprintf("tools/list %dx%d tools cold (go-sdk client; first page: %d tools)", wideConnectors, wideTools, tools), ms(cold), "", ""},
		figure{"tools/list cached, plain HTTP p50 / p99", ms(cached.pct(50)) + " / " + ms(cached.pct(99)), "", ""},
	)

	// Memory: vmcp's resident set before and after sessions of distinct users, each opened
	// with one call. Sealed session ids keep nothing in vmcp; what remains is per-user state
	// (the token cache) and, for session-less clients, the connector session vmcp keeps.
	baseHeap, err := sys.heapInuse()
	if err != nil {
		return err
	}
	base, err := sys.rssKiB()
	if err != nil {
		return err
	}
	figs = append(figs, figure{"vmcp no sessions (after the runs above)", fmt.Sprintf("RSS %d KiB, heap in use %d KiB", base, baseHeap>>10), "", ""})
	body := callBody("weather__convert_temperature", args)
	for _, kind := range []struct {
		name      string
		stateless bool
	}{{"initialize + 1 call", false}, {"session-less, 1 call", true}} {
		toks := make([]string, sessions)
		for i := range toks {
			if toks[i], err = m.token(fmt.Sprintf("user-%t-%d", kind.stateless, i), "load"); err != nil {
				return err
			}
		}
		t0 := time.Now()
		failed, err := openSessions(ctx, via, toks, 4*clients, body, kind.stateless)
		if failed > sessions/20 {
			return fmt.Errorf("%d sessions (%s): %w", sessions, kind.name, err)
		}
		if err != nil {
			fmt.Fprintf(out, "sessions (%s): %d of %d failed; the first %v\n", kind.name, failed, sessions, err)
		}
		heap, err := sys.heapInuse()
		if err != nil {
			return err
		}
		rss, err := sys.rssKiB()
		if err != nil {
			return err
		}
		opened := sessions - failed
		per := float64(rss-base) * 1024 / float64(opened)
		figs = append(figs, figure{fmt.Sprintf("vmcp +%d sessions, %s (%s)", sessions, kind.name, time.Since(t0).Round(time.Second)),
			fmt.Sprintf("RSS %d KiB: %.0f B/session; heap in use %d KiB: %.0f B/session", rss, per, heap>>10, float64(heap-baseHeap)/float64(opened)),
			"<= 2048 B/session (RSS)", check(per <= 2048)})
		base, baseHeap = rss, heap
	}

	if profile != "" {
		// What the sessions above left in vmcp's heap, by allocation site.
		if err := fetchProfile(sys, "heap?gc=1", profile+".heap"); err != nil {
			return fmt.Errorf("heap profile: %w", err)
		}
		fmt.Fprintf(out, "heap profile of vmcp after the sessions: %s.heap\n", profile)
	}

	if spans != nil {
		figs = append(figs, figure{"spans exported (tracing on): Envoy / vmcp", fmt.Sprintf("%d / %d", spans.envoy.Load(), spans.vmcp.Load()), "", ""})
	}
	// Other work on the machine shows in every latency above; say how busy it was.
	figs = append(figs, figure{"load average (1 min) at start / end", loadAvgAtStart + " / " + loadAvg(), "", ""})
	for _, r := range []struct {
		name string
		run  run
	}{{"1 client direct", seqDirect}, {"1 client via vmcp", seqVia}, {"direct", thrDirect}, {"via vmcp", thrVia}} {
		if r.run.errors > 0 {
			fmt.Fprintf(out, "tools/call %s: %d errors; the first %s\n", r.name, r.run.errors, r.run.firstErr)
		}
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "load run\tmeasured\ttarget\tresult")
	for _, f := range figs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.name, f.value, f.target, f.result)
	}
	return tw.Flush()
}

// loadAvg is the machine's 1-minute load average, from /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
