-- Which policy revision decided, and the id the same decision has in the OPA decision log, so an
-- audit event and a decision-log entry can be joined. '' for events recorded before, and for
-- decisions made while decision logs are off.
ALTER TABLE audit_events ADD COLUMN policy_revision TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN decision_id TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_events_decision_id ON audit_events (decision_id) WHERE decision_id <> '';
