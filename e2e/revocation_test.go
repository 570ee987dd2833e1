package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// revokeAt posts token to edge's revocation endpoint (RFC 7009) as clientID.
func revokeAt(t *testing.T, edge, token, clientID string) {
	t.Helper()
	resp, err := http.PostForm(edge+"/oauth/revoke", url.Values{"token": {token}, "client_id": {clientID}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: HTTP %d %s", resp.StatusCode, body)
	}
}

// refusedEverywhere waits until token gets 401 "token revoked" on every virtual server URL.
func refusedEverywhere(t *testing.T, token string, urls ...string) {
	t.Helper()
	// A revocation reaches every replica through the store within about a second; 10 s
	// leaves room for a loaded machine, and passing early is the point.
	harness.Eventually(t, 10*time.Second, func() error {
		for _, u := range urls {
			code, challenge := post(t, u, token)
			if code != http.StatusUnauthorized || !strings.Contains(challenge, `error_description="token revoked"`) {
				return fmt.Errorf("%s still answers HTTP %d (%s)", u, code, challenge)
			}
		}
		return nil
	})
}

// A revoked access token, and every access token of a revoked refresh family, is refused on
// every replica within seconds — not only after it expires an hour later.
func TestRevokedTokensAreRefusedOnEveryReplicaWithinSeconds(t *testing.T) {
	shared := postgresStore(t)
	a := startSystem(t, withDevUsers, func(c *harness.Config) { c.Store = shared })
	b := startReplica(t, a)

	redirect := redirectURI(t)
	_, h := oauthClient(t, a.url("demo"), newBrowser("alice", "alice", redirect), redirect)
	tok := signedInTokens(t, h)
	client := clientIDOf(t, tok.AccessToken)
	for _, u := range []string{a.url("demo"), b.url("demo")} {
		if code, _ := post(t, u, tok.AccessToken); code != http.StatusOK {
			t.Fatalf("before revocation, %s: HTTP %d", u, code)
		}
	}

	// One access token, revoked through replica A: refused on A and on B.
	fresh := refreshWith(t, a.edge, tok.RefreshToken, client)
	if fresh.code != http.StatusOK {
		t.Fatalf("refresh: HTTP %d %s", fresh.code, fresh.body)
	}
	revokeAt(t, a.edge, tok.AccessToken, client)
	refusedEverywhere(t, tok.AccessToken, a.url("demo"), b.url("demo"))
	// The access token minted by the refresh is another token: it still works.
	if code, _ := post(t, b.url("demo"), fresh.accessToken); code != http.StatusOK {
		t.Fatalf("revoking one access token refused another: HTTP %d", code)
	}

	// The refresh family, revoked through replica B: its refresh token stops working and so
	// does every access token it issued, on both replicas.
	revokeAt(t, b.edge, fresh.refreshToken, client)
	refusedEverywhere(t, fresh.accessToken, a.url("demo"), b.url("demo"))
	if again := refreshWith(t, a.edge, fresh.refreshToken, client); again.code == http.StatusOK {
		t.Fatal("a revoked refresh token was redeemed")
	}
	// A token of another user or client is untouched.
	if code, _ := post(t, a.url("demo"), a.token("bob", "demo")); code != http.StatusOK {
		t.Fatalf("an unrelated token after the revocations: HTTP %d", code)
	}
}
