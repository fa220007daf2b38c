package budget

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// Evaluation: an account's budgets are held against its open cycles'
// spend (closing.Service.OpenSpend, the live bill's estimate), and each
// threshold newly crossed is stored as an alert and emitted as a
// budget.threshold event in one transaction. The alert is unique per
// budget, cycle and threshold in the store, so two nodes or two imports
// evaluating at once fire it once: the second insert finds the first and
// emits nothing.

// maxPerRound bounds the accounts one evaluation reads the spend of at once.
const maxPerRound = 1000

// EvalReport is what an evaluation did.
type EvalReport struct {
	Accounts int                    // accounts with budgets evaluated
	Fired    []callbill.BudgetAlert // the alerts it fired
}

// Evaluate evaluates the budgets of accounts (those without any are
// skipped at the cost of a look-up) and fires every threshold newly
// crossed in an open cycle from each budget's first cycle on. A cycle
// closed meanwhile is never fired for. Each account evaluated is marked,
// so that the periodic pass (Pass) leaves it until its spend moves.
func (s *Service) Evaluate(ctx context.Context, accounts []string) (*EvalReport, error) {
	rep := &EvalReport{}
	uids := slices.Clone(accounts)
	slices.Sort(uids)
	uids = slices.Compact(uids)
	for len(uids) > 0 {
		n := min(len(uids), maxPerRound)
		if err := s.evaluate(ctx, uids[:n], rep); err != nil {
			return rep, err
		}
		uids = uids[n:]
	}
	return rep, nil
}

// candidate is a threshold found crossed, not yet known fired.
type candidate struct {
	alert   callbill.BudgetAlert
	account string
}

func (s *Service) evaluate(ctx context.Context, uids []string, rep *EvalReport) error {
	var budgets []callbill.Budget
	var fired map[string]bool
	var marks, old map[string]Mark
	var closed callbill.Cycle
	err := s.Store.ViewBudgets(ctx, func(tx Tx, now time.Time) error {
		var err error
		if budgets, err = tx.Budgets(ctx, uids); err != nil || len(budgets) == 0 {
			return err
		}
		// The marks are read before the spend: what the spend then shows
		// holds at least what they say, so a mark never claims more.
		if marks, err = currentMarks(ctx, tx, now, budgetAccounts(budgets)); err != nil {
			return err
		}
		if old, err = tx.Marks(ctx, budgetAccounts(budgets)); err != nil {
			return err
		}
		if closed, err = tx.ClosedThrough(ctx); err != nil {
			return err
		}
		alerts, err := tx.Alerts(ctx, AlertsQuery{Accounts: budgetAccounts(budgets), FromCycle: closed + 1})
		if err != nil {
			return err
		}
		fired = make(map[string]bool, len(alerts))
		for _, a := range alerts {
			fired[alertKey(a.Budget.ID, a.Cycle, a.Threshold)] = true
		}
		return nil
	})
	if err != nil || len(budgets) == 0 {
		return err
	}
	accts := budgetAccounts(budgets)
	spends, err := s.Spend.OpenSpend(ctx, accts)
	if err != nil {
		return err
	}
	var cands []candidate
	for i := range budgets {
		b := &budgets[i]
		for _, sp := range spends[b.Account] {
			if sp.Cycle < b.From || sp.Cycle <= closed {
				continue
			}
			actual := Actual(b, sp)
			for _, pct := range Reached(b, actual) {
				if fired[alertKey(b.ID, sp.Cycle, pct)] {
					continue
				}
				cands = append(cands, candidate{account: b.Account, alert: callbill.BudgetAlert{Budget: *b, Cycle: sp.Cycle,
					Threshold: pct, Level: level(b, pct), Actual: actual}})
			}
		}
	}
	changed := false
	for _, a := range accts {
		if old[a] != marks[a] {
			changed = true
		}
	}
	rep.Accounts += len(accts)
	if len(cands) == 0 && !changed {
		return nil
	}
	// A fixed order of inserts, so that two nodes firing the same alerts
	// wait on each other rather than deadlock.
	sort.Slice(cands, func(i, j int) bool {
		x, y := &cands[i].alert, &cands[j].alert
		return alertKey(x.Budget.ID, x.Cycle, x.Threshold) < alertKey(y.Budget.ID, y.Cycle, y.Threshold)
	})
	var done []callbill.BudgetAlert
	err = s.Store.RecordAlerts(ctx, func(tx Tx, now time.Time) error {
		done = done[:0]
		loc, err := tx.Location(ctx)
		if err != nil {
			return err
		}
		closedNow, err := tx.ClosedThrough(ctx)
		if err != nil {
			return err
		}
		live, err := tx.Budgets(ctx, accts)
		if err != nil {
			return err
		}
		inForce := map[string]bool{}
		for _, b := range live {
			inForce[b.ID] = true
		}
		var events []callbill.Event
		for _, c := range cands {
			a := c.alert
			if a.Cycle <= closedNow || !inForce[a.Budget.ID] {
				continue // closed or removed meanwhile
			}
			a.Forecast = Forecast(a.Budget.Measure, a.Actual, a.Cycle, now, loc)
			a.At = now
			ok, err := tx.InsertAlert(ctx, &a)
			if err != nil {
				return err
			}
			if ok {
				done = append(done, a)
				events = append(events, Event(&a))
			}
		}
		if err := tx.Emit(ctx, events, now); err != nil {
			return err
		}
		moved := map[string]Mark{}
		for _, a := range accts {
			if old[a] != marks[a] {
				moved[a] = marks[a]
			}
		}
		return tx.SetMarks(ctx, moved)
	})
	if err != nil {
		return err
	}
	rep.Fired = append(rep.Fired, done...)
	return nil
}

