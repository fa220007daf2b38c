-- Idempotency keys and job keys are their account's own: the same key in two
-- accounts is two things, and a key taken in one account tells another
-- nothing. Operator jobs (account '') keep their own keys among themselves.
-- The keys stored so far were unique on their own, so they are unique per
-- account too. Purchases and top-ups were keyed (account, id) already.
DROP INDEX ledger_key;
CREATE UNIQUE INDEX ledger_key ON ledger (account, key) WHERE key <> '';

-- The constraint of the column's UNIQUE, named by PostgreSQL's convention.
ALTER TABLE jobs DROP CONSTRAINT jobs_key_key;
CREATE UNIQUE INDEX jobs_key ON jobs (account, key);
