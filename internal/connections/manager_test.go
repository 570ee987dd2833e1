package connections

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/credential"
	"github.com/vmcp-dev/vmcp/internal/store"
)

// tokenServer is a connector's authorization server as far as refreshing goes: metadata and a
// token endpoint that rotates refresh tokens, or refuses them once revoked.
type tokenServer struct {
	url     string
	mu      sync.Mutex
	live    map[string]bool
	n       int
	revoked bool
	// registrations counts RFC 7591 registrations; clients seen at the token endpoint.
	registrations int
	clients       []string
	// revokedTokens are the tokens revoked at the RFC 7009 endpoint, with the client that asked.
	revokedTokens []string
	// refuseRevocation makes the revocation endpoint answer 503.
	refuseRevocation bool
}

func startTokenServer(t *testing.T, resource string) *tokenServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &tokenServer{url: "http://" + l.Addr().String(), live: map[string]bool{"rt-0": true}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-protected-resource/mcp", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"resource": resource, "authorization_servers": []string{ts.url + "/tenant"}})
	})
	mux.HandleFunc("GET /.well-known/oauth-authorization-server/tenant", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": ts.url + "/tenant", "authorization_endpoint": ts.url + "/authorize",
			"token_endpoint": ts.url + "/token", "registration_endpoint": ts.url + "/register", "revocation_endpoint": ts.url + "/revoke"})
	})
	mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if ts.refuseRevocation {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		r.ParseForm()
		id, _, ok := r.BasicAuth()
		if !ok {
			id = r.PostForm.Get("client_id")
		}
		tok := r.PostForm.Get("token")
		ts.revokedTokens = append(ts.revokedTokens, id+":"+tok+":"+r.PostForm.Get("token_type_hint"))
		delete(ts.live, tok)
	})
	mux.HandleFunc("POST /register", func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		var req struct {
			RedirectURIs []string `json:"redirect_uris"`
		}
		if json.NewDecoder(r.Body).Decode(&req) != nil || len(req.RedirectURIs) != 1 || req.RedirectURIs[0] != "https://vmcp.example/connect/callback" {
			http.Error(w, "bad registration", http.StatusBadRequest)
			return
		}
		ts.registrations++
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"client_id": "dyn-client", "client_secret": "dyn-secret"})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		r.ParseForm()
		id, secret, _ := r.BasicAuth()
		ts.clients = append(ts.clients, id+":"+secret)
		w.Header().Set("Content-Type", "application/json")
		rt := r.PostForm.Get("refresh_token")
		if ts.revoked || !ts.live[rt] {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		delete(ts.live, rt)
		ts.n++
		next := "rt-" + string(rune('0'+ts.n))
		ts.live[next] = true
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + string(rune('0'+ts.n)), "refresh_token": next, "expires_in": 3600})
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return ts
}

func newTestManager(t *testing.T, resource string) (*Manager, store.Store) {
	t.Helper()
	db, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "vmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return newManagerOn(t, db, resource, "vmcp"), db
}

