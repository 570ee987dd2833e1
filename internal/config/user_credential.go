package config

import (
	"fmt"
	"strings"
	"time"
)

// The per-user credential strategies: the connector gets a credential for the calling user
// rather than one shared service secret.
const (
	// CredentialOAuth sends the calling user's own OAuth access token for the connector, from a
	// connection the user made once at /connect/{connector} (authorization code + PKCE against
	// the connector's authorization server).
	CredentialOAuth CredentialType = "oauth"
	// CredentialTokenExchange trades the caller's identity for a connector token at the
	// organisation's token service (RFC 8693).
	CredentialTokenExchange CredentialType = "token_exchange"
	// CredentialIdentityAssertion sends a short-lived JWT naming the user, signed with vmcp's
	// key ring and verifiable with vmcp's JWKS, for internal connectors.
	CredentialIdentityAssertion CredentialType = "identity_assertion"
)

// PerUser reports whether the credential depends on the calling user.
func (t CredentialType) PerUser() bool {
	return t == CredentialOAuth || t == CredentialTokenExchange || t == CredentialIdentityAssertion
}

// Connections configures how per-user connector tokens are kept.
type Connections struct {
	// EncryptionKeys encrypt stored connector tokens (AES-256-GCM): each a reference to 32 random
	// bytes, base64 or hex encoded. The first encrypts; all decrypt, so a new key goes first and
	// the old one stays until every token was rewritten (on refresh or reconnect). Empty in
	// `vmcp dev` means a key generated into data_dir; `vmcp serve` requires one when a connector
	// uses credential type oauth.
	EncryptionKeys []Secret `yaml:"encryption_keys"`
	// TicketTTL bounds how long a connect link handed to a client stays usable.
	TicketTTL time.Duration `yaml:"ticket_ttl"`
}

// DefaultAssertionTTL is the lifetime of an identity assertion when ttl is not set: short, since
// it is minted afresh whenever the cached one nears expiry.
const DefaultAssertionTTL = 5 * time.Minute

// validateUserCredential checks the fields of the oauth, token_exchange and identity_assertion
// strategies.
func (l *loader) validateUserCredential(c *Config, p string, cr *Credential) {
	resolve := func(field string, s *Secret) {
		if err := s.resolve(c); err != nil {
			l.add(p+"."+field, "%s.%s: %v", p, field, err)
		}
	}
	if cr.Token.IsSet() || cr.Password.IsSet() || cr.Username != "" || cr.Param != "" {
		l.add(p, "%s: credential type %s takes no token, password, username or param", p, cr.Type)
	}
	optionalURL := func(field, v string) {
		if v != "" {
			l.checkURL(p+"."+field, v)
		}
	}
	switch cr.Type {
	case CredentialOAuth:
		// Without client_id, vmcp registers itself at the authorization server (RFC 7591), which
		// it finds only through discovery.
		if cr.ClientID == "" && cr.AuthorizationURL != "" {
			l.add(p, "%s: client_id is required with authorization_url and token_url (without them, vmcp discovers the authorization server and registers itself there)", p)
		}
		if cr.ClientSecret.IsSet() {
			if cr.ClientID == "" {
				l.add(p, "%s: client_secret without client_id", p)
			}
			resolve("client_secret", &cr.ClientSecret)
		}
		optionalURL("authorization_url", cr.AuthorizationURL)
		optionalURL("token_url", cr.TokenURL)
		if (cr.AuthorizationURL == "") != (cr.TokenURL == "") {
			l.add(p, "%s: set both authorization_url and token_url, or neither (then they are discovered from the connector's metadata)", p)
		}
		optionalURL("revocation_url", cr.RevocationURL)
		if cr.RevocationURL != "" && cr.TokenURL == "" {
			l.add(p+".revocation_url", "%s: revocation_url goes with authorization_url and token_url (without them it is discovered too)", p)
		}
	case CredentialTokenExchange:
		if cr.TokenURL == "" {
			l.add(p, "%s: token_url is required for credential type token_exchange", p)
		} else {
			l.checkURL(p+".token_url", cr.TokenURL)
		}
		if cr.ClientID == "" {
			l.add(p, "%s: client_id is required for credential type token_exchange", p)
		}
		if cr.ClientSecret.IsSet() {
			resolve("client_secret", &cr.ClientSecret)
		}
	case CredentialIdentityAssertion:
		if cr.Header != "" && (!headerNameRE.MatchString(cr.Header) || strings.HasPrefix(strings.ToLower(cr.Header), "x-vmcp-")) {
			l.add(p+".header", "%s.header: %q is not a usable header name", p, cr.Header)
		}
		if cr.TTL > time.Hour {
			l.add(p+".ttl", "%s.ttl: an identity assertion lives at most 1h (it is minted again when it nears expiry)", p)
		}
	}
}

// validateConnections resolves the connection encryption keys.
func (l *loader) validateConnections(c *Config) {
	for i := range c.Auth.Connections.EncryptionKeys {
		p := fmt.Sprintf("auth.connections.encryption_keys[%d]", i)
		if err := c.Auth.Connections.EncryptionKeys[i].resolve(c); err != nil {
			l.add(p, "%s: %v", p, err)
		}
	}
}
