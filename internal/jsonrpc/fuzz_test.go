package jsonrpc

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that what it accepts is JSON, and that a parsed
// message re-encodes to one with the same method and id. Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Parse(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse returned %T, want *Error", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("Parse accepted invalid JSON %q", body)
		}
		// Accepted params are read alike by case-sensitive parsers and by encoding/json's
		// case-insensitive field matching: no two keys fold together, none folds to a known key.
		var params map[string]json.RawMessage
		if json.Unmarshal(m.Params, &params) == nil {
			folded := map[string]string{}
			for k := range params {
				if other, ok := folded[foldKey(k)]; ok {
					t.Fatalf("params keys %q and %q fold together in %q", other, k, body)
				}
				folded[foldKey(k)] = k
				for _, known := range paramsKeys {
					if k != known && strings.EqualFold(k, known) {
						t.Fatalf("params key %q folds to %q in %q", k, known, body)
					}
				}
			}
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-marshal: %v", err)
		}
		// Encode writes what json.Marshal writes, but for white space in the raw members.
		if enc := m.Encode(); !json.Valid(enc) || !sameJSON(t, enc, out) {
			t.Fatalf("Encode wrote %s; json.Marshal %s", enc, out)
		}
		if params != nil {
			want, _ := json.Marshal(params)
			if enc := EncodeObject(params); !json.Valid(enc) || !sameJSON(t, enc, want) {
				t.Fatalf("EncodeObject wrote %s; json.Marshal %s", enc, want)
			}
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("re-marshalled message %s does not parse: %v", out, err)
		}
		if again.Method != m.Method {
			t.Fatalf("method %q became %q", m.Method, again.Method)
		}
		if !sameJSON(t, m.ID, again.ID) {
			t.Fatalf("id %s became %s", m.ID, again.ID)
		}
	})
}

func sameJSON(t *testing.T, a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(va, vb)
}

// FuzzCheckStrict compares CheckStrict with encoding/json: whatever CheckStrict accepts must be
// valid JSON, and valid JSON may be refused only for duplicate keys or depth (never as a parse
// error). Seeds: testdata/fuzz/FuzzCheckStrict.
func FuzzCheckStrict(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		err := CheckStrict(body)
		valid := json.Valid(body)
		if err == nil && !valid {
			t.Fatalf("CheckStrict accepted invalid JSON %q", body)
		}
		if err != nil && valid {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidRequest {
				t.Fatalf("CheckStrict called valid JSON %q a parse error: %v", body, err)
			}
		}
	})
}

// FuzzDuplicateKeysAsEncodingJSONSeesThem: an object CheckStrict accepts has as many distinct
// keys, decoded as encoding/json decodes them (escapes, surrogates, invalid UTF-8), as it has
// keys — so a duplicate spelt differently can never slip through.
func FuzzDuplicateKeysAsEncodingJSONSeesThem(f *testing.F) {
	for _, seed := range []string{`"a"`, `"\u0061"`, `"\ud83d\ude00"`, `"\ud83d"`, "\"\xff\"", `"\/"`} {
		f.Add(seed, seed)
	}
	f.Fuzz(func(t *testing.T, k1, k2 string) {
		var s1, s2 string
		if json.Unmarshal([]byte(k1), &s1) != nil || json.Unmarshal([]byte(k2), &s2) != nil || k1[0] != '"' || k2[0] != '"' {
			return // each key must be one JSON string on its own
		}
		body := []byte(`{` + k1 + `:1,` + k2 + `:2}`)
		if !json.Valid(body) {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return
		}
		err := CheckStrict(body)
		if len(m) == 1 && err == nil {
			t.Fatalf("CheckStrict accepted %q, whose two keys encoding/json reads as one", body)
		}
		if len(m) == 2 && err != nil {
			t.Fatalf("CheckStrict refused %q, whose keys encoding/json reads as distinct: %v", body, err)
		}
	})
}
