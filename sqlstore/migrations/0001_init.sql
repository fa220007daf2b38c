-- callbill schema. Every large table carries the account first in its key so
-- that it can be distributed by account later (docs/scaling.md).
{{if not .SQLite -}}
CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT COLLATE "C" PRIMARY KEY);

{{end -}}
CREATE TABLE meta (
    key   {{.Text}} PRIMARY KEY,
    value {{.Text}} NOT NULL
);

CREATE TABLE prices (
    item      {{.Text}} NOT NULL,
    mode      {{.Text}} NOT NULL,
    from_unix {{.Int}} NOT NULL,
    tiers     {{.Text}} NOT NULL, -- JSON [{"upto":N,"price":"0.0499"},…]
    PRIMARY KEY (item, mode, from_unix)
);

CREATE TABLE accounts (
    uid         {{.Text}} PRIMARY KEY,
    name        {{.Text}} NOT NULL,
    kind        {{.Text}} NOT NULL,
    credit_line {{.Text}} NOT NULL,
    contract    {{.Text}} NOT NULL, -- JSON, '' when none
    retention   {{.Int}} NOT NULL,
    cash        {{.Text}} NOT NULL
);

CREATE TABLE instances (
    account {{.Text}} NOT NULL,
    id      {{.Text}} NOT NULL,
    mode    {{.Text}} NOT NULL,
    PRIMARY KEY (account, id)
);
CREATE UNIQUE INDEX instances_id ON instances (id);

CREATE TABLE numbers (
    account  {{.Text}} NOT NULL,
    instance {{.Text}} NOT NULL,
    number   {{.Text}} NOT NULL,
    kind     {{.Text}} NOT NULL,
    source   {{.Text}} NOT NULL,
    tier     {{.Text}} NOT NULL,
    since    {{.Int}} NOT NULL, -- epoch seconds, 0 = always
    until    {{.Int}} NOT NULL, -- epoch seconds, 0 = open
    PRIMARY KEY (account, instance, number)
);

CREATE TABLE topups (
    account {{.Text}} NOT NULL,
    id      {{.Text}} NOT NULL,
    amount  {{.Text}} NOT NULL,
    at      {{.Int}} NOT NULL,
    cycle   {{.Int}} NOT NULL,
    hash    {{.Text}} NOT NULL,
    PRIMARY KEY (account, id)
);

CREATE TABLE purchases (
    account        {{.Text}} NOT NULL,
    id             {{.Text}} NOT NULL,
    at             {{.Int}} NOT NULL,
    cycle          {{.Int}} NOT NULL,
    hash           {{.Text}} NOT NULL,
    product_detail {{.Text}} NOT NULL,
    instance       {{.Text}} NOT NULL,
    item           {{.Text}} NOT NULL,
    number         {{.Text}} NOT NULL,
    unit_price     {{.Text}} NOT NULL,
    price_unit     {{.Text}} NOT NULL,
    usage          {{.Text}} NOT NULL,
    usage_unit     {{.Text}} NOT NULL,
    exact_original {{.Text}} NOT NULL,
    exact_discount {{.Text}} NOT NULL,
    exact_payable  {{.Text}} NOT NULL,
    original       {{.Text}} NOT NULL,
    discount       {{.Text}} NOT NULL,
    payable        {{.Text}} NOT NULL,
    PRIMARY KEY (account, id)
);
CREATE INDEX purchases_cycle ON purchases (account, cycle);

CREATE TABLE packages (
    account   {{.Text}} NOT NULL,
    id        {{.Text}} NOT NULL,
    type      {{.Text}} NOT NULL,
    minutes   {{.Int}} NOT NULL,
    remaining {{.Int}} NOT NULL,
    from_unix {{.Int}} NOT NULL,
    until_unix {{.Int}} NOT NULL,
    PRIMARY KEY (account, id)
);

-- Every money movement, append-only. amount is signed from the cash balance's
-- point of view: top-up +, purchase −, bill deduction −.
CREATE TABLE ledger (
    account {{.Text}} NOT NULL,
    seq     {{.Int}} NOT NULL,
    at      {{.Int}} NOT NULL,
    kind    {{.Text}} NOT NULL,
    amount  {{.Text}} NOT NULL,
    cycle   {{.Int}} NOT NULL,
    ref     {{.Text}} NOT NULL,
    PRIMARY KEY (account, seq)
);

