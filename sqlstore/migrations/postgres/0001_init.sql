-- callbill schema. Every large table carries the account first in its key so
-- that it can be distributed by account later (docs/scaling.md).
CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT COLLATE "C" PRIMARY KEY);

CREATE TABLE meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);

CREATE TABLE prices (
    item      TEXT COLLATE "C" NOT NULL,
    mode      TEXT COLLATE "C" NOT NULL,
    from_unix BIGINT NOT NULL,
    tiers     TEXT COLLATE "C" NOT NULL, -- JSON [{"upto":N,"price":"0.0499"},…]
    PRIMARY KEY (item, mode, from_unix)
);

CREATE TABLE accounts (
    uid         TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,
    credit_line TEXT COLLATE "C" NOT NULL,
    contract    TEXT COLLATE "C" NOT NULL, -- JSON, '' when none
    retention   BIGINT NOT NULL,
    cash        TEXT COLLATE "C" NOT NULL
);

CREATE TABLE instances (
    account TEXT COLLATE "C" NOT NULL,
    id      TEXT COLLATE "C" NOT NULL,
    mode    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account, id)
);
CREATE UNIQUE INDEX instances_id ON instances (id);

CREATE TABLE numbers (
    account  TEXT COLLATE "C" NOT NULL,
    instance TEXT COLLATE "C" NOT NULL,
    number   TEXT COLLATE "C" NOT NULL,
    kind     TEXT COLLATE "C" NOT NULL,
    source   TEXT COLLATE "C" NOT NULL,
    tier     TEXT COLLATE "C" NOT NULL,
    since    BIGINT NOT NULL, -- epoch seconds, 0 = always
    until    BIGINT NOT NULL, -- epoch seconds, 0 = open
    PRIMARY KEY (account, instance, number)
);

CREATE TABLE topups (
    account TEXT COLLATE "C" NOT NULL,
    id      TEXT COLLATE "C" NOT NULL,
    amount  TEXT COLLATE "C" NOT NULL,
    at      BIGINT NOT NULL,
    cycle   BIGINT NOT NULL,
    hash    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account, id)
);

CREATE TABLE purchases (
    account        TEXT COLLATE "C" NOT NULL,
    id             TEXT COLLATE "C" NOT NULL,
    at             BIGINT NOT NULL,
    cycle          BIGINT NOT NULL,
    hash           TEXT COLLATE "C" NOT NULL,
    product_detail TEXT COLLATE "C" NOT NULL,
    instance       TEXT COLLATE "C" NOT NULL,
    item           TEXT COLLATE "C" NOT NULL,
    number         TEXT COLLATE "C" NOT NULL,
    unit_price     TEXT COLLATE "C" NOT NULL,
    price_unit     TEXT COLLATE "C" NOT NULL,
    usage          TEXT COLLATE "C" NOT NULL,
    usage_unit     TEXT COLLATE "C" NOT NULL,
    exact_original TEXT COLLATE "C" NOT NULL,
    exact_discount TEXT COLLATE "C" NOT NULL,
    exact_payable  TEXT COLLATE "C" NOT NULL,
    original       TEXT COLLATE "C" NOT NULL,
    discount       TEXT COLLATE "C" NOT NULL,
    payable        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account, id)
);
CREATE INDEX purchases_cycle ON purchases (account, cycle);

CREATE TABLE packages (
    account   TEXT COLLATE "C" NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    type      TEXT COLLATE "C" NOT NULL,
    minutes   BIGINT NOT NULL,
    remaining BIGINT NOT NULL,
    from_unix BIGINT NOT NULL,
    until_unix BIGINT NOT NULL,
    PRIMARY KEY (account, id)
);

-- Every money movement, append-only. amount is signed from the cash balance's
-- point of view: top-up +, purchase −, bill deduction −.
CREATE TABLE ledger (
    account TEXT COLLATE "C" NOT NULL,
    seq     BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    kind    TEXT COLLATE "C" NOT NULL,
    amount  TEXT COLLATE "C" NOT NULL,
    cycle   BIGINT NOT NULL,
    ref     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account, seq)
);

