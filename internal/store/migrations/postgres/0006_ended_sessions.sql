-- MCP sessions a client ended (HTTP DELETE). Session ids are sealed and carry everything about
-- the session, so ending one needs a record every replica can see. A session is named by the
-- nonce of its sealed id, which opens nothing without vmcp's key; the record is kept until the
-- session would have expired anyway.
CREATE TABLE ended_sessions (
    session_key TEXT PRIMARY KEY,
    ended_at    BIGINT NOT NULL,    -- unix microseconds
    expires_at  BIGINT NOT NULL     -- unix seconds
);
CREATE INDEX ended_sessions_ended_at ON ended_sessions (ended_at);
