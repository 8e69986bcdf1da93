-- A client's clinical records (session notes, and the kinds that follow:
-- formulations, hypotheses, treatment plans). The content is sealed, bound
-- to (account, record kind, record, version). Every saved version is kept;
-- a signed record is locked and only takes addenda.
CREATE TABLE records (
    id         UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id  UUID NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    sealed     BYTEA NOT NULL,
    signed_at  TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX records_by_client ON records (account_id, client_id, kind, created_at);

CREATE TABLE record_versions (
    record_id  UUID NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    account_id UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version    BIGINT NOT NULL,
    sealed     BYTEA NOT NULL,
    changed_by UUID NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (record_id, version)
);

CREATE TABLE record_addenda (
    id         UUID PRIMARY KEY,
    record_id  UUID NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    account_id UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sealed     BYTEA NOT NULL,
    added_by   UUID NOT NULL,
    added_at   TIMESTAMPTZ NOT NULL
);

CREATE INDEX record_addenda_by_record ON record_addenda (record_id, added_at);
