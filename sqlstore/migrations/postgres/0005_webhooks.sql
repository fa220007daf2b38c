-- Webhooks (issue 5): endpoints, the outbox of events, one delivery per
-- event and endpoint, and the log of every attempt. Times are unix
-- milliseconds (retries may be due within a second).
CREATE TABLE webhook_endpoints (
    id          TEXT COLLATE "C" PRIMARY KEY,    -- wh_…
    account     TEXT COLLATE "C" NOT NULL,       -- '' = every account
    url         TEXT NOT NULL,
    sealed      TEXT NOT NULL,                   -- the signing secret, sealed under the master key
    events      TEXT COLLATE "C" NOT NULL,       -- comma list of kinds, '' = every kind
    created_at  BIGINT NOT NULL,
    disabled_at BIGINT NOT NULL DEFAULT 0
);

-- The outbox: an event is written in the transaction that caused it, so it
-- exists exactly when its cause committed.
CREATE TABLE webhook_events (
    id      TEXT COLLATE "C" PRIMARY KEY,        -- evt_…
    account TEXT COLLATE "C" NOT NULL,
    kind    TEXT COLLATE "C" NOT NULL,
    payload TEXT NOT NULL,                       -- JSON
    at      BIGINT NOT NULL
);
CREATE INDEX webhook_events_account ON webhook_events (account, at);

CREATE TABLE webhook_deliveries (
    endpoint     TEXT COLLATE "C" NOT NULL,
    event        TEXT COLLATE "C" NOT NULL,
    status       TEXT COLLATE "C" NOT NULL,      -- pending, delivered, failed
    attempts     BIGINT NOT NULL,                -- failed attempts since queued or replayed
    tries        BIGINT NOT NULL,                -- attempts over the whole life (numbers the log)
    next_at      BIGINT NOT NULL,
    lease_node   TEXT COLLATE "C" NOT NULL,
    lease_until  BIGINT NOT NULL,                -- claimed until then; a dead node's claim runs out
    last_code    BIGINT NOT NULL,
    last_error   TEXT NOT NULL,
    delivered_at BIGINT NOT NULL,
    PRIMARY KEY (endpoint, event)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (endpoint, status);

-- The delivery log.
CREATE TABLE webhook_attempts (
    endpoint    TEXT COLLATE "C" NOT NULL,
    event       TEXT COLLATE "C" NOT NULL,
    n           BIGINT NOT NULL,
    node        TEXT COLLATE "C" NOT NULL,
    at          BIGINT NOT NULL,
    code        BIGINT NOT NULL,
    error       TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (endpoint, event, n)
);
