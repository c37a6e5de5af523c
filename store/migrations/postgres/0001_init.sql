-- Link sessions and v1 subscribers (spec decisions 7, 8, 11 and 12).
--
-- A session is keyed by the SHA-256 digest of its token; the token itself (a bearer secret) is
-- not stored: the link URL is kept as the text before and after it, and a lookup, which has
-- the token in hand, rebuilds it. link_url_tail is NULL when the URL holds no token.
CREATE TABLE link_sessions (
    token_sha256  bytea  NOT NULL PRIMARY KEY CHECK (octet_length(token_sha256) = 32),
    kind          text   NOT NULL CHECK (kind IN ('v2_supplier', 'v2_manufacturer', 'v1_supplier')),
    -- Whose pending cap the session counts against: suppliers and manufacturers may share ids.
    caller_kind   text   NOT NULL CHECK (caller_kind =
                      CASE kind WHEN 'v2_manufacturer' THEN 'manufacturer' ELSE 'supplier' END),
    owner_id      text   NOT NULL,
    owner_name    text   NOT NULL,
    user_id       text   NOT NULL,
    redirect_url  text   NOT NULL,
    language      text   NOT NULL,
    asset_type    text,
    brand         text,
    link_url_head text   NOT NULL,
    link_url_tail text,
    created_at    bigint NOT NULL,
    expires_at    bigint NOT NULL,
    completed_at  bigint
);

-- Pending sessions per caller (insert's cap check and its retry-after), index-only.
CREATE INDEX link_sessions_pending_by_caller
    ON link_sessions (caller_kind, owner_id, expires_at) WHERE completed_at IS NULL;
-- Pending sessions in total.
CREATE INDEX link_sessions_pending
    ON link_sessions (expires_at) WHERE completed_at IS NULL;
-- Eviction once retention after expiry has passed.
CREATE INDEX link_sessions_by_expiry ON link_sessions (expires_at);

CREATE TABLE subscribers (
    manufacturer_id      text   NOT NULL,
    manufacturer_user_id text   NOT NULL,
    nox_user_id          text   NOT NULL,
    -- In first-seen order.
    device_ids           text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (manufacturer_id, manufacturer_user_id)
);