-- Calls, packed in blocks: one row per account, billed cycle and import
-- batch (sqlstore/callblock.go). seq is the ingest sequence of the block's
-- first call; the block's calls follow it one by one.
{{if .SQLite -}}
CREATE TABLE call_blocks (
    seq     INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    cycle   INTEGER NOT NULL, -- billed cycle
    calls   INTEGER NOT NULL,
    data    BLOB NOT NULL
);
CREATE INDEX call_blocks_cycle ON call_blocks (account, cycle, seq);
{{- else -}}
CREATE TABLE call_blocks (
    account TEXT COLLATE "C" NOT NULL,
    cycle   INTEGER NOT NULL, -- billed cycle
    seq     BIGINT NOT NULL,
    calls   INTEGER NOT NULL,
    data    BYTEA NOT NULL,
    PRIMARY KEY (account, cycle, seq)
);
CREATE INDEX call_blocks_seq ON call_blocks (seq);
{{- end}}

-- Every stored call's identity and its sequence (which says where it is): duplicates and
-- conflicts are decided here. Contact ids of an instance mostly grow, so
-- inserts land at the end of each instance's range.
CREATE TABLE call_keys (
    instance   {{.Text}} NOT NULL,
    contact_id {{.Text}} NOT NULL,
    seq        {{.Int}} NOT NULL,  -- the call's ingest sequence; its block is the last starting at or before it
    PRIMARY KEY (instance, contact_id)
)
{{- if .SQLite}} WITHOUT ROWID;
{{- else}};

-- Import batch ids; a call's ingest sequence is batch id << 20 + position.
CREATE SEQUENCE import_batches;
{{- end}}

-- Running aggregates per bill-line key and day, updated with every import.
CREATE TABLE usage_agg (
    account    {{.Text}} NOT NULL,
    cycle      {{.Int}} NOT NULL,
    day        {{.Int}} NOT NULL,
    pd         {{.Text}} NOT NULL,
    instance   {{.Text}} NOT NULL,
    item       {{.Text}} NOT NULL,
    number     {{.Text}} NOT NULL,
    micro      {{.Int}} NOT NULL,
    price_from {{.Int}} NOT NULL,
    band       {{.Int}} NOT NULL,
    usage      {{.Int}} NOT NULL,
    covered    {{.Int}} NOT NULL,
    calls      {{.Int}} NOT NULL,
    PRIMARY KEY (account, cycle, day, pd, instance, item, number, micro, price_from, band)
){{.WithoutRowID}};

CREATE TABLE recording_agg (
    account     {{.Text}} NOT NULL,
    start_cycle {{.Int}} NOT NULL,
    instance    {{.Text}} NOT NULL,
    bytes       {{.Int}} NOT NULL,
    PRIMARY KEY (account, start_cycle, instance)
){{.WithoutRowID}};

-- Platform minutes used per account and billed cycle: where the graduated
-- bands continue from.
CREATE TABLE account_cycles (
    account          {{.Text}} NOT NULL,
    cycle            {{.Int}} NOT NULL,
    platform_minutes {{.Int}} NOT NULL,
    PRIMARY KEY (account, cycle)
){{.WithoutRowID}};

CREATE TABLE bills (
    account          {{.Text}} NOT NULL,
    cycle            {{.Int}} NOT NULL,
    postpaid_payable {{.Text}} NOT NULL,
    round_down       {{.Text}} NOT NULL,
    paid             {{.Text}} NOT NULL,
    closed_at        {{.Int}} NOT NULL,
    PRIMARY KEY (account, cycle)
);

CREATE TABLE bill_lines (
    account        {{.Text}} NOT NULL,
    cycle          {{.Int}} NOT NULL,
    idx            {{.Int}} NOT NULL,
    product_detail {{.Text}} NOT NULL,
    instance       {{.Text}} NOT NULL,
    item           {{.Text}} NOT NULL,
    number         {{.Text}} NOT NULL,
    unit_price     {{.Text}} NOT NULL,
    price_unit     {{.Text}} NOT NULL,
    usage          {{.Text}} NOT NULL,
    usage_unit     {{.Text}} NOT NULL,
    covered        {{.Text}} NOT NULL,
    band           {{.Int}} NOT NULL,
    price_from     {{.Int}} NOT NULL,
    exact_original {{.Text}} NOT NULL,
    exact_discount {{.Text}} NOT NULL,
    exact_payable  {{.Text}} NOT NULL,
    original       {{.Text}} NOT NULL,
    discount       {{.Text}} NOT NULL,
    payable        {{.Text}} NOT NULL,
    PRIMARY KEY (account, cycle, idx)
);
