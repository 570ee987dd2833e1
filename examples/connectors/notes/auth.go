package notes

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
)

// requireBearer lets a request through only when it carries "Authorization: Bearer <token>".
//
// This is the credential vmcp injects for this connector (a shared service secret); the test
// suite uses it to prove that the connector receives vmcp's credential and never the client's
// token (MCP authorization spec: no token passthrough).
func requireBearer(token string, next http.Handler) http.Handler {
	// Hashing both sides makes the comparison constant-time in the token's length as well:
	// subtle.ConstantTimeCompare returns early when the lengths differ.
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			// RFC 6750 §3.1: a request without credentials gets a bare challenge, no error code.
			unauthorized(w, `Bearer realm="notes"`, "missing_token", "this connector requires Authorization: Bearer <token>")
			return
		}
		sum := sha256.Sum256([]byte(got))
		// An empty configured token must never match (fail closed on a misconfiguration).
		if token == "" || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			unauthorized(w, `Bearer realm="notes", error="invalid_token"`, "invalid_token", "the bearer token is not valid for this connector")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer extracts the token of a Bearer Authorization header. The scheme is case-insensitive
// (RFC 9110 §11.1); the token itself is compared exactly.
func bearer(header string) (string, bool) {
	scheme, token, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// unauthorized writes the 401 with a JSON body shaped like an OAuth error response, which MCP
// clients already know how to show.
func unauthorized(w http.ResponseWriter, challenge, code, description string) {
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}
