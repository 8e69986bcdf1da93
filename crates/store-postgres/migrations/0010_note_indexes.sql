-- Each client's session notes as the client page lists them (date, format,
-- signed), one sealed document per client (id = the client's id), written
-- with every note's version so the page need not open every note.
CREATE TABLE note_indexes (
    id         UUID        PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    account_id UUID        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version    BIGINT      NOT NULL,
    sealed     BYTEA       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
