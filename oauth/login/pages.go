package login

import (
	"bytes"
	"html/template"
	"net/http"
)

// The pages are tiny and self-contained: no scripts, no external assets, so the Content Security
// Policy below can forbid everything else.
const devPageHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to vmcp (development)</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}
.warning{background:#fff3cd;border:1px solid #e0b000;padding:.75rem;border-radius:4px}
.error{color:#a00}
label{display:block;margin:.75rem 0}
input{display:block;width:100%;padding:.4rem;box-sizing:border-box}
button{padding:.5rem 1.25rem}
</style>
</head>
<body>
<main>
<h1>Sign in</h1>
<p class="warning"><strong>Development sign-in — built-in users, not for production.</strong></p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label>Username <input name="username" autocomplete="username" value="{{.Username}}" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
{{with .OIDC}}{{if .URL}}<p><a href="{{.URL}}">Sign in with {{.Issuer}}</a></p>{{else}}<p class="error">{{.Unavailable}}</p>{{end}}{{end}}
</main>
</body>
</html>
`

const problemPageHTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign-in problem — vmcp</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">
<h1>Sign-in problem</h1>
<p>{{.}}</p>
</body>
</html>
`

// pages are the parsed templates, made once by New and shared read-only by every request.
type pages struct{ dev, problem *template.Template }

func parsePages() pages {
	return pages{
		dev:     template.Must(template.New("dev").Parse(devPageHTML)),
		problem: template.Must(template.New("problem").Parse(problemPageHTML)),
	}
}

type devPage struct {
	Action, State, CSRF, Username, Error string
	OIDC                                 *oidcLink
}

type oidcLink struct {
	Issuer, URL, Unavailable string
}

func (p pages) renderDev(w http.ResponseWriter, page devPage) {
	render(w, http.StatusOK, p.dev, page)
}

// renderProblem writes a page with a message safe to show (no tokens, no secrets).
func (p pages) renderProblem(w http.ResponseWriter, status int, message string) {
	render(w, status, p.problem, message)
}

func render(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		http.Error(w, "cannot render the sign-in page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// A sign-in page must not be cached (it holds a CSRF token), framed (clickjacking), or leak
	// its URL — the pending authorization's parameters — to the IdP link's target.
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	// No form-action directive: browsers apply it to the redirects after the POST too, which
	// would block the final redirect to the MCP client's (often loopback) redirect_uri.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
