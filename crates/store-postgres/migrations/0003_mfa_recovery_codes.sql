-- Hashes of the ten single-use MFA recovery codes; a row is deleted when
-- its code is used.
CREATE TABLE mfa_recovery_codes (
    account_id UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    PRIMARY KEY (account_id, code_hash)
);
