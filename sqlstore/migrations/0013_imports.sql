-- Import records (docs/imports.md): every import — the files of one
-- `callbill import`, or one POST /api/v1/imports request — with who, when,
-- its counts and whether it was undone.
CREATE TABLE imports (
    id          {{.Serial}} PRIMARY KEY,
    sources     TEXT NOT NULL,        -- JSON list of names
    actor       {{.Text}} NOT NULL,   -- who: cli:user@host, api:operator-key, …
    at          {{.Int}} NOT NULL,
    finished_at {{.Int}} NOT NULL,    -- 0 while running
    status      {{.Text}} NOT NULL,   -- running, done, failed, undone
    imported    {{.Int}} NOT NULL,
    duplicates  {{.Int}} NOT NULL,
    rejected    {{.Int}} NOT NULL,
    conflicts   {{.Int}} NOT NULL,
    undone_by   {{.Text}} NOT NULL,
    undone_at   {{.Int}} NOT NULL,
    undo        TEXT NOT NULL         -- JSON: what the undo did ('' unless undone)
);

-- Which import batches hold an import's calls. A batch of a file import is
-- that import's alone; a round of the server's grouped path holds the calls
-- of several requests, each its own import: part is the import's index
-- there, and batch_owners says whose each call is.
CREATE TABLE import_parts (
    import_id {{.Int}} NOT NULL,
    batch     {{.Int}} NOT NULL,  -- a call's ingest sequence >> 20
    part      {{.Int}} NOT NULL,
    PRIMARY KEY (import_id, batch)
){{.WithoutRowID}};

-- The part (import_parts.part) of each call of a batch holding several
-- imports, by position in the batch (sequence − batch << 20): uvarints.
CREATE TABLE batch_owners (
    batch  {{.Int}} PRIMARY KEY,
    owners {{.Blob}} NOT NULL
);

-- The first ingest sequence stored after the package was: calls stored
-- before it were rated without it (0: any call, as for packages bought
-- before this migration).
ALTER TABLE packages ADD COLUMN since_seq {{.Int}} NOT NULL DEFAULT 0;
