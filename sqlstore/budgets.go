package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/budget"
)

// Budgets and their alerts are persisted here; their rules (what is valid,
// when a threshold is crossed, the forecast) are budget.Service's. Times in
// the budget tables are unix milliseconds.

// UpdateBudgets runs fn in a transaction under the account's lock (see
// budget.Store).
func (s *Store) UpdateBudgets(ctx context.Context, account string, fn func(tx budget.Tx, now time.Time) error) error {
	return s.keyedTx(ctx, "the budget", func(tx *Tx) error {
		if err := s.lockWriter(ctx, tx); err != nil {
			return err
		}
		if err := s.lockAccounts(ctx, tx, []string{account}); err != nil {
			return err
		}
		if err := mustAccount(ctx, tx, account); err != nil {
			return err
		}
		return fn(budgetTx{tx}, s.Now())
	})
}

// RecordAlerts runs fn in a writer's transaction (see budget.Store).
func (s *Store) RecordAlerts(ctx context.Context, fn func(tx budget.Tx, now time.Time) error) error {
	return s.inTx(ctx, func(tx *Tx) error {
		if err := s.lockWriter(ctx, tx); err != nil {
			return err
		}
		return fn(budgetTx{tx}, s.Now())
	})
}

// ViewBudgets runs fn in a read-only transaction (see budget.Store).
func (s *Store) ViewBudgets(ctx context.Context, fn func(tx budget.Tx, now time.Time) error) error {
	return s.readTx(ctx, func(tx *Tx) error { return fn(budgetTx{tx}, s.Now()) })
}

// BudgetsVersion returns the counter that setting or removing a budget
// moves (see budget.Store); it reads outside any transaction.
func (s *Store) BudgetsVersion(ctx context.Context) (int64, error) {
	db := s.reader()
	var v sql.NullString
	err := db.QueryRowContext(ctx, s.rebind(`SELECT value FROM meta WHERE key = 'budgets_gen'`)).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !v.Valid) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(v.String, 10, 64)
}

// budgetTx implements budget.Tx on a transaction.
type budgetTx struct{ tx *Tx }

func (t budgetTx) Location(ctx context.Context) (*time.Location, error) {
	loc, _, err := location(ctx, t.tx)
	return loc, err
}

func (t budgetTx) ClosedThrough(ctx context.Context) (callbill.Cycle, error) {
	return closedThrough(ctx, t.tx)
}

func (t budgetTx) Account(ctx context.Context, uid string) (*callbill.Account, error) {
	a, err := loadAccount(ctx, t.tx, uid)
	if err != nil {
		return nil, err
	}
	return &a.Account, nil
}

func (t budgetTx) Generation(ctx context.Context) (int64, error) { return getMetaInt(ctx, t.tx, "gen") }

const budgetCols = `b.id, b.account, b.scope, b.target, b.measure, b.amount, b.minutes, b.thresholds, b.from_cycle, b.created_at, b.removed_at`

// scanBudget reads budgetCols after extra.
func scanBudget(row interface{ Scan(...any) error }, b *callbill.Budget, extra ...any) error {
	var target, amount, thresholds string
	var from int
	var created, removed int64
	if err := row.Scan(append(extra, &b.ID, &b.Account, &b.Scope, &target, &b.Measure, &amount, &b.Minutes, &thresholds, &from, &created, &removed)...); err != nil {
		return err
	}
	switch b.Scope {
	case callbill.BudgetItem:
		b.Item = callbill.Item(target)
	case callbill.BudgetInstance:
		b.Instance = target
	}
	var r decReader
	b.Amount = r.parse("amount", amount)
	if err := r.err("budgets", "account %s, budget %s", b.Account, b.ID); err != nil {
		return err
	}
	b.Thresholds = b.Thresholds[:0]
	for _, p := range strings.Split(thresholds, ",") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return callbill.Errorf(callbill.EINTERNAL, "budgets: account %s, budget %s: thresholds %q", b.Account, b.ID, thresholds)
		}
		b.Thresholds = append(b.Thresholds, n)
	}
	b.From = callbill.Cycle(from)
	b.CreatedAt, b.RemovedAt = time.UnixMilli(created), msOrZero(removed)
	return nil
}

