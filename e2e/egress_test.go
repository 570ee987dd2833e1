package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/e2e/harness"
	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/identity"
)

// vmcpSigner is the identity signer of a running system, with the key vmcp keeps in its store:
// it lets a test make the identities vmcp itself would sign, expired ones and ones for another
// virtual server included.
func (s *system) vmcpSigner(t *testing.T) *identity.Signer {
	t.Helper()
	db := s.openStore(t)
	defer db.Close()
	key, err := db.Secret(context.Background(), "identity-hmac-1", func() ([]byte, error) { return nil, errors.New("vmcp made no identity key") })
	if err != nil {
		t.Fatal(err)
	}
	signer, err := identity.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// egressPost sends an MCP request straight to Envoy's egress listener, as any process on the
// host (or in the pod, or the docker-compose network namespace) can.
func egressPost(t *testing.T, s *system, connector, signed, requestID string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addrs["egress"]+"/mcp",
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"local","version":"1"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("x-vmcp-connector", connector)
	req.Header.Set("x-request-id", requestID)
	if signed != "" {
		req.Header.Set("x-vmcp-identity", signed)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// The egress listener attaches connector credentials, so it serves only requests vmcp itself
// signed for a user of a virtual server that has the connector. A local process that names a
// connector without such an identity — none, forged, expired, or for a virtual server without
// that connector — gets 403, never reaches the connector, and each attempt is audited.
func TestTheEgressListenerServesOnlyRequestsVMCPSignedForAUser(t *testing.T) {
	s := startSystem(t)
	s.reload(func() { s.writeConfig(harness.VirtualServer{Name: "ops", Connectors: []string{"weather"}}) })
	signer := s.vmcpSigner(t)
	hour := time.Now().Add(time.Hour).Unix()
	sign := func(signer *identity.Signer, id identity.Identity) string {
		signed, err := signer.Sign(id)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	otherKey, _ := identity.NewSigner([]byte(strings.Repeat("k", 32)))

	for _, tc := range []struct{ name, identity string }{
		{"no identity", ""},
		{"a forged identity", sign(otherKey, identity.Identity{Subject: "erin", VirtualServer: "demo", Expiry: hour})},
		{"a made-up identity", "eyJzdWIiOiJhZG1pbiIsInZzIjoiZGVtbyJ9.AAAA"},
		{"an expired identity", sign(signer, identity.Identity{Subject: "erin", VirtualServer: "demo", Expiry: time.Now().Add(-time.Minute).Unix()})},
		{"an identity for a virtual server without the connector", sign(signer, identity.Identity{Subject: "erin", VirtualServer: "ops", Expiry: hour})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.notesSeen.all())
			requestID := "egress-" + strings.ReplaceAll(tc.name, " ", "-")
			status, body := egressPost(t, s, "notes", tc.identity, requestID)
			if status != http.StatusForbidden || !strings.Contains(body, "refused") {
				t.Errorf("HTTP %d %q, want 403 with a refusal", status, body)
			}
			if strings.Contains(body, notesToken) {
				t.Error("the refusal carries the connector's credential")
			}
			if after := len(s.notesSeen.all()); after != before {
				t.Errorf("the notes connector received %d requests", after-before)
			}
			s.awaitAudit(t, 1, func(ev audit.Event) bool {
				return ev.RequestID == requestID
			}, "--kind", "egress", "--outcome", "denied", "--connector", "notes")
		})
	}

	// The same request with the identity vmcp signs for a user of demo reaches the connector:
	// the refusals above are the identity's doing.
	before := len(s.notesSeen.all())
	if status, body := egressPost(t, s, "notes", sign(signer, identity.Identity{Subject: "erin", VirtualServer: "demo", Expiry: hour}), "egress-signed"); status != http.StatusOK {
		t.Fatalf("vmcp's own identity: HTTP %d %.300s", status, body)
	}
	if after := len(s.notesSeen.all()); after != before+1 {
		t.Errorf("the notes connector received %d requests, want 1", after-before)
	}

	// vmcp's own fan-out still works and is audited as the user's.
	cs := connect(t, s.url("demo"), s.token("erin", "demo"))
	if names := toolNames(t, cs); len(names) == 0 {
		t.Fatal("no tools through the aggregator")
	}
	s.awaitAudit(t, 1, func(ev audit.Event) bool {
		return ev.Connector == "notes" && ev.Method == "tools/list" && ev.Decision == "allow" && ev.Outcome == audit.OutcomeOK && ev.VirtualServer == "demo"
	}, "--kind", "egress", "--user", "erin")
}
