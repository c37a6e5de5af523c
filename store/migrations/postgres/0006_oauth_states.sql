-- Pending OAuth 2.0 sign-ins of the hosted flow (spec decisions 11 and 19): an opaque sealed
-- value per `state` (named by an id derived from it), taken once by the callback on any
-- instance, deleted in the statement that reads it; expired ones are pruned in the background.
CREATE TABLE oauth_states (
    id         text   NOT NULL PRIMARY KEY,
    sealed     bytea  NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);
