// Package budget is budgets and usage alerts (docs/budgets.md): a tenant
// sets, per account, budgets on the postpaid spend of every cycle — the
// total, one billing item or one instance — with thresholds in percent, and
// usage triggers on the minutes of an item; each threshold fires a
// budget.threshold event once per cycle, at import time. The spend is the
// live bill's (closing.Service.OpenSpend), never a second count. The rules
// live here; Store persists inside one transaction and decides nothing.
package budget

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// Store opens the transactions the service works in.
type Store interface {
	// UpdateBudgets runs fn in one transaction under account's lock, with
	// the transaction's one clock reading. Returns ENOTFOUND if the account
	// does not exist.
	UpdateBudgets(ctx context.Context, account string, fn func(tx Tx, now time.Time) error) error
	// RecordAlerts runs fn in a writer's transaction that waits for a close
	// in progress (and keeps one from starting), with its clock reading.
	RecordAlerts(ctx context.Context, fn func(tx Tx, now time.Time) error) error
	// ViewBudgets runs fn in a read-only transaction, with its clock reading.
	ViewBudgets(ctx context.Context, fn func(tx Tx, now time.Time) error) error
	// BudgetsVersion returns a counter that moves whenever a budget is set
	// or removed, on any node. It reads outside any transaction.
	BudgetsVersion(ctx context.Context) (int64, error)
}

// Tx is what the service reads and writes inside a transaction.
type Tx interface {
	// Location returns the billing time zone.
	Location(ctx context.Context) (*time.Location, error)
	// ClosedThrough returns the last closed cycle, 0 when none is closed.
	ClosedThrough(ctx context.Context) (callbill.Cycle, error)
	// Account returns one account. Returns ENOTFOUND if it does not exist.
	Account(ctx context.Context, uid string) (*callbill.Account, error)
	// Budgets returns the budgets in force of the accounts, by account and
	// then oldest first.
	Budgets(ctx context.Context, accounts []string) ([]callbill.Budget, error)
	// AllBudgets returns every account's budgets in force, by account and
	// then oldest first (the operator's list).
	AllBudgets(ctx context.Context) ([]callbill.Budget, error)
	// InsertBudget gives b a new id and stores it. It moves BudgetsVersion
	// and forgets the account's Mark.
	InsertBudget(ctx context.Context, b *callbill.Budget) error
	// RemoveBudget marks the account's budget id removed at at. It moves
	// BudgetsVersion and forgets the account's Mark. Returns ENOTFOUND if
	// the account has no such budget in force.
	RemoveBudget(ctx context.Context, account, id string, at time.Time) error
	// Alerts returns the alerts q asks for, newest first, each with its
	// budget as set.
	Alerts(ctx context.Context, q AlertsQuery) ([]callbill.BudgetAlert, error)
	// InsertAlert stores an alert unless its budget already fired that
	// threshold in that cycle; it reports whether it stored it.
	InsertAlert(ctx context.Context, a *callbill.BudgetAlert) (bool, error)
	// Emit writes events and their deliveries, at now.
	Emit(ctx context.Context, events []callbill.Event, now time.Time) error
	// Generation returns the generation of the world (prices, contracts,
	// closes): a world apply or a close moves it, an import does not.
	Generation(ctx context.Context) (int64, error)
	// CallVersions returns, per account, a counter that every import batch
	// storing calls of the account moves (0 when it has none).
	CallVersions(ctx context.Context, accounts []string) (map[string]int64, error)
	// Marks returns the accounts' marks as SetMark stored them (absent
	// when none).
	Marks(ctx context.Context, accounts []string) (map[string]Mark, error)
	// SetMarks stores accounts' marks.
	SetMarks(ctx context.Context, marks map[string]Mark) error
}

// AlertsQuery names alerts: one account's or (AllAccounts) every account's,
// of one cycle or (Cycle 0) from FromCycle on, at most Limit.
type AlertsQuery struct {
	Accounts    []string
	AllAccounts bool
	Cycle       callbill.Cycle
	FromCycle   callbill.Cycle
	Limit       int
}

// Mark is what an account's budgets were last evaluated against: the
// world's generation, the current cycle and the account's calls counter.
// While all three stay the same its spend has not moved, so the periodic
// pass leaves it alone (docs/budgets.md, "When budgets are evaluated").
type Mark struct {
	Gen   int64
	Cycle callbill.Cycle
	Calls int64
}

