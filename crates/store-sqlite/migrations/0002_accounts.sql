-- Therapist accounts, their sessions, one-time tokens and rate-limit
-- buckets. Times are microseconds since the Unix epoch, UTC.
CREATE TABLE accounts (
    id                  TEXT    PRIMARY KEY,
    email               TEXT    NOT NULL,
    email_normalized    TEXT    NOT NULL UNIQUE,
    full_name           TEXT    NOT NULL,
    credential          TEXT    NOT NULL,
    password_hash       TEXT,
    email_verified_at   INTEGER,
    mfa_secret_sealed   BLOB,
    mfa_enabled_at      INTEGER,
    mfa_last_step       INTEGER,
    password_changed_at INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
) STRICT;

-- Only the SHA-256 of a session token is stored.
CREATE TABLE sessions (
    id           TEXT    PRIMARY KEY,
    token_hash   BLOB    NOT NULL UNIQUE,
    account_id   TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    stage        TEXT    NOT NULL CHECK (stage IN ('mfa_pending', 'full')),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT,
    user_agent   TEXT
) STRICT;

CREATE INDEX sessions_by_account ON sessions (account_id, created_at);

-- Email verification and password reset; a row is deleted when used.
CREATE TABLE one_time_tokens (
    token_hash       BLOB    PRIMARY KEY,
    account_id       TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose          TEXT    NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    email_normalized TEXT,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX one_time_tokens_by_account ON one_time_tokens (account_id, purpose);

-- Attempt counters shared by every app instance. Bucket names hold hashes,
-- never an email address.
CREATE TABLE rate_limits (
    bucket       TEXT    PRIMARY KEY,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    locked_until INTEGER
) STRICT;
