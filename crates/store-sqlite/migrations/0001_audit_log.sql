-- The audit log: append-only, hash-chained (see cbt_domain::audit::chain).
-- Holds ids and codes only, never PHI.
CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,          -- 1, 2, 3, ... (the chain order)
    id          TEXT    NOT NULL UNIQUE,
    occurred_at INTEGER NOT NULL,             -- microseconds since the Unix epoch, UTC
    actor_kind  TEXT    NOT NULL,
    actor_id    TEXT,
    action      TEXT    NOT NULL,
    target_kind TEXT    NOT NULL,
    target_id   TEXT,
    outcome     TEXT    NOT NULL,
    ip          TEXT,
    user_agent  TEXT,
    request_id  TEXT,
    prev_hash   BLOB    NOT NULL,
    hash        BLOB    NOT NULL
) STRICT;

CREATE INDEX audit_events_by_target ON audit_events (target_kind, target_id);
CREATE INDEX audit_events_by_actor ON audit_events (actor_id, occurred_at);

-- Nothing in the application updates or deletes audit events; a writer
-- that tries is stopped here too.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

-- The newest entry, tagged with the audit key, so deleting the newest rows
-- is detected.
CREATE TABLE audit_chain_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL,
    tag  BLOB    NOT NULL
) STRICT;
