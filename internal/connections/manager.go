package connections

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/vmcp-dev/vmcp/internal/config"
	"github.com/vmcp-dev/vmcp/internal/credential"
	"github.com/vmcp-dev/vmcp/internal/store"
)

// Store is the part of vmcp's store the connections need.
type Store interface {
	PutConnection(ctx context.Context, c store.Connection) error
	Connection(ctx context.Context, subject, connector string) (store.Connection, error)
	DeleteConnection(ctx context.Context, subject, connector string) error
	ConnectionsOf(ctx context.Context, subject string) ([]store.Connection, error)
	PutGrant(ctx context.Context, kind, key string, value []byte, expires time.Time) error
	TakeGrant(ctx context.Context, kind, key string) ([]byte, error)
	Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error)
}

// Manager keeps users' connector tokens: it stores them sealed, hands out access tokens
// (refreshing them when they near expiry) and forgets them on disconnect. It keeps nothing in
// memory per user; the credential resolver in front of it caches.
type Manager struct {
	store Store
	http  *http.Client
	log   *zap.Logger
	sign  signer
	now   func() time.Time

	state atomic.Pointer[settings]
	// discovered holds each connector's endpoints found through its metadata, by connector URL.
	discovered sync.Map
	// clients holds vmcp's dynamically registered clients, by connector, URL and key id.
	clients sync.Map
	// changed is told when a user's tokens for a connector change or go, so that caches drop them.
	changed atomic.Pointer[func(subject, connector string)]
}

// settings are what the connect flow takes from one configuration: the connectors with
// credential type oauth, the keyring sealing their tokens, the public URL and the ticket TTL.
type settings struct {
	keys       *Keyring
	connectors map[string]*connector
	publicURL  string
	ticketTTL  time.Duration
}

// connector is one connector with credential type oauth.
type connector struct {
	name         string
	resource     string // the connector's URL: RFC 8707 resource and RFC 9728 discovery start
	clientID     string
	clientSecret string
	scopes       []string
	configured   Endpoints
}

// Options configure a Manager.
type Options struct {
	Store Store
	// MACKey (32 random bytes, shared by replicas) signs connect links and the connect flow's
	// browser session.
	MACKey []byte
	// HTTPClient reaches connectors' authorization servers; nil means one with a 10 s timeout.
	HTTPClient *http.Client
	Log        *zap.Logger
}

// NewManager returns a Manager; Prepare must be committed before it is used.
func NewManager(o Options) *Manager {
	c := o.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	return &Manager{store: o.Store, http: c, log: log, sign: signer{key: o.MACKey, now: time.Now}, now: time.Now}
}

// OnChange registers f to hear of every user's tokens for a connector changing or going.
func (m *Manager) OnChange(f func(subject, connector string)) { m.changed.Store(&f) }

func (m *Manager) notify(subject, connector string) {
	if f := m.changed.Load(); f != nil {
		(*f)(subject, connector)
	}
}

// KeyFile is where `vmcp dev` keeps a generated encryption key when none is configured.
const KeyFile = "connections.key"

// Prepare compiles cfg. dev allows a key generated into data_dir when auth.connections has none.
func (m *Manager) Prepare(cfg *config.Config, dev bool) (func(), error) {
	settings := &settings{connectors: map[string]*connector{}, publicURL: strings.TrimSuffix(cfg.Server.PublicURL, "/"), ticketTTL: cfg.Auth.Connections.TicketTTL}
	for _, conn := range cfg.Connectors {
		cr := conn.Credential
		if cr.Type != config.CredentialOAuth {
			continue
		}
		if conn.Name == "callback" {
			// /connect/callback is the flow's own redirect URI.
			return nil, fmt.Errorf("connector %q: the name callback is reserved for credential type oauth", conn.Name)
		}
		settings.connectors[conn.Name] = &connector{
			name: conn.Name, resource: conn.URL, clientID: cr.ClientID, clientSecret: cr.ClientSecret.Value(),
			scopes: cr.Scopes, configured: Endpoints{AuthorizationURL: cr.AuthorizationURL, TokenURL: cr.TokenURL, RevocationURL: cr.RevocationURL},
		}
	}
	var keys [][]byte
	for i, s := range cfg.Auth.Connections.EncryptionKeys {
		k, err := ParseKey(s.Value())
		if err != nil {
			return nil, fmt.Errorf("auth.connections.encryption_keys[%d] (%s) %v", i, s.Ref, err)
		}
		keys = append(keys, k)
	}
	switch {
	case len(keys) > 0:
	case len(settings.connectors) == 0:
		// Nothing to encrypt; a ring is made anyway so that the flow's pages work.
		keys = [][]byte{make([]byte, 32)}
		rand.Read(keys[0])
	case dev:
		k, err := devKey(cfg.Server.DataDir)
		if err != nil {
			return nil, err
		}
		keys = [][]byte{k}
	default:
		return nil, errors.New("auth.connections.encryption_keys: a key is required when a connector uses credential type oauth (e.g. ${env:VMCP_CONNECTIONS_KEY} holding `openssl rand -base64 32`)")
	}
	ring, err := NewKeyring(keys)
	if err != nil {
		return nil, err
	}
	settings.keys = ring
	return func() { m.state.Store(settings) }, nil
}

