// Package toolglob matches access.tools patterns against tool names in Go exactly as the default
// vmcp.tools policy does in Rego (glob.match(pattern, null, name)): the same glob library, with no
// delimiters. Tool names may contain "." and "/" (MCP 2025-11-25 "Tool names", SEP-986), so a "*"
// that stopped at either — OPA's default for glob.match(pattern, [], name), path.Match's for "/" —
// would leave "notes__admin.purge" or "notes__admin/purge" outside "notes__*".
package toolglob

import (
	"fmt"

	"github.com/gobwas/glob"
)

// Compile checks pattern and prepares it for matching.
func Compile(pattern string) (*glob.Pattern, error) {
	g, err := glob.Compile(pattern) // no delimiters: "*" spans every character
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	return g, nil
}

// Match reports whether name matches pattern; a pattern that does not compile matches nothing.
func Match(pattern, name string) bool {
	g, err := Compile(pattern)
	return err == nil && g.Match(name)
}
