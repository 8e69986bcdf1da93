-- Clients. All PHI is in `sealed`: one envelope of the client's details,
-- sealed with the account's data key and bound to (account, client,
-- version). Every saved version is kept in client_versions.
CREATE TABLE clients (
    id         UUID      PRIMARY KEY,
    account_id UUID      NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version    BIGINT  NOT NULL,
    sealed     BYTEA      NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX clients_by_account ON clients (account_id, created_at);

CREATE TABLE client_versions (
    client_id  UUID      NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    account_id UUID      NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version    BIGINT  NOT NULL,
    sealed     BYTEA      NOT NULL,
    changed_by UUID      NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (client_id, version)
);