// devKey reads or creates `vmcp dev`'s key file in dataDir.
func devKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, KeyFile)
	if b, err := os.ReadFile(path); err == nil {
		return ParseKey(string(b))
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return devKey(dataDir) // another process made it first
	}
	if err != nil {
		return nil, fmt.Errorf("connections: create %s: %w", path, err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%x\n", k); err != nil {
		return nil, err
	}
	return k, nil
}

// Tokens are what is sealed for one user and connector.
type Tokens struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitempty"`
}

// refreshMargin is how long before expiry an access token is refreshed: a call that starts with
// it must not have it expire on the way.
const refreshMargin = time.Minute

// ErrUnknownConnector means the connector does not use credential type oauth.
var ErrUnknownConnector = errors.New("connections: not a connector with per-user OAuth")

// Token returns subject's access token for connector and its expiry, refreshing it first when it
// expires within a minute. A user who never connected, or whose refresh the authorization server
// refused (revoked, expired), gets a *credential.NotConnectedError carrying the connect link.
// Callers serialise calls per user and connector (the resolver's single flight).
func (m *Manager) Token(ctx context.Context, subject, connectorName string) (string, time.Time, error) {
	settings := m.state.Load()
	conn := settings.connectors[connectorName]
	if conn == nil {
		return "", time.Time{}, ErrUnknownConnector
	}
	rec, t, err := m.load(ctx, settings, subject, connectorName)
	if err != nil {
		return "", time.Time{}, err
	}
	if t.Expiry.IsZero() || m.now().Add(refreshMargin).Before(t.Expiry) {
		return t.AccessToken, t.Expiry, nil
	}
	if t.RefreshToken == "" {
		m.log.Info("connections: access token expired and no refresh token; not connected", zap.String("subject", subject), zap.String("connector", connectorName))
		return "", time.Time{}, m.notConnected(settings, subject, connectorName)
	}
	nt, err := m.refresh(ctx, conn, t.RefreshToken)
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) && rerr.Response != nil && rerr.Response.StatusCode >= 400 && rerr.Response.StatusCode < 500 {
		// Refused: revoked, expired, or already rotated by another replica a moment ago. In the
		// last case the store holds the newer tokens.
		if again, t2, err2 := m.load(ctx, settings, subject, connectorName); err2 == nil && !bytes.Equal(again.Sealed, rec.Sealed) && m.now().Add(refreshMargin).Before(t2.Expiry) {
			return t2.AccessToken, t2.Expiry, nil
		}
		m.log.Info("connections: refresh refused by the authorization server; the user must connect again",
			zap.String("subject", subject), zap.String("connector", connectorName), zap.String("error", rerr.ErrorCode))
		if err := m.store.DeleteConnection(ctx, subject, connectorName); err != nil {
			m.log.Warn("connections: could not delete a dead connection", zap.Error(err))
		}
		return "", time.Time{}, m.notConnected(settings, subject, connectorName)
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("connector %q: refresh failed: %w", connectorName, sanitize(err))
	}
	if err := m.save(ctx, settings, subject, connectorName, nt); err != nil {
		return "", time.Time{}, err
	}
	m.log.Info("connections: access token refreshed", zap.String("subject", subject), zap.String("connector", connectorName))
	return nt.AccessToken, nt.Expiry, nil
}

