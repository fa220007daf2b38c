-- Reservations (docs/authorization.md): what a started call will cost, held
-- until its CDR is imported (the import batch that stores the call deletes
-- it) or it expires (it counts for nothing from expires_at; the worker
-- deletes it later). One per call; amount is exact.
CREATE TABLE reservations (
    instance   {{.Text}} NOT NULL,
    contact_id {{.Text}} NOT NULL,
    account    {{.Text}} NOT NULL,
    number     {{.Text}} NOT NULL,  -- the service number, digits
    direction  {{.Text}} NOT NULL,  -- inbound, outbound
    amount     {{.Text}} NOT NULL,  -- yuan, exact
    seconds    {{.Int}} NOT NULL,   -- granted
    expires_at {{.Int}} NOT NULL,   -- unix seconds
    created_at {{.Int}} NOT NULL,
    node       {{.Text}} NOT NULL,  -- the node that took it
    PRIMARY KEY (instance, contact_id)
){{.WithoutRowID}};
CREATE INDEX reservations_account ON reservations (account, expires_at);
CREATE INDEX reservations_expiry ON reservations (expires_at);
