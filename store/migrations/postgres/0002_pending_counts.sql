-- O(1) pending caps (spec decision 12): the pending sessions per caller and in total are kept
-- in counters, updated in the transaction that inserts, completes or settles a session,
-- instead of being counted over an index on every insert.
--
-- A session is *counted* (counted = true) from its insert, if it is then pending, until it is
-- completed or settled (taken out of the count by the settle step once it has expired). Each
-- counted session adds 1 to its caller's counter and to the total (caller_kind 'total',
-- owner_id ''), in the shard `get_byte(token_sha256, 0) % 16`: concurrent inserts of one caller
-- then rarely wait for the same row (a lock held until their commit is flushed). A counter's
-- value is the sum of its shards.
ALTER TABLE link_sessions ADD COLUMN counted boolean NOT NULL DEFAULT false;

CREATE TABLE pending_counts (
    caller_kind text   NOT NULL CHECK (caller_kind IN ('supplier', 'manufacturer', 'total')),
    owner_id    text   NOT NULL,
    shard       int    NOT NULL,
    count       bigint NOT NULL,
    PRIMARY KEY (caller_kind, owner_id, shard)
);

-- The sessions pending now are counted; completed and expired ones are not.
UPDATE link_sessions SET counted = true
    WHERE completed_at IS NULL AND expires_at > extract(epoch FROM now())::bigint;
INSERT INTO pending_counts (caller_kind, owner_id, shard, count)
    SELECT caller_kind, owner_id, get_byte(token_sha256, 0) % 16, count(*)
    FROM link_sessions WHERE counted GROUP BY 1, 2, 3;
INSERT INTO pending_counts (caller_kind, owner_id, shard, count)
    SELECT 'total', '', get_byte(token_sha256, 0) % 16, count(*)
    FROM link_sessions WHERE counted GROUP BY 3;

-- The counts no longer scan these.
DROP INDEX link_sessions_pending_by_caller;
DROP INDEX link_sessions_pending;
-- Counted sessions by expiry: the settle step, and a refusal's oldest pending expiry.
CREATE INDEX link_sessions_counted ON link_sessions (expires_at) WHERE counted;
