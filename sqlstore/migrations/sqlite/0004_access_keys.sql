-- AccessKey pairs (issue 5): a tenant's key sees only its account. The
-- secret is needed to check request signatures, so it is stored sealed
-- (AES-256-GCM under the deployment's master key), never in the clear.
CREATE TABLE access_keys (
    id         TEXT PRIMARY KEY,
    account    TEXT NOT NULL,
    sealed     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX access_keys_account ON access_keys (account);

-- SignatureNonce values seen in the last 15 minutes (BSS endpoint): a
-- repeated nonce is refused.
CREATE TABLE request_nonces (
    key_id TEXT NOT NULL,
    nonce  TEXT NOT NULL,
    at     INTEGER NOT NULL,
    PRIMARY KEY (key_id, nonce)
);
