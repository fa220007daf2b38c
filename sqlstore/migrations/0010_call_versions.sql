-- How many times an account's calls billed in a cycle changed: every import
-- batch that stores calls of (account, cycle) adds one, in its transaction.
-- The open cycle's live bill is cached until it moves; counting the blocks
-- instead grew with them (a stream of small posts writes a block per
-- account and round) and would miss a removal.
CREATE TABLE call_versions (
    account {{.Text}} NOT NULL,
    cycle   {{.Int}} NOT NULL,
    version {{.Int}} NOT NULL,
    PRIMARY KEY (account, cycle)
){{.WithoutRowID}};

INSERT INTO call_versions (account, cycle, version)
    SELECT account, cycle, COUNT(*) FROM call_blocks GROUP BY account, cycle;
