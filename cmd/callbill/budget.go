package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/budget"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/sqlstore"
)

// The budget commands set, list and remove an account's budgets and usage
// triggers (docs/budgets.md). Alerts fire at import time; a running serve
// sends their webhooks.

func budgetService(s *sqlstore.Store, log *slog.Logger) *budget.Service {
	return &budget.Service{Store: s, Spend: &closing.Service{Store: s}, Log: log}
}

// parseThresholds reads "50,80,100".
func parseThresholds(list string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(p), "%"))
		if p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, usagef("--thresholds: %q is not a whole percentage", p)
		}
		out = append(out, n)
	}
	return out, nil
}

func (a *app) budgetSet(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account `UID`")
	item := fs.String("item", "", "watch one billing `ITEM` (default: the total payable)")
	inst := fs.String("instance", "", "watch one instance `ID` (default: the total payable)")
	amount := fs.String("amount", "", "the budget in yuan per cycle, e.g. `1000.00`")
	thresholds := fs.String("thresholds", "", "alert at these `PERCENTS` of the amount, e.g. 50,80,100 (default 50,80,100)")
	minutes := fs.Int64("minutes", 0, "a usage trigger instead: alert once the --item's minutes in a cycle exceed `N`")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, pos []string) error {
		switch {
		case *acct == "" || len(pos) > 0:
			return usagef("budget set needs --account UID, and --amount AMOUNT or --minutes N")
		case *item != "" && *inst != "":
			return usagef("budget set watches the total, one --item or one --instance, not both")
		case (*amount == "") == (*minutes == 0):
			return usagef("budget set needs --amount AMOUNT (a budget) or --minutes N (a usage trigger), one of them")
		case *minutes != 0 && *item == "":
			return usagef("a usage trigger (--minutes) needs the --item whose minutes it counts")
		case *minutes != 0 && *thresholds != "":
			return usagef("a usage trigger (--minutes) has no --thresholds: it fires once the minutes exceed N")
		}
		in := budget.SetInput{Account: *acct, Scope: callbill.BudgetTotal, Measure: callbill.BudgetAmount, Minutes: *minutes}
		switch {
		case *item != "":
			in.Scope, in.Item = callbill.BudgetItem, callbill.Item(*item)
		case *inst != "":
			in.Scope, in.Instance = callbill.BudgetInstance, *inst
		}
		if *minutes != 0 {
			in.Measure = callbill.BudgetMinutes
		} else {
			d, err := callbill.ParseAmount(*amount)
			if err != nil {
				return err
			}
			in.Amount = d
			if in.Thresholds, err = parseThresholds(*thresholds); err != nil {
				return err
			}
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		res, err := budgetService(s, slog.New(slog.NewTextHandler(a.stderr, nil))).Set(ctx, in)
		if err != nil {
			return err
		}
		if *asJSON {
			return a.webhookJSON(api.ToBudgetSetJSON(res))
		}
		b := res.Budget
		switch {
		case res.Same:
			fmt.Fprintf(a.stdout, "budget %s is in force as given: nothing changed\n", b.ID)
		case res.Replaced != nil:
			fmt.Fprintf(a.stdout, "budget %s: %s (replaces %s)\n", b.ID, budgetWhat(b), res.Replaced.ID)
		default:
			fmt.Fprintf(a.stdout, "budget %s: %s\n", b.ID, budgetWhat(b))
		}
		for _, al := range res.Fired {
			fmt.Fprintf(a.stdout, "fired: %s %d%% (%s of %s reached %s)\n", al.Cycle, al.Threshold,
				budget.FormatAmount(b.Measure, al.Actual), budgetAmount(b), budget.FormatLevel(b.Measure, al.Level))
		}
		return nil
	}
}

// budgetScope names what a budget watches, in Chinese (the CLI's tables).
func budgetScope(b *callbill.Budget) string {
	l := callbill.LabelOf(callbill.BudgetScopeLabel, b.Scope).Zh
	switch b.Scope {
	case callbill.BudgetItem:
		name := callbill.ItemName[b.Item]
		if name == "" {
			name = string(b.Item)
		}
		return l + " " + name
	case callbill.BudgetInstance:
		return l + " " + b.Instance
	}
	return l
}

