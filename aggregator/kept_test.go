package aggregator

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/vmcp-dev/vmcp/internal/identity"
)

// The connector sessions vmcp keeps for session-less users share what the connector said about
// itself: what a user costs is their session id, not another copy of its capabilities.
func TestKeptSessionsShareTheConnectorsCapabilities(t *testing.T) {
	b := startBig(t)
	var entries []keptSession
	for _, user := range []string{"alice", "bob"} {
		signed, _ := b.signer.Sign(identity.Identity{Subject: user, VirtualServer: "plain", Expiry: time.Now().Add(time.Hour).Unix()})
		if _, _, err := b.agg.ConnectorSession(context.Background(), signed, user, "plain", "slack", false); err != nil {
			t.Fatal(err)
		}
		e, ok := b.agg.kept.m[keptKey{user, "plain", "slack"}]
		if !ok || e.sessionID == "" {
			t.Fatalf("no kept session for %s: %+v", user, e)
		}
		entries = append(entries, e)
	}
	a, c := entries[0], entries[1]
	if a.sessionID == c.sessionID {
		t.Fatalf("alice and bob share connector session %q", a.sessionID)
	}
	if len(a.caps) == 0 || reflect.ValueOf(a.caps).UnsafePointer() != reflect.ValueOf(c.caps).UnsafePointer() {
		t.Errorf("each kept session holds its own capabilities (%v, %v)", a.caps, c.caps)
	}
}