-- Calls, packed in blocks: one row per account, billed cycle and import
-- batch (sqlstore/callblock.go). seq is the ingest sequence of the block's
-- first call; the block's calls follow it one by one.
CREATE TABLE call_blocks (
    account TEXT COLLATE "C" NOT NULL,
    cycle   INTEGER NOT NULL, -- billed cycle
    seq     BIGINT NOT NULL,
    calls   INTEGER NOT NULL,
    data    BYTEA NOT NULL,
    PRIMARY KEY (account, cycle, seq)
);
CREATE INDEX call_blocks_seq ON call_blocks (seq);

-- Every stored call's identity and its sequence (which says where it is): duplicates and
-- conflicts are decided here. Contact ids of an instance mostly grow, so
-- inserts land at the end of each instance's range.
CREATE TABLE call_keys (
    instance   TEXT COLLATE "C" NOT NULL,
    contact_id TEXT COLLATE "C" NOT NULL,
    seq        BIGINT NOT NULL,  -- the call's ingest sequence; its block is the last starting at or before it
    PRIMARY KEY (instance, contact_id)
);

-- Import batch ids; a call's ingest sequence is batch id << 20 + position.
CREATE SEQUENCE import_batches;

-- Running aggregates per bill-line key and day, updated with every import.
CREATE TABLE usage_agg (
    account    TEXT COLLATE "C" NOT NULL,
    cycle      BIGINT NOT NULL,
    day        BIGINT NOT NULL,
    pd         TEXT COLLATE "C" NOT NULL,
    instance   TEXT COLLATE "C" NOT NULL,
    item       TEXT COLLATE "C" NOT NULL,
    number     TEXT COLLATE "C" NOT NULL,
    micro      BIGINT NOT NULL,
    price_from BIGINT NOT NULL,
    band       BIGINT NOT NULL,
    usage      BIGINT NOT NULL,
    covered    BIGINT NOT NULL,
    calls      BIGINT NOT NULL,
    PRIMARY KEY (account, cycle, day, pd, instance, item, number, micro, price_from, band)
);

CREATE TABLE recording_agg (
    account     TEXT COLLATE "C" NOT NULL,
    start_cycle BIGINT NOT NULL,
    instance    TEXT COLLATE "C" NOT NULL,
    bytes       BIGINT NOT NULL,
    PRIMARY KEY (account, start_cycle, instance)
);

-- Platform minutes used per account and billed cycle: where the graduated
-- bands continue from.
CREATE TABLE account_cycles (
    account          TEXT COLLATE "C" NOT NULL,
    cycle            BIGINT NOT NULL,
    platform_minutes BIGINT NOT NULL,
    PRIMARY KEY (account, cycle)
);

CREATE TABLE bills (
    account          TEXT COLLATE "C" NOT NULL,
    cycle            BIGINT NOT NULL,
    postpaid_payable TEXT COLLATE "C" NOT NULL,
    round_down       TEXT COLLATE "C" NOT NULL,
    paid             TEXT COLLATE "C" NOT NULL,
    closed_at        BIGINT NOT NULL,
    PRIMARY KEY (account, cycle)
);

CREATE TABLE bill_lines (
    account        TEXT COLLATE "C" NOT NULL,
    cycle          BIGINT NOT NULL,
    idx            BIGINT NOT NULL,
    product_detail TEXT COLLATE "C" NOT NULL,
    instance       TEXT COLLATE "C" NOT NULL,
    item           TEXT COLLATE "C" NOT NULL,
    number         TEXT COLLATE "C" NOT NULL,
    unit_price     TEXT COLLATE "C" NOT NULL,
    price_unit     TEXT COLLATE "C" NOT NULL,
    usage          TEXT COLLATE "C" NOT NULL,
    usage_unit     TEXT COLLATE "C" NOT NULL,
    covered        TEXT COLLATE "C" NOT NULL,
    band           BIGINT NOT NULL,
    price_from     BIGINT NOT NULL,
    exact_original TEXT COLLATE "C" NOT NULL,
    exact_discount TEXT COLLATE "C" NOT NULL,
    exact_payable  TEXT COLLATE "C" NOT NULL,
    original       TEXT COLLATE "C" NOT NULL,
    discount       TEXT COLLATE "C" NOT NULL,
    payable        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account, cycle, idx)
);
