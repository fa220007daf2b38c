-- Keys in the order imports write them (docs/architecture.md,
-- "Where an import writes"): a batch's rows then land in a few neighbouring pages instead of
-- one page per instance or account, which is what an import's commits and
-- checkpoints paid for.
--
-- call_keys: contact id first. The call platform's contact ids grow with
-- time, so new identities go to the end of the index; ids that do not grow
-- spread no wider than they did under (instance, contact_id).
--
-- usage_agg: cycle and day first. A batch's calls are of a day or two, so
-- their aggregates share a narrow range of the cycle; one account's rows are
-- read with a seek per day (day IN (1, …, 31)).
--
-- call_blocks: one index by account instead of two. A round of the call
-- platform's stream writes a small block for most accounts, and each index
-- by account costs it a leaf per account; the time bounds ride along in the
-- one index, so a usage query by date still skips blocks without reading
-- them.
{{if .SQLite -}}
CREATE TABLE call_keys_by_contact (
    instance   TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (contact_id, instance)
) WITHOUT ROWID;
INSERT INTO call_keys_by_contact (instance, contact_id, seq)
    SELECT instance, contact_id, seq FROM call_keys ORDER BY contact_id, instance;
DROP TABLE call_keys;
ALTER TABLE call_keys_by_contact RENAME TO call_keys;

CREATE TABLE usage_agg_by_day (
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
    PRIMARY KEY (cycle, day, account, pd, instance, item, number, micro, price_from, band)
) WITHOUT ROWID;
INSERT INTO usage_agg_by_day
    SELECT account, cycle, day, pd, instance, item, number, micro, price_from, band, usage, covered, calls
    FROM usage_agg ORDER BY cycle, day, account, pd, instance, item, number, micro, price_from, band;
DROP TABLE usage_agg;
ALTER TABLE usage_agg_by_day RENAME TO usage_agg;

DROP INDEX call_blocks_cycle;
DROP INDEX call_blocks_times;
CREATE INDEX call_blocks_account ON call_blocks (account, cycle, seq, first_start, last_start);
{{- else -}}
ALTER TABLE call_keys DROP CONSTRAINT call_keys_pkey, ADD PRIMARY KEY (contact_id, instance);
ALTER TABLE usage_agg DROP CONSTRAINT usage_agg_pkey,
    ADD PRIMARY KEY (cycle, day, account, pd, instance, item, number, micro, price_from, band);
ALTER TABLE call_blocks DROP CONSTRAINT call_blocks_pkey,
    ADD PRIMARY KEY (account, cycle, seq) INCLUDE (first_start, last_start);
DROP INDEX call_blocks_times;
-- Rows that every import batch adds to in place: room left in their pages
-- lets PostgreSQL update them there (a HOT update) instead of writing a new
-- version into another page and a new entry into every index.
ALTER TABLE usage_agg SET (fillfactor = 50);
ALTER TABLE recording_agg SET (fillfactor = 50);
ALTER TABLE call_versions SET (fillfactor = 50);
ALTER TABLE account_cycles SET (fillfactor = 50);
ALTER TABLE packages SET (fillfactor = 70);
-- A block of a file import is a few KB, past the size at which PostgreSQL
-- compresses a value; its default compression (pglz) cost an import a
-- fifth of its time. lz4 is as small and several times faster; a server
-- built without it stores blocks uncompressed.
DO $$ BEGIN
    EXECUTE 'ALTER TABLE call_blocks ALTER COLUMN data SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN
    ALTER TABLE call_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
END $$;
{{- end}}
