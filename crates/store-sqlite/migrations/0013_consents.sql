-- Consents a therapist gives and withdraws (for now: letting a language
-- model draft from their records). Rows are only ever added: the latest of
-- a kind is what holds, the earlier ones are its history.
CREATE TABLE consents (
    id          TEXT    PRIMARY KEY,
    account_id  TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    given       INTEGER NOT NULL CHECK (given IN (0, 1)),
    terms       TEXT    NOT NULL,
    recorded_at INTEGER NOT NULL
) STRICT;

CREATE INDEX consents_by_account ON consents (account_id, kind, recorded_at);
