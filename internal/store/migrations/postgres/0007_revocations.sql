-- Revoked access tokens (by jti) and refresh families (by the family's hash, the fid claim of
-- the access tokens it issued), kept until every token they name has expired. Every replica
-- reads this table about once a second, so a revocation holds everywhere within seconds.
CREATE TABLE token_revocations (
    seq        BIGSERIAL PRIMARY KEY,
    kind       TEXT NOT NULL,            -- jti or fid
    id         TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    UNIQUE (kind, id)
);
CREATE INDEX token_revocations_expiry ON token_revocations (expires_at);
