package harness

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/config"
)

// A configuration with every field the builder names is one vmcp loads, with each value where the
// field's name says: the rendering is checked by vmcp's own loader, not by comparing text.
func TestConfigRendersToAFileVMCPLoads(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes-token"), []byte("secret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "op-secret"), []byte("op\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hash := "$2a$10$FuRmRGYQVq7NrSJElZbOkuLiDStaaVh.v0x9Tlpgc4MheEax.DjM2"
	cfg := Config{
		Server: Server{
			PublicURL:        "http://127.0.0.1:20001",
			PublicURLAliases: []string{"http://mcp.alias.test:20001"},
			DataDir:          filepath.Join(dir, "data"),
			LogLevel:         "debug",
			Listen:           Listen{XDS: "127.0.0.1:20002", Authz: "127.0.0.1:20003", ExtProc: "127.0.0.1:20004", HTTP: "127.0.0.1:20005"},
			Envoy:            Envoy{Edge: "127.0.0.1:20001", Egress: "127.0.0.1:20006", Admin: "127.0.0.1:20007"},
		},
		Auth: Auth{
			Leeway: 30 * time.Second, TokenTTL: 8 * time.Second, SignInMaxAge: time.Minute,
			DevUsers: []DevUser{{Username: "alice", PasswordHash: hash, Email: "alice@example.com", Groups: []string{"eng", "sre"}}},
			OIDC:     &OIDC{Issuer: "http://127.0.0.1:20008", ClientID: "web", ClientSecret: "${file:op-secret}"},
		},
		Connectors: []Connector{
			{Name: "notes", URL: "http://127.0.0.1:20009/mcp", Timeout: 5 * time.Second, Credential: `{type: bearer, token: "${file:notes-token}"}`},
			{Name: "weather", URL: "http://127.0.0.1:20010/mcp", Timeout: 2 * time.Second, CallTimeout: 3 * time.Second},
			{Name: "fs", Command: []string{"node", "server.js", "/docs with space"}, Extra: "limits: {request_timeout: 3s}\nenv: {A: b}\n"},
		},
		VirtualServers: []VirtualServer{
			{Name: "demo", Connectors: []string{"notes", "weather"}},
			{Name: "ops", Connectors: []string{"notes", "{name: weather, tools: {convert_temperature: {hidden: true}}}"}, Prefix: "always",
				Extra: "access: {groups: [sre]}\nrate_limit: {requests_per_minute: 6, burst: 2}\n"},
		},
		Sections: "audit: {arguments: full}\n",
	}
	cfg.Connector("weather").Credential = `{type: query, param: api_key, token: "${file:notes-token}"}`

	path := filepath.Join(dir, "vmcp.yaml")
	got, err := config.Load(path, []byte(cfg.YAML()))
	if err != nil {
		t.Fatalf("vmcp does not load the rendered configuration: %v\n%s", err, cfg.YAML())
	}
	s := got.Server
	if s.PublicURL != cfg.Server.PublicURL || !slices.Equal(s.PublicURLAliases, cfg.Server.PublicURLAliases) ||
		s.DataDir != cfg.Server.DataDir || s.LogLevel != "debug" ||
		s.Listen.XDS != "127.0.0.1:20002" || s.Listen.Authz != "127.0.0.1:20003" || s.Listen.ExtProc != "127.0.0.1:20004" || s.Listen.HTTP != "127.0.0.1:20005" ||
		s.Envoy.Edge != "127.0.0.1:20001" || s.Envoy.Egress != "127.0.0.1:20006" || s.Envoy.Admin != "127.0.0.1:20007" {
		t.Errorf("server = %+v", s)
	}
	a := got.Auth
	if a.Leeway != 30*time.Second || a.TokenTTL != 8*time.Second || a.SignInMaxAge != time.Minute {
		t.Errorf("auth durations = %v %v %v", a.Leeway, a.TokenTTL, a.SignInMaxAge)
	}
	if u := a.Login.DevUsers; len(u) != 1 || u[0].Username != "alice" || u[0].PasswordHash != hash || u[0].Email != "alice@example.com" || !slices.Equal(u[0].Groups, []string{"eng", "sre"}) {
		t.Errorf("dev users = %+v", u)
	}
	if o := a.Login.OIDC; o == nil || o.Issuer != "http://127.0.0.1:20008" || o.ClientID != "web" || o.ClientSecret.Value() != "op" {
		t.Errorf("oidc = %+v", o)
	}
	if got.Audit.Arguments != "full" {
		t.Errorf("audit.arguments = %q, want the section given as text", got.Audit.Arguments)
	}
	if len(got.Connectors) != 3 {
		t.Fatalf("connectors = %+v", got.Connectors)
	}
	notes, weather, fs := got.Connectors[0], got.Connectors[1], got.Connectors[2]
	if notes.Name != "notes" || notes.URL != "http://127.0.0.1:20009/mcp" || notes.Timeout != 5*time.Second ||
		notes.Credential.Type != "bearer" || notes.Credential.Token.Value() != "secret-token" {
		t.Errorf("notes = %+v", notes)
	}
	if weather.Timeout != 2*time.Second || weather.CallTimeout != 3*time.Second || weather.Credential.Type != "query" || weather.Credential.Param != "api_key" {
		t.Errorf("weather = %+v", weather)
	}
	if !slices.Equal(fs.Command, []string{"node", "server.js", "/docs with space"}) || fs.Limits.RequestTimeout != 3*time.Second || fs.Env["A"].Value() != "b" {
		t.Errorf("fs = %+v", fs)
	}
	if len(got.VirtualServers) != 2 {
		t.Fatalf("virtual servers = %+v", got.VirtualServers)
	}
	ops := got.VirtualServers[1]
	if ops.Name != "ops" || len(ops.Connectors) != 2 || ops.Prefix.Mode != "always" || !slices.Equal(ops.Access.Groups, []string{"sre"}) || ops.RateLimit.RequestsPerMinute != 6 {
		t.Errorf("ops = %+v", ops)
	}
	if !strings.Contains(cfg.YAML(), "  - name: \"ops\"\n    connectors: [notes, {name: weather") {
		t.Errorf("virtual server entries are not written as given:\n%s", cfg.YAML())
	}
}

// A configuration with nothing set but the addresses leaves every optional section out, so
// vmcp's defaults apply.
func TestConfigLeavesZeroFieldsOut(t *testing.T) {
	out := Config{Server: Server{Envoy: Envoy{Edge: "127.0.0.1:1"}}}.YAML()
	for _, absent := range []string{"store:", "login:", "leeway:", "connectors:", "virtual_servers:", "data_dir:", "public_url_aliases:"} {
		if strings.Contains(out, absent) {
			t.Errorf("%s written for a zero field:\n%s", absent, out)
		}
	}
	if !strings.Contains(out, `public_url: "http://127.0.0.1:1"`) {
		t.Errorf("the public URL is not the edge's when unset:\n%s", out)
	}
}
