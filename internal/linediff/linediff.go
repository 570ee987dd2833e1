// Package linediff compares two small texts line by line (longest common subsequence) into a
// unified diff, for people reading a proposed configuration change or a policy file that is not
// formatted as opa fmt would.
package linediff

import (
	"fmt"
	"strings"
)

// Line is one line of a unified diff: Op is ' ', '-' or '+' (or '@' for a hunk header).
type Line struct {
	Op   string
	Text string
}

// MaxLines bounds the quadratic LCS table; configuration and policy files are far smaller.
const MaxLines = 5000

// Unified compares two texts line by line (longest common subsequence) and returns the
// changed lines with context lines of context around them, in hunks like `diff -u`.
func Unified(a, b string, context int) ([]Line, error) {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(x) > MaxLines || len(y) > MaxLines {
		return nil, fmt.Errorf("a text of more than %d lines", MaxLines)
	}
	// lcs[i][j] is the LCS length of x[i:] and y[j:].
	lcs := make([][]int32, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type edit struct {
		op         byte
		text       string
		aLine, bLn int
	}
	var edits []edit
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			edits = append(edits, edit{' ', x[i], i, j})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			// Deletions first, as diff -u prints them.
			edits = append(edits, edit{'-', x[i], i, j})
			i++
		default:
			edits = append(edits, edit{'+', y[j], i, j})
			j++
		}
	}
	var out []Line
	for k := 0; k < len(edits); {
		if edits[k].op == ' ' {
			k++
			continue
		}
		// A hunk: from context lines before this change to context lines after the last
		// change that is within 2*context of the previous one.
		start := max(k-context, 0)
		end := k
		for end < len(edits) {
			if edits[end].op != ' ' {
				end++
				continue
			}
			run := end
			for run < len(edits) && edits[run].op == ' ' {
				run++
			}
			if run == len(edits) || run-end > 2*context {
				end = min(end+context, len(edits))
				break
			}
			end = run
		}
		aCount, bCount := 0, 0
		for _, e := range edits[start:end] {
			if e.op != '+' {
				aCount++
			}
			if e.op != '-' {
				bCount++
			}
		}
		out = append(out, Line{Op: "@", Text: fmt.Sprintf("@@ -%d,%d +%d,%d @@", edits[start].aLine+1, aCount, edits[start].bLn+1, bCount)})
		for _, e := range edits[start:end] {
			out = append(out, Line{Op: string(e.op), Text: e.text})
		}
		k = end
	}
	return out, nil
}