// SpendReader reads the open cycles' postpaid spend (closing.Service).
type SpendReader interface {
	OpenSpend(ctx context.Context, accounts []string) (map[string][]*callbill.Spend, error)
}

// Service manages budgets and evaluates them.
type Service struct {
	Store Store
	Spend SpendReader
	// Log, when set, is told of an evaluation that failed after a budget
	// was set (the budget is set all the same; the periodic pass retries).
	Log *slog.Logger
}

// SetInput sets a budget of an account: on the total, an item or an
// instance, in yuan with thresholds (Measure amount), or a usage trigger on
// an item's minutes (Measure minutes).
type SetInput struct {
	Account    string
	Scope      callbill.BudgetScope
	Item       callbill.Item // Scope item
	Instance   string        // Scope instance
	Measure    callbill.BudgetMeasure
	Amount     decimal.Decimal // Measure amount: yuan, whole fen, > 0
	Minutes    int64           // Measure minutes: N
	Thresholds []int           // Measure amount: percent (DefaultThresholds when none)
}

// Validate says what is wrong with the input; it leaves the instance's
// owner to Set.
func (in *SetInput) Validate() error {
	if in.Account == "" {
		return callbill.Errorf(callbill.EINVALID, "a budget needs an account")
	}
	switch in.Scope {
	case callbill.BudgetTotal:
		if in.Item != "" || in.Instance != "" {
			return callbill.Errorf(callbill.EINVALID, "a budget on the total names no item or instance")
		}
	case callbill.BudgetItem:
		if in.Instance != "" {
			return callbill.Errorf(callbill.EINVALID, "a budget on an item names no instance")
		}
		items := AmountItems
		if in.Measure == callbill.BudgetMinutes {
			items = MinuteItems
		}
		if !slices.Contains(items, in.Item) {
			what := "an amount budget watches a postpaid item (purchases are paid when made)"
			if in.Measure == callbill.BudgetMinutes {
				what = "a usage trigger counts the minutes of an item billed in minutes"
			}
			return callbill.Errorf(callbill.EINVALID, "%s: %q is not one of %s", what, in.Item, itemList(items))
		}
	case callbill.BudgetInstance:
		if in.Item != "" || in.Instance == "" {
			return callbill.Errorf(callbill.EINVALID, "a budget on an instance names the instance and no item")
		}
	default:
		return callbill.Errorf(callbill.EINVALID, "budget scope %q is not total, item or instance", in.Scope)
	}
	switch in.Measure {
	case callbill.BudgetAmount:
		if in.Minutes != 0 {
			return callbill.Errorf(callbill.EINVALID, "an amount budget has an amount, not minutes")
		}
		if !in.Amount.IsPositive() || in.Amount.GreaterThan(callbill.MaxAmount) || !in.Amount.Equal(in.Amount.Truncate(callbill.AmountPlaces)) {
			return callbill.Errorf(callbill.EINVALID, "a budget's amount must be more than 0.00 and at most %s yuan, in whole fen", callbill.FormatMoney(callbill.MaxAmount))
		}
		if _, err := checkThresholds(in.Thresholds); err != nil {
			return err
		}
	case callbill.BudgetMinutes:
		if in.Scope != callbill.BudgetItem {
			return callbill.Errorf(callbill.EINVALID, "a usage trigger counts the minutes of one item")
		}
		if in.Minutes < 1 || in.Minutes > MaxMinutes {
			return callbill.Errorf(callbill.EINVALID, "a usage trigger's minutes must be 1 … %d", MaxMinutes)
		}
		if !in.Amount.IsZero() || len(in.Thresholds) > 0 {
			return callbill.Errorf(callbill.EINVALID, "a usage trigger fires once its minutes are exceeded: it has no amount or thresholds")
		}
	default:
		return callbill.Errorf(callbill.EINVALID, "budget measure %q is not amount or minutes", in.Measure)
	}
	return nil
}

// SetResult is what Set did.
type SetResult struct {
	Budget   *callbill.Budget
	Replaced *callbill.Budget // the budget of the same scope it replaced, if any
	Same     bool             // it was in force already as given: nothing changed
	// Fired are the thresholds the spend so far had crossed already: a new
	// budget is evaluated at once, and fires those once each.
	Fired []callbill.BudgetAlert
}