// load reads and opens a user's stored tokens.
func (m *Manager) load(ctx context.Context, settings *settings, subject, connectorName string) (store.Connection, Tokens, error) {
	rec, err := m.store.Connection(ctx, subject, connectorName)
	if errors.Is(err, store.ErrNotFound) {
		return rec, Tokens{}, m.notConnected(settings, subject, connectorName)
	}
	if err != nil {
		return rec, Tokens{}, err
	}
	plain, err := settings.keys.Open(rec.KeyID, subject, connectorName, rec.Sealed)
	if err != nil {
		// The key was dropped from the ring (or the row was tampered with): the user connects
		// again, which is better than failing every call.
		m.log.Warn("connections: stored tokens cannot be decrypted; treating as not connected",
			zap.String("subject", subject), zap.String("connector", connectorName), zap.String("key_id", rec.KeyID))
		return rec, Tokens{}, m.notConnected(settings, subject, connectorName)
	}
	var t Tokens
	if err := json.Unmarshal(plain, &t); err != nil || t.AccessToken == "" {
		return rec, Tokens{}, m.notConnected(settings, subject, connectorName)
	}
	return rec, t, nil
}

// Save seals and stores tokens the connect flow obtained.
func (m *Manager) Save(ctx context.Context, subject, connectorName string, t *oauth2.Token) error {
	return m.save(ctx, m.state.Load(), subject, connectorName, t)
}

func (m *Manager) save(ctx context.Context, settings *settings, subject, connectorName string, t *oauth2.Token) error {
	plain, _ := json.Marshal(Tokens{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, Expiry: t.Expiry})
	keyID, sealed, err := settings.keys.Seal(subject, connectorName, plain)
	if err != nil {
		return err
	}
	if err := m.store.PutConnection(ctx, store.Connection{Subject: subject, Connector: connectorName, KeyID: keyID, Sealed: sealed, Expires: t.Expiry}); err != nil {
		return err
	}
	m.notify(subject, connectorName)
	return nil
}

// Disconnect forgets subject's tokens for connector, then asks the connector's authorization
// server to revoke them (RFC 7009) when it has a revocation endpoint: a disconnected account
// should not stay usable by whoever holds a copy of its tokens. Revocation is best effort — the
// user is disconnected from vmcp whatever the authorization server answers — and logged.
func (m *Manager) Disconnect(ctx context.Context, subject, connectorName string) error {
	settings := m.state.Load()
	_, t, loadErr := m.load(ctx, settings, subject, connectorName)
	if err := m.store.DeleteConnection(ctx, subject, connectorName); err != nil {
		return err
	}
	m.notify(subject, connectorName)
	m.log.Info("connections: disconnected", zap.String("subject", subject), zap.String("connector", connectorName))
	if conn := settings.connectors[connectorName]; conn != nil && loadErr == nil {
		m.revoke(ctx, settings, conn, subject, t)
	}
	return nil
}

// revokeTimeout bounds the revocation a disconnect waits for.
const revokeTimeout = 5 * time.Second

// revoke asks conn's authorization server to revoke t: the refresh token, which revokes the grant
// (RFC 7009 §2.1), or the access token when there is none.
func (m *Manager) revoke(ctx context.Context, settings *settings, conn *connector, subject string, t Tokens) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	log := m.log.With(zap.String("subject", subject), zap.String("connector", conn.name))
	ep, err := m.endpoints(ctx, conn)
	if err == nil && ep.RevocationURL == "" {
		log.Info("connections: tokens not revoked at the authorization server: it has no revocation endpoint")
		return
	}
	var conf *oauth2.Config
	if err == nil {
		conf, err = m.oauthConfig(ctx, settings, conn)
	}
	if err != nil {
		log.Warn("connections: tokens not revoked at the authorization server", zap.Error(err))
		return
	}
	form := url.Values{"token": {t.RefreshToken}, "token_type_hint": {"refresh_token"}}
	if t.RefreshToken == "" {
		form = url.Values{"token": {t.AccessToken}, "token_type_hint": {"access_token"}}
	}
	if conf.ClientSecret == "" {
		form.Set("client_id", conf.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.RevocationURL, strings.NewReader(form.Encode()))
	if err != nil {
		log.Warn("connections: revocation request", zap.Error(err))
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if conf.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(conf.ClientID), url.QueryEscape(conf.ClientSecret))
	}
	resp, err := m.http.Do(req)
	if err != nil {
		// The error names the revocation endpoint, not the token (it travels in the body).
		log.Warn("connections: tokens not revoked at the authorization server", zap.Error(err))
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		log.Warn("connections: the authorization server refused to revoke the tokens", zap.Int("status", resp.StatusCode))
		return
	}
	log.Info("connections: tokens revoked at the authorization server")
}

