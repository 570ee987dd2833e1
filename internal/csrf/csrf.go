// Package csrf makes and checks the tokens vmcp's own browser forms carry (the web console, the
// connect flow). A cookie rides along on cross-site form posts (SameSite=Lax still sends it on
// some top-level navigations and on same-site subdomains), so a cookie alone never authorizes a
// change: the form must also carry a token only a page vmcp served to that sign-in can know.
//
// A token is HMAC-SHA256(key, "csrf" 0x00 binding), base64url: stateless (any replica with the
// key checks it) and worthless for any other binding. The binding is a random value of one
// sign-in, kept in that sign-in's signed cookie, so a token dies with its sign-in.
package csrf

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// Token is the token forms of the sign-in identified by binding must carry.
func Token(key []byte, binding string) string {
	return base64.RawURLEncoding.EncodeToString(mac(key, binding))
}

// Valid reports whether token is binding's token, in constant time. An empty binding has no
// valid token: a sign-in without one (an old cookie) must sign in again to post forms.
func Valid(key []byte, binding, token string) bool {
	if binding == "" {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && hmac.Equal(got, mac(key, binding))
}

func mac(key []byte, binding string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("csrf"))
	m.Write([]byte{0})
	m.Write([]byte(binding))
	return m.Sum(nil)
}
