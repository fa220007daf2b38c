-- Money (issue 4): every movement is a ledger entry with an idempotency key
-- and the hash of its request; account standing, events and number rent.
ALTER TABLE ledger ADD COLUMN key {{.Text}} NOT NULL DEFAULT '';
ALTER TABLE ledger ADD COLUMN request TEXT NOT NULL DEFAULT '';  -- hash of the request the key stands for
ALTER TABLE ledger ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE ledger ADD COLUMN corrects TEXT NOT NULL DEFAULT ''; -- what an adjustment corrects, e.g. bill:2026-10
ALTER TABLE ledger ADD COLUMN balance TEXT NOT NULL DEFAULT '';  -- cash after the entry
CREATE UNIQUE INDEX ledger_key ON ledger (key) WHERE key <> '';

ALTER TABLE accounts ADD COLUMN allowance TEXT NOT NULL DEFAULT '0';   -- 延期免停, an amount
ALTER TABLE accounts ADD COLUMN grace_days {{.Int}} NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN low_balance TEXT NOT NULL DEFAULT ''; -- alert threshold, '' = none
ALTER TABLE accounts ADD COLUMN state TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE accounts ADD COLUMN below_since {{.Int}} NOT NULL DEFAULT 0;    -- when available fell below −allowance
ALTER TABLE accounts ADD COLUMN low_alerted {{.Int}} NOT NULL DEFAULT 0;    -- 1 while below the alert threshold

-- State transitions and alerts, append-only.
CREATE TABLE account_events (
    account {{.Text}} NOT NULL,
    seq     {{.Int}} NOT NULL,
    at      {{.Int}} NOT NULL,
    kind    TEXT NOT NULL, -- state or alert
    state   TEXT NOT NULL, -- the new state (kind state)
    cause   TEXT NOT NULL,
    PRIMARY KEY (account, seq)
);

ALTER TABLE numbers ADD COLUMN paid_until {{.Int}} NOT NULL DEFAULT 0; -- rent paid until (epoch seconds), 0 = never rented
ALTER TABLE numbers ADD COLUMN auto_renew {{.Int}} NOT NULL DEFAULT 0;