// Connected lists the oauth connectors and whether subject is connected to each.
func (m *Manager) Connected(ctx context.Context, subject string) (map[string]bool, error) {
	settings := m.state.Load()
	out := make(map[string]bool, len(settings.connectors))
	for name := range settings.connectors {
		out[name] = false
	}
	list, err := m.store.ConnectionsOf(ctx, subject)
	if err != nil {
		return nil, err
	}
	for _, rec := range list {
		if _, ok := out[rec.Connector]; ok {
			out[rec.Connector] = true
		}
	}
	return out, nil
}

// ConnectURL is the link that connects subject to connector: vmcp's /connect page, with a
// short-lived signed ticket naming subject, so that only that user can complete it.
func (m *Manager) ConnectURL(subject, connectorName string) string {
	settings := m.state.Load()
	t := m.sign.sign(purposeTicket, claims{Subject: subject, Connector: connectorName, Expiry: m.now().Add(settings.ticketTTL).Unix()})
	return settings.publicURL + "/connect/" + url.PathEscape(connectorName) + "?ticket=" + url.QueryEscape(t)
}

func (m *Manager) notConnected(settings *settings, subject, connectorName string) error {
	return &credential.NotConnectedError{Connector: connectorName, URL: m.ConnectURL(subject, connectorName)}
}

// endpoints are conn's authorization server endpoints: configured, or discovered once.
func (m *Manager) endpoints(ctx context.Context, conn *connector) (Endpoints, error) {
	if conn.configured.TokenURL != "" {
		return conn.configured, nil
	}
	if v, ok := m.discovered.Load(conn.resource); ok {
		return v.(Endpoints), nil
	}
	found, err := discover(ctx, m.http, conn.resource)
	if err != nil {
		return Endpoints{}, fmt.Errorf("connector %q: %w", conn.name, err)
	}
	m.discovered.Store(conn.resource, found)
	return found, nil
}

// oauthConfig is the OAuth client configuration for conn, its endpoints discovered if need be.
func (m *Manager) oauthConfig(ctx context.Context, settings *settings, conn *connector) (*oauth2.Config, error) {
	ep, err := m.endpoints(ctx, conn)
	if err != nil {
		return nil, err
	}
	client := clientCredentials{ID: conn.clientID, Secret: conn.clientSecret}
	if client.ID == "" {
		cl, err := m.registeredClient(ctx, settings, conn, ep)
		if err != nil {
			return nil, err
		}
		client = cl
	}
	return &oauth2.Config{
		ClientID: client.ID, ClientSecret: client.Secret, Scopes: conn.scopes,
		Endpoint:    oauth2.Endpoint{AuthURL: ep.AuthorizationURL, TokenURL: ep.TokenURL},
		RedirectURL: settings.publicURL + CallbackPath,
	}, nil
}

func (m *Manager) refresh(ctx context.Context, conn *connector, refreshToken string) (*oauth2.Token, error) {
	conf, err := m.oauthConfig(ctx, m.state.Load(), conn)
	if err != nil {
		return nil, err
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, m.http)
	return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// sanitize keeps an authorization server's response body (which oauth2's errors quote) out of
// errors that reach logs.
func sanitize(err error) error {
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) {
		status := 0
		if rerr.Response != nil {
			status = rerr.Response.StatusCode
		}
		return fmt.Errorf("token endpoint answered HTTP %d %s", status, rerr.ErrorCode)
	}
	return err
}
