-- The audit log: append-only, hash-chained (see cbt_domain::audit::chain).
-- Holds ids and codes only, never PHI.
CREATE TABLE audit_events (
    seq         BIGINT      PRIMARY KEY,      -- 1, 2, 3, ... (the chain order)
    id          UUID        NOT NULL UNIQUE,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor_kind  TEXT        NOT NULL,
    actor_id    TEXT,
    action      TEXT        NOT NULL,
    target_kind TEXT        NOT NULL,
    target_id   TEXT,
    outcome     TEXT        NOT NULL,
    ip          TEXT,
    user_agent  TEXT,
    request_id  TEXT,
    prev_hash   BYTEA       NOT NULL,
    hash        BYTEA       NOT NULL
);

CREATE INDEX audit_events_by_target ON audit_events (target_kind, target_id);
CREATE INDEX audit_events_by_actor ON audit_events (actor_id, occurred_at);

-- Append-only: UPDATE, DELETE and TRUNCATE are refused for every role
-- that does not own the table's triggers.
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

-- The newest entry, tagged with the audit key, so deleting the newest rows
-- is detected.
CREATE TABLE audit_chain_head (
    id   SMALLINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT   NOT NULL,
    hash BYTEA    NOT NULL,
    tag  BYTEA    NOT NULL
);
