package csrf

import (
	"strings"
	"testing"
)

func TestATokenIsValidOnlyForItsBindingAndKey(t *testing.T) {
	key, other := []byte(strings.Repeat("k", 32)), []byte(strings.Repeat("o", 32))
	tok := Token(key, "nonce-1")
	if !Valid(key, "nonce-1", tok) {
		t.Fatal("a token is refused for its own binding")
	}
	for name, ok := range map[string]bool{
		"another binding":   Valid(key, "nonce-2", tok),
		"another key":       Valid(other, "nonce-1", tok),
		"no token":          Valid(key, "nonce-1", ""),
		"garbage":           Valid(key, "nonce-1", "!!not base64!!"),
		"a truncated token": Valid(key, "nonce-1", tok[:len(tok)-2]),
		"an empty binding":  Valid(key, "", Token(key, "")),
	} {
		if ok {
			t.Errorf("%s: accepted", name)
		}
	}
}
