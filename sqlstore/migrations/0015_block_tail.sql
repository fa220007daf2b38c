-- The call platform's stream writes a small block for most accounts in
-- every round, and with it an entry in the index of blocks by account for
-- each: one page of that index per account, scattered across all of it,
-- which was most of what a round wrote to the WAL (docs/architecture.md,
-- "Where an import writes"). On SQLite a small block now goes to a tail
-- first (tail = 1), indexed only by its sequence, where a round's entries
-- land next to each other; the tail joins the index by account in bulk,
-- many rounds at a time. Readers by account read both.
--
-- PostgreSQL keeps its blocks keyed by account: the stream ran no faster
-- without that key there (docs/benchmarks.md, "Ingest at the limit (issue 13)").
{{if .SQLite -}}
ALTER TABLE call_blocks ADD COLUMN tail INTEGER NOT NULL DEFAULT 0;
DROP INDEX call_blocks_account;
CREATE INDEX call_blocks_account ON call_blocks (account, cycle, seq, first_start, last_start) WHERE tail = 0;
CREATE INDEX call_blocks_tail ON call_blocks (seq, account, cycle, first_start, last_start) WHERE tail = 1;
{{- else -}}
SELECT 1;
{{- end}}
