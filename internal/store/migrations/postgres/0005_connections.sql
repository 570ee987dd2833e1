-- Per-user connector connections (credential type oauth): each user's own tokens for a
-- connector, sealed with AES-256-GCM by the connections package before they get here (the
-- database never sees them in the clear). key_id names the encryption key, so keys can rotate.
CREATE TABLE connector_connections (
    subject    TEXT NOT NULL,
    connector  TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    sealed     BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,        -- the access token's expiry, unix seconds; 0 unknown
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (subject, connector)
);
