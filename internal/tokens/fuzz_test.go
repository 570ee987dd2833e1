package tokens

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// FuzzVerifySignedClaims signs arbitrary payload bytes with vmcp's own key — the worst case: a
// valid signature over anything — and checks that Verify accepts only claims that are right as
// encoding/json reads them: the exact issuer, this audience, a subject, an unexpired exp. A
// difference between the JWT library's JSON and Go's (duplicate keys, odd number forms, claims of
// the wrong type) shows up here as an accepted token that should not be.
func FuzzVerifySignedClaims(f *testing.F) {
	keys := loadKeys(&testing.T{})
	now := time.Unix(1_800_000_000, 0)
	v := NewVerifier(keys.PublicSet(), issuer, 30*time.Second).WithClock(func() time.Time { return now })
	for _, seed := range []string{
		`{"iss":"https://mcp.example.com","sub":"alice","aud":["https://mcp.example.com/v/eng/mcp"],"exp":1800003600}`,
		`{"iss":"https://mcp.example.com","sub":"alice","aud":"https://mcp.example.com/v/eng/mcp","exp":1800003600}`,
		`{"iss":"https://mcp.example.com","sub":"alice","aud":"https://mcp.example.com/v/other/mcp","aud":"https://mcp.example.com/v/eng/mcp","exp":1800003600}`,
		`{"iss":"https://evil.example","iss":"https://mcp.example.com","sub":"alice","aud":"https://mcp.example.com/v/eng/mcp","exp":1800003600}`,
		`{"iss":"https://mcp.example.com","sub":"","aud":"https://mcp.example.com/v/eng/mcp","exp":1800003600}`,
		`{"iss":"https://mcp.example.com","sub":"alice","aud":"https://mcp.example.com/v/eng/mcp","exp":"1800003600"}`,
		`{"iss":"https://mcp.example.com","sub":"alice","aud":"https://mcp.example.com/v/eng/mcp","exp":1.8e9}`,
		`{"iss":"https://mcp.example.com","sub":"alice","aud":"https://mcp.example.com/v/eng/mcp","exp":1799999000}`,
		`{"iss":"https://mcp.example.com","sub":"alice","aud":"https://mcp.example.com/v/eng/mcp","exp":1800003600,"nbf":1900000000}`,
		`{"iss":"https://mcp.example.com","sub":"alice","aud":"https://mcp.example.com/v/eng/mcp","exp":1800003600,"groups":["admins",{"x":1}]}`,
		`{"ISS":"https://mcp.example.com","sub":"alice","aud":"https://mcp.example.com/v/eng/mcp","exp":1800003600}`,
		`[]`, `null`, `{}`, `{"sub":{"a":1}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		signed, err := jws.Sign(payload, jws.WithKey(jwa.ES256, keys.signing()))
		if err != nil {
			return // not signable: nothing to verify
		}
		c, err := v.Verify(string(signed), audience)
		if err != nil {
			return
		}
		var m struct {
			Iss any `json:"iss"`
			Sub any `json:"sub"`
			Aud any `json:"aud"`
			Exp any `json:"exp"`
		}
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatalf("accepted a payload Go cannot read as claims (%v): %q", err, payload)
		}
		if m.Iss != issuer {
			t.Fatalf("accepted issuer %v: %q", m.Iss, payload)
		}
		if s, _ := m.Sub.(string); s == "" || s != c.Subject {
			t.Fatalf("accepted subject %v as %q: %q", m.Sub, c.Subject, payload)
		}
		switch aud := m.Aud.(type) {
		case string:
			if aud != audience {
				t.Fatalf("accepted audience %q: %q", aud, payload)
			}
		case []any:
			if !slices.Contains(aud, any(audience)) {
				t.Fatalf("accepted audiences %v: %q", aud, payload)
			}
		default:
			t.Fatalf("accepted audience %v: %q", m.Aud, payload)
		}
		// The JWT library also reads a NumericDate written as a decimal string; whatever the
		// form, the expiry it enforced must be the one written.
		var exp float64
		switch e := m.Exp.(type) {
		case float64:
			exp = e
		case string:
			exp, err = strconv.ParseFloat(e, 64)
			if err != nil {
				t.Fatalf("accepted exp %q: %q", e, payload)
			}
		default:
			t.Fatalf("accepted exp %v: %q", m.Exp, payload)
		}
		if time.Unix(int64(exp), 0).Add(30*time.Second).Before(now) || !c.Expiry.Equal(time.Unix(int64(exp), 0)) {
			t.Fatalf("accepted exp %v (read as %v) at %v: %q", m.Exp, c.Expiry, now, payload)
		}
	})
}
