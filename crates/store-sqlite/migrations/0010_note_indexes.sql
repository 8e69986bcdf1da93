-- Each client's session notes as the client page lists them (date, format,
-- signed), one sealed document per client (id = the client's id), written
-- with every note's version so the page need not open every note.
CREATE TABLE note_indexes (
    id         TEXT    PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    account_id TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
