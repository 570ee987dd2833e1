package audit

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRedactString: whatever text surrounds a token, the token does not survive; redaction is
// idempotent; the result is valid UTF-8 once cleaned.
func FuzzRedactString(f *testing.F) {
	f.Add("curl -H 'Authorization:", "' https://x")
	f.Add("password=", "")
	f.Add("-----BEGIN", "-----END")
	f.Add("", "")
	f.Add("ey.ey.", "....")
	f.Fuzz(func(t *testing.T, before, after string) {
		for _, secret := range []string{testJWT, "Bearer opaque-bearer-value", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"} {
			in := clean(before + " " + secret + " " + after)
			got := redactString(in, true)
			for _, part := range []string{"c2lnbmF0dXJlLWJ5dGVzLWhlcmUtYW5kLW1vcmU", "opaque-bearer-value", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"} {
				if strings.Contains(secret, part) && strings.Contains(got, part) {
					t.Fatalf("redactString(%q) = %q keeps %q", in, got, part)
				}
			}
			if again := redactString(got, true); again != got {
				t.Fatalf("not idempotent: %q → %q → %q", in, got, again)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("invalid UTF-8 from %q", in)
			}
		}
	})
}
