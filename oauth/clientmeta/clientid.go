package clientmeta

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// MaxURLLength bounds the client_id and every URL in a document. The drafts set no limit; 2048
// is far above any real client_id and keeps cache keys and error messages small.
const MaxURLLength = 2048

// IsURLClientID reports whether clientID is in URL form, so the authorization server resolves it
// with Fetch rather than looking it up among registered clients. It only looks at the scheme
// (http:// or https://, in any case) and does not validate: Fetch does, so an "http://" or
// malformed client_id gets a clear refusal instead of "unknown client". CIMD-02 §7.1: an
// authorization server that also issues its own client_ids SHOULD make sure they never start
// with https://, which is what makes this test sound; vmcp's are random tokens.
func IsURLClientID(clientID string) bool {
	return hasPrefixFold(clientID, "https://") || hasPrefixFold(clientID, "http://")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// ValidateClientID checks clientID against the Client Identifier URL rules; a nil error means
// Fetch may request it (the address is still checked when the connection is made).
func ValidateClientID(clientID string) error {
	if err := checkClientID(clientID); err != nil {
		return fmt.Errorf("%w %q: %s", ErrInvalidClientID, truncate(clientID), err)
	}
	return nil
}

// reason is an error without a class; the caller adds the class and the subject.
type reason string

func (r reason) Error() string { return string(r) }

func checkClientID(id string) error {
	if id == "" {
		return reason("empty")
	}
	if len(id) > MaxURLLength {
		return reason(fmt.Sprintf("longer than %d bytes", MaxURLLength))
	}
	if err := checkURLChars(id); err != nil {
		return err
	}
	// CIMD-00 §3: MUST have an "https" scheme.
	if !strings.HasPrefix(id, "https://") {
		return reason("must start with https://")
	}
	// CIMD-00 §3: MUST NOT contain a fragment. Checked on the string: "https://a/b#" has an
	// empty fragment that net/url does not report.
	if strings.Contains(id, "#") {
		return reason("must not contain a fragment")
	}
	// CIMD-00 §3 says SHOULD NOT contain a query; vmcp refuses one. A query lets one document
	// appear under endless client_ids (each a separate cache entry and fetch), and the client_id
	// is shown to the user, where a query only adds room for deception.
	if strings.Contains(id, "?") {
		return reason("must not contain a query")
	}
	u, err := url.Parse(id)
	if err != nil {
		return reason("not a URL")
	}
	// CIMD-00 §3: MUST NOT contain a username or password.
	if u.User != nil || strings.Contains(u.Host, "@") {
		return reason("must not contain a username or password")
	}
	if u.Hostname() == "" {
		return reason("has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return reason("has an invalid port")
		}
	}
	// CIMD-00 §3: MUST contain a path component. CIMD-02 §3 calls a bare "/" NOT RECOMMENDED (it
	// would claim the whole origin's root document); vmcp refuses it.
	path := u.EscapedPath()
	if path == "" || path == "/" {
		return reason("must have a path, e.g. https://example.com/client.json")
	}
	// CIMD-00 §3: MUST NOT contain single-dot or double-dot path segments. Percent-encoded dots
	// count too: a server that decodes before normalising would resolve them.
	for _, seg := range strings.Split(path, "/") {
		dec, err := url.PathUnescape(seg)
		if err != nil {
			return reason("has an invalid percent-encoding")
		}
		if dec == "." || dec == ".." {
			return reason("must not contain . or .. path segments")
		}
	}
	// CIMD-00 §4.1 compares client_ids by simple string comparison (RFC 3986 §6.2.1). Requiring
	// the string to be exactly how net/url spells it back refuses every second spelling of the
	// same URL that the parser would quietly rewrite.
	if u.String() != id {
		return reason("is not in canonical form")
	}
	return nil
}

// checkURLChars admits printable ASCII without spaces (RFC 3986 §2: a URI is ASCII). A backslash
// is refused as well: browsers and WHATWG parsers read it as "/", net/url does not, and that
// disagreement is how a host check is bypassed.
func checkURLChars(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return reason("contains a space, control or non-ASCII character")
		}
		if s[i] == '\\' {
			return reason("contains a backslash")
		}
	}
	return nil
}

// truncate bounds how much of an untrusted string an error quotes, cutting on a rune boundary.
func truncate(s string) string {
	const max = 120
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
