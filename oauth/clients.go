package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/vmcp-dev/vmcp/internal/store"
	"github.com/vmcp-dev/vmcp/oauth/clientmeta"
)

// client is an OAuth client however it became known: configured, registered, or named by a
// metadata document URL.
type client struct {
	id           string
	name         string
	redirectURIs []string
	// secretHash is set for confidential clients; public clients authenticate with PKCE alone.
	secretHash []byte
	kind       string // configured | registered | metadata document
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// checkSecret compares in constant time.
func (c *client) checkSecret(secret string) bool {
	return c.secretHash != nil && subtle.ConstantTimeCompare(c.secretHash, hashSecret(secret)) == 1
}

func (c *client) allowsRedirect(uri string) bool { return slices.Contains(c.redirectURIs, uri) }

// errUnknownClient is shown to the user, never redirected: the redirect URI of an unknown client
// cannot be trusted (RFC 6749 §4.1.2.1).
var errUnknownClient = errors.New("unknown client")

// lookupClient resolves a client id: configured clients first, then a metadata document URL,
// then dynamically registered clients.
func (s *Server) lookupClient(ctx context.Context, setup *setup, id string) (*client, error) {
	if cl := setup.clients[id]; cl != nil {
		return cl, nil
	}
	if clientmeta.IsURLClientID(id) {
		if !setup.metadataDocs {
			return nil, fmt.Errorf("%w: client metadata documents are disabled", errUnknownClient)
		}
		doc, err := s.fetcher.Fetch(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("%w: client metadata document: %v", errUnknownClient, err)
		}
		return &client{id: id, name: doc.ClientName, redirectURIs: doc.RedirectURIs, kind: "metadata document"}, nil
	}
	meta, secretHash, err := s.store.Client(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errUnknownClient
	}
	if err != nil {
		return nil, err
	}
	var reg registration
	if err := json.Unmarshal(meta, &reg); err != nil {
		return nil, fmt.Errorf("client %s: stored metadata unreadable: %w", id, err)
	}
	return &client{id: id, name: reg.ClientName, redirectURIs: reg.RedirectURIs, secretHash: secretHash, kind: "registered"}, nil
}
