-- Assessments (issue 7). Results are clinical records (kind `assessment`);
-- what follows is what they need besides.

-- A therapist's custom instruments (the shipped ones live in the code).
-- Sealed like everything a therapist writes; each result keeps a copy of
-- the definition it was scored under, so no versions are kept here.
CREATE TABLE instruments (
    id         TEXT    PRIMARY KEY,
    account_id TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX instruments_by_account ON instruments (account_id, created_at);

-- Each account's open risk flags (client, result), one sealed document per
-- account (id = the account's id), written in the transaction of every
-- result that raises or clears one, so the home page opens one document.
CREATE TABLE risk_flag_lists (
    id         TEXT    PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    account_id TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- Client self-report links. Only the SHA-256 of the token is kept; what
-- the link asks for (the instrument) is sealed, bound to the link. A link
-- is used once: `used_at` is set by the statement that accepts the answers.
CREATE TABLE client_links (
    id         TEXT    PRIMARY KEY,
    account_id TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    token_hash BLOB    NOT NULL UNIQUE,
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    opened_at  INTEGER,
    used_at    INTEGER,
    revoked_at INTEGER,
    result_id  TEXT    REFERENCES records (id) ON DELETE SET NULL
) STRICT;

CREATE INDEX client_links_by_client ON client_links (account_id, client_id, created_at);
