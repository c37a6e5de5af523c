-- One index over (counted, expires_at) serves the settle step and a refusal's oldest pending
-- expiry (counted) and the eviction (not counted), in place of two (every session by
-- expiry, and the counted ones by expiry): an insert writes one index entry fewer.
CREATE INDEX link_sessions_by_counted_expiry ON link_sessions (counted, expires_at);
DROP INDEX link_sessions_by_expiry;
DROP INDEX link_sessions_counted;
