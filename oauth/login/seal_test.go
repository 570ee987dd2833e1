package login

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSealer(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	otherKey := bytes.Repeat([]byte{8}, 32)
	tests := []struct {
		name    string
		openKey []byte
		purpose string
		alter   func(string) string
		advance time.Duration
		wantOK  bool
	}{
		{name: "a sealed value opens before it expires", openKey: key, purpose: "p", advance: 9 * time.Minute, wantOK: true},
		{name: "a sealed value does not open once expired", openKey: key, purpose: "p", advance: 10 * time.Minute},
		{name: "a value sealed for another purpose does not open", openKey: key, purpose: "q"},
		{name: "a value sealed under another key does not open", openKey: otherKey, purpose: "p"},
		{name: "a value with one character changed does not open", openKey: key, purpose: "p", alter: func(s string) string {
			b := []byte(s)
			b[len(b)/2] ^= 1
			return string(b)
		}},
		{name: "a truncated value does not open", openKey: key, purpose: "p", alter: func(s string) string { return s[:20] }},
		{name: "garbage does not open", openKey: key, purpose: "p", alter: func(string) string { return "%%%not-base64" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newTestClock()
			sealS, err := newSealer(key, clk.now)
			if err != nil {
				t.Fatal(err)
			}
			openS, err := newSealer(tt.openKey, clk.now)
			if err != nil {
				t.Fatal(err)
			}
			sealed := sealS.seal("p", []byte("the payload"), clk.now().Add(loginTTL))
			if strings.Contains(sealed, "payload") {
				t.Fatal("the sealed value shows its payload")
			}
			if tt.alter != nil {
				sealed = tt.alter(sealed)
			}
			clk.advance(tt.advance)
			got, err := openS.open(tt.purpose, sealed)
			if tt.wantOK != (err == nil) {
				t.Fatalf("open: err = %v, want ok = %v", err, tt.wantOK)
			}
			if tt.wantOK && string(got) != "the payload" {
				t.Fatalf("open = %q", got)
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	tests := []struct {
		name    string
		token   func(c csrf) string
		state   string
		advance time.Duration
		want    bool
	}{
		{name: "a token is valid for the state it was made for", token: func(c csrf) string { return c.token("s1") }, state: "s1", want: true},
		{name: "a token is not valid for another state", token: func(c csrf) string { return c.token("s1") }, state: "s2"},
		{name: "a token is not valid after ten minutes", token: func(c csrf) string { return c.token("s1") }, state: "s1", advance: loginTTL},
		{name: "a token made under another key is not valid", token: func(csrf) string {
			return newCSRF(bytes.Repeat([]byte{9}, 32), time.Now).token("s1")
		}, state: "s1"},
		{name: "an empty token is not valid", token: func(csrf) string { return "" }, state: "s1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newTestClock()
			c := newCSRF(bytes.Repeat([]byte{1}, 32), clk.now)
			tok := tt.token(c)
			clk.advance(tt.advance)
			if got := c.valid(tt.state, tok); got != tt.want {
				t.Fatalf("valid = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidState(t *testing.T) {
	tests := []struct {
		name  string
		state string
		want  bool
	}{
		{name: "URL-safe characters are a state", state: "Abc-123_x.y~z", want: true},
		{name: "128 characters are a state", state: strings.Repeat("a", 128), want: true},
		{name: "129 characters are too many", state: strings.Repeat("a", 129)},
		{name: "an empty state is refused", state: ""},
		{name: "markup is refused", state: `a"><script>`},
		{name: "a space is refused", state: "a b"},
		{name: "non-ASCII is refused", state: "é"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validState(tt.state); got != tt.want {
				t.Fatalf("validState(%q) = %v, want %v", tt.state, got, tt.want)
			}
		})
	}
}
