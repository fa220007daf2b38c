-- usage_agg keyed by a line id instead of the bill-line key's seven fields:
-- every import batch adds to thousands of its rows, and both stores spent
-- most of that in comparing and storing the wide key (docs/decisions.md,
-- "Aggregates keyed by a line id"). A line is an account's bill-line key
-- (product detail, instance, item, number, unit price, price from, band),
-- written once and never changed; its id is what usage_agg keeps. Lines
-- carry the account, so they stay with the account's other rows.
CREATE TABLE usage_lines (
    id         {{.Serial}} PRIMARY KEY,
    account    {{.Text}} NOT NULL,
    pd         {{.Text}} NOT NULL,
    instance   {{.Text}} NOT NULL,
    item       {{.Text}} NOT NULL,
    number     {{.Text}} NOT NULL,
    micro      {{.Int}} NOT NULL,
    price_from {{.Int}} NOT NULL,
    band       {{.Int}} NOT NULL
);
CREATE UNIQUE INDEX usage_lines_key ON usage_lines (account, pd, instance, item, number, micro, price_from, band);
INSERT INTO usage_lines (account, pd, instance, item, number, micro, price_from, band)
    SELECT DISTINCT account, pd, instance, item, number, micro, price_from, band FROM usage_agg
    ORDER BY account, pd, instance, item, number, micro, price_from, band;

CREATE TABLE usage_agg_by_line (
    cycle   {{.Int}} NOT NULL,
    day     {{.Int}} NOT NULL,
    account {{.Text}} NOT NULL,
    line    {{.Int}} NOT NULL,
    usage   {{.Int}} NOT NULL,
    covered {{.Int}} NOT NULL,
    calls   {{.Int}} NOT NULL,
    PRIMARY KEY (cycle, day, account, line)
){{.WithoutRowID}};
INSERT INTO usage_agg_by_line (cycle, day, account, line, usage, covered, calls)
    SELECT a.cycle, a.day, a.account, l.id, a.usage, a.covered, a.calls
    FROM usage_agg a JOIN usage_lines l ON l.account = a.account AND l.pd = a.pd AND l.instance = a.instance
        AND l.item = a.item AND l.number = a.number AND l.micro = a.micro AND l.price_from = a.price_from AND l.band = a.band
    ORDER BY a.cycle, a.day, a.account, l.id;
DROP TABLE usage_agg;
ALTER TABLE usage_agg_by_line RENAME TO usage_agg;
{{- if not .SQLite}}
ALTER TABLE usage_agg RENAME CONSTRAINT usage_agg_by_line_pkey TO usage_agg_pkey;
-- Room for the in-place (HOT) updates every batch makes, as migration 0014 left it.
ALTER TABLE usage_agg SET (fillfactor = 50);
{{- end}}
