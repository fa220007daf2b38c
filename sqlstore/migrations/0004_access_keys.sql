-- AccessKey pairs (issue 5): a tenant's key sees only its account. The
-- secret is needed to check request signatures, so it is stored sealed
-- (AES-256-GCM under the deployment's master key), never in the clear.
CREATE TABLE access_keys (
    id         {{.Text}} PRIMARY KEY,
    account    {{.Text}} NOT NULL,
    sealed     TEXT NOT NULL,
    created_at {{.Int}} NOT NULL,
    revoked_at {{.Int}} NOT NULL DEFAULT 0
);
CREATE INDEX access_keys_account ON access_keys (account);

-- SignatureNonce values seen in the last 15 minutes (BSS endpoint): a
-- repeated nonce is refused.
CREATE TABLE request_nonces (
    key_id {{.Text}} NOT NULL,
    nonce  {{.Text}} NOT NULL,
    at     {{.Int}} NOT NULL,
    PRIMARY KEY (key_id, nonce)
);
