-- Background jobs (exports, automatic close), claimed by one node at a time.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL UNIQUE, -- the same job asked for twice is one job
    account     TEXT NOT NULL,
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
CREATE INDEX jobs_claim ON jobs (kind, status, id);
CREATE INDEX jobs_account ON jobs (account, id);
