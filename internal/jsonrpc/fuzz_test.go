package jsonrpc

import (
	"encoding/json"
	"errors"
	"reflect"
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
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-marshal: %v", err)
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