// newManagerOn is one more Manager (a replica) on db for a github connector at resource.
func newManagerOn(t *testing.T, db store.Store, resource, clientID string) *Manager {
	t.Helper()
	m := NewManager(Options{Store: db, MACKey: key(9)})
	cfg := &config.Config{Connectors: []config.Connector{{Name: "github", URL: resource, Credential: config.Credential{Type: config.CredentialOAuth, ClientID: clientID}}}}
	cfg.Server.PublicURL = "https://vmcp.example"
	cfg.Server.DataDir = t.TempDir()
	cfg.Auth.Connections.TicketTTL = time.Minute
	cfg.Auth.Connections.EncryptionKeys = []config.Secret{config.NewSecret("${env:K}", strings.Repeat("ab", 32))}
	commit, err := m.Prepare(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	return m
}

func TestAUserWhoNeverConnectedGetsALinkForThemselves(t *testing.T) {
	m, _ := newTestManager(t, "http://127.0.0.1:1/mcp")
	_, _, err := m.Token(t.Context(), "alice", "github")
	var nc *credential.NotConnectedError
	if !errors.As(err, &nc) || !strings.HasPrefix(nc.URL, "https://vmcp.example/connect/github?ticket=") {
		t.Fatalf("Token = %v, want a NotConnectedError with the connect link", err)
	}
	u, _ := http.NewRequest("GET", nc.URL, nil)
	c, err := m.sign.verify(purposeTicket, u.URL.Query().Get("ticket"))
	if err != nil || c.Subject != "alice" || c.Connector != "github" {
		t.Fatalf("the link's ticket says %+v, %v; want alice and github", c, err)
	}
}

func TestAnExpiringTokenIsRefreshedThroughDiscoveredEndpointsAndStoredSealed(t *testing.T) {
	// The token server also plays the connector publishing its metadata.
	ts := startTokenServer(t, "")
	m, db := newTestManager(t, ts.url+"/mcp")
	if err := m.Save(t.Context(), "alice", "github", &oauth2.Token{AccessToken: "at-0", RefreshToken: "rt-0", Expiry: time.Now().Add(10 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	tok, exp, err := m.Token(t.Context(), "alice", "github")
	if err != nil || tok != "at-1" || time.Until(exp) < 59*time.Minute {
		t.Fatalf("Token = %q (expires in %s), %v; want the refreshed at-1", tok, time.Until(exp), err)
	}
	tok, _, _ = m.Token(t.Context(), "alice", "github")
	ts.mu.Lock()
	n := ts.n
	ts.mu.Unlock()
	if tok != "at-1" || n != 1 {
		t.Fatalf("a fresh token was refreshed again (%q, %d refreshes)", tok, n)
	}
	rec, err := db.Connection(t.Context(), "alice", "github")
	if err != nil || strings.Contains(string(rec.Sealed), "at-1") || strings.Contains(string(rec.Sealed), "rt-1") {
		t.Fatalf("stored record %v, %v: want it sealed", rec.KeyID, err)
	}
}

func TestARevokedRefreshTokenMeansNotConnected(t *testing.T) {
	ts := startTokenServer(t, "")
	m, db := newTestManager(t, ts.url+"/mcp")
	m.Save(t.Context(), "alice", "github", &oauth2.Token{AccessToken: "at-0", RefreshToken: "rt-0", Expiry: time.Now().Add(-time.Minute)})
	ts.mu.Lock()
	ts.revoked = true
	ts.mu.Unlock()
	_, _, err := m.Token(t.Context(), "alice", "github")
	var nc *credential.NotConnectedError
	if !errors.As(err, &nc) {
		t.Fatalf("Token = %v, want NotConnectedError", err)
	}
	if _, err := db.Connection(t.Context(), "alice", "github"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the dead connection is still stored: %v", err)
	}
}

func TestDiscoveryRefusesMetadataForAnotherIssuer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-protected-resource", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"authorization_servers": []string{base}})
	})
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": "https://evil.example", "authorization_endpoint": base + "/a", "token_endpoint": base + "/t"})
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	defer srv.Close()
	if _, err := discover(t.Context(), http.DefaultClient, base+"/mcp"); err == nil || !strings.Contains(err.Error(), "evil.example") {
		t.Fatalf("discover = %v, want the issuer mismatch refused", err)
	}
	if _, err := discover(t.Context(), http.DefaultClient, "http://127.0.0.1:1/mcp"); err == nil || !strings.Contains(err.Error(), "authorization_url") {
		t.Fatalf("discover of an unreachable connector = %v, want advice to configure the endpoints", err)
	}
}

func TestEncryptionKeysAreRequiredOutsideDevAndGeneratedOnceInDev(t *testing.T) {
	cfg := &config.Config{Connectors: []config.Connector{{Name: "github", URL: "https://gh.example/mcp", Credential: config.Credential{Type: config.CredentialOAuth, ClientID: "vmcp"}}}}
	cfg.Server.DataDir = t.TempDir()
	m := NewManager(Options{MACKey: key(1)})
	if _, err := m.Prepare(cfg, false); err == nil || !strings.Contains(err.Error(), "encryption_keys") {
		t.Fatalf("vmcp serve without a key: %v", err)
	}
	for range 2 {
		if _, err := m.Prepare(cfg, true); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(filepath.Join(cfg.Server.DataDir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("dev key file: %v %v", fi, err)
	}
	cfg.Auth.Connections.EncryptionKeys = []config.Secret{config.NewSecret("${env:K}", "not-a-key")}
	if _, err := m.Prepare(cfg, false); err == nil || strings.Contains(err.Error(), "not-a-key") {
		t.Fatalf("a malformed key: %v (the value must not be quoted)", err)
	}
}

func TestWithoutAClientIDVMCPRegistersOnceForEveryReplica(t *testing.T) {
	ts := startTokenServer(t, "")
	db, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "vmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, b := newManagerOn(t, db, ts.url+"/mcp", ""), newManagerOn(t, db, ts.url+"/mcp", "")
	a.Save(t.Context(), "alice", "github", &oauth2.Token{AccessToken: "at-0", RefreshToken: "rt-0", Expiry: time.Now().Add(-time.Minute)})
	if tok, _, err := a.Token(t.Context(), "alice", "github"); err != nil || tok != "at-1" {
		t.Fatalf("replica a: %q, %v", tok, err)
	}
	b.Save(t.Context(), "bob", "github", &oauth2.Token{AccessToken: "x", RefreshToken: "rt-1", Expiry: time.Now().Add(-time.Minute)})
	if _, _, err := b.Token(t.Context(), "bob", "github"); err != nil {
		t.Fatalf("replica b: %v", err)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.registrations != 1 {
		t.Errorf("%d registrations for two replicas, want 1", ts.registrations)
	}
	for _, c := range ts.clients {
		if c != "dyn-client:dyn-secret" {
			t.Errorf("the token endpoint saw client %q, want the registered one", c)
		}
	}
}

// Disconnecting revokes the user's grant at the connector's authorization server (RFC 7009,
// endpoint discovered), so a copy of the tokens is worthless too; an authorization server that
// cannot revoke does not keep the user connected to vmcp.
func TestDisconnectRevokesTheGrantAtTheAuthorizationServer(t *testing.T) {
	ts := startTokenServer(t, "")
	m, db := newTestManager(t, ts.url+"/mcp")
	for _, user := range []string{"alice", "bob"} {
		if err := m.Save(t.Context(), user, "github", &oauth2.Token{AccessToken: "at-" + user, RefreshToken: "rt-" + user, Expiry: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Disconnect(t.Context(), "alice", "github"); err != nil {
		t.Fatal(err)
	}
	ts.mu.Lock()
	revoked := slices.Clone(ts.revokedTokens)
	ts.refuseRevocation = true
	ts.mu.Unlock()
	if want := []string{"vmcp:rt-alice:refresh_token"}; !slices.Equal(revoked, want) {
		t.Fatalf("revoked %v, want %v (alice's refresh token, by vmcp's client)", revoked, want)
	}
	if _, err := db.Connection(t.Context(), "alice", "github"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("alice's connection is still stored: %v", err)
	}
	if err := m.Disconnect(t.Context(), "bob", "github"); err != nil {
		t.Fatalf("a revocation endpoint that is down failed the disconnect: %v", err)
	}
	if _, err := db.Connection(t.Context(), "bob", "github"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bob is still connected after the authorization server failed to revoke: %v", err)
	}
}
