package console

import "github.com/vmcp-dev/vmcp/internal/linediff"

// diffLine is one line of a unified diff: Op is ' ', '-' or '+' (or '@' for a hunk header).
type diffLine = linediff.Line

func unifiedDiff(a, b string, context int) ([]diffLine, error) {
	return linediff.Unified(a, b, context)
}
