-- Invoices and e-contracts (issue 8, DESIGN §3.11–3.12, docs/invoices.md).

-- Invoice titles (发票抬头) of an account.
CREATE TABLE invoice_titles (
    id           {{.Text}} PRIMARY KEY,
    account      {{.Text}} NOT NULL,
    kind         {{.Text}} NOT NULL,  -- company, person
    type         {{.Text}} NOT NULL,  -- general, special
    name         {{.Text}} NOT NULL,
    tax_id       {{.Text}} NOT NULL,
    bank         {{.Text}} NOT NULL,
    bank_account {{.Text}} NOT NULL,
    address      {{.Text}} NOT NULL,
    phone        {{.Text}} NOT NULL,
    created_at   {{.Int}} NOT NULL,
    updated_at   {{.Int}} NOT NULL
);
CREATE INDEX invoice_titles_account ON invoice_titles (account, created_at);

-- Invoice applications. title is the title as applied for (JSON): editing
-- or deleting the title later changes no application.
CREATE TABLE invoice_applications (
    id           {{.Text}} PRIMARY KEY,
    account      {{.Text}} NOT NULL,
    title_id     {{.Text}} NOT NULL,
    title        {{.Text}} NOT NULL,  -- JSON
    type         {{.Text}} NOT NULL,
    amount_fen   {{.Int}} NOT NULL,
    remark       {{.Text}} NOT NULL,
    state        {{.Text}} NOT NULL,  -- pending, issued, rejected, withdrawn
    key          {{.Text}} NOT NULL,  -- idempotency key, '' = none
    request      {{.Text}} NOT NULL,  -- hash of the request the key stands for
    created_at   {{.Int}} NOT NULL,
    invoice_no   {{.Text}} NOT NULL,
    invoice_date {{.Text}} NOT NULL,
    reason       {{.Text}} NOT NULL,
    decided_at   {{.Int}} NOT NULL
);
CREATE INDEX invoice_applications_account ON invoice_applications (account, created_at);
CREATE INDEX invoice_applications_state ON invoice_applications (state, created_at);
CREATE UNIQUE INDEX invoice_applications_key ON invoice_applications (account, key) WHERE key <> '';
CREATE UNIQUE INDEX invoice_applications_number ON invoice_applications (invoice_no) WHERE invoice_no <> '';

-- E-contracts. customer, provider and items are JSON, frozen once formal.
CREATE TABLE econtracts (
    id           {{.Text}} PRIMARY KEY,
    account      {{.Text}} NOT NULL,
    kind         {{.Text}} NOT NULL,  -- purchase, service
    purchase     {{.Text}} NOT NULL,  -- purchase contracts: the purchase id
    from_cycle   {{.Int}} NOT NULL,            -- service contracts: the period
    to_cycle     {{.Int}} NOT NULL,
    state        {{.Text}} NOT NULL,  -- draft, formal, void, lapsed
    customer     {{.Text}} NOT NULL,
    provider     {{.Text}} NOT NULL,
    items        {{.Text}} NOT NULL,
    original     {{.Text}} NOT NULL,
    discount     {{.Text}} NOT NULL,
    payable      {{.Text}} NOT NULL,
    key          {{.Text}} NOT NULL,
    request      {{.Text}} NOT NULL,
    created_at   {{.Int}} NOT NULL,
    confirmed_at {{.Int}} NOT NULL,
    ended_at     {{.Int}} NOT NULL,
    voided_by    {{.Text}} NOT NULL,
    void_reason  {{.Text}} NOT NULL
);
CREATE INDEX econtracts_account ON econtracts (account, created_at);
CREATE INDEX econtracts_state ON econtracts (state, created_at);
CREATE UNIQUE INDEX econtracts_key ON econtracts (account, key) WHERE key <> '';
-- One live contract per purchase.
CREATE UNIQUE INDEX econtracts_purchase ON econtracts (account, purchase) WHERE purchase <> '' AND state IN ('draft', 'formal');
