package routing

// maxToolName is the longest tool name vmcp routes: MCP 2025-11-25 (server/tools, "Tool names")
// says 1 to 128 characters.
const maxToolName = 128

// wellFormedToolName reports whether name uses only the characters MCP tool names are made of:
// ASCII letters, digits, '_', '-', '.' (MCP 2025-11-25) and '/' (SEP-986). Anything else —
// Unicode look-alikes (a Cyrillic "о", fullwidth "＿"), zero-width or other invisible characters,
// white space, control characters — can only be an attempt to slip past a tool policy that
// matches the plain name, or to make the audit trail show one name while a connector that
// normalises names runs another: such a call is refused before any routing.
func wellFormedToolName(name string) bool {
	if name == "" || len(name) > maxToolName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '-', c == '.', c == '/':
		default:
			return false
		}
	}
	return true
}
