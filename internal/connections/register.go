package connections

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// clientCredentials are vmcp's client id (and secret) at a connector's authorization server.
type clientCredentials struct {
	ID     string `json:"client_id"`
	Secret string `json:"client_secret,omitempty"`
}

// registeredClient returns vmcp's client at conn's authorization server when none is configured:
// registered once through RFC 7591 dynamic client registration, as MCP clients do, and kept in
// the store (sealed with the connection key ring; the first replica's registration wins), so
// every replica and restart uses the same client.
func (m *Manager) registeredClient(ctx context.Context, settings *settings, conn *connector, ep Endpoints) (clientCredentials, error) {
	cacheKey := conn.name + "\x00" + conn.resource + "\x00" + settings.keys.Current()
	if v, ok := m.clients.Load(cacheKey); ok {
		return v.(clientCredentials), nil
	}
	if ep.RegistrationURL == "" {
		return clientCredentials{}, fmt.Errorf("connector %q: no client_id configured and its authorization server offers no dynamic client registration", conn.name)
	}
	h := sha256.Sum256([]byte(conn.resource + "\x00" + ep.RegistrationURL))
	// The key id is part of the name: after a key rotation vmcp registers anew rather than hold
	// a client it can no longer decrypt.
	name := "connector-client/" + conn.name + "/" + hex.EncodeToString(h[:8]) + "/" + settings.keys.Current()
	stored, err := m.store.Secret(ctx, name, func() ([]byte, error) {
		cl, err := m.register(ctx, settings, ep.RegistrationURL)
		if err != nil {
			return nil, err
		}
		plain, _ := json.Marshal(cl)
		keyID, sealed, err := settings.keys.Seal("", name, plain)
		if err != nil {
			return nil, err
		}
		return []byte(keyID + "." + base64.RawURLEncoding.EncodeToString(sealed)), nil
	})
	if err != nil {
		return clientCredentials{}, fmt.Errorf("connector %q: dynamic client registration: %w", conn.name, err)
	}
	keyID, enc, _ := strings.Cut(string(stored), ".")
	sealed, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return clientCredentials{}, ErrUndecryptable
	}
	plain, err := settings.keys.Open(keyID, "", name, sealed)
	if err != nil {
		return clientCredentials{}, err
	}
	var cl clientCredentials
	if err := json.Unmarshal(plain, &cl); err != nil || cl.ID == "" {
		return clientCredentials{}, errors.New("stored client registration unreadable")
	}
	m.clients.Store(cacheKey, cl)
	return cl, nil
}

// register performs RFC 7591 registration for vmcp's connect flow.
func (m *Manager) register(ctx context.Context, settings *settings, registrationURL string) (clientCredentials, error) {
	body, _ := json.Marshal(map[string]any{
		"client_name":                "vmcp",
		"redirect_uris":              []string{settings.publicURL + CallbackPath},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": "client_secret_basic",
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, registrationURL, bytes.NewReader(body))
	if err != nil {
		return clientCredentials{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := m.http.Do(req)
	if err != nil {
		return clientCredentials{}, err
	}
	defer resp.Body.Close()
	var cl clientCredentials
	// The answer carries a secret: never quoted in errors.
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&cl) != nil || cl.ID == "" {
		return clientCredentials{}, fmt.Errorf("the registration endpoint answered HTTP %d without a client", resp.StatusCode)
	}
	m.log.Info("connections: registered as a client at a connector's authorization server")
	return cl, nil
}
