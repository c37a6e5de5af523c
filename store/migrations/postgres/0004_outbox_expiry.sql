-- The session a link_session.expired event belongs to, so that completing the session removes
-- the event in the completion's transaction (spec decision 20).
ALTER TABLE webhook_outbox ADD COLUMN session_sha256 BYTEA;
CREATE INDEX webhook_outbox_session ON webhook_outbox (session_sha256)
    WHERE session_sha256 IS NOT NULL;
