// Package store persists vmcp's state: generated secrets and signing keys, OAuth authorization
// server state, and audit events. One implementation of the Store interface runs on two
// databases, with the same semantics, proven by one conformance suite (storetest): SQLite (pure
// Go, embedded, the default for one node) and PostgreSQL (several replicas sharing one
// database). Each query is written once; a small dialect holds the little that differs. Versioned
// migrations, shared where both databases run the same SQL, are applied at open.
package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/config"
)

// ErrNotFound is returned when a record does not exist, has expired or was already taken.
var ErrNotFound = errors.New("not found")

// ErrReused is returned by UseRefreshToken for a refresh token that was already used or revoked.
var ErrReused = errors.New("refresh token already used")

// Store is vmcp's persistent state. Every method is safe for concurrent use, also across
// replicas sharing one PostgreSQL database.
type Store interface {
	// Secret returns the secret called name, creating it with generate on first use. When
	// several replicas race to create it, exactly one value wins and all of them return it.
	Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error)

	// PutClient stores a dynamically registered client (RFC 7591).
	PutClient(ctx context.Context, clientID string, metadataJSON []byte, secretHash []byte) error
	// Client returns a registered client's metadata and secret hash, or ErrNotFound.
	Client(ctx context.Context, clientID string) (metadataJSON, secretHash []byte, err error)

	// PutGrant stores short-lived single-use state of a kind ("pending", "code",
	// "connector-session") under the hash of key, until expires. A key is put once: a second put
	// of the same key fails, so of replicas racing to put it exactly one wins.
	PutGrant(ctx context.Context, kind, key string, value []byte, expires time.Time) error
	// Grant reads a live grant without taking it.
	Grant(ctx context.Context, kind, key string) ([]byte, error)
	// TakeGrant reads and deletes a grant in one statement: of concurrent redemptions of the
	// same authorization code, on any replica, exactly one succeeds.
	TakeGrant(ctx context.Context, kind, key string) ([]byte, error)

	// HasConsent reports whether subject allowed clientID onto resource before.
	HasConsent(ctx context.Context, subject, clientID, resource string) (bool, error)
	// PutConsent remembers that subject allowed clientID onto resource.
	PutConsent(ctx context.Context, subject, clientID, resource string) error

	// PutRefreshToken stores a new refresh token (by hash) in family.
	PutRefreshToken(ctx context.Context, token, family string, grant []byte, expires time.Time) error
	// UseRefreshToken marks a refresh token used in one statement and returns its family and
	// grant. A token that was already used or revoked returns ErrReused with its family, so
	// that the caller can revoke the family (OAuth 2.1 §4.3.1); an unknown or expired token
	// returns ErrNotFound.
	UseRefreshToken(ctx context.Context, token string) (family string, grant []byte, err error)
	// RevokeRefreshFamily revokes every refresh token of a family.
	RevokeRefreshFamily(ctx context.Context, family string) error
	// RefreshFamily returns the family of a refresh token, used or not (for revocation).
	RefreshFamily(ctx context.Context, token string) (string, error)
	// RefreshGrant returns the grant data of a refresh token, used or not.
	RefreshGrant(ctx context.Context, token string) ([]byte, error)

	// Revoke adds r to the revocation list; revoking again keeps the later expiry.
	Revoke(ctx context.Context, r Revocation) error
	// Revocations returns the revocation list's live entries (unexpired ones).
	Revocations(ctx context.Context) ([]Revocation, error)
	// RevocationsVersion changes whenever an entry is added or deleted; it is how every
	// replica polls the list cheaply.
	RevocationsVersion(ctx context.Context) (RevocationsVersion, error)

	// SigningKeys returns all stored signing keys, newest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// AddSigningKey stores a new signing key.
	AddSigningKey(ctx context.Context, k SigningKey) error

	// PutConnection stores (or replaces) a user's sealed tokens for a connector.
	PutConnection(ctx context.Context, c Connection) error
	// Connection returns a user's sealed tokens for a connector, or ErrNotFound.
	Connection(ctx context.Context, subject, connector string) (Connection, error)
	// DeleteConnection forgets a user's tokens for a connector; deleting none is not an error.
	DeleteConnection(ctx context.Context, subject, connector string) error
	// ConnectionsOf lists a user's connections, by connector name.
	ConnectionsOf(ctx context.Context, subject string) ([]Connection, error)

	// EndSession records that the MCP session named key ended, until expires (when the session
	// would have expired anyway). Ending a session twice is not an error.
	EndSession(ctx context.Context, key string, expires time.Time) error
	// EndedSessionsSince returns the sessions ended at or after since that have not expired, so
	// that every replica learns of them.
	EndedSessionsSince(ctx context.Context, since time.Time) ([]EndedSession, error)

	// DeleteExpired removes grants, refresh tokens, ended-session records and revocations past their
	// expiry.
	DeleteExpired(ctx context.Context) error

	audit.Store

	// Close releases the database.
	Close() error
}

// EndedSession is one MCP session a client ended.
type EndedSession struct {
	Key     string
	Ended   time.Time
	Expires time.Time
}

// SigningKey is one stored token signing key.
type SigningKey struct {
	KID        string
	PrivateDER []byte
	Created    time.Time
}

// Connection is one user's tokens for one connector, sealed (AES-256-GCM) by the connections
// package: the store never sees them in the clear.
type Connection struct {
	Subject   string
	Connector string
	// KeyID names the encryption key that sealed the tokens.
	KeyID  string
	Sealed []byte
	// Expires is the access token's expiry (zero: unknown).
	Expires time.Time
	Updated time.Time
}

// Open opens the store cfg names: SQLite at server.data_dir/vmcp.db, or PostgreSQL at
// store.dsn.
func Open(ctx context.Context, cfg *config.Config) (Store, error) {
	switch cfg.Store.Driver {
	case "sqlite", "":
		return OpenSQLite(ctx, filepath.Join(cfg.Server.DataDir, "vmcp.db"))
	case "postgres":
		return OpenPostgres(ctx, cfg.Store.DSN.Value())
	default:
		return nil, fmt.Errorf("store: driver %q is not sqlite or postgres", cfg.Store.Driver)
	}
}

// hashKey is how codes and refresh tokens are stored: a database leak does not hand out live
// credentials.
func hashKey(v string) []byte {
	h := sha256.Sum256([]byte(v))
	return h[:]
}
