-- Idempotency keys and job keys are their account's own: the same key in two
-- accounts is two things, and a key taken in one account tells another
-- nothing. Operator jobs (account '') keep their own keys among themselves.
-- The keys stored so far were unique on their own, so they are unique per
-- account too. Purchases and top-ups were keyed (account, id) already.
DROP INDEX ledger_key;
CREATE UNIQUE INDEX ledger_key ON ledger (account, key) WHERE key <> '';

{{if .SQLite -}}
-- jobs.key was declared UNIQUE in the table, which SQLite cannot drop: the
-- table is rebuilt with its rows, ids included.
CREATE TABLE jobs_new (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,        -- the same job asked for twice by one account is one job
    account     TEXT NOT NULL,        -- '' for the operator's jobs (automatic close)
    params      TEXT NOT NULL,        -- JSON
    status      TEXT NOT NULL,        -- queued, running, done, failed, expired
    attempts    INTEGER NOT NULL,
    node        TEXT NOT NULL,
    lease_until INTEGER NOT NULL,     -- a running job whose lease ran out is claimed again
    created_at  INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    result      TEXT NOT NULL,        -- JSON
    error       TEXT NOT NULL
);
INSERT INTO jobs_new (id, kind, key, account, params, status, attempts, node, lease_until, created_at, started_at, finished_at, result, error)
    SELECT id, kind, key, account, params, status, attempts, node, lease_until, created_at, started_at, finished_at, result, error FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE UNIQUE INDEX jobs_key ON jobs (account, key);
CREATE INDEX jobs_claim ON jobs (kind, status, id);
CREATE INDEX jobs_account ON jobs (account, id);
{{- else -}}
-- The constraint of the column's UNIQUE, named by PostgreSQL's convention.
ALTER TABLE jobs DROP CONSTRAINT jobs_key_key;
CREATE UNIQUE INDEX jobs_key ON jobs (account, key);
{{- end}}
