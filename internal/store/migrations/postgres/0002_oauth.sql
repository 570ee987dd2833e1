-- OAuth authorization server state. Times are unix seconds, as in the SQLite schema, so that
-- both backends compare expiries the same way.

-- Clients registered dynamically (RFC 7591). Pre-registered clients live in the config file and
-- URL client ids (metadata documents) are fetched, so neither is stored here.
CREATE TABLE oauth_clients (
    client_id   TEXT PRIMARY KEY,
    metadata    TEXT NOT NULL,          -- the registered metadata, JSON
    secret_hash BYTEA,                  -- SHA-256 of the client secret, for confidential clients
    created_at  BIGINT NOT NULL
);

-- Short-lived, single-use state: pending authorizations and authorization codes. Keys are
-- SHA-256 hashes of the values handed out, so a database leak does not hand out live codes.
CREATE TABLE oauth_grants (
    kind       TEXT NOT NULL,
    key_hash   BYTEA NOT NULL,
    value      TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, key_hash)
);
CREATE INDEX oauth_grants_expiry ON oauth_grants (expires_at);

-- Consents: a user allowed a client onto a virtual server (resource).
CREATE TABLE oauth_consents (
    subject    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    resource   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (subject, client_id, resource)
);

-- Refresh tokens, rotated on every use. A family is one sign-in's chain of refresh tokens: using
-- a token that was already used revokes the whole family (OAuth 2.1 §4.3.1 reuse detection).
CREATE TABLE oauth_refresh_tokens (
    token_hash BYTEA PRIMARY KEY,
    family     TEXT NOT NULL,
    grant_data TEXT NOT NULL,           -- who, which client, resource, scope: JSON
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT
);
CREATE INDEX oauth_refresh_family ON oauth_refresh_tokens (family);
CREATE INDEX oauth_refresh_expiry ON oauth_refresh_tokens (expires_at);

-- Token signing keys; the newest signs, all unexpired ones are published at the JWKS URL.
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    private_der BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);
