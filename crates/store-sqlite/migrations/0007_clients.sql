-- Clients. All PHI is in `sealed`: one envelope of the client's details,
-- sealed with the account's data key and bound to (account, client,
-- version). Every saved version is kept in client_versions.
CREATE TABLE clients (
    id         TEXT      PRIMARY KEY,
    account_id TEXT      NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    sealed     BLOB      NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX clients_by_account ON clients (account_id, created_at);

CREATE TABLE client_versions (
    client_id  TEXT      NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    account_id TEXT      NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    sealed     BLOB      NOT NULL,
    changed_by TEXT      NOT NULL,
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, version)
) STRICT;
