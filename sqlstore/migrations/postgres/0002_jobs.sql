-- Background jobs (exports, automatic close), claimed by one node at a time.
CREATE TABLE jobs (
    id          BIGSERIAL PRIMARY KEY,
    kind        TEXT COLLATE "C" NOT NULL,
    key         TEXT COLLATE "C" NOT NULL UNIQUE, -- the same job asked for twice is one job
    account     TEXT COLLATE "C" NOT NULL,
    params      TEXT COLLATE "C" NOT NULL,        -- JSON
    status      TEXT COLLATE "C" NOT NULL,        -- queued, running, done, failed, expired
    attempts    BIGINT NOT NULL,
    node        TEXT COLLATE "C" NOT NULL,
    lease_until BIGINT NOT NULL,     -- a running job whose lease ran out is claimed again
    created_at  BIGINT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    result      TEXT COLLATE "C" NOT NULL,        -- JSON
    error       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX jobs_claim ON jobs (kind, status, id);
CREATE INDEX jobs_account ON jobs (account, id);
