package e2e

import (
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/vmcp-dev/vmcp/e2e/harness"
)

// `vmcp token --user alice` and signing in as the dev user alice are one person: the same
// subject, email and groups, so policies and the audit trail do not see two users.
func TestADevTokenForADevUserIsTheUserSigningInMakes(t *testing.T) {
	s := startSystem(t, withDevUsers)
	redirect := redirectURI(t)
	cs, h := oauthClient(t, s.url("demo"), newBrowser("alice", "alice", redirect), redirect)
	if names := toolNames(t, cs); !slices.Contains(names, "notes__add_note") {
		t.Fatalf("tools after signing in: %v", names)
	}
	signedIn := signedInTokens(t, h)
	fromSignIn := jwtClaims(t, signedIn.AccessToken)

	dev := s.token("alice", "demo")
	if code, _ := post(t, s.url("demo"), dev); code != http.StatusOK {
		t.Fatalf("the dev token: HTTP %d", code)
	}
	fromCLI := jwtClaims(t, dev)
	for _, claim := range []string{"sub", "email"} {
		if fromCLI[claim] != fromSignIn[claim] {
			t.Errorf("%s: vmcp token says %v, signing in says %v", claim, fromCLI[claim], fromSignIn[claim])
		}
	}
	if g, want := anyStrings(fromCLI["groups"]), anyStrings(fromSignIn["groups"]); !slices.Equal(g, want) || !slices.Equal(g, []string{"eng"}) {
		t.Errorf("groups: vmcp token says %v, signing in says %v", g, want)
	}
	if fromCLI["sub"] != "dev:alice" {
		t.Errorf("the dev user's subject is %v, want dev:alice", fromCLI["sub"])
	}

	// A name that is no dev user is minted as given, with a warning saying so.
	cmd := exec.Command(harness.BuildVMCP(t), "token", "-c", s.configPath, "--user", "zed", "--vs", "demo")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("vmcp token --user zed: %v: %s", err, stderr.String())
	}
	if c := jwtClaims(t, strings.TrimSpace(string(out))); c["sub"] != "zed" || c["groups"] != nil {
		t.Errorf("a token for a user who is not configured: sub %v groups %v", c["sub"], c["groups"])
	}
	if want := `warning: "zed" is not a dev user in ` + s.configPath + ` (auth.login.dev_users); the token's subject is "zed", which no sign-in produces`; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q lacks %q", stderr.String(), want)
	}
}
