package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"time"
)

//go:embed templates
var templateFS embed.FS

// pages are parsed once: each page template with the shared layout.
var pages = parsePages()

func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
		"ms":  func(us int64) string { return fmt.Sprintf("%.1f", float64(us)/1000) },
		"pct": func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
		"f1":  func(f float64) string { return fmt.Sprintf("%.1f", f) },
	}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	out := map[string]*template.Template{}
	for _, name := range []string{"problem", "servers", "connectors", "usage", "connections", "propose"} {
		t := template.Must(layout.Clone())
		out[name] = template.Must(t.ParseFS(templateFS, "templates/"+name+".html"))
	}
	// The audit page and its live tail share the rows template.
	out["audit"] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, "templates/audit.html", "templates/auditrows.html"))
	out["auditrows"] = out["audit"]
	return out
}

// render writes page name with v. It renders into a buffer first, so a template error becomes
// a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, status int, name string, v *view) {
	entry, data := "layout.html", any(v)
	if name == "auditrows" {
		entry, data = "rows", v.Data // the live tail's fragment: table rows only
	}
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, entry, data); err != nil {
		h.cfg.Log.Error("console: render " + name + ": " + err.Error())
		http.Error(w, "the console could not render this page; see the vmcp log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