// Event is the budget.threshold event of an alert.
func Event(a *callbill.BudgetAlert) callbill.Event {
	b := &a.Budget
	whole := decimal.NewFromInt(b.Minutes)
	if b.Measure == callbill.BudgetAmount {
		whole = b.Amount
	}
	return callbill.Event{Account: b.Account, Kind: callbill.EventBudgetThreshold, Data: callbill.BudgetThresholdEvent{
		Account: b.Account, Cycle: a.Cycle.String(), Budget: b.ID, Scope: string(b.Scope), Item: string(b.Item), Instance: b.Instance,
		Measure: string(b.Measure), Threshold: a.Threshold, Amount: FormatAmount(b.Measure, whole),
		Level: FormatLevel(b.Measure, a.Level), Actual: FormatAmount(b.Measure, a.Actual), Forecast: FormatAmount(b.Measure, a.Forecast),
		At: a.At.UTC().Format(time.RFC3339)}}
}

// Pass evaluates every account with budgets whose spend may have moved
// since it was last evaluated (its Mark differs: an import, a world apply
// or a close since, or a new cycle), and those never evaluated: what an
// evaluation at import time missed (it failed, or its process died) is
// caught here.
func (s *Service) Pass(ctx context.Context) (*EvalReport, error) {
	var stale []string
	err := s.Store.ViewBudgets(ctx, func(tx Tx, now time.Time) error {
		budgets, err := tx.AllBudgets(ctx)
		if err != nil || len(budgets) == 0 {
			return err
		}
		accts := budgetAccounts(budgets)
		cur, err := currentMarks(ctx, tx, now, accts)
		if err != nil {
			return err
		}
		old, err := tx.Marks(ctx, accts)
		if err != nil {
			return err
		}
		for _, a := range accts {
			if m, ok := old[a]; !ok || m != cur[a] {
				stale = append(stale, a)
			}
		}
		return nil
	})
	if err != nil || len(stale) == 0 {
		return &EvalReport{}, err
	}
	return s.Evaluate(ctx, stale)
}

// currentMarks reads what the accounts' spend depends on now.
func currentMarks(ctx context.Context, tx Tx, now time.Time, accts []string) (map[string]Mark, error) {
	gen, err := tx.Generation(ctx)
	if err != nil {
		return nil, err
	}
	loc, err := tx.Location(ctx)
	if err != nil {
		return nil, err
	}
	calls, err := tx.CallVersions(ctx, accts)
	if err != nil {
		return nil, err
	}
	c := callbill.CycleOf(now, loc)
	out := make(map[string]Mark, len(accts))
	for _, a := range accts {
		out[a] = Mark{Gen: gen, Cycle: c, Calls: calls[a]}
	}
	return out, nil
}

// budgetAccounts lists the accounts of budgets, sorted, once each.
func budgetAccounts(budgets []callbill.Budget) []string {
	var out []string
	for _, b := range budgets {
		out = append(out, b.Account)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// alertKey is an alert's identity, ordered by budget, cycle and threshold.
func alertKey(budget string, c callbill.Cycle, pct int) string {
	return fmt.Sprintf("%s\x00%s\x00%04d", budget, c, pct)
}
