package authz

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/store"
	"github.com/vmcp-dev/vmcp/internal/tokens"
)

// A token revoked in the store is refused once the server has reread the list — also when the
// token was verified and cached before — and the tokens around it are not.
func TestARevokedTokenIsRefusedEvenWhenCached(t *testing.T) {
	f := newFixture(t)
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "vmcp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go f.srv.WatchRevocations(ctx, db, 10*time.Millisecond)

	const aud = "https://mcp.example.com/v/eng/mcp"
	revoked, kept := f.token(t, aud), f.token(t, aud)
	family, err := f.minter.Mint(tokens.Claims{Subject: "alice", Audience: aud, Family: "fam-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{revoked, kept, family} {
		if resp := check(t, f.srv, "/v/eng/mcp", map[string]string{"authorization": "Bearer " + tok}); resp.GetOkResponse() == nil {
			t.Fatalf("before revocation: %v", resp.GetDeniedResponse())
		}
	}
	claims, err := tokens.VerifySignature(f.srv.keys.PublicSet(), revoked)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []store.Revocation{
		{Kind: store.RevokedToken, ID: claims.ID, Expires: time.Now().Add(time.Hour)},
		{Kind: store.RevokedFamily, ID: "fam-1", Expires: time.Now().Add(time.Hour)},
	} {
		if err := db.Revoke(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	for _, tok := range []string{revoked, family} {
		harness.Eventually(t, 5*time.Second, func() error {
			resp := check(t, f.srv, "/v/eng/mcp", map[string]string{"authorization": "Bearer " + tok})
			d := resp.GetDeniedResponse()
			if d == nil || d.GetStatus().GetCode() != 401 || !strings.Contains(d.GetBody(), `"message":"invalid token: token revoked"`) {
				return fmt.Errorf("still %v", resp)
			}
			return nil
		})
	}
	if resp := check(t, f.srv, "/v/eng/mcp", map[string]string{"authorization": "Bearer " + kept}); resp.GetOkResponse() == nil {
		t.Fatalf("an unrevoked token was refused: %v", resp.GetDeniedResponse())
	}
}
