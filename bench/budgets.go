package main

import (
	"context"
	"fmt"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/budget"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/sqlstore"
)

// budgetAccounts is -budgets: how many accounts get budgets before the
// import.
var budgetAccounts int

// setBudgets gives the first n accounts (by uid) a budget on the total
// (1000.00, thresholds 50/80/100) and a usage trigger on outbound fixed-line
// minutes, as a tenant would set them before its calls come in: the import
// then evaluates them (ingest.Service.Committed, budget.Watcher.Flush).
func setBudgets(dsn string, n int) error {
	if n == 0 {
		return nil
	}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	uids, err := s.AccountUIDs(ctx)
	if err != nil {
		return err
	}
	svc := &budget.Service{Store: s, Spend: &closing.Service{Store: s}}
	for _, uid := range uids[:min(n, len(uids))] {
		if _, err := svc.Set(ctx, budget.SetInput{Account: uid, Scope: callbill.BudgetTotal, Measure: callbill.BudgetAmount,
			Amount: callbill.MustDecimal("1000.00")}); err != nil {
			return err
		}
		if _, err := svc.Set(ctx, budget.SetInput{Account: uid, Scope: callbill.BudgetItem, Item: callbill.ItemFixedLineOutbound,
			Measure: callbill.BudgetMinutes, Minutes: 100_000}); err != nil {
			return err
		}
	}
	fmt.Printf("budgets: %d accounts with a budget and a usage trigger\n", min(n, len(uids)))
	return nil
}

// timeBudgets measures what the end of an import pays for n accounts'
// budgets: the watcher noting every account (as the import's batches do)
// and its Flush — one evaluation of those with budgets and the pass — on
// the store as the import left it, their marks forgotten first so that the
// evaluation reads their spend as after a real import.
func timeBudgets(dsn string, n int) error {
	if n == 0 {
		return nil
	}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.DB().ExecContext(ctx, `DELETE FROM budget_checks`); err != nil {
		return err
	}
	uids, err := s.AccountUIDs(ctx)
	if err != nil {
		return err
	}
	w := budget.NewWatcher(&budget.Service{Store: s, Spend: &closing.Service{Store: s}}, nil)
	start := time.Now()
	w.Committed(ctx, uids)
	if err := w.Flush(ctx); err != nil {
		return err
	}
	el := time.Since(start)
	start = time.Now()
	if err := w.Flush(ctx); err != nil {
		return err
	}
	fmt.Printf("budgets: evaluating %d accounts' budgets after the import: %.0f ms; a pass with nothing to do: %.1f ms\n",
		min(n, len(uids)), el.Seconds()*1000, time.Since(start).Seconds()*1000)
	return nil
}
