package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// alternating sends each request to the next of several edges, as a load balancer in front of
// several vmcp replicas would: the client keeps one URL, the replicas take turns.
type alternating struct {
	mu    sync.Mutex
	hosts []string
	next  int
	seen  map[string]int
}

func (a *alternating) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	host := a.hosts[a.next%len(a.hosts)]
	a.next++
	a.seen[host]++
	a.mu.Unlock()
	r = r.Clone(r.Context())
	r.URL.Host, r.Host = host, ""
	return http.DefaultTransport.RoundTrip(r)
}

func TestTwoReplicasOnOnePostgreSQLServeOneClientInTurns(t *testing.T) {
	shared := postgresStore(t)
	a := startSystem(t, withDevUsers, func(c *harness.Config) { c.Store = shared })
	b := startReplica(t, a)

	edgeA, _ := url.Parse(a.edge)
	edgeB, _ := url.Parse(b.edge)
	lb := &alternating{hosts: []string{edgeA.Host, edgeB.Host}, seen: map[string]int{}}
	httpClient := &http.Client{Transport: lb}

	// Sign-in: the browser talks to replica A; registration, the token exchange and every MCP
	// request alternate between A and B.
	redirect := redirectURI(t)
	browser := newBrowser("alice", "alice", redirect)
	// A client session of the 2025 revisions: its session id, sealed by one replica, names the
	// connector sessions both replicas use.
	cs, handler := oauthClientIn(t, a.url("demo"), browser, redirect, httpClient, "2025-11-25")
	if cs.ID() == "" {
		t.Fatal("the client keeps no session")
	}

	for i := 0; i < 3; i++ {
		if names := toolNames(t, cs); !slices.Contains(names, "notes__add_note") {
			t.Fatalf("tools/list #%d: %v", i, names)
		}
	}
	// Both replicas serve the one session: every call, through either, lands in the connector
	// session made at initialize, which counts them.
	opened := sessionInfo(t, cs, "notes__session_info")
	for i := range 4 {
		if next := sessionInfo(t, cs, "notes__session_info"); next.Session != opened.Session || next.Calls != opened.Calls+i+1 {
			t.Fatalf("call %d: notes session %+v, first %+v; want the client session's one connector session", i+2, next, opened)
		}
	}
	if lb.seen[edgeA.Host] < 3 || lb.seen[edgeB.Host] < 3 {
		t.Fatalf("requests per replica: %v; want both to take turns", lb.seen)
	}

	// A refresh token issued through one replica rotates through the other, and the replayed
	// old one is caught there too.
	tok := signedInTokens(t, handler)
	client := clientIDOf(t, tok.AccessToken)
	first := refreshWith(t, b.edge, tok.RefreshToken, client)
	if first.code != http.StatusOK {
		t.Fatalf("refresh on replica B: HTTP %d %s", first.code, first.body)
	}
	if replay := refreshWith(t, a.edge, tok.RefreshToken, client); replay.code == http.StatusOK {
		t.Fatal("replica A accepted a refresh token replica B had already rotated")
	}
	if code, _ := post(t, a.url("demo"), first.accessToken); code != http.StatusOK {
		t.Fatalf("a token issued by replica B is refused by replica A: HTTP %d", code)
	}
}
