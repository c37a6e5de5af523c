-- O(1) pending caps (spec decision 12): the pending sessions per caller and in total are kept
-- in counters, updated in the transaction that inserts, completes or settles a session,
-- instead of being counted over an index on every insert.
--
-- A session is *counted* (counted = 1) from its insert, if it is then pending, until it is
-- completed or settled (taken out of the count by the settle step once it has expired). Each
-- counted session adds 1 to its caller's counter and to the total (caller_kind 'total',
-- owner_id ''). A counter may be split into shards (PostgreSQL, so that concurrent inserts do
-- not queue on one row); its value is the sum of its shards. SQLite uses shard 0 only.
ALTER TABLE link_sessions ADD COLUMN counted INTEGER NOT NULL DEFAULT 0;

CREATE TABLE pending_counts (
    caller_kind TEXT    NOT NULL CHECK (caller_kind IN ('supplier', 'manufacturer', 'total')),
    owner_id    TEXT    NOT NULL,
    shard       INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (caller_kind, owner_id, shard)
) WITHOUT ROWID;

-- The sessions pending now are counted; completed and expired ones are not.
UPDATE link_sessions SET counted = 1 WHERE completed_at IS NULL AND expires_at > unixepoch();
INSERT INTO pending_counts (caller_kind, owner_id, shard, count)
    SELECT caller_kind, owner_id, 0, count(*) FROM link_sessions WHERE counted = 1
    GROUP BY caller_kind, owner_id;
INSERT INTO pending_counts (caller_kind, owner_id, shard, count)
    SELECT 'total', '', 0, count(*) FROM link_sessions WHERE counted = 1;

-- The counts no longer scan these.
DROP INDEX link_sessions_pending_by_caller;
DROP INDEX link_sessions_pending;
-- Counted sessions by expiry: the settle step, and a refusal's oldest pending expiry.
CREATE INDEX link_sessions_counted ON link_sessions (expires_at) WHERE counted = 1;
