-- Therapist accounts, their sessions, one-time tokens and rate-limit
-- buckets.
CREATE TABLE accounts (
    id                  UUID        PRIMARY KEY,
    email               TEXT        NOT NULL,
    email_normalized    TEXT        NOT NULL UNIQUE,
    full_name           TEXT        NOT NULL,
    credential          TEXT        NOT NULL,
    password_hash       TEXT,
    email_verified_at   TIMESTAMPTZ,
    mfa_secret_sealed   BYTEA,
    mfa_enabled_at      TIMESTAMPTZ,
    mfa_last_step       BIGINT,
    password_changed_at TIMESTAMPTZ NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);

-- Only the SHA-256 of a session token is stored.
CREATE TABLE sessions (
    id           UUID        PRIMARY KEY,
    token_hash   BYTEA       NOT NULL UNIQUE,
    account_id   UUID        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    stage        TEXT        NOT NULL CHECK (stage IN ('mfa_pending', 'full')),
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);

CREATE INDEX sessions_by_account ON sessions (account_id, created_at);

-- Email verification and password reset; a row is deleted when used.
CREATE TABLE one_time_tokens (
    token_hash       BYTEA       PRIMARY KEY,
    account_id       UUID        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose          TEXT        NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    email_normalized TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL
);

CREATE INDEX one_time_tokens_by_account ON one_time_tokens (account_id, purpose);

-- Attempt counters shared by every app instance. Bucket names hold hashes,
-- never an email address.
CREATE TABLE rate_limits (
    bucket       TEXT        PRIMARY KEY,
    window_start TIMESTAMPTZ NOT NULL,
    count        INTEGER     NOT NULL,
    locked_until TIMESTAMPTZ
);
