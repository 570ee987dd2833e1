package config

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func TestTheExampleConfigurationLoadsWithItsDefaults(t *testing.T) {
	path := filepath.Join("..", "..", "examples", "vmcp.yaml")
	token, err := os.ReadFile(filepath.Join("..", "..", "examples", "secrets", "notes-token"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadFile(path)
	if err != nil {
		t.Fatalf("LoadFile(%s): %v", path, err)
	}
	want := &Config{
		Path:        path,
		secretFiles: []string{"../../examples/secrets/notes-token"},
		Server: Server{
			PublicURL:       "http://127.0.0.1:8080",
			DataDir:         ".vmcp",
			LogLevel:        "info",
			MaxRequestBytes: DefaultMaxRequestBytes,
			Listen:          Listen{XDS: "127.0.0.1:18000", Authz: "127.0.0.1:18001", ExtProc: "127.0.0.1:18002", HTTP: "127.0.0.1:18003"},
			Envoy:           Envoy{Edge: "127.0.0.1:8080", Egress: "127.0.0.1:8081", Admin: "127.0.0.1:9901", CAFile: DefaultCAFile},
		},
		Store: Store{Driver: "sqlite"},
		Audit: Audit{
			Arguments: "keys", Buffer: 10000, Mode: "lossless", SpillDir: ".vmcp/audit-spill",
			Retention: 90 * 24 * time.Hour, AdminGroups: []string{"vmcp-admins"},
		},
		Auth: Auth{
			Login: Login{DevUsers: []DevUser{
				{Username: "alice", PasswordHash: "$2a$10$FuRmRGYQVq7NrSJElZbOkuLiDStaaVh.v0x9Tlpgc4MheEax.DjM2", Email: "alice@example.com", Groups: []string{"eng"}},
				{Username: "bob", PasswordHash: "$2a$10$JBvaaCy/NbLGqBJapQU6mep6/.0mW/y2efdFKQMmQhnusg6u7EZfS", Email: "bob@example.com", Groups: []string{"sales"}},
			}},
			Issuer:         "http://127.0.0.1:8080", // defaults to public_url
			TokenTTL:       time.Hour,
			Leeway:         30 * time.Second,
			TokenCacheSize: 10000,
			Connections:    Connections{TicketTTL: 10 * time.Minute},

			RefreshTokenTTL:         30 * 24 * time.Hour,
			SignInMaxAge:            24 * time.Hour,
			CodeTTL:                 time.Minute,
			KeyRotation:             30 * 24 * time.Hour,
			DynamicRegistration:     ptr(true),
			ClientMetadataDocuments: ptr(true),
		},
		Connectors: []Connector{
			{
				Name:        "notes",
				URL:         "http://127.0.0.1:19001/mcp",
				Timeout:     5 * time.Second,
				CallTimeout: 5 * time.Minute, // default
				Credential: Credential{
					Type: CredentialBearer,
					// The relative reference is resolved against the file's directory, not the
					// working directory, and one trailing newline is dropped.
					Token: NewSecret("${file:secrets/notes-token}", strings.TrimSuffix(string(token), "\n")),
				},
			},
			{
				Name:        "weather",
				URL:         "http://127.0.0.1:19002/mcp",
				Timeout:     5 * time.Second,
				CallTimeout: 5 * time.Minute,
				Credential:  Credential{Type: CredentialNone},
			},
		},
		VirtualServers: []VirtualServer{{
			Name:       "demo",
			Path:       "/v/demo/mcp", // default
			Connectors: []ConnectorRef{{Name: "notes"}, {Name: "weather"}},
			Prefix:     Prefix{Mode: PrefixAlways, Separator: "__"},
			Tools:      ToolDiscovery{Discovery: DiscoveryOff, Threshold: DefaultDiscoveryThreshold},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		// %+v prints secrets as their references only.
		t.Errorf("LoadFile(%s) =\n%+v\nwant\n%+v", path, *got, *want)
	}
	if got.Connectors[0].Credential.Token.Value() == "" {
		t.Error("the notes token did not resolve")
	}
}

// The defaults an empty file gets are kept in testdata/defaults.golden.yaml; run
// `go test -run Defaults -update` after changing a default on purpose.
func TestAnEmptyFileIsTheDefaultConfiguration(t *testing.T) {
	golden := filepath.Join("testdata", "defaults.golden.yaml")
	for _, tc := range []struct{ name, data string }{
		{"an empty file", ""},
		{"a file of comments only", "# nothing configured yet\n"},
		{"an explicit empty document", "---\n"},
		{"a null document", "~\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load("vmcp.yaml", []byte(tc.data))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got, err := yaml.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("defaults differ from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// Durations are Go duration strings however YAML spells them: plain, quoted, through an alias,
// or a bare 0, which YAML reads as an integer (and which, like an absent key, means the default).
func TestDurationsDecodeFromEverySpelling(t *testing.T) {
	cfg, err := Load("vmcp.yaml", []byte("auth:\n  leeway: 0\n  token_ttl: \"90s\"\n  code_ttl: 1m30s\n  key_rotation: &r 720h\n  refresh_token_ttl: *r\n"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	a := cfg.Auth
	if a.Leeway != 30*time.Second || a.TokenTTL != 90*time.Second || a.CodeTTL != 90*time.Second || a.KeyRotation != 720*time.Hour || a.RefreshTokenTTL != 720*time.Hour {
		t.Errorf("leeway, token_ttl, code_ttl, key_rotation, refresh_token_ttl = %v %v %v %v %v", a.Leeway, a.TokenTTL, a.CodeTTL, a.KeyRotation, a.RefreshTokenTTL)
	}
}

func TestLoadNamesEveryProblemByLineAndColumn(t *testing.T) {
	t.Setenv("VMCP_TEST_UNSET", "")
	os.Unsetenv("VMCP_TEST_UNSET")

	const conn = "connectors:\n  - name: notes\n    url: http://127.0.0.1:19001/mcp\n"
	for _, tc := range []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "an unknown top-level key lists the known keys",
			yaml: "server: {}\nservers: {}\n",
			want: []string{`vmcp.yaml:2:1: unknown key "servers" in the top level (known: audit, auth, connectors, observability, policy, server, store, virtual_servers)`},
		},
		{
			name: "an unknown key in server.listen lists the known keys",
			yaml: "server:\n  listen:\n    xds: 127.0.0.1:1\n    admin: 127.0.0.1:2\n",
			want: []string{`vmcp.yaml:4:5: unknown key "admin" in server.listen (known: authz, extproc, http, xds)`},
		},
		{
			name: "an unknown key in a connector lists the known keys",
			yaml: conn + "    timout: 5s\n",
			want: []string{`vmcp.yaml:4:5: unknown key "timout" in connectors[0] (known: call_timeout, command, credential, dir, env, limits, name, timeout, url)`},
		},
		{
			name: "an unknown key in a credential lists the known keys, and what the typo left missing",
			yaml: conn + "    credential:\n      type: bearer\n      secret: ${env:X}\n",
			want: []string{
				`vmcp.yaml:5:7: connectors[0].credential: token is required for credential type "bearer"`,
				`vmcp.yaml:6:7: unknown key "secret" in connectors[0].credential (known: audience, authorization_url, client_id, client_secret, header, param, password, revocation_url, scopes, token, token_url, ttl, type, username)`,
			},
		},
		{
			name: "a duplicate key is named at its second occurrence",
			yaml: "server:\n  log_level: info\n  log_level: debug\n",
			want: []string{`vmcp.yaml:3:3: server: duplicate key "log_level"`},
		},
		{
			name: "a duplicate top-level key is named too",
			yaml: "auth: {}\nauth: {}\n",
			want: []string{`vmcp.yaml:2:1: configuration: duplicate key "auth"`},
		},
		{
			name: "a virtual server naming a missing connector",
			yaml: conn + "virtual_servers:\n  - name: demo\n    connectors: [notes, ghost]\n",
			want: []string{`vmcp.yaml:6:25: virtual server "demo" names connector "ghost", which is not defined under connectors`},
		},
		{
			name: "a virtual server listing a connector twice",
			yaml: conn + "virtual_servers:\n  - name: demo\n    connectors: [notes, notes]\n",
			want: []string{`vmcp.yaml:6:25: virtual server "demo" lists connector "notes" twice`},
		},
		{
			name: "a virtual server with no connectors",
			yaml: conn + "virtual_servers:\n  - name: demo\n",
			want: []string{`vmcp.yaml:5:5: virtual server "demo": connectors must list at least one connector`},
		},
		{
			name: "duplicate connector names",
			yaml: conn + "  - name: notes\n    url: http://127.0.0.1:19002/mcp\n",
			want: []string{`vmcp.yaml:4:11: duplicate connector name "notes"`},
		},
		{
			name: "duplicate virtual server names are one problem, not also a duplicate default path",
			yaml: conn + "virtual_servers:\n  - name: demo\n    connectors: [notes]\n  - name: demo\n    connectors: [notes]\n",
			want: []string{`vmcp.yaml:7:11: duplicate virtual server name "demo"`},
		},
		{
			name: "duplicate virtual server paths",
			yaml: conn + "virtual_servers:\n  - name: a\n    path: /mcp\n    connectors: [notes]\n  - name: b\n    path: /mcp\n    connectors: [notes]\n",
			want: []string{`vmcp.yaml:9:11: virtual server "b": path "/mcp" is already used by another virtual server`},
		},
		{
			name: "a virtual server path reserved for vmcp",
			yaml: conn + "virtual_servers:\n  - name: a\n    path: /oauth/token\n    connectors: [notes]\n",
			want: []string{`vmcp.yaml:6:11: virtual server "a": path "/oauth/token" is reserved for vmcp's own endpoints`},
		},
		{
			name: "a virtual server path under the web console",
			yaml: conn + "virtual_servers:\n  - name: a\n    path: /console/mcp\n    connectors: [notes]\n",
			want: []string{`vmcp.yaml:6:11: virtual server "a": path "/console/mcp" is reserved for vmcp's own endpoints`},
		},
		{
			name: "a virtual server under the connect flow's path",
			yaml: conn + "virtual_servers:\n  - name: a\n    path: /connect/github\n    connectors: [notes]\n",
			want: []string{`vmcp.yaml:6:11: virtual server "a": path "/connect/github" is reserved for vmcp's own endpoints`},
		},
		{
			name: "a URL without a scheme",
			yaml: "connectors:\n  - name: notes\n    url: localhost/mcp\n",
			want: []string{`vmcp.yaml:3:10: connectors[0].url: "localhost/mcp" must use http or https`},
		},
		{
			name: "a URL with the ftp scheme",
			yaml: "connectors:\n  - name: notes\n    url: ftp://files.example.com/mcp\n",
			want: []string{`vmcp.yaml:3:10: connectors[0].url: "ftp://files.example.com/mcp" must use http or https`},
		},
		{
			name: "a URL without a host",
			yaml: "connectors:\n  - name: notes\n    url: http:///mcp\n",
			want: []string{`vmcp.yaml:3:10: connectors[0].url: "http:///mcp" has no host`},
		},
		{
			name: "a URL with a fragment",
			yaml: "connectors:\n  - name: notes\n    url: http://h/mcp#top\n",
			want: []string{`vmcp.yaml:3:10: connectors[0].url: "http://h/mcp#top" must not have a fragment`},
		},
		{
			name: "a URL with user and password",
			yaml: "connectors:\n  - name: notes\n    url: http://alice:hunter2-PASSWORD@h/mcp\n",
			want: []string{`vmcp.yaml:3:10: connectors[0].url: credentials in URLs are not allowed; use the connector's credential`},
		},
		{
			name: "a URL missing a connector url entirely",
			yaml: "connectors:\n  - name: notes\n",
			want: []string{`vmcp.yaml:2:5: connector "notes": url or command is required`},
		},
		{
			name: "a public URL with a path",
			yaml: "server:\n  public_url: https://mcp.example.com/base\n",
			want: []string{`vmcp.yaml:2:15: server.public_url must be scheme://host[:port] with no path or query`},
		},
		{
			name: "a listen address that is not host:port",
			yaml: "server:\n  listen:\n    authz: 18001\n",
			want: []string{`vmcp.yaml:3:12: server.listen.authz: "18001" is not host:port`},
		},
		{
			name: "an unknown log level",
			yaml: "server:\n  log_level: verbose\n",
			want: []string{`vmcp.yaml:2:14: server.log_level: "verbose" is not one of debug, info, warn, error`},
		},
		{
			name: "a duration without a unit",
			yaml: conn + "    timeout: 5\n",
			want: []string{`vmcp.yaml:4:14: connectors[0].timeout: "5" is not a duration (use e.g. "30s" or "5m")`},
		},
		{
			name: "a negative duration",
			yaml: "auth:\n  token_ttl: -1h\n",
			want: []string{`vmcp.yaml:2:14: auth.token_ttl: "-1h" must not be negative`},
		},
		{
			name: "a duration given as a mapping",
			yaml: "auth:\n  leeway: {seconds: 30}\n",
			want: []string{`vmcp.yaml:2:11: auth.leeway: expected a duration such as "30s"`},
		},
		{
			name: "a connector name with capitals and an underscore",
			yaml: "connectors:\n  - name: Notes_1\n    url: http://h/mcp\n",
			want: []string{`vmcp.yaml:2:11: connector name "Notes_1" must be lowercase letters, digits and '-', starting with a letter or digit (at most 63)`},
		},
		{
			name: "a virtual server name with a slash is one problem, not also a bad default path",
			yaml: conn + "virtual_servers:\n  - name: team/eng\n    connectors: [notes]\n",
			want: []string{`vmcp.yaml:5:11: virtual server name "team/eng" must be lowercase letters, digits and '-'`},
		},
		{
			name: "a connector name that contains its virtual server's separator",
			yaml: "connectors:\n  - name: my-notes\n    url: http://h/mcp\nvirtual_servers:\n  - name: demo\n    connectors: [my-notes]\n    prefix: {separator: \"-\"}\n",
			want: []string{`vmcp.yaml:6:18: connector "my-notes" contains the separator "-" of virtual server "demo"`},
		},
		{
			name: "a separator outside the tool-name characters",
			yaml: conn + "virtual_servers:\n  - name: demo\n    connectors: [notes]\n    prefix: {separator: \"/\"}\n",
			want: []string{`vmcp.yaml:7:25: virtual server "demo": separator "/" must be 1-3 of the tool-name characters _ . -`},
		},
		{
			name: "access.connectors naming a connector the virtual server lacks",
			yaml: conn + "virtual_servers:\n  - name: demo\n    connectors: [notes]\n    access:\n      connectors: {weather: [eng]}\n",
			want: []string{`vmcp.yaml:8:29: virtual server "demo": access.connectors names "weather", which is not one of its connectors`},
		},
		{
			name: "an access.tools pattern that is not a glob",
			yaml: conn + "virtual_servers:\n  - name: demo\n    connectors: [notes]\n    access:\n      tools: {\"notes__[a\": [eng]}\n",
			want: []string{`vmcp.yaml:8:28: virtual server "demo": access.tools: pattern "notes__[a": glob: syntax error at 9: unexpected end of input`},
		},
		{
			name: "an unsupported prefix mode",
			yaml: conn + "virtual_servers:\n  - name: demo\n    connectors: [notes]\n    prefix: {mode: sometimes}\n",
			want: []string{`vmcp.yaml:7:20: virtual server "demo": prefix mode "sometimes" is not one of always, on_conflict, never`},
		},
		{
			name: "an environment reference to an unset variable",
			yaml: conn + "    credential:\n      type: bearer\n      token: ${env:VMCP_TEST_UNSET}\n",
			want: []string{`vmcp.yaml:6:14: connectors[0].credential.token: ${env:VMCP_TEST_UNSET}: environment variable VMCP_TEST_UNSET is not set`},
		},
		{
			name: "a file reference to a missing file",
			yaml: conn + "    credential:\n      type: bearer\n      token: ${file:testdata/missing}\n",
			want: []string{`vmcp.yaml:6:14: connectors[0].credential.token: ${file:testdata/missing}: cannot read file: no such file or directory`},
		},
		{
			name: "a file reference to a directory",
			yaml: conn + "    credential:\n      type: bearer\n      token: ${file:testdata}\n",
			want: []string{`vmcp.yaml:6:14: connectors[0].credential.token: ${file:testdata}: cannot read file: is a directory`},
		},
		{
			name: "an unknown reference kind",
			yaml: conn + "    credential:\n      type: bearer\n      token: ${vault:notes}\n",
			want: []string{`vmcp.yaml:6:14: connectors[0].credential.token: ${vault:notes}: unknown reference kind "vault" (use env or file)`},
		},
		{
			name: "a literal secret instead of a reference",
			yaml: conn + "    credential:\n      type: bearer\n      token: literal-LEAKED-token\n",
			want: []string{`vmcp.yaml:6:14: connectors[0].credential.token: a secret must be a ${env:NAME} or ${file:path} reference, not a literal value`},
		},
		{
			name: "a secret written as a mapping",
			yaml: conn + "    credential:\n      type: bearer\n      token: {env: NOTES_TOKEN}\n",
			want: []string{`vmcp.yaml:6:14: connectors[0].credential.token: a secret must be a ${env:NAME} or ${file:path} reference`},
		},
		{
			name: "an empty secret mapping",
			yaml: conn + "    credential:\n      type: bearer\n      token: {}\n",
			want: []string{`vmcp.yaml:6:14: connectors[0].credential.token: a secret must be a ${env:NAME} or ${file:path} reference`},
		},
		{
			name: "a bearer credential without a token",
			yaml: conn + "    credential:\n      type: bearer\n",
			want: []string{`vmcp.yaml:5:7: connectors[0].credential: token is required for credential type "bearer"`},
		},
		{
			name: "a basic credential without a username",
			yaml: conn + "    credential:\n      type: basic\n      password: ${file:testdata/password}\n",
			want: []string{`vmcp.yaml:5:7: connectors[0].credential: username is required for credential type basic`},
		},
		{
			name: "a header credential naming an internal header",
			yaml: conn + "    credential:\n      type: header\n      header: X-Vmcp-Connector\n      token: ${file:testdata/password}\n",
			want: []string{`vmcp.yaml:6:15: connectors[0].credential.header: "X-Vmcp-Connector" is not a usable header name`},
		},
		{
			name: "a credential type none with a token",
			yaml: conn + "    credential:\n      token: ${file:testdata/password}\n",
			want: []string{`vmcp.yaml:5:7: connectors[0].credential: credential type none takes no token or password`},
		},
		{
			name: "an unknown credential type",
			yaml: conn + "    credential:\n      type: kerberos\n",
			want: []string{`vmcp.yaml:5:13: connectors[0].credential.type: unknown credential type "kerberos" (use none, bearer, header, query, basic, oauth, token_exchange or identity_assertion)`},
		},
		{
			name: "an oauth credential with configured endpoints but no client id",
			yaml: conn + "    credential:\n      type: oauth\n      authorization_url: https://as.example/authorize\n      token_url: https://as.example/token\n",
			want: []string{`vmcp.yaml:5:7: connectors[0].credential: client_id is required with authorization_url and token_url (without them, vmcp discovers the authorization server and registers itself there)`},
		},
		{
			name: "an oauth credential with only one of its endpoints",
			yaml: conn + "    credential:\n      type: oauth\n      client_id: vmcp\n      token_url: https://as.example/token\n",
			want: []string{`vmcp.yaml:5:7: connectors[0].credential: set both authorization_url and token_url, or neither (then they are discovered from the connector's metadata)`},
		},
		{
			name: "a token exchange credential without a token url",
			yaml: conn + "    credential:\n      type: token_exchange\n      client_id: vmcp\n",
			want: []string{`vmcp.yaml:5:7: connectors[0].credential: token_url is required for credential type token_exchange`},
		},
		{
			name: "an identity assertion living longer than an hour",
			yaml: conn + "    credential:\n      type: identity_assertion\n      ttl: 2h\n",
			want: []string{`vmcp.yaml:6:12: connectors[0].credential.ttl: an identity assertion lives at most 1h (it is minted again when it nears expiry)`},
		},
		{
			name: "a list where a mapping belongs",
			yaml: "server: [a, b]\n",
			want: []string{`vmcp.yaml:1:9: server: expected a mapping`},
		},
		{
			name: "a mapping where a list belongs",
			yaml: "connectors: {name: notes}\n",
			want: []string{`vmcp.yaml:1:13: connectors: expected a list`},
		},
		{
			name: "a top level that is not a mapping",
			yaml: "- notes\n",
			want: []string{`vmcp.yaml:1:1: configuration: expected a mapping`},
		},
		{
			name: "a YAML syntax error names its line",
			yaml: "server:\n  log_level: info\nauth:\n  issuer: @x\n",
			want: []string{`vmcp.yaml:4:1: invalid YAML: found character that cannot start any token`},
		},
		{
			name: "a mapping value on a scalar line names its line",
			yaml: "server:\n  log_level: info\n  data_dir: a: b\n",
			want: []string{`vmcp.yaml:3:1: invalid YAML: mapping values are not allowed in this context`},
		},
		{
			name: "a YAML indentation error names its line",
			yaml: "a: b\n c: d\n",
			want: []string{`vmcp.yaml:2:1: invalid YAML: mapping values are not allowed in this context`},
		},
		{
			name: "several problems in one file are all reported in line order",
			yaml: "" +
				"server:\n" + // 1
				"  log_level: loud\n" + // 2
				"connectors:\n" + // 3
				"  - name: notes\n" + // 4
				"    url: ftp://h/mcp\n" + // 5
				"  - name: Bad\n" + // 6
				"    url: http://h/mcp\n" + // 7
				"    credential:\n" + // 8
				"      type: bearer\n" + // 9
				"      token: ${env:VMCP_TEST_UNSET}\n" + // 10
				"virtual_servers:\n" + // 11
				"  - name: demo\n" + // 12
				"    connectors: [ghost]\n", // 13
			want: []string{
				`vmcp.yaml:2:14: server.log_level: "loud" is not one of debug, info, warn, error`,
				`vmcp.yaml:5:10: connectors[0].url: "ftp://h/mcp" must use http or https`,
				`vmcp.yaml:6:11: connector name "Bad" must be lowercase letters, digits and '-', starting with a letter or digit (at most 63)`,
				`vmcp.yaml:10:14: connectors[1].credential.token: ${env:VMCP_TEST_UNSET}: environment variable VMCP_TEST_UNSET is not set`,
				`vmcp.yaml:13:18: virtual server "demo" names connector "ghost", which is not defined under connectors`,
			},
		},
		{
			name: "several unknown keys are all reported in line order",
			yaml: "servr: {}\nconnectors:\n  - name: a\n    uri: http://h\nauthz: {}\n",
			want: []string{
				`vmcp.yaml:1:1: unknown key "servr" in the top level (known: audit, auth, connectors, observability, policy, server, store, virtual_servers)`,
				`vmcp.yaml:3:5: connector "a": url or command is required`,
				`vmcp.yaml:4:5: unknown key "uri" in connectors[0] (known: call_timeout, command, credential, dir, env, limits, name, timeout, url)`,
				`vmcp.yaml:5:1: unknown key "authz" in the top level (known: audit, auth, connectors, observability, policy, server, store, virtual_servers)`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load("vmcp.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("Load accepted the file: %+v", cfg)
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Load returned %T (%v), want Problems", err, err)
			}
			got := make([]string, len(ps))
			for i, p := range ps {
				got[i] = p.String()
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if err.Error() != strings.Join(tc.want, "\n") {
				t.Errorf("Error() = %q, want the problems one per line", err.Error())
			}
		})
	}
}

func TestURLProblemsNeverShowAPassword(t *testing.T) {
	const password = "hunter2-PASSWORD"
	for _, tc := range []struct{ name, url string }{
		{"an http URL with userinfo", "http://alice:" + password + "@h/mcp"},
		{"an ftp URL with userinfo", "ftp://alice:" + password + "@h/mcp"},
		{"userinfo without a scheme, which Go parses as an opaque URL", "alice:" + password + "@h/mcp"},
		{"userinfo with a bad escape, which url.Parse quotes", "http://alice:" + password + "%zz@h/mcp"},
		{"a password with a slash, which url.Parse reads as a port", "http://alice:" + password + "/x@h/mcp"},
		{"userinfo in a scheme-relative URL", "//alice:" + password + "@h/mcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("vmcp.yaml", []byte("connectors:\n  - name: notes\n    url: \""+tc.url+"\"\n"))
			if err == nil {
				t.Fatal("Load accepted a URL with a password in it")
			}
			if !strings.HasPrefix(err.Error(), "vmcp.yaml:3:10: connectors[0].url: ") {
				t.Errorf("problem %q is not reported at the url", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("problem shows the password: %q", err)
			}
		})
	}
}

func TestLoadResolvesSecretReferences(t *testing.T) {
	t.Setenv("VMCP_TEST_TOKEN", "env-token-value")
	cfg, err := Load(filepath.Join("testdata", "vmcp.yaml"), []byte(`
connectors:
  - name: a
    url: https://a.example.com/mcp
    credential: {type: bearer, token: "${env:VMCP_TEST_TOKEN}"}
  - name: b
    url: https://b.example.com/mcp
    credential: {type: basic, username: svc, password: "${file:password}"}
  - name: c
    url: https://c.example.com/mcp
    credential: {type: header, header: X-Api-Key, token: "${file:password}"}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		got  Secret
		want string
	}{
		{"an env reference reads the variable", cfg.Connectors[0].Credential.Token, "env-token-value"},
		{"a file reference is relative to the config file and loses its newline", cfg.Connectors[1].Credential.Password, "s3cr3t-FILE-xyz"},
		{"a header token resolves like a bearer token", cfg.Connectors[2].Credential.Token, "s3cr3t-FILE-xyz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got.Value() != tc.want {
				t.Errorf("%s resolved to a value of %d bytes, want %d", tc.got.Ref, len(tc.got.Value()), len(tc.want))
			}
		})
	}
}

func TestASecretFileLargerThanAMebibyteIsRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big"), bytes.Repeat([]byte("x"), maxSecretFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(filepath.Join(dir, "vmcp.yaml"), []byte("connectors:\n  - name: a\n    url: http://h/mcp\n    credential: {type: bearer, token: \"${file:big}\"}\n"))
	want := filepath.Join(dir, "vmcp.yaml") + ":4:39: connectors[0].credential.token: ${file:big}: cannot read file: larger than 1 MiB; not a credential"
	if err == nil || err.Error() != want {
		t.Errorf("Load = %v, want %s", err, want)
	}
}

func TestAnAllowedOriginMustBeAnOrigin(t *testing.T) {
	_, err := Load("vmcp.yaml", []byte("server:\n  allowed_origins: [\"https://console.example.com\", \"https://x.example.com/path\"]\n"))
	if err == nil || !strings.Contains(err.Error(), `server.allowed_origins[1]: "https://x.example.com/path" is not an origin`) || !strings.Contains(err.Error(), "vmcp.yaml:2:") {
		t.Fatalf("Load = %v, want the second origin refused with its position", err)
	}
}
