-- Invoices and e-contracts (issue 8, DESIGN §3.11–3.12, docs/invoices.md).

-- Invoice titles (发票抬头) of an account.
CREATE TABLE invoice_titles (
    id           TEXT PRIMARY KEY,
    account      TEXT NOT NULL,
    kind         TEXT NOT NULL,  -- company, person
    type         TEXT NOT NULL,  -- general, special
    name         TEXT NOT NULL,
    tax_id       TEXT NOT NULL,
    bank         TEXT NOT NULL,
    bank_account TEXT NOT NULL,
    address      TEXT NOT NULL,
    phone        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX invoice_titles_account ON invoice_titles (account, created_at);

-- Invoice applications. title is the title as applied for (JSON): editing
-- or deleting the title later changes no application.
CREATE TABLE invoice_applications (
    id           TEXT PRIMARY KEY,
    account      TEXT NOT NULL,
    title_id     TEXT NOT NULL,
    title        TEXT NOT NULL,  -- JSON
    type         TEXT NOT NULL,
    amount_fen   INTEGER NOT NULL,
    remark       TEXT NOT NULL,
    state        TEXT NOT NULL,  -- pending, issued, rejected, withdrawn
    key          TEXT NOT NULL,  -- idempotency key, '' = none
    request      TEXT NOT NULL,  -- hash of the request the key stands for
    created_at   INTEGER NOT NULL,
    invoice_no   TEXT NOT NULL,
    invoice_date TEXT NOT NULL,
    reason       TEXT NOT NULL,
    decided_at   INTEGER NOT NULL
);
CREATE INDEX invoice_applications_account ON invoice_applications (account, created_at);
CREATE INDEX invoice_applications_state ON invoice_applications (state, created_at);
CREATE UNIQUE INDEX invoice_applications_key ON invoice_applications (account, key) WHERE key <> '';
CREATE UNIQUE INDEX invoice_applications_number ON invoice_applications (invoice_no) WHERE invoice_no <> '';

-- E-contracts. customer, provider and items are JSON, frozen once formal.
CREATE TABLE econtracts (
    id           TEXT PRIMARY KEY,
    account      TEXT NOT NULL,
    kind         TEXT NOT NULL,  -- purchase, service
    purchase     TEXT NOT NULL,  -- purchase contracts: the purchase id
    from_cycle   INTEGER NOT NULL,            -- service contracts: the period
    to_cycle     INTEGER NOT NULL,
    state        TEXT NOT NULL,  -- draft, formal, void, lapsed
    customer     TEXT NOT NULL,
    provider     TEXT NOT NULL,
    items        TEXT NOT NULL,
    original     TEXT NOT NULL,
    discount     TEXT NOT NULL,
    payable      TEXT NOT NULL,
    key          TEXT NOT NULL,
    request      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER NOT NULL,
    ended_at     INTEGER NOT NULL,
    voided_by    TEXT NOT NULL,
    void_reason  TEXT NOT NULL
);
CREATE INDEX econtracts_account ON econtracts (account, created_at);
CREATE INDEX econtracts_state ON econtracts (state, created_at);
CREATE UNIQUE INDEX econtracts_key ON econtracts (account, key) WHERE key <> '';
-- One live contract per purchase.
CREATE UNIQUE INDEX econtracts_purchase ON econtracts (account, purchase) WHERE purchase <> '' AND state IN ('draft', 'formal');
