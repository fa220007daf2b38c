-- Budgets and usage alerts (issue 14, docs/budgets.md). Times are unix
-- milliseconds.

-- A tenant's budgets: in force while removed_at is 0; a removed or
-- replaced one is kept, since its alerts name it.
CREATE TABLE budgets (
    id         {{.Text}} PRIMARY KEY,   -- bgt_…
    account    {{.Text}} NOT NULL,
    scope      {{.Text}} NOT NULL,      -- total, item, instance
    target     {{.Text}} NOT NULL,      -- the item or instance watched; '' for the total
    measure    {{.Text}} NOT NULL,      -- amount, minutes
    amount     {{.Text}} NOT NULL,      -- yuan (amount budgets), '0' otherwise
    minutes    {{.Int}} NOT NULL,       -- a usage trigger's N, 0 otherwise
    thresholds {{.Text}} NOT NULL,      -- percents, comma-separated, ascending
    from_cycle {{.Int}} NOT NULL,       -- the first cycle it watches
    created_at {{.Int}} NOT NULL,
    removed_at {{.Int}} NOT NULL
);
-- One budget in force per account, measure and scope.
CREATE UNIQUE INDEX budgets_in_force ON budgets (account, measure, scope, target) WHERE removed_at = 0;

-- A threshold of a budget crossed in a cycle: the key makes it fire once,
-- whichever node or import evaluates it first.
CREATE TABLE budget_alerts (
    budget    {{.Text}} NOT NULL,
    cycle     {{.Int}} NOT NULL,
    threshold {{.Int}} NOT NULL,        -- percent
    account   {{.Text}} NOT NULL,
    level     {{.Text}} NOT NULL,       -- what the threshold stands for (yuan or minutes)
    actual    {{.Text}} NOT NULL,       -- the spend (or minutes) that crossed it
    forecast  {{.Text}} NOT NULL,       -- the month-end forecast then
    at        {{.Int}} NOT NULL,
    PRIMARY KEY (budget, cycle, threshold)
);
CREATE INDEX budget_alerts_account ON budget_alerts (account, cycle, at);
CREATE INDEX budget_alerts_at ON budget_alerts (at);

-- What an account's budgets were last evaluated against (budget.Mark): the
-- world's generation, the current cycle and the sum of its calls versions.
CREATE TABLE budget_checks (
    account {{.Text}} PRIMARY KEY,
    gen     {{.Int}} NOT NULL,
    cycle   {{.Int}} NOT NULL,
    calls   {{.Int}} NOT NULL
){{.WithoutRowID}};
