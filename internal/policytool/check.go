package policytool

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"

	"github.com/vmcp-dev/vmcp/internal/linediff"
)

// Check compiles every .rego file under dirs (tests included) with OPA's strict compiler — unused
// imports and variables, deprecated built-ins and shadowed names are errors — and compares each
// file with what `opa fmt` makes of it, printing a diff for each file that differs.
func Check(w io.Writer, dirs ...string) error {
	files, err := regoFiles(dirs)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no .rego files in %v", dirs)
	}
	modules := map[string]*ast.Module{}
	var problems []string
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(f, string(src), ast.ParserOptions{ProcessAnnotation: true})
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		modules[f] = m
		formatted, err := format.SourceWithOpts(f, src, format.Opts{})
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: opa fmt: %v", f, err))
			continue
		}
		if !bytes.Equal(formatted, src) {
			problems = append(problems, fmt.Sprintf("%s: not formatted as opa fmt does (run opa fmt -w):\n%s", f, Diff(string(src), string(formatted))))
		}
	}
	c := ast.NewCompiler().WithStrict(true).WithEnablePrintStatements(false)
	if c.Compile(modules); c.Failed() {
		for _, e := range c.Errors {
			problems = append(problems, e.Error())
		}
	}
	for _, p := range problems {
		fmt.Fprintln(w, p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problems in %d Rego files", len(problems), len(files))
	}
	fmt.Fprintf(w, "%d Rego files: strict compile and opa fmt clean\n", len(files))
	return nil
}

func regoFiles(dirs []string) ([]string, error) {
	var out []string
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.IsDir() && strings.HasSuffix(p, ".rego") {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}

// Diff is a line diff of a and b in unified style ("-" removed, "+" added, two lines of context).
func Diff(a, b string) string {
	lines, err := linediff.Unified(a, b, 2)
	if err != nil {
		return err.Error()
	}
	var sb strings.Builder
	for _, l := range lines {
		if l.Op == "@" {
			continue
		}
		sb.WriteString(l.Op + l.Text + "\n")
	}
	return sb.String()
}
