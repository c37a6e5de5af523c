-- One index over (counted, expires_at) serves the settle step and a refusal's oldest pending
-- expiry (counted = 1) and the eviction (counted = 0), in place of two (every session by
-- expiry, and the counted ones by expiry): an insert writes one index entry fewer.
CREATE INDEX link_sessions_by_counted_expiry ON link_sessions (counted, expires_at);
DROP INDEX link_sessions_by_expiry;
DROP INDEX link_sessions_counted;

-- A completion no longer deletes its session's pending link_session.expired event (one write
-- fewer in the completion's transaction): a claim skips and deletes the expiry event of a
-- completed session instead, and this trigger deletes it with its session, so that it is never
-- sent either way (spec decision 20: an expiry event only for a session that expired pending).
CREATE TRIGGER link_sessions_completed_evicted AFTER DELETE ON link_sessions
WHEN OLD.completed_at IS NOT NULL
BEGIN
    DELETE FROM webhook_outbox
    WHERE session_sha256 = OLD.token_sha256 AND delivered_at IS NULL;
END;
