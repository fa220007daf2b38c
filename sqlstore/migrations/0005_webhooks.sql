-- Webhooks (issue 5): endpoints, the outbox of events, one delivery per
-- event and endpoint, and the log of every attempt. Times are unix
-- milliseconds (retries may be due within a second).
CREATE TABLE webhook_endpoints (
    id          {{.Text}} PRIMARY KEY,           -- wh_…
    account     {{.Text}} NOT NULL,              -- '' = every account
    url         TEXT NOT NULL,
    sealed      TEXT NOT NULL,              -- the signing secret, sealed under the master key
    events      {{.Text}} NOT NULL,              -- comma list of kinds, '' = every kind
    created_at  {{.Int}} NOT NULL,
    disabled_at {{.Int}} NOT NULL DEFAULT 0
);

-- The outbox: an event is written in the transaction that caused it, so it
-- exists exactly when its cause committed.
CREATE TABLE webhook_events (
    id      {{.Text}} PRIMARY KEY,               -- evt_…
    account {{.Text}} NOT NULL,
    kind    {{.Text}} NOT NULL,
    payload TEXT NOT NULL,                  -- JSON
    at      {{.Int}} NOT NULL
);
CREATE INDEX webhook_events_account ON webhook_events (account, at);

CREATE TABLE webhook_deliveries (
    endpoint     {{.Text}} NOT NULL,
    event        {{.Text}} NOT NULL,
    status       {{.Text}} NOT NULL,             -- pending, delivered, failed
    attempts     {{.Int}} NOT NULL,          -- failed attempts since queued or replayed
    tries        {{.Int}} NOT NULL,          -- attempts over the whole life (numbers the log)
    next_at      {{.Int}} NOT NULL,
    lease_node   {{.Text}} NOT NULL,
    lease_until  {{.Int}} NOT NULL,          -- claimed until then; a dead node's claim runs out
    last_code    {{.Int}} NOT NULL,
    last_error   TEXT NOT NULL,
    delivered_at {{.Int}} NOT NULL,
    PRIMARY KEY (endpoint, event)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (endpoint, status);

-- The delivery log.
CREATE TABLE webhook_attempts (
    endpoint    {{.Text}} NOT NULL,
    event       {{.Text}} NOT NULL,
    n           {{.Int}} NOT NULL,
    node        {{.Text}} NOT NULL,
    at          {{.Int}} NOT NULL,
    code        {{.Int}} NOT NULL,
    error       TEXT NOT NULL,
    duration_ms {{.Int}} NOT NULL,
    PRIMARY KEY (endpoint, event, n)
);
