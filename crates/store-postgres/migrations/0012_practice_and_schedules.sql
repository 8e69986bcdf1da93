-- What a therapist's clients see on a questionnaire link: the name of the
-- practice and what to do in a crisis, as the therapist wrote them. Empty:
-- the therapist's name and credential, and the default crisis text.
ALTER TABLE accounts ADD COLUMN practice_name TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN crisis_text TEXT NOT NULL DEFAULT '';

-- Recurring questionnaires (e.g. PHQ-9 every 14 days): the job runner sends
-- a client link whenever `next_due_at` has passed, and moves it on by
-- `every_days` in the same transaction (whoever moves it first sends).
-- What is sent (the instrument) is sealed, bound to the schedule.
CREATE TABLE assessment_schedules (
    id          UUID        PRIMARY KEY,
    account_id  UUID        NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id   UUID        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    sealed      BYTEA       NOT NULL,
    every_days  INTEGER     NOT NULL,
    next_due_at TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    stopped_at  TIMESTAMPTZ
);

CREATE INDEX assessment_schedules_due ON assessment_schedules (next_due_at) WHERE stopped_at IS NULL;
CREATE INDEX assessment_schedules_by_client ON assessment_schedules (account_id, client_id, created_at);
