-- callbill schema. Every large table carries the account first in its key so
-- that it can be distributed by account later (docs/scaling.md).
CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE prices (
    item      TEXT NOT NULL,
    mode      TEXT NOT NULL,
    from_unix BIGINT NOT NULL,
    tiers     TEXT NOT NULL, -- JSON [{"upto":N,"price":"0.0499"},…]
    PRIMARY KEY (item, mode, from_unix)
);

CREATE TABLE accounts (
    uid         TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    credit_line TEXT NOT NULL,
    contract    TEXT NOT NULL, -- JSON, '' when none
    retention   BIGINT NOT NULL,
    cash        TEXT NOT NULL
);

CREATE TABLE instances (
    account TEXT NOT NULL,
    id      TEXT NOT NULL,
    mode    TEXT NOT NULL,
    PRIMARY KEY (account, id)
);
CREATE UNIQUE INDEX instances_id ON instances (id);

CREATE TABLE numbers (
    account  TEXT NOT NULL,
    instance TEXT NOT NULL,
    number   TEXT NOT NULL,
    kind     TEXT NOT NULL,
    source   TEXT NOT NULL,
    tier     TEXT NOT NULL,
    since    BIGINT NOT NULL, -- epoch seconds, 0 = always
    until    BIGINT NOT NULL, -- epoch seconds, 0 = open
    PRIMARY KEY (account, instance, number)
);

CREATE TABLE topups (
    account TEXT NOT NULL,
    id      TEXT NOT NULL,
    amount  TEXT NOT NULL,
    at      BIGINT NOT NULL,
    cycle   BIGINT NOT NULL,
    hash    TEXT NOT NULL,
    PRIMARY KEY (account, id)
);

CREATE TABLE purchases (
    account        TEXT NOT NULL,
    id             TEXT NOT NULL,
    at             BIGINT NOT NULL,
    cycle          BIGINT NOT NULL,
    hash           TEXT NOT NULL,
    product_detail TEXT NOT NULL,
    instance       TEXT NOT NULL,
    item           TEXT NOT NULL,
    number         TEXT NOT NULL,
    unit_price     TEXT NOT NULL,
    price_unit     TEXT NOT NULL,
    usage          TEXT NOT NULL,
    usage_unit     TEXT NOT NULL,
    exact_original TEXT NOT NULL,
    exact_discount TEXT NOT NULL,
    exact_payable  TEXT NOT NULL,
    original       TEXT NOT NULL,
    discount       TEXT NOT NULL,
    payable        TEXT NOT NULL,
    PRIMARY KEY (account, id)
);
CREATE INDEX purchases_cycle ON purchases (account, cycle);

CREATE TABLE packages (
    account   TEXT NOT NULL,
    id        TEXT NOT NULL,
    type      TEXT NOT NULL,
    minutes   BIGINT NOT NULL,
    remaining BIGINT NOT NULL,
    from_unix BIGINT NOT NULL,
    until_unix BIGINT NOT NULL,
    PRIMARY KEY (account, id)
);

-- Every money movement, append-only. amount is signed from the cash balance's
-- point of view: top-up +, purchase −, bill deduction −.
CREATE TABLE ledger (
    account TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    amount  TEXT NOT NULL,
    cycle   BIGINT NOT NULL,
    ref     TEXT NOT NULL,
    PRIMARY KEY (account, seq)
);

-- One row per call: the normalized CDR and what rating decided. The key
-- starts with the account, the distribution column (docs/scaling.md).
CREATE TABLE calls (
    account     TEXT NOT NULL,
    instance    TEXT NOT NULL,
    contact_id  TEXT NOT NULL,
    direction   SMALLINT NOT NULL, -- 0 inbound, 1 outbound
    caller      TEXT NOT NULL,
    callee      TEXT NOT NULL,
    start_unix  BIGINT NOT NULL,
    end_unix    BIGINT NOT NULL,
    rec_seconds BIGINT NOT NULL,
    rec_bytes   BIGINT NOT NULL,
    cycle       INTEGER NOT NULL, -- billed cycle
    minutes     BIGINT NOT NULL,
    rating      TEXT NOT NULL,    -- compact rating result, see sqlstore/callrow.go
    seq         BIGINT NOT NULL,  -- ingest sequence
    PRIMARY KEY (account, instance, contact_id)
);

-- Import batch ids; a call's ingest sequence is batch id << 20 + position.
CREATE SEQUENCE import_batches;

-- Running aggregates per bill-line key and day, updated with every import.
CREATE TABLE usage_agg (
    account    TEXT NOT NULL,
    cycle      BIGINT NOT NULL,
    day        BIGINT NOT NULL,
    pd         TEXT NOT NULL,
    instance   TEXT NOT NULL,
    item       TEXT NOT NULL,
    number     TEXT NOT NULL,
    micro      BIGINT NOT NULL,
    price_from BIGINT NOT NULL,
    band       BIGINT NOT NULL,
    usage      BIGINT NOT NULL,
    covered    BIGINT NOT NULL,
    calls      BIGINT NOT NULL,
    PRIMARY KEY (account, cycle, day, pd, instance, item, number, micro, price_from, band)
);

CREATE TABLE recording_agg (
    account     TEXT NOT NULL,
    start_cycle BIGINT NOT NULL,
    instance    TEXT NOT NULL,
    bytes       BIGINT NOT NULL,
    PRIMARY KEY (account, start_cycle, instance)
);

-- Platform minutes used per account and billed cycle: where the graduated
-- bands continue from.
CREATE TABLE account_cycles (
    account          TEXT NOT NULL,
    cycle            BIGINT NOT NULL,
    platform_minutes BIGINT NOT NULL,
    PRIMARY KEY (account, cycle)
);

CREATE TABLE bills (
    account          TEXT NOT NULL,
    cycle            BIGINT NOT NULL,
    postpaid_payable TEXT NOT NULL,
    round_down       TEXT NOT NULL,
    paid             TEXT NOT NULL,
    closed_at        BIGINT NOT NULL,
    PRIMARY KEY (account, cycle)
);

CREATE TABLE bill_lines (
    account        TEXT NOT NULL,
    cycle          BIGINT NOT NULL,
    idx            BIGINT NOT NULL,
    product_detail TEXT NOT NULL,
    instance       TEXT NOT NULL,
    item           TEXT NOT NULL,
    number         TEXT NOT NULL,
    unit_price     TEXT NOT NULL,
    price_unit     TEXT NOT NULL,
    usage          TEXT NOT NULL,
    usage_unit     TEXT NOT NULL,
    covered        TEXT NOT NULL,
    band           BIGINT NOT NULL,
    price_from     BIGINT NOT NULL,
    exact_original TEXT NOT NULL,
    exact_discount TEXT NOT NULL,
    exact_payable  TEXT NOT NULL,
    original       TEXT NOT NULL,
    discount       TEXT NOT NULL,
    payable        TEXT NOT NULL,
    PRIMARY KEY (account, cycle, idx)
);
