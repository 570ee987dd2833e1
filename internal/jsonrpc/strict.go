package jsonrpc

import (
	"unicode/utf16"
	"unicode/utf8"
)

// scanner checks one JSON value the way encoding/json would read it — the same grammar, the same
// decoding of keys (escapes, invalid UTF-8 bytes as U+FFFD) — and refuses duplicate keys and
// excessive depth. It is a single pass over the bytes that allocates only for keys it must
// decode, because it runs on every request.
type scanner struct {
	b        []byte
	i        int
	depth    int
	envelope bool
	keyBuf   []byte
}

// objKind says which checks an object's keys get beyond duplicates.
type objKind int

const (
	plainObj    objKind = iota
	envelopeObj         // a message: no key may case-fold to a JSON-RPC member it is not
	paramsObj           // a request's params: no key may case-fold to a known one or to another key
	foldObj             // params' _meta and ref, which vmcp reads with encoding/json: no two keys may case-fold together
)

// childKind is the kind of the object that is the value of key k in an object of kind parent.
func childKind(parent objKind, k string) objKind {
	switch {
	case parent == envelopeObj && k == "params":
		return paramsObj
	case parent == paramsObj && (k == "_meta" || k == "ref"):
		return foldObj
	}
	return plainObj
}

func (s *scanner) syntax() error {
	if s.i >= len(s.b) {
		return Errorf(CodeParseError, "invalid JSON: unexpected end of input")
	}
	return Errorf(CodeParseError, "invalid JSON: syntax error at byte %d", s.i)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) value(kind objKind) error {
	s.ws()
	if s.i >= len(s.b) {
		return s.syntax()
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(kind)
	case c == '[':
		return s.array()
	case c == '"':
		_, err := s.str(false)
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	default:
		return s.syntax()
	}
}

func (s *scanner) enter() error {
	if s.depth >= MaxDepth {
		return Errorf(CodeInvalidRequest, "JSON nested deeper than %d levels", MaxDepth)
	}
	s.depth++
	return nil
}

func (s *scanner) object(kind objKind) error {
	if err := s.enter(); err != nil {
		return err
	}
	s.i++ // {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return nil
	}
	// Most objects are small: a slice beats a map until it grows.
	var keys []string
	var keySet map[string]struct{}
	var folded map[string]string // paramsObj, foldObj: case-folded key → the key as sent
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.syntax()
		}
		k, err := s.str(true)
		if err != nil {
			return err
		}
		dup := false
		if keySet != nil {
			_, dup = keySet[k]
		} else {
			for _, seen := range keys {
				if seen == k {
					dup = true
					break
				}
			}
		}
		if dup {
			return Errorf(CodeInvalidRequest, "duplicate key %q in JSON object", Excerpt(k))
		}
		switch kind {
		case envelopeObj:
			if err := checkEnvelopeKey(k); err != nil {
				return err
			}
		case paramsObj, foldObj:
			if kind == paramsObj {
				if err := checkParamsKey(k); err != nil {
					return err
				}
			}
			if folded == nil {
				folded = map[string]string{}
			}
			f := foldKey(k)
			if other, ok := folded[f]; ok {
				return Errorf(CodeInvalidParams, "params keys %q and %q differ only in case", Excerpt(other), Excerpt(k))
			}
			folded[f] = k
		}
		if keySet != nil {
			keySet[k] = struct{}{}
		} else if keys = append(keys, k); len(keys) > 16 {
			keySet = make(map[string]struct{}, 32)
			for _, seen := range keys {
				keySet[seen] = struct{}{}
			}
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.syntax()
		}
		s.i++
		if err := s.value(childKind(kind, k)); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.syntax()
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return nil
		default:
			return s.syntax()
		}
	}
}

func (s *scanner) array() error {
	if err := s.enter(); err != nil {
		return err
	}
	s.i++ // [
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if err := s.value(plainObj); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.syntax()
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return nil
		default:
			return s.syntax()
		}
	}
}

func (s *scanner) literal(word string) error {
	for j := 0; j < len(word); j++ {
		if s.i >= len(s.b) || s.b[s.i] != word[j] {
			return s.syntax()
		}
		s.i++
	}
	return nil
}

func (s *scanner) number() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) {
		return s.syntax()
	}
	switch {
	case s.b[s.i] == '0':
		s.i++
	case s.b[s.i] >= '1' && s.b[s.i] <= '9':
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
		}
	default:
		return s.syntax()
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.i >= len(s.b) || s.b[s.i] < '0' || s.b[s.i] > '9' {
			return s.syntax()
		}
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.i >= len(s.b) || s.b[s.i] < '0' || s.b[s.i] > '9' {
			return s.syntax()
		}
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
		}
	}
	return nil
}

// str reads a string. When decode is set it returns the string as encoding/json would decode
// it: escapes resolved, each invalid UTF-8 byte and each unpaired surrogate as U+FFFD.
func (s *scanner) str(decode bool) (string, error) {
	s.i++ // opening quote
	start := s.i
	simple := true
	for {
		if s.i >= len(s.b) {
			return "", s.syntax()
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if !decode {
				return "", nil
			}
			if simple {
				return string(raw), nil
			}
			return s.unquote(raw), nil
		case c == '\\':
			simple = false
			s.i++
			if s.i >= len(s.b) {
				return "", s.syntax()
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				s.i++
				for j := 0; j < 4; j++ {
					if s.i >= len(s.b) || !isHex(s.b[s.i]) {
						return "", s.syntax()
					}
					s.i++
				}
			default:
				return "", s.syntax()
			}
		case c < 0x20:
			return "", s.syntax()
		case c >= utf8.RuneSelf:
			simple = false
			s.i++
		default:
			s.i++
		}
	}
}

// unquote decodes a string body already checked by str.
func (s *scanner) unquote(raw []byte) string {
	out := s.keyBuf[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			i++
			switch raw[i] {
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r := rune(hex4(raw[i+1 : i+5]))
				i += 4
				if utf16.IsSurrogate(r) {
					// A high surrogate pairs with a directly following \uXXXX; anything else
					// is U+FFFD, as encoding/json decodes it.
					r2 := utf8.RuneError
					if i+7 <= len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
						r2 = rune(hex4(raw[i+3 : i+7]))
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
			default: // " \ /
				out = append(out, raw[i])
			}
			i++
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			out = utf8.AppendRune(out, r) // RuneError for an invalid byte, as encoding/json
			i += size
		}
	}
	s.keyBuf = out
	return string(out)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hex4(b []byte) int {
	n := 0
	for _, c := range b {
		n <<= 4
		switch {
		case c >= '0' && c <= '9':
			n |= int(c - '0')
		case c >= 'a' && c <= 'f':
			n |= int(c-'a') + 10
		default:
			n |= int(c-'A') + 10
		}
	}
	return n
}
