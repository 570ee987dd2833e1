// Command benchtable reads `go test -bench -benchmem` output on stdin and prints one table of
// the benchmarks: ns/op, allocs/op, the performance target where docs/performance.md sets one, and whether
// it was met. `make bench` pipes the request-path benchmarks through it.
//
// Targets are judged on processor time per operation (cpu-ns/op, reported by internal/cputime)
// when a benchmark reports it, else on ns/op: on a shared 2-core machine other processes stretch
// wall-clock time several times over, while processor time counts this code's work (the garbage
// collector's included) and nothing else. A benchmark run several times (-count) is reported by
// its fastest run, for the same reason.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// target is an upper bound on ns/op for the benchmarks whose name matches.
type target struct {
	name  *regexp.Regexp
	limit time.Duration
}

// targets are the request path's server-side budgets (docs/performance.md), on the 2-core build
// machine, and tool search's: one search_tools ranking over 1,000 tools.
var targets = []target{
	{regexp.MustCompile(`^authz\.BenchmarkCheck/cached$`), 50 * time.Microsecond},
	{regexp.MustCompile(`^authz\.BenchmarkCheck/uncached$`), 200 * time.Microsecond},
	{regexp.MustCompile(`^session\.BenchmarkSealOpen$`), 5 * time.Microsecond},
	{regexp.MustCompile(`^aggregator\.BenchmarkToolsList$`), 3 * time.Millisecond},
	{regexp.MustCompile(`^toolsearch\.BenchmarkSearch1000Tools$`), time.Millisecond},
}

// result is one benchmark line.
type result struct {
	name    string // package base name "." benchmark name, without the GOMAXPROCS suffix
	nsPerOp float64
	cpuNs   float64 // cpu-ns/op; 0 when not reported
	allocs  int64   // -1 when the line has no allocs/op
	runs    int     // lines read for this benchmark; nsPerOp is the fastest
}

// benchLine matches "BenchmarkX/sub-2   1000   1234 ns/op   56 B/op   7 allocs/op".
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:.*?\s(\d+) allocs/op)?`)

// cpuMetric finds internal/cputime's metric in a benchmark line.
var cpuMetric = regexp.MustCompile(`\s([\d.]+) cpu-ns/op`)

// parse reads benchmark results, naming each by the package of the last "pkg:" line.
func parse(r io.Reader) ([]result, error) {
	var out []result
	pkg := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = p[strings.LastIndex(p, "/")+1:]
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ns, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", line, err)
		}
		allocs := int64(-1)
		if m[3] != "" {
			allocs, _ = strconv.ParseInt(m[3], 10, 64)
		}
		r := result{name: pkg + "." + m[1], nsPerOp: ns, allocs: allocs, runs: 1}
		if c := cpuMetric.FindStringSubmatch(line); c != nil {
			r.cpuNs, _ = strconv.ParseFloat(c[1], 64)
		}
		if i := slices.IndexFunc(out, func(o result) bool { return o.name == r.name }); i >= 0 {
			prev := out[i]
			r.runs += prev.runs
			if prev.nsPerOp < r.nsPerOp {
				r.nsPerOp, r.allocs = prev.nsPerOp, prev.allocs
			}
			if prev.cpuNs > 0 && (r.cpuNs == 0 || prev.cpuNs < r.cpuNs) {
				r.cpuNs = prev.cpuNs
			}
			out[i] = r
			continue
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// judged is the figure a target applies to: processor time when reported, else wall-clock time.
func (r result) judged() float64 {
	if r.cpuNs > 0 {
		return r.cpuNs
	}
	return r.nsPerOp
}

// verdict is the target column and the pass/fail column of r.
func verdict(r result) (string, string) {
	for _, t := range targets {
		if t.name.MatchString(r.name) {
			if time.Duration(r.judged()) <= t.limit {
				return "<= " + t.limit.String(), "pass"
			}
			return "<= " + t.limit.String(), "FAIL"
		}
	}
	return "-", "-"
}

// render writes the table and returns how many targets were missed.
func render(w io.Writer, results []result) (missed int, err error) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "benchmark\twall/op\tcpu/op\tallocs/op\truns\ttarget (cpu/op)\tresult\t")
	for _, r := range results {
		tgt, res := verdict(r)
		if res == "FAIL" {
			missed++
		}
		allocs := "-"
		if r.allocs >= 0 {
			allocs = strconv.FormatInt(r.allocs, 10)
		}
		cpu := "-"
		if r.cpuNs > 0 {
			cpu = round(time.Duration(r.cpuNs)).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t\n", r.name, round(time.Duration(r.nsPerOp)), cpu, allocs, r.runs, tgt, res)
	}
	return missed, tw.Flush()
}

// round keeps three significant digits or so: 15.3µs, 2.41ms.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d >= time.Microsecond:
		return d.Round(100 * time.Nanosecond)
	}
	return d
}

func main() {
	results, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(2)
	}
	if len(results) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark results on stdin (did go test fail?)")
		os.Exit(2)
	}
	missed, err := render(os.Stdout, results)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(2)
	}
	fmt.Printf("%d benchmarks, %d targets missed\n", len(results), missed)
}
