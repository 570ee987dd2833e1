package connections

import (
	"html/template"
	"net/http"
)

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}} — vmcp</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}</style></head>
<body><main><h1>{{.Title}}</h1><p>{{.Message}}</p></main></body></html>`))

// page writes a small HTML page. The pages must not be framed (clickjacking) nor cached.
func page(w http.ResponseWriter, status int, title, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'; default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	pageTemplate.Execute(w, map[string]string{"Title": title, "Message": message})
}

var confirmTemplate = template.Must(template.New("confirm").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Connect {{.Connector}}? — vmcp</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}form{display:inline-block;margin-right:1rem}</style></head>
<body><main><h1>Connect “{{.Connector}}”?</h1>
<p>You are signed in to vmcp as <strong>{{.User}}</strong>.{{if .Connected}} Your account is already connected to “{{.Connector}}”.{{end}}</p>
<p>Connecting sends you to the sign-in page of “{{.Connector}}”. If you allow access there, vmcp calls “{{.Connector}}” as you when your AI applications use its tools. Only continue if you meant to connect it.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="action" value="connect">
{{if .Ticket}}<input type="hidden" name="ticket" value="{{.Ticket}}">{{end}}
<button type="submit">{{if .Connected}}Connect again{{else}}Connect{{end}}</button>
</form>
{{if .Connected}}<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="action" value="disconnect">
<button type="submit">Disconnect</button>
</form>{{end}}
</main></body></html>`))

// confirmation is what the confirmation page shows.
type confirmation struct {
	Connector, User, Ticket, CSRF, Action string
	Connected                             bool
}

// confirmPage asks the signed-in user whether to connect, with page's headers. (No CSP
// form-action: browsers apply it to the redirect that follows the post, which goes to the
// connector's authorization server.)
func confirmPage(w http.ResponseWriter, c confirmation) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'; default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(http.StatusOK)
	confirmTemplate.Execute(w, c)
}
