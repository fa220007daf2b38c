-- Invoices and e-contracts (issue 8, DESIGN §3.11–3.12, docs/invoices.md).

-- Invoice titles (发票抬头) of an account.
CREATE TABLE invoice_titles (
    id           TEXT COLLATE "C" PRIMARY KEY,
    account      TEXT COLLATE "C" NOT NULL,
    kind         TEXT COLLATE "C" NOT NULL,  -- company, person
    type         TEXT COLLATE "C" NOT NULL,  -- general, special
    name         TEXT COLLATE "C" NOT NULL,
    tax_id       TEXT COLLATE "C" NOT NULL,
    bank         TEXT COLLATE "C" NOT NULL,
    bank_account TEXT COLLATE "C" NOT NULL,
    address      TEXT COLLATE "C" NOT NULL,
    phone        TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX invoice_titles_account ON invoice_titles (account, created_at);

-- Invoice applications. title is the title as applied for (JSON): editing
-- or deleting the title later changes no application.
CREATE TABLE invoice_applications (
    id           TEXT COLLATE "C" PRIMARY KEY,
    account      TEXT COLLATE "C" NOT NULL,
    title_id     TEXT COLLATE "C" NOT NULL,
    title        TEXT COLLATE "C" NOT NULL,  -- JSON
    type         TEXT COLLATE "C" NOT NULL,
    amount_fen   BIGINT NOT NULL,
    remark       TEXT COLLATE "C" NOT NULL,
    state        TEXT COLLATE "C" NOT NULL,  -- pending, issued, rejected, withdrawn
    key          TEXT COLLATE "C" NOT NULL,  -- idempotency key, '' = none
    request      TEXT COLLATE "C" NOT NULL,  -- hash of the request the key stands for
    created_at   BIGINT NOT NULL,
    invoice_no   TEXT COLLATE "C" NOT NULL,
    invoice_date TEXT COLLATE "C" NOT NULL,
    reason       TEXT COLLATE "C" NOT NULL,
    decided_at   BIGINT NOT NULL
);
CREATE INDEX invoice_applications_account ON invoice_applications (account, created_at);
CREATE INDEX invoice_applications_state ON invoice_applications (state, created_at);
CREATE UNIQUE INDEX invoice_applications_key ON invoice_applications (account, key) WHERE key <> '';
CREATE UNIQUE INDEX invoice_applications_number ON invoice_applications (invoice_no) WHERE invoice_no <> '';

-- E-contracts. customer, provider and items are JSON, frozen once formal.
CREATE TABLE econtracts (
    id           TEXT COLLATE "C" PRIMARY KEY,
    account      TEXT COLLATE "C" NOT NULL,
    kind         TEXT COLLATE "C" NOT NULL,  -- purchase, service
    purchase     TEXT COLLATE "C" NOT NULL,  -- purchase contracts: the purchase id
    from_cycle   BIGINT NOT NULL,            -- service contracts: the period
    to_cycle     BIGINT NOT NULL,
    state        TEXT COLLATE "C" NOT NULL,  -- draft, formal, void, lapsed
    customer     TEXT COLLATE "C" NOT NULL,
    provider     TEXT COLLATE "C" NOT NULL,
    items        TEXT COLLATE "C" NOT NULL,
    original     TEXT COLLATE "C" NOT NULL,
    discount     TEXT COLLATE "C" NOT NULL,
    payable      TEXT COLLATE "C" NOT NULL,
    key          TEXT COLLATE "C" NOT NULL,
    request      TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT NOT NULL,
    confirmed_at BIGINT NOT NULL,
    ended_at     BIGINT NOT NULL,
    voided_by    TEXT COLLATE "C" NOT NULL,
    void_reason  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX econtracts_account ON econtracts (account, created_at);
CREATE INDEX econtracts_state ON econtracts (state, created_at);
CREATE UNIQUE INDEX econtracts_key ON econtracts (account, key) WHERE key <> '';
-- One live contract per purchase.
CREATE UNIQUE INDEX econtracts_purchase ON econtracts (account, purchase) WHERE purchase <> '' AND state IN ('draft', 'formal');