// budgetAmount is a budget's size: yuan, or N minutes.
func budgetAmount(b *callbill.Budget) string {
	if b.Measure == callbill.BudgetMinutes {
		return strconv.FormatInt(b.Minutes, 10) + " 分钟"
	}
	return callbill.FormatMoney(b.Amount)
}

// budgetWhat describes a budget in one line.
func budgetWhat(b *callbill.Budget) string {
	if b.Measure == callbill.BudgetMinutes {
		return fmt.Sprintf("%s, alert once its minutes in a cycle exceed %d, from %s", budgetScope(b), b.Minutes, b.From)
	}
	ts := make([]string, len(b.Thresholds))
	for i, p := range b.Thresholds {
		ts[i] = strconv.Itoa(p) + "%"
	}
	return fmt.Sprintf("%s, %s per cycle, alerts at %s, from %s", budgetScope(b), callbill.FormatMoney(b.Amount), strings.Join(ts, " "), b.From)
}

func (a *app) budgetList(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "only the account `UID` (default: every account with budgets)")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return usagef("budget list takes no arguments")
		}
		s, err := a.open(ctx, sqlstore.Read)
		if err != nil {
			return err
		}
		defer s.Close()
		svc := budgetService(s, nil)
		uids := []string{*acct}
		if *acct == "" {
			bs, err := svc.List(ctx, budget.ListInput{AllAccounts: true})
			if err != nil {
				return err
			}
			uids = uids[:0]
			for _, b := range bs {
				if len(uids) == 0 || uids[len(uids)-1] != b.Account {
					uids = append(uids, b.Account)
				}
			}
		}
		out := []api.BudgetStatusJSON{}
		t := newTable(left("预算ID"), left("账户"), left("账期"), left("范围"), right("预算"), left("提醒阈值"), right("本期实际"),
			right("预测月末"), right("已用"), left("已触发"))
		for _, uid := range uids {
			sts, _, err := svc.Statuses(ctx, uid)
			if err != nil {
				return err
			}
			for i := range sts {
				st := &sts[i]
				out = append(out, api.ToBudgetStatusJSON(st))
				b := &st.Budget
				var ts, fired []string
				for _, p := range b.Thresholds {
					ts = append(ts, strconv.Itoa(p)+"%")
				}
				if b.Measure == callbill.BudgetMinutes {
					ts = []string{"> " + strconv.FormatInt(b.Minutes, 10) + " 分钟"}
				}
				for _, al := range st.Alerts {
					fired = append(fired, strconv.Itoa(al.Threshold)+"%")
				}
				if b.Measure == callbill.BudgetMinutes && len(fired) > 0 {
					fired = []string{"已超出"}
				}
				t.row(b.ID, b.Account, st.Cycle.String(), budgetScope(b), budgetAmount(b), strings.Join(ts, " "),
					budget.FormatAmount(b.Measure, st.Actual), budget.FormatAmount(b.Measure, st.Forecast), st.Used.StringFixed(1)+"%",
					strings.Join(fired, " "))
			}
		}
		if *asJSON {
			return a.webhookJSON(out)
		}
		return t.write(a.stdout)
	}
}

func (a *app) budgetRemove(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account `UID`")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, pos []string) error {
		if *acct == "" || len(pos) != 1 {
			return usagef("budget remove needs --account UID and one budget ID")
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		b, err := budgetService(s, nil).Remove(ctx, budget.RemoveInput{Account: *acct, ID: pos[0]})
		if err != nil {
			return err
		}
		if *asJSON {
			return a.webhookJSON(api.ToBudgetJSON(b))
		}
		fmt.Fprintf(a.stdout, "removed budget %s (%s); its alerts stay\n", b.ID, budgetScope(b))
		return nil
	}
}
