package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Redacted replaces every value that looks like a secret.
const Redacted = "[redacted]"

// The detectors are compiled once; they are immutable and safe for concurrent use.
var (
	// pemRE: a PEM block, or an unterminated one up to the end of the string.
	pemRE = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*-----(?s:.*?)(?:-----END [A-Z0-9 ]*-----|$)`)
	// jwtRE: a JWS (three base64url segments) or JWE (five); the header is a JSON object, so
	// its base64url starts with "ey". Requiring that keeps dotted names (a.b.c) out.
	jwtRE = regexp.MustCompile(`\bey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}`)
	// bearerRE: an RFC 6750 credential; the scheme name is case-insensitive. See bearerToken
	// for which words after "bearer" are taken for tokens.
	bearerRE = regexp.MustCompile(`(?i)\bbearer\s+([^\s"',;]+)`)
	// basicRE: RFC 7617 credentials, base64 of "user:password".
	basicRE = regexp.MustCompile(`(?i)\bbasic\s+([A-Za-z0-9+/]{4,}={0,2})`)
	// userinfoRE: the password in scheme://user:password@host.
	userinfoRE = regexp.MustCompile(`(://[^/\s:@]*):[^/\s@]+@`)
	// keyValueRE: a secret-named key followed by its value inside a string, as in
	// "password=hunter2", "api_key: x" or an embedded JSON object.
	keyValueRE = regexp.MustCompile(`(?i)((?:token|secret|password|passwd|api[-_]?key|authorization|cookie|credential|private[-_]?key|session)[A-Za-z0-9_.-]*"?\s*[:=]\s*"?)[^\s"'&,;]+`)
)

// Limits on what full and keys mode keep, so that recording arguments costs the request path a
// bounded amount of time (redaction is linear, roughly 100 ns per byte at worst) and the store a
// bounded amount of space.
const (
	// maxDepth bounds recursion into nested arguments; deeper values are replaced, not walked.
	maxDepth = 32
	// maxString is the longest string value kept; a longer one is cut and marked.
	maxString = 4096
	// redactMargin is how much beyond maxString is scanned before cutting, so that a secret
	// straddling the cut is still recognised by its whole shape.
	redactMargin = 1024
	// maxKey is the longest argument name kept.
	maxKey = 256
	// argumentBudget bounds the bytes of names and strings kept per event; past it, values
	// become Truncated and further names are left out.
	argumentBudget = 64 << 10
)

// Truncated replaces what is past the limits above.
const Truncated = "[truncated]"

// applyArguments returns the arguments as the mode records them, as a new map: the caller's map
// is never kept or modified, so it may be reused after Record returns.
func applyArguments(mode ArgumentMode, args map[string]any) map[string]any {
	if len(args) == 0 || mode == ArgumentsOff {
		return nil
	}
	w := walker{budget: argumentBudget}
	out := make(map[string]any, len(args))
	for k, v := range args {
		if w.budget <= 0 {
			out[Truncated] = nil
			break
		}
		k = w.key(out, k)
		if mode == ArgumentsKeys {
			out[k] = nil
			continue
		}
		out[k] = w.named(k, v, 0)
	}
	return out
}

// walker copies decoded JSON values with secrets redacted, within a byte budget.
type walker struct {
	budget int
}

// key cleans and shortens an argument name and, when the name itself looks like a secret value
// (a map keyed by token, say), replaces it with a placeholder that does not collide with the
// names in out.
func (w *walker) key(out map[string]any, k string) string {
	if len(k) > maxKey {
		k = prefix(k, maxKey) + "…"
	}
	w.budget -= len(k)
	r := redactString(clean(k), true)
	if r == k {
		return k
	}
	if _, taken := out[r]; !taken {
		return r
	}
	for i := 2; ; i++ {
		c := r + "#" + strconv.Itoa(i)
		if _, taken := out[c]; !taken {
			return c
		}
	}
}

// named redacts the value stored under key.
func (w *walker) named(key string, v any, depth int) any {
	if v != nil && secretName(key) {
		return Redacted
	}
	return w.value(v, depth)
}

// value walks a decoded JSON value, copying it with secret-looking strings replaced.
func (w *walker) value(v any, depth int) any {
	if depth > maxDepth {
		return Redacted
	}
	switch t := v.(type) {
	case nil, bool, int, int32, int64, uint, uint32, uint64:
		return t
	case float64:
		return finite(t)
	case float32:
		return finite(float64(t))
	case json.Number:
		// A json.Number that is not a JSON number would fail every encoding of the event.
		if _, err := json.Marshal(t); err != nil {
			return w.str(string(t))
		}
		return t
	case string:
		return w.str(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			if w.budget <= 0 {
				out[Truncated] = nil
				break
			}
			k = w.key(out, k)
			out[k] = w.named(k, e, depth+1)
		}
		return out
	case []any:
		out := make([]any, 0, len(t))
		for _, e := range t {
			if w.budget <= 0 {
				out = append(out, Truncated)
				break
			}
			out = append(out, w.value(e, depth+1))
		}
		return out
	case json.RawMessage:
		return w.json(t, depth)
	default:
		// Anything else (a typed struct, []string, map[string]string) is walked in its JSON
		// form, which is how it would be stored anyway.
		b, err := json.Marshal(t)
		if err != nil {
			return Redacted
		}
		return w.json(b, depth)
	}
}

// str redacts a string value, cutting it at maxString.
func (w *walker) str(s string) any {
	if w.budget <= 0 {
		return Truncated
	}
	cut := len(s) > maxString
	if cut {
		s = prefix(s, maxString+redactMargin)
	}
	s = redactString(clean(s), true)
	if cut && len(s) > maxString {
		s = prefix(s, maxString) + "…" + Truncated
	}
	w.budget -= len(s)
	return s
}

// prefix is s cut to at most n bytes, at a character boundary.
func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// finite keeps a number JSON can hold; NaN and ±Inf (which JSON cannot) become their names, so
// that the event still encodes.
func finite(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return f
}

func (w *walker) json(b []byte, depth int) any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Redacted
	}
	return w.value(v, depth)
}