func msOrZero(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// inArgs is "?, ?, …" for vals, and vals as arguments.
func inArgs(vals []string) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return "?" + strings.Repeat(", ?", len(vals)-1), args
}

// chunks calls fn with parts of accounts small enough for one statement.
func chunks(accounts []string, fn func(part []string) error) error {
	const per = 500
	for len(accounts) > 0 {
		n := min(len(accounts), per)
		if err := fn(accounts[:n]); err != nil {
			return err
		}
		accounts = accounts[n:]
	}
	return nil
}

func (t budgetTx) queryBudgets(ctx context.Context, where string, args ...any) ([]callbill.Budget, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+budgetCols+` FROM budgets b WHERE b.removed_at = 0`+where+
		// Shown in a fixed order: the total, then items, then instances.
		` ORDER BY b.account, CASE b.scope WHEN 'total' THEN 0 WHEN 'item' THEN 1 ELSE 2 END, b.target, b.measure`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []callbill.Budget
	for rows.Next() {
		var b callbill.Budget
		if err := scanBudget(rows, &b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func (t budgetTx) Budgets(ctx context.Context, accounts []string) ([]callbill.Budget, error) {
	var out []callbill.Budget
	err := chunks(accounts, func(part []string) error {
		in, args := inArgs(part)
		bs, err := t.queryBudgets(ctx, ` AND b.account IN (`+in+`)`, args...)
		out = append(out, bs...)
		return err
	})
	return out, err
}

func (t budgetTx) AllBudgets(ctx context.Context) ([]callbill.Budget, error) {
	return t.queryBudgets(ctx, "")
}

// budgetsChanged moves BudgetsVersion and forgets the account's mark, so
// that the next pass evaluates its budgets as they are now.
func (t budgetTx) budgetsChanged(ctx context.Context, account string) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('budgets_gen', '1')
		ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)`); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `DELETE FROM budget_checks WHERE account = ?`, account)
	return err
}

func (t budgetTx) InsertBudget(ctx context.Context, b *callbill.Budget) error {
	b.ID = "bgt_" + randomString(16)
	target := ""
	switch b.Scope {
	case callbill.BudgetItem:
		target = string(b.Item)
	case callbill.BudgetInstance:
		target = b.Instance
	}
	ts := make([]string, len(b.Thresholds))
	for i, p := range b.Thresholds {
		ts[i] = strconv.Itoa(p)
	}
	b.CreatedAt = time.UnixMilli(b.CreatedAt.UnixMilli())
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO budgets (id, account, scope, target, measure, amount, minutes, thresholds,
		from_cycle, created_at, removed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		b.ID, b.Account, string(b.Scope), target, string(b.Measure), b.Amount.String(), b.Minutes, strings.Join(ts, ","),
		int(b.From), b.CreatedAt.UnixMilli()); err != nil {
		return err
	}
	return t.budgetsChanged(ctx, b.Account)
}

func (t budgetTx) RemoveBudget(ctx context.Context, account, id string, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE budgets SET removed_at = ? WHERE account = ? AND id = ? AND removed_at = 0`,
		max(at.UnixMilli(), 1), account, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = callbill.Errorf(callbill.ENOTFOUND, "budget %s not found", id)
		}
		return err
	}
	return t.budgetsChanged(ctx, account)
}

func (t budgetTx) Alerts(ctx context.Context, q budget.AlertsQuery) ([]callbill.BudgetAlert, error) {
	var where []string
	var args []any
	if !q.AllAccounts {
		if len(q.Accounts) == 0 {
			return nil, nil
		}
		var out []callbill.BudgetAlert
		err := chunks(q.Accounts, func(part []string) error {
			in, pargs := inArgs(part)
			as, err := t.alerts(ctx, q, []string{`a.account IN (` + in + `)`}, pargs)
			out = append(out, as...)
			return err
		})
		return out, err
	}
	return t.alerts(ctx, q, where, args)
}

