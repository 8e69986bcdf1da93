-- Each account's data key, only ever wrapped by a key-encryption key (KEK).
-- Destroying the row is crypto-shredding: what the key sealed no longer
-- opens. `kek` names the KEK (version) that wrapped it, for rotation.
CREATE TABLE data_keys (
    id           UUID        PRIMARY KEY,
    account_id   UUID        NOT NULL UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
    kek          TEXT        NOT NULL,
    wrapped      BYTEA       NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    rewrapped_at TIMESTAMPTZ
);

CREATE INDEX data_keys_by_kek ON data_keys (kek, id);
