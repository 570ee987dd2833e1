package connections

import (
	"strings"
	"testing"
	"time"
)

func TestSignedValuesAreBoundToTheirPurposeAndExpire(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := signer{key: key(3), now: func() time.Time { return now }}
	ticket := s.sign(purposeTicket, claims{Subject: "alice", Connector: "github", Expiry: now.Add(time.Minute).Unix()})
	if c, err := s.verify(purposeTicket, ticket); err != nil || c.Subject != "alice" || c.Connector != "github" {
		t.Fatalf("verify = %+v, %v", c, err)
	}
	if _, err := s.verify(purposeBrowser, ticket); err == nil {
		t.Error("a ticket passed as a browser session")
	}
	body, sig, _ := strings.Cut(ticket, ".")
	forged := s.sign(purposeTicket, claims{Subject: "mallory", Connector: "github", Expiry: now.Add(time.Minute).Unix()})
	fbody, _, _ := strings.Cut(forged, ".")
	if _, err := s.verify(purposeTicket, fbody+"."+sig); err == nil {
		t.Error("a ticket with another subject kept its signature")
	}
	if _, err := (signer{key: key(4), now: s.now}).verify(purposeTicket, body+"."+sig); err == nil {
		t.Error("a ticket verified under another key")
	}
	now = now.Add(2 * time.Minute)
	if _, err := s.verify(purposeTicket, ticket); err == nil {
		t.Error("an expired ticket verified")
	}
}
