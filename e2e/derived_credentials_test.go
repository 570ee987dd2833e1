package e2e

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/tokens"
)

// vmcpKeys fetches vmcp's published signing keys through the edge, as a connector would.
type vmcpKeys struct {
	mu  sync.Mutex
	url string
	set jwk.Set
}

func (k *vmcpKeys) verify(token, audience, issuer string) (tokens.Claims, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.set == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		set, err := jwk.Fetch(ctx, k.url)
		if err != nil {
			return tokens.Claims{}, err
		}
		k.set = set
	}
	return tokens.NewVerifier(k.set, issuer, 30*time.Second).Verify(token, audience)
}

// Connectors with derived per-user credentials, through Envoy on routed calls and fan-out: an
// internal connector gets a short-lived JWT naming the user (signed by vmcp, checked against
// vmcp's JWKS, addressed to that connector), and a connector behind the organisation's token
// service gets the token it issued in exchange (RFC 8693) for a vmcp assertion. Each sees
// exactly its credential: never the client's token, never another connector's.
func TestIdentityAssertionsAndExchangedTokensReachOnlyTheirConnectors(t *testing.T) {
	listen := func() net.Listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	internalLis, jiraLis, stsLis := listen(), listen(), listen()
	internalURL, jiraURL := "http://"+internalLis.Addr().String()+"/mcp", "http://"+jiraLis.Addr().String()+"/mcp"
	stsURL := "http://" + stsLis.Addr().String() + "/token"
	keys := &vmcpKeys{}
	var issuerURL string

	internalSeen := serveRecordingConnector(t, internalLis, func(tok string) bool {
		c, err := keys.verify(tok, internalURL, issuerURL)
		return err == nil && c.Subject == "alice" && c.Email == "alice@example.com"
	}, nil)
	jiraSeen := serveRecordingConnector(t, jiraLis, func(tok string) bool { return tok == "jira-token-for-alice" }, nil)

	var stsMu sync.Mutex
	var stsClients []string
	sts := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id, secret, _ := r.BasicAuth()
		stsMu.Lock()
		stsClients = append(stsClients, id+":"+secret)
		stsMu.Unlock()
		c, err := keys.verify(r.PostForm.Get("subject_token"), stsURL, issuerURL)
		if err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" || r.PostForm.Get("audience") != "jira" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_request"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"jira-token-for-` + c.Subject + `","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":300}`))
	})}
	go sts.Serve(stsLis)
	t.Cleanup(func() { sts.Close() })

	const stsSecret = "sts-client-secret-4a90"
	// vmcp (a child process) inherits the environment: the secret by ${env:…} reference.
	t.Setenv("VMCP_E2E_STS_SECRET", stsSecret)
	s := startSystem(t, func(c *harness.Config) {
		c.Connectors = append(c.Connectors,
			harness.Connector{Name: "internal", URL: internalURL, Timeout: 5 * time.Second, Credential: "{type: identity_assertion}"},
			harness.Connector{Name: "jira", URL: jiraURL, Timeout: 5 * time.Second,
				Credential: `{type: token_exchange, token_url: ` + stsURL + `, client_id: vmcp, client_secret: "${env:VMCP_E2E_STS_SECRET}", audience: jira}`})
	})
	keys.url, issuerURL = s.edge+"/oauth/jwks", s.edge
	s.reload(func() {
		s.writeConfig(harness.VirtualServer{Name: "corp", Connectors: []string{"notes", "internal", "jira"}})
	})

	clientToken := s.token("alice", "corp")
	cs := connect(t, s.url("corp"), clientToken)
	names := toolNames(t, cs)
	for _, want := range []string{"internal__whoami", "jira__whoami", "notes__add_note"} {
		if !slices.Contains(names, want) {
			t.Errorf("tools/list = %v, missing %s (the fan-out must carry the per-user credentials too)", names, want)
		}
	}
	for _, tool := range []string{"internal__whoami", "jira__whoami"} {
		if res := callTool(t, cs, tool, map[string]any{}); res.IsError {
			t.Fatalf("%s: %v", tool, textOf(res.Content))
		}
	}

	check := func(name string, seen *recorder, valid func(auth string) bool) {
		t.Helper()
		hs := seen.all()
		if len(hs) < 3 {
			t.Errorf("%s saw %d requests, want initialize, list and call at least", name, len(hs))
		}
		for _, h := range hs {
			if a := h.Get("Authorization"); !valid(a) {
				t.Errorf("%s received an Authorization that is not its credential", name)
			}
			for k, vs := range h {
				v := strings.Join(vs, ",")
				if strings.Contains(v, clientToken) || strings.Contains(v, notesToken) || strings.Contains(v, stsSecret) {
					t.Errorf("%s received the client's token or another connector's secret in %s", name, k)
				}
			}
		}
	}
	check("internal", internalSeen, func(a string) bool {
		c, err := keys.verify(strings.TrimPrefix(a, "Bearer "), internalURL, issuerURL)
		return err == nil && c.Subject == "alice"
	})
	check("jira", jiraSeen, func(a string) bool { return a == "Bearer jira-token-for-alice" })
	for _, h := range s.notesSeen.all() {
		if a := h.Get("Authorization"); a != "Bearer "+notesToken {
			t.Errorf("notes received an Authorization that is not its credential")
		}
	}
	stsMu.Lock()
	defer stsMu.Unlock()
	if len(stsClients) != 1 || stsClients[0] != "vmcp:"+stsSecret {
		t.Errorf("the token service was asked %d times (want once: the result is cached) with client %v", len(stsClients), len(stsClients) > 0 && stsClients[0] == "vmcp:"+stsSecret)
	}
	for _, secret := range []string{stsSecret, "jira-token-for-alice", clientToken} {
		if strings.Contains(s.vmcp.Output(), secret) {
			t.Errorf("vmcp's log contains a secret (%s…)", secret[:12])
		}
	}
}