// redactString replaces the secret-looking parts of s. withKeyValue adds the "password=…"
// detector, which is right for arguments but too eager for prose we write ourselves (an authz
// reason such as "invalid token: expired").
func redactString(s string, withKeyValue bool) string {
	if len(s) < 8 {
		return s
	}
	// Cheap substring checks decide which detectors run at all; most strings need none.
	var buf [256]byte
	low := lowerASCII(s, buf[:0])
	if bytes.Contains(low, []byte("-----begin")) {
		s = pemRE.ReplaceAllLiteralString(s, Redacted)
	}
	if strings.Contains(s, "ey") && strings.Count(s, ".") >= 2 {
		s = jwtRE.ReplaceAllLiteralString(s, Redacted)
	}
	if bytes.Contains(low, []byte("bearer")) {
		s = bearerRE.ReplaceAllStringFunc(s, bearerToken)
	}
	if bytes.Contains(low, []byte("basic")) {
		s = basicRE.ReplaceAllStringFunc(s, basicCredentials)
	}
	if strings.Contains(s, "://") && strings.Contains(s, "@") {
		s = userinfoRE.ReplaceAllString(s, "${1}:"+Redacted+"@")
	}
	if withKeyValue && strings.ContainsAny(s, ":=") && hasSecretWord(low) {
		s = keyValueRE.ReplaceAllString(s, "${1}"+Redacted)
	}
	return redactBlobs(s)
}

// secretWords are the lower-case words that make a name secret: token, secret, password,
// passwd, api[-_]?key, authorization, cookie, credential, private[-_]?key, session. A key holding
// one of them (apiKey, X-Api-Key, client_secret, session_id) is redacted whatever its value.
var secretWords = [][]byte{[]byte("token"), []byte("secret"), []byte("password"), []byte("passwd"),
	[]byte("apikey"), []byte("api-key"), []byte("api_key"), []byte("authorization"), []byte("cookie"),
	[]byte("credential"), []byte("privatekey"), []byte("private-key"), []byte("private_key"), []byte("session")}

// secretName reports whether s contains one of secretWords in any case. It is a plain scan, not
// a case-insensitive regexp: it runs for every argument name on the request path.
func secretName(s string) bool {
	var buf [128]byte
	return hasSecretWord(lowerASCII(s, buf[:0]))
}

func hasSecretWord(low []byte) bool {
	for _, w := range secretWords {
		if bytes.Contains(low, w) {
			return true
		}
	}
	return false
}

// lowerASCII appends s with ASCII letters in lower case to buf.
func lowerASCII(s string, buf []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}

// bearerToken redacts the token in "Bearer <token>" unless the token is a short plain word:
// real tokens carry digits or punctuation or are long, while prose says "the bearer bonds".
func bearerToken(m string) string {
	sub := bearerRE.FindStringSubmatch(m)
	tok := sub[1]
	if len(tok) < 16 && strings.IndexFunc(tok, func(c rune) bool { return !unicode.IsLetter(c) }) < 0 {
		return m
	}
	return "Bearer " + Redacted
}

// basicCredentials redacts "Basic <base64>" when the base64 decodes to user:password, which
// tells credentials apart from prose ("basic usage").
func basicCredentials(m string) string {
	tok := strings.TrimRight(basicRE.FindStringSubmatch(m)[1], "=")
	b, err := base64.RawStdEncoding.DecodeString(tok)
	if err != nil || !bytes.Contains(b, []byte(":")) {
		return m
	}
	return "Basic " + Redacted
}

// minBlob is the shortest run of base64 or hex characters treated as a key or token.
const minBlob = 32

// redactBlobs replaces long runs of base64/base64url/hex characters that look random: API keys,
// access keys, session secrets, hashes. Missing a key costs more than hiding a long identifier,
// so the test is eager: a hex run with a digit, or a run mixing upper case, lower case and
// digits, or a two-class run (base32, base36) with high per-character entropy. Runs with many
// separators (paths, kebab and snake identifiers) stay.
func redactBlobs(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !isBlobChar(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isBlobChar(s[j]) {
			j++
		}
		if j-i >= minBlob && looksRandom(s[i:j]) {
			if b.Len() == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[last:i])
			b.WriteString(Redacted)
			last = j
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isBlobChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '+' || c == '/' || c == '_' || c == '-' || c == '='
}

// blobEntropy is the per-character Shannon entropy above which a run of only two character
// classes counts as random: random base32/base36 of 32 characters measures about 4.4 bits,
// words with a number in them stay under 4.
const blobEntropy = 4.0

func looksRandom(run string) bool {
	var upper, lower, digit, hexOnly, seps int
	var counts [128]int
	for i := 0; i < len(run); i++ {
		c := run[i]
		counts[c]++
		switch {
		case '0' <= c && c <= '9':
			digit++
			hexOnly++
		case 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F':
			hexOnly++
			if c >= 'a' {
				lower++
			} else {
				upper++
			}
		case 'a' <= c && c <= 'z':
			lower++
		case 'A' <= c && c <= 'Z':
			upper++
		case c == '=':
		default:
			seps++
		}
	}
	n := len(run)
	switch {
	case hexOnly == n && digit > 0:
		return true
	case digit == 0 || seps*10 > n:
		return false
	case upper > 0 && lower > 0:
		return true
	}
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(n)
			h -= p * math.Log2(p)
		}
	}
	return h >= blobEntropy
}
