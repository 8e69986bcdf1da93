-- A client's clinical records (session notes, and the kinds that follow:
-- formulations, hypotheses, treatment plans). The content is sealed, bound
-- to (account, record kind, record, version). Every saved version is kept;
-- a signed record is locked and only takes addenda.
CREATE TABLE records (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    sealed     BLOB NOT NULL,
    signed_at  INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX records_by_client ON records (account_id, client_id, kind, created_at);

CREATE TABLE record_versions (
    record_id  TEXT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    sealed     BLOB NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (record_id, version)
) STRICT;

CREATE TABLE record_addenda (
    id         TEXT PRIMARY KEY,
    record_id  TEXT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sealed     BLOB NOT NULL,
    added_by   TEXT NOT NULL,
    added_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX record_addenda_by_record ON record_addenda (record_id, added_at);
