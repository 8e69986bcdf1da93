-- A therapist's custom worksheets (the built-in library lives in the code).
-- Sealed like everything a therapist writes; homework copies the worksheet
-- it assigns, so no versions are kept here.
CREATE TABLE worksheets (
    id         TEXT    PRIMARY KEY,
    account_id TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX worksheets_by_account ON worksheets (account_id, created_at);