func (t budgetTx) alerts(ctx context.Context, q budget.AlertsQuery, where []string, args []any) ([]callbill.BudgetAlert, error) {
	if q.Cycle != 0 {
		where, args = append(where, `a.cycle = ?`), append(args, int(q.Cycle))
	}
	if q.FromCycle != 0 {
		where, args = append(where, `a.cycle >= ?`), append(args, int(q.FromCycle))
	}
	sqlText := `SELECT a.cycle, a.threshold, a.level, a.actual, a.forecast, a.at, ` + budgetCols +
		` FROM budget_alerts a JOIN budgets b ON b.id = a.budget`
	if len(where) > 0 {
		sqlText += ` WHERE ` + strings.Join(where, ` AND `)
	}
	sqlText += ` ORDER BY a.at DESC, a.account, a.budget, a.threshold DESC`
	if q.Limit > 0 {
		sqlText += ` LIMIT ` + strconv.Itoa(q.Limit)
	}
	rows, err := t.tx.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []callbill.BudgetAlert
	for rows.Next() {
		var a callbill.BudgetAlert
		var c int
		var lvl, actual, forecast string
		var at int64
		if err := scanBudget(rows, &a.Budget, &c, &a.Threshold, &lvl, &actual, &forecast, &at); err != nil {
			return nil, err
		}
		var r decReader
		a.Level, a.Actual, a.Forecast = r.parse("level", lvl), r.parse("actual", actual), r.parse("forecast", forecast)
		if err := r.err("budget_alerts", "budget %s, cycle %d", a.Budget.ID, c); err != nil {
			return nil, err
		}
		a.Cycle, a.At = callbill.Cycle(c), time.UnixMilli(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

func (t budgetTx) InsertAlert(ctx context.Context, a *callbill.BudgetAlert) (bool, error) {
	a.At = time.UnixMilli(a.At.UnixMilli())
	res, err := t.tx.ExecContext(ctx, `INSERT INTO budget_alerts (budget, cycle, threshold, account, level, actual, forecast, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (budget, cycle, threshold) DO NOTHING`,
		a.Budget.ID, int(a.Cycle), a.Threshold, a.Budget.Account, a.Level.String(), a.Actual.String(), a.Forecast.String(), a.At.UnixMilli())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (t budgetTx) Emit(ctx context.Context, events []callbill.Event, now time.Time) error {
	return emitEvents(ctx, t.tx, now, events)
}

func (t budgetTx) CallVersions(ctx context.Context, accounts []string) (map[string]int64, error) {
	out := make(map[string]int64, len(accounts))
	err := chunks(accounts, func(part []string) error {
		in, args := inArgs(part)
		rows, err := t.tx.QueryContext(ctx, `SELECT account, SUM(version) FROM call_versions WHERE account IN (`+in+`) GROUP BY account`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a string
			var n int64
			if err := rows.Scan(&a, &n); err != nil {
				return err
			}
			out[a] = n
		}
		return rows.Err()
	})
	return out, err
}

func (t budgetTx) Marks(ctx context.Context, accounts []string) (map[string]budget.Mark, error) {
	out := make(map[string]budget.Mark, len(accounts))
	err := chunks(accounts, func(part []string) error {
		in, args := inArgs(part)
		rows, err := t.tx.QueryContext(ctx, `SELECT account, gen, cycle, calls FROM budget_checks WHERE account IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a string
			var m budget.Mark
			var c int
			if err := rows.Scan(&a, &m.Gen, &c, &m.Calls); err != nil {
				return err
			}
			m.Cycle = callbill.Cycle(c)
			out[a] = m
		}
		return rows.Err()
	})
	return out, err
}

// SetMarks upserts the marks in multi-row statements, accounts in order
// (two nodes marking the same accounts wait on each other, never in a
// circle).
func (t budgetTx) SetMarks(ctx context.Context, marks map[string]budget.Mark) error {
	accts := make([]string, 0, len(marks))
	for a := range marks {
		accts = append(accts, a)
	}
	sort.Strings(accts)
	args := make([]any, 0, 4*len(accts))
	for _, a := range accts {
		m := marks[a]
		args = append(args, a, m.Gen, int(m.Cycle), m.Calls)
	}
	return execRows(ctx, t.tx, `INSERT INTO budget_checks (account, gen, cycle, calls) VALUES `,
		` ON CONFLICT (account) DO UPDATE SET gen = excluded.gen, cycle = excluded.cycle, calls = excluded.calls`, 4, args)
}
