-- Personal access tokens for the JSON API; only the SHA-256 is stored.
-- Revoking deletes the row (the audit log keeps the record).
CREATE TABLE access_tokens (
    id           TEXT    PRIMARY KEY,
    account_id   TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;

CREATE INDEX access_tokens_by_account ON access_tokens (account_id, created_at);