// Set sets a budget: an account has at most one budget (and one usage
// trigger) per scope, so a budget of a scope that has one replaces it — a
// new budget, from the current cycle, whose thresholds fire afresh — and
// the same budget again changes nothing. Returns EINVALID for a bad input
// or an instance of another account, ENOTFOUND for an unknown account,
// EREFUSED past MaxBudgets.
func (s *Service) Set(ctx context.Context, in SetInput) (*SetResult, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	ts := []int{callbill.UsageTriggerThreshold}
	if in.Measure == callbill.BudgetAmount {
		ts, _ = checkThresholds(in.Thresholds)
	}
	var res *SetResult
	err := s.Store.UpdateBudgets(ctx, in.Account, func(tx Tx, now time.Time) error {
		res = &SetResult{}
		if in.Scope == callbill.BudgetInstance {
			a, err := tx.Account(ctx, in.Account)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(a.Instances, func(i callbill.Instance) bool { return i.ID == in.Instance }) {
				return callbill.Errorf(callbill.EINVALID, "instance %s is not an instance of account %s", in.Instance, in.Account)
			}
		}
		loc, err := tx.Location(ctx)
		if err != nil {
			return err
		}
		have, err := tx.Budgets(ctx, []string{in.Account})
		if err != nil {
			return err
		}
		b := &callbill.Budget{Account: in.Account, Scope: in.Scope, Item: in.Item, Instance: in.Instance, Measure: in.Measure,
			Amount: in.Amount, Minutes: in.Minutes, Thresholds: ts, From: callbill.CycleOf(now, loc), CreatedAt: now}
		for i := range have {
			old := &have[i]
			if old.Scope != b.Scope || old.Item != b.Item || old.Instance != b.Instance || old.Measure != b.Measure {
				continue
			}
			if old.Amount.Equal(b.Amount) && old.Minutes == b.Minutes && slices.Equal(old.Thresholds, b.Thresholds) {
				res.Budget, res.Same = old, true
				return nil
			}
			if err := tx.RemoveBudget(ctx, in.Account, old.ID, now); err != nil {
				return err
			}
			res.Replaced = old
		}
		if res.Replaced == nil && len(have) >= MaxBudgets {
			return callbill.Errorf(callbill.EREFUSED, "account %s has %d budgets already, the most it may have; remove one first", in.Account, MaxBudgets)
		}
		if err := tx.InsertBudget(ctx, b); err != nil {
			return err
		}
		res.Budget = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !res.Same && s.Spend != nil {
		// Evaluated at once, so that a budget set below the spend so far
		// fires now rather than at the next import. A failure leaves the
		// budget set and its account's mark forgotten: the pass retries.
		rep, err := s.Evaluate(ctx, []string{in.Account})
		if err != nil && s.Log != nil {
			s.Log.Error("budget evaluation after a set failed; the periodic pass retries it", "account", in.Account, "err", err)
		}
		if rep != nil {
			res.Fired = rep.Fired
		}
	}
	return res, nil
}

// RemoveInput names one of an account's budgets.
type RemoveInput struct {
	Account string
	ID      string
}

// Remove removes a budget: it watches no cycle from now on; its alerts stay.
// Returns ENOTFOUND for an unknown account or a budget the account does
// not have in force.
func (s *Service) Remove(ctx context.Context, in RemoveInput) (*callbill.Budget, error) {
	var out *callbill.Budget
	err := s.Store.UpdateBudgets(ctx, in.Account, func(tx Tx, now time.Time) error {
		have, err := tx.Budgets(ctx, []string{in.Account})
		if err != nil {
			return err
		}
		i := slices.IndexFunc(have, func(b callbill.Budget) bool { return b.ID == in.ID })
		if i < 0 {
			return callbill.Errorf(callbill.ENOTFOUND, "budget %s not found", in.ID)
		}
		out = &have[i]
		out.RemovedAt = now
		return tx.RemoveBudget(ctx, in.Account, in.ID, now)
	})
	return out, err
}

// Status is where a budget stands in a cycle: what it counted, the
// month-end forecast, the thresholds reached and the alerts fired.
type Status struct {
	Budget   callbill.Budget
	Cycle    callbill.Cycle
	Actual   decimal.Decimal
	Forecast decimal.Decimal
	Used     decimal.Decimal // percent of the budget, one decimal
	Reached  []int           // the thresholds actual crosses
	Alerts   []callbill.BudgetAlert
}

// Statuses returns where each of an account's budgets stands in the
// current cycle (the open cycle of now), in the order they were set.
// Returns ENOTFOUND for an unknown account.
func (s *Service) Statuses(ctx context.Context, account string) ([]Status, callbill.Cycle, error) {
	var budgets []callbill.Budget
	var alerts []callbill.BudgetAlert
	var cycle callbill.Cycle
	var now time.Time
	var loc *time.Location
	err := s.Store.ViewBudgets(ctx, func(tx Tx, at time.Time) error {
		var err error
		if _, err = tx.Account(ctx, account); err != nil {
			return err
		}
		if loc, err = tx.Location(ctx); err != nil {
			return err
		}
		now, cycle = at, callbill.CycleOf(at, loc)
		if budgets, err = tx.Budgets(ctx, []string{account}); err != nil {
			return err
		}
		alerts, err = tx.Alerts(ctx, AlertsQuery{Accounts: []string{account}, Cycle: cycle})
		return err
	})
	if err != nil || len(budgets) == 0 {
		return nil, cycle, err
	}
	spends, err := s.Spend.OpenSpend(ctx, []string{account})
	if err != nil {
		return nil, cycle, err
	}
	var sp *callbill.Spend
	for _, x := range spends[account] {
		if x.Cycle == cycle {
			sp = x
		}
	}
	out := make([]Status, 0, len(budgets))
	for _, b := range budgets {
		st := Status{Budget: b, Cycle: cycle, Actual: Actual(&b, sp)}
		st.Forecast = Forecast(b.Measure, st.Actual, cycle, now, loc)
		st.Used = UsedPercent(&b, st.Actual)
		st.Reached = Reached(&b, st.Actual)
		for _, a := range alerts {
			if a.Budget.ID == b.ID {
				st.Alerts = append(st.Alerts, a)
			}
		}
		slices.SortFunc(st.Alerts, func(x, y callbill.BudgetAlert) int { return x.Threshold - y.Threshold })
		out = append(out, st)
	}
	return out, cycle, nil
}

// ListInput names budgets in force: one account's or every account's.
type ListInput struct {
	Account     string
	AllAccounts bool
}

// List returns budgets in force, by account and then in the order they
// were set. Returns ENOTFOUND for an unknown account.
func (s *Service) List(ctx context.Context, in ListInput) ([]callbill.Budget, error) {
	if err := callbill.CheckAccountScope(in.Account, in.AllAccounts); err != nil {
		return nil, err
	}
	var out []callbill.Budget
	err := s.Store.ViewBudgets(ctx, func(tx Tx, now time.Time) error {
		var err error
		if in.AllAccounts {
			out, err = tx.AllBudgets(ctx)
			return err
		}
		if _, err = tx.Account(ctx, in.Account); err != nil {
			return err
		}
		out, err = tx.Budgets(ctx, []string{in.Account})
		return err
	})
	return out, err
}

// AlertsInput names alerts: one account's or every account's, of one cycle
// or (Cycle 0) of every cycle, the newest Limit (1 … 1000; 100 otherwise).
type AlertsInput struct {
	Account     string
	AllAccounts bool
	Cycle       callbill.Cycle
	Limit       int
}

// Alerts returns alerts, newest first. Returns ENOTFOUND for an unknown
// account.
func (s *Service) Alerts(ctx context.Context, in AlertsInput) ([]callbill.BudgetAlert, error) {
	if err := callbill.CheckAccountScope(in.Account, in.AllAccounts); err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []callbill.BudgetAlert
	err := s.Store.ViewBudgets(ctx, func(tx Tx, now time.Time) error {
		q := AlertsQuery{AllAccounts: in.AllAccounts, Cycle: in.Cycle, Limit: limit}
		if !in.AllAccounts {
			if _, err := tx.Account(ctx, in.Account); err != nil {
				return err
			}
			q.Accounts = []string{in.Account}
		}
		var err error
		out, err = tx.Alerts(ctx, q)
		return err
	})
	return out, err
}
