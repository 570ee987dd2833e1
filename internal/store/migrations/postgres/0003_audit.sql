-- The audit trail: one row per MCP request or authorization decision (audit.Event). Times are
-- unix microseconds, so that events within one second keep their order and a page cursor
-- (time, id) is exact. Text columns the event leaves empty hold '' rather than NULL, so that a
-- filter is a plain equality. Arguments are the recorded (redacted) arguments as JSON text, NULL
-- when none were recorded (text, not jsonb: jsonb reorders keys and drops duplicates, and the
-- trail should hold what was recorded). Ids compare in byte order (COLLATE "C"), as SQLite's do,
-- so both backends page through ties in time the same way.
CREATE TABLE audit_events (
    id              TEXT COLLATE "C" PRIMARY KEY,
    time_us         BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    request_id      TEXT NOT NULL DEFAULT '',
    subject         TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    client_id       TEXT NOT NULL DEFAULT '',
    virtual_server  TEXT NOT NULL DEFAULT '',
    connector       TEXT NOT NULL DEFAULT '',
    method          TEXT NOT NULL DEFAULT '',
    target          TEXT NOT NULL DEFAULT '',
    decision        TEXT NOT NULL DEFAULT '',
    policy          TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    outcome         TEXT NOT NULL DEFAULT '',
    error_code      INTEGER NOT NULL DEFAULT 0,
    upstream_status INTEGER NOT NULL DEFAULT 0,
    latency_us      BIGINT NOT NULL DEFAULT 0,
    bytes_in        BIGINT NOT NULL DEFAULT 0,
    bytes_out       BIGINT NOT NULL DEFAULT 0,
    arguments       TEXT
);

-- Pages are read newest first by (time_us, id); retention deletes oldest first by time_us. The
-- per-dimension indexes end in (time_us, id) so that a filtered page is one index range scan.
CREATE INDEX audit_events_time ON audit_events (time_us, id);
CREATE INDEX audit_events_subject ON audit_events (subject, time_us, id);
CREATE INDEX audit_events_virtual_server ON audit_events (virtual_server, time_us, id);
CREATE INDEX audit_events_connector ON audit_events (connector, time_us, id);
