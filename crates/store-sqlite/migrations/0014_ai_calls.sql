-- Each call to a language model, as metadata only: who asked, for what,
-- which provider and model, the prompt's version, the tokens, how long it
-- took and how it ended. Never a prompt or an answer. The audit event
-- `ai.call` points at the row; a month's tokens are summed from here.
CREATE TABLE ai_calls (
    id                TEXT    PRIMARY KEY,
    account_id        TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose           TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    model             TEXT    NOT NULL,
    prompt_version    TEXT    NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    attempts          INTEGER NOT NULL,
    first_token_ms    INTEGER,
    latency_ms        INTEGER NOT NULL,
    outcome           TEXT    NOT NULL,
    called_at         INTEGER NOT NULL
) STRICT;

CREATE INDEX ai_calls_by_account ON ai_calls (account_id, called_at);
