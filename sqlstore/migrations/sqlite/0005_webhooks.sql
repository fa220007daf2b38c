-- Webhooks (issue 5): endpoints, the outbox of events, one delivery per
-- event and endpoint, and the log of every attempt. Times are unix
-- milliseconds (retries may be due within a second).
CREATE TABLE webhook_endpoints (
    id          TEXT PRIMARY KEY,           -- wh_…
    account     TEXT NOT NULL,              -- '' = every account
    url         TEXT NOT NULL,
    sealed      TEXT NOT NULL,              -- the signing secret, sealed under the master key
    events      TEXT NOT NULL,              -- comma list of kinds, '' = every kind
    created_at  INTEGER NOT NULL,
    disabled_at INTEGER NOT NULL DEFAULT 0
);

-- The outbox: an event is written in the transaction that caused it, so it
-- exists exactly when its cause committed.
CREATE TABLE webhook_events (
    id      TEXT PRIMARY KEY,               -- evt_…
    account TEXT NOT NULL,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL,                  -- JSON
    at      INTEGER NOT NULL
);
CREATE INDEX webhook_events_account ON webhook_events (account, at);

CREATE TABLE webhook_deliveries (
    endpoint     TEXT NOT NULL,
    event        TEXT NOT NULL,
    status       TEXT NOT NULL,             -- pending, delivered, failed
    attempts     INTEGER NOT NULL,          -- failed attempts since queued or replayed
    tries        INTEGER NOT NULL,          -- attempts over the whole life (numbers the log)
    next_at      INTEGER NOT NULL,
    lease_node   TEXT NOT NULL,
    lease_until  INTEGER NOT NULL,          -- claimed until then; a dead node's claim runs out
    last_code    INTEGER NOT NULL,
    last_error   TEXT NOT NULL,
    delivered_at INTEGER NOT NULL,
    PRIMARY KEY (endpoint, event)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (endpoint, status);

-- The delivery log.
CREATE TABLE webhook_attempts (
    endpoint    TEXT NOT NULL,
    event       TEXT NOT NULL,
    n           INTEGER NOT NULL,
    node        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    code        INTEGER NOT NULL,
    error       TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (endpoint, event, n)
);
