-- The outbox of completion events (spec decision 20): a row is written in the transaction that
-- completes a session (or finds it expired), and stays until delivered or failed. A dispatcher
-- claims due rows with a lease (leased_by, leased_until): a row leased to one instance is not
-- claimed by another until the lease runs out, so a crashed instance's events come back.
CREATE TABLE webhook_outbox (
    id              TEXT    NOT NULL PRIMARY KEY,
    caller          TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    body            BYTEA   NOT NULL,
    created_at      BIGINT  NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    leased_by       TEXT,
    leased_until    BIGINT  NOT NULL DEFAULT 0,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    BIGINT,
    failed_at       BIGINT
);

CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX webhook_outbox_failed ON webhook_outbox (failed_at)
    WHERE failed_at IS NOT NULL;
