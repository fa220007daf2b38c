-- The earliest and latest start time of a block's calls, so that a usage
-- query by date reads only the blocks that can hold calls of the range
-- (0 on blocks written before: read them).
ALTER TABLE call_blocks ADD COLUMN first_start {{.Int}} NOT NULL DEFAULT 0;
ALTER TABLE call_blocks ADD COLUMN last_start {{.Int}} NOT NULL DEFAULT 0;
CREATE INDEX call_blocks_times ON call_blocks (account, cycle, last_start, first_start, seq);
