-- Background jobs (exports, automatic close), claimed by one node at a time.
CREATE TABLE jobs (
    id          {{.Serial}} PRIMARY KEY,
    kind        {{.Text}} NOT NULL,
    key         {{.Text}} NOT NULL UNIQUE, -- the same job asked for twice is one job
    account     {{.Text}} NOT NULL,
    params      {{.Text}} NOT NULL,        -- JSON
    status      {{.Text}} NOT NULL,        -- queued, running, done, failed, expired
    attempts    {{.Int}} NOT NULL,
    node        {{.Text}} NOT NULL,
    lease_until {{.Int}} NOT NULL,     -- a running job whose lease ran out is claimed again
    created_at  {{.Int}} NOT NULL,
    started_at  {{.Int}} NOT NULL,
    finished_at {{.Int}} NOT NULL,
    result      {{.Text}} NOT NULL,        -- JSON
    error       {{.Text}} NOT NULL
);
CREATE INDEX jobs_claim ON jobs (kind, status, id);
CREATE INDEX jobs_account ON jobs (account, id);
