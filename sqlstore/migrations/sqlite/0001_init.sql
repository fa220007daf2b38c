-- callbill schema. Every large table carries the account first in its key so
-- that it can be distributed by account later (docs/scaling.md).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE prices (
    item      TEXT NOT NULL,
    mode      TEXT NOT NULL,
    from_unix INTEGER NOT NULL,
    tiers     TEXT NOT NULL, -- JSON [{"upto":N,"price":"0.0499"},…]
    PRIMARY KEY (item, mode, from_unix)
);

CREATE TABLE accounts (
    uid         TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    credit_line TEXT NOT NULL,
    contract    TEXT NOT NULL, -- JSON, '' when none
    retention   INTEGER NOT NULL,
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
    since    INTEGER NOT NULL, -- epoch seconds, 0 = always
    until    INTEGER NOT NULL, -- epoch seconds, 0 = open
    PRIMARY KEY (account, instance, number)
);

CREATE TABLE topups (
    account TEXT NOT NULL,
    id      TEXT NOT NULL,
    amount  TEXT NOT NULL,
    at      INTEGER NOT NULL,
    cycle   INTEGER NOT NULL,
    hash    TEXT NOT NULL,
    PRIMARY KEY (account, id)
);

CREATE TABLE purchases (
    account        TEXT NOT NULL,
    id             TEXT NOT NULL,
    at             INTEGER NOT NULL,
    cycle          INTEGER NOT NULL,
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
    minutes   INTEGER NOT NULL,
    remaining INTEGER NOT NULL,
    from_unix INTEGER NOT NULL,
    until_unix INTEGER NOT NULL,
    PRIMARY KEY (account, id)
);

-- Every money movement, append-only. amount is signed from the cash balance's
-- point of view: top-up +, purchase −, bill deduction −.
CREATE TABLE ledger (
    account TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    amount  TEXT NOT NULL,
    cycle   INTEGER NOT NULL,
    ref     TEXT NOT NULL,
    PRIMARY KEY (account, seq)
);

-- Calls, packed in blocks: one row per account, billed cycle and import
-- batch (sqlstore/callblock.go). seq is the ingest sequence of the block's
-- first call; the block's calls follow it one by one.
CREATE TABLE call_blocks (
    seq     INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    cycle   INTEGER NOT NULL, -- billed cycle
    calls   INTEGER NOT NULL,
    data    BLOB NOT NULL
);
CREATE INDEX call_blocks_cycle ON call_blocks (account, cycle, seq);

-- Every stored call's identity and its sequence (which says where it is): duplicates and
-- conflicts are decided here. Contact ids of an instance mostly grow, so
-- inserts land at the end of each instance's range.
CREATE TABLE call_keys (
    instance   TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,  -- the call's ingest sequence; its block is the last starting at or before it
    PRIMARY KEY (instance, contact_id)
) WITHOUT ROWID;

-- Running aggregates per bill-line key and day, updated with every import.
CREATE TABLE usage_agg (
    account    TEXT NOT NULL,
    cycle      INTEGER NOT NULL,
    day        INTEGER NOT NULL,
    pd         TEXT NOT NULL,
    instance   TEXT NOT NULL,
    item       TEXT NOT NULL,
    number     TEXT NOT NULL,
    micro      INTEGER NOT NULL,
    price_from INTEGER NOT NULL,
    band       INTEGER NOT NULL,
    usage      INTEGER NOT NULL,
    covered    INTEGER NOT NULL,
    calls      INTEGER NOT NULL,
    PRIMARY KEY (account, cycle, day, pd, instance, item, number, micro, price_from, band)
) WITHOUT ROWID;

CREATE TABLE recording_agg (
    account     TEXT NOT NULL,
    start_cycle INTEGER NOT NULL,
    instance    TEXT NOT NULL,
    bytes       INTEGER NOT NULL,
    PRIMARY KEY (account, start_cycle, instance)
) WITHOUT ROWID;

-- Platform minutes used per account and billed cycle: where the graduated
-- bands continue from.
CREATE TABLE account_cycles (
    account          TEXT NOT NULL,
    cycle            INTEGER NOT NULL,
    platform_minutes INTEGER NOT NULL,
    PRIMARY KEY (account, cycle)
) WITHOUT ROWID;

CREATE TABLE bills (
    account          TEXT NOT NULL,
    cycle            INTEGER NOT NULL,
    postpaid_payable TEXT NOT NULL,
    round_down       TEXT NOT NULL,
    paid             TEXT NOT NULL,
    closed_at        INTEGER NOT NULL,
    PRIMARY KEY (account, cycle)
);

CREATE TABLE bill_lines (
    account        TEXT NOT NULL,
    cycle          INTEGER NOT NULL,
    idx            INTEGER NOT NULL,
    product_detail TEXT NOT NULL,
    instance       TEXT NOT NULL,
    item           TEXT NOT NULL,
    number         TEXT NOT NULL,
    unit_price     TEXT NOT NULL,
    price_unit     TEXT NOT NULL,
    usage          TEXT NOT NULL,
    usage_unit     TEXT NOT NULL,
    covered        TEXT NOT NULL,
    band           INTEGER NOT NULL,
    price_from     INTEGER NOT NULL,
    exact_original TEXT NOT NULL,
    exact_discount TEXT NOT NULL,
    exact_payable  TEXT NOT NULL,
    original       TEXT NOT NULL,
    discount       TEXT NOT NULL,
    payable        TEXT NOT NULL,
    PRIMARY KEY (account, cycle, idx)
);
