package oauth

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
)

// oauthError writes an RFC 6749 §5.2 error response.
func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="vmcp"`)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

// redirectError sends the error back to the client's (already validated) redirect URI
// (RFC 6749 §4.1.2.1), with the issuer (RFC 9207).
func redirectError(w http.ResponseWriter, r *http.Request, redirectURI, state, issuer, code, description string) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		errorPage(w, http.StatusBadRequest, "The client's redirect URI is invalid.")
		return
	}
	q := u.Query()
	q.Set("error", code)
	q.Set("error_description", description)
	if state != "" {
		q.Set("state", state)
	}
	q.Set("iss", issuer)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

var errorTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>vmcp sign-in</title>` + pageStyle + `</head>
<body><main><h1>Sign-in cannot continue</h1><p>{{.}}</p></main></body></html>`))

// errorPage is shown when the client cannot be trusted with a redirect.
func errorPage(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	errorTemplate.Execute(w, message)
}

const pageStyle = `<style>body{font-family:system-ui,sans-serif;background:#f6f7f9;margin:0}
main{max-width:28rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem}button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}
code{background:#eef;padding:0 .2rem}</style>`
