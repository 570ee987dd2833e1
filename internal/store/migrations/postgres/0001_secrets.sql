-- Random secrets vmcp generates once and every replica sharing the store then uses:
-- the session-id key, the internal identity key, the token signing key.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    created_at BIGINT NOT NULL          -- unix seconds, as in every OAuth table
);
