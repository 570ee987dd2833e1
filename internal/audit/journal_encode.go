package audit

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendEvent appends ev as one JSON line, as encoding/json would write it (the same field
// names, omitempty as tagged), without reflection: it runs on the request path for every event.
// Arguments other than the keys mode's all-null map go through encoding/json. It reports false,
// with b unchanged, for anything it does not write exactly as encoding/json would (a string
// that is not valid UTF-8), and the caller falls back to encoding/json.
func appendEvent(b []byte, ev *Event) ([]byte, bool) {
	start := len(b)
	ok := true
	str := func(key, v string, omitEmpty bool) {
		if v == "" && omitEmpty {
			return
		}
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		b, ok = appendJSONString(b, v, ok)
	}
	num := func(key string, v int64) {
		if v == 0 {
			return
		}
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		b = strconv.AppendInt(b, v, 10)
	}
	b = append(b, `{"id":`...)
	b, ok = appendJSONString(b, ev.ID, ok)
	b = append(b, `,"time":"`...)
	b = ev.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	str("kind", string(ev.Kind), false)
	str("request_id", ev.RequestID, true)
	str("sub", ev.Subject, true)
	str("email", ev.Email, true)
	str("client_id", ev.ClientID, true)
	str("virtual_server", ev.VirtualServer, true)
	str("connector", ev.Connector, true)
	str("method", ev.Method, true)
	str("target", ev.Target, true)
	str("decision", ev.Decision, true)
	str("policy", ev.Policy, true)
	str("reason", ev.Reason, true)
	str("policy_revision", ev.PolicyRevision, true)
	str("decision_id", ev.DecisionID, true)
	str("outcome", ev.Outcome, true)
	num("error_code", int64(ev.ErrorCode))
	num("upstream_status", int64(ev.UpstreamStatus))
	num("latency_us", ev.LatencyMicros)
	num("bytes_in", ev.BytesIn)
	num("bytes_out", ev.BytesOut)
	if len(ev.Arguments) > 0 {
		b = append(b, `,"arguments":`...)
		b, ok = appendArguments(b, ev.Arguments, ok)
	}
	if !ok || ev.Time.Year() < 0 || ev.Time.Year() > 9999 {
		return b[:start], false
	}
	return append(b, '}', '\n'), true
}

// appendArguments writes the keys mode's map (every value null) by hand, and anything else
// with encoding/json. Key order does not matter to a reader.
func appendArguments(b []byte, args map[string]any, ok bool) ([]byte, bool) {
	for _, v := range args {
		if v != nil {
			raw, err := json.Marshal(args)
			if err != nil {
				return b, false
			}
			return append(b, raw...), ok
		}
	}
	b = append(b, '{')
	first := true
	for k := range args {
		if !first {
			b = append(b, ',')
		}
		first = false
		b, ok = appendJSONString(b, k, ok)
		b = append(b, `:null`...)
	}
	return append(b, '}'), ok
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping off; it reports false for
// invalid UTF-8 (encoding/json would replace it; the caller falls back to it).
func appendJSONString(b []byte, s string, ok bool) ([]byte, bool) {
	if !ok {
		return b, false
	}
	b = append(b, '"')
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[last:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			last = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return b, false
		}
		// U+2028 and U+2029 are escaped by encoding/json for JavaScript's sake.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[last:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			last = i
			continue
		}
		i += size
	}
	b = append(b, s[last:]...)
	return append(b, '"'), true
}
