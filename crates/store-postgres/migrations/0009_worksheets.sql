-- A therapist's custom worksheets (the built-in library lives in the code).
-- Sealed like everything a therapist writes; homework copies the worksheet
-- it assigns, so no versions are kept here.
CREATE TABLE worksheets (
    id         UUID        PRIMARY KEY,
    account_id UUID        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version    BIGINT      NOT NULL,
    sealed     BYTEA       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX worksheets_by_account ON worksheets (account_id, created_at);
