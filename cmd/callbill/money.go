package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/sqlstore"
)

func (a *app) topup(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account's `UID`")
	amount := fs.String("amount", "", "the `AMOUNT` in CNY, e.g. 100.00")
	key := fs.String("key", "", "idempotency `KEY`: the same key again moves no money twice")
	return func(ctx context.Context, pos []string) error {
		if *acct == "" || *amount == "" || *key == "" || len(pos) > 0 {
			return usagef("topup needs --account UID --amount AMOUNT --key KEY")
		}
		amt, err := callbill.ParseAmount(*amount)
		if err != nil {
			return err
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		res, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: *acct, Amount: amt, Key: *key})
		if err != nil {
			return err
		}
		a.printMoney(res, "topped up")
		return nil
	}
}

func (a *app) adjust(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account's `UID`")
	amount := fs.String("amount", "", "`±AMOUNT` in CNY: a credit (10.00) or a debit (-10.00)")
	reason := fs.String("reason", "", "why (`TEXT`), for the tenant's statement")
	corrects := fs.String("corrects", "", "what it corrects (`REF`), e.g. bill:2026-10")
	key := fs.String("key", "", "idempotency `KEY`")
	return func(ctx context.Context, pos []string) error {
		if *acct == "" || *amount == "" || *key == "" || *reason == "" || len(pos) > 0 {
			return usagef("adjust needs --account UID --amount ±AMOUNT --reason TEXT --key KEY [--corrects REF]")
		}
		amt, err := callbill.ParseSignedAmount(*amount)
		if err != nil {
			return err
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		res, err := money(s).Adjust(ctx, ledger.AdjustInput{Account: *acct, Amount: amt, Reason: *reason, Corrects: *corrects, Key: *key})
		if err != nil {
			return err
		}
		a.printMoney(res, "adjusted")
		return nil
	}
}

// money is the ledger service on s, pausing inside a money request when a
// crash test asks (CALLBILL_FAULT_MONEY_PAUSE).
func money(s *sqlstore.Store) *ledger.Service {
	return &ledger.Service{Store: s, Pause: s.MoneyPause}
}

func (a *app) printMoney(res *callbill.MoneyResult, verb string) {
	e := res.Entry
	if res.Replayed {
		fmt.Fprintf(a.stdout, "key %s was applied before (entry %d, %s %s): nothing moved now\n", e.Key, e.Seq, e.Kind, callbill.FormatMoney(e.Amount))
		return
	}
	fmt.Fprintf(a.stdout, "%s %s: %s (entry %d), cash now %s\n", verb, e.Account, callbill.FormatMoney(e.Amount), e.Seq, callbill.FormatMoney(res.Cash))
}

func (a *app) accountShow(fs *flag.FlagSet) runner {
	asJSON := fs.Bool("json", false, "print JSON (codes, not labels)")
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("account show needs one UID")
		}
		s, err := a.open(ctx, sqlstore.Read)
		if err != nil {
			return err
		}
		defer s.Close()
		st, err := s.Status(ctx, pos[0])
		if err != nil {
			return err
		}
		loc, err := s.Location(ctx)
		if err != nil {
			return err
		}
		j := api.Account(st, loc)
		if *asJSON {
			enc := json.NewEncoder(a.stdout)
			enc.SetEscapeHTML(false)
			return enc.Encode(j)
		}
		w := a.stdout
		fmt.Fprintf(w, "账户 %s %s  状态 %s\n", j.Account, j.Name, zh(callbill.AccountStateLabel, callbill.AccountState(j.State)))
		fmt.Fprintf(w, "现金余额 %s  信控额度 %s  欠费 %s  可用额度 %s  延期免停 %s / %d 天\n",
			j.Cash, j.CreditLine, j.Outstanding, j.Available, j.Allowance, j.GraceDays)
		if len(j.Packages) > 0 {
			fmt.Fprintln(w)
			t := newTable(left("语音包"), left("类型"), right("剩余（分钟）"), right("总量（分钟）"), left("到期"))
			for _, p := range j.Packages {
				t.row(p.ID, zh(callbill.PackageTypeLabel, callbill.PackageType(p.Type)), fmt.Sprint(p.Remaining), fmt.Sprint(p.Minutes), p.Expires)
			}
			if err := t.write(w); err != nil {
				return err
			}
		}
		if len(j.Numbers) > 0 {
			fmt.Fprintln(w)
			t := newTable(left("号码"), left("实例"), left("类型"), left("来源"), left("月租付至"))
			for _, n := range j.Numbers {
				t.row(n.Number, n.Instance, zh(callbill.NumberKindLabel, callbill.NumberKind(n.Kind)),
					zh(callbill.NumberSourceLabel, callbill.NumberSource(n.Source)), n.PaidUntil)
			}
			if err := t.write(w); err != nil {
				return err
			}
		}
		if len(j.Alerts)+len(j.Events) > 0 {
			fmt.Fprintln(w)
			t := newTable(left("时间"), left("事件"), left("状态"), left("原因"))
			for _, e := range j.Alerts {
				t.row(e.At, "余额提醒", "", e.Cause)
			}
			for _, e := range j.Events {
				t.row(e.At, "状态变更", zh(callbill.AccountStateLabel, callbill.AccountState(e.State)), e.Cause)
			}
			return t.write(w)
		}
		return nil
	}
}

func (a *app) ledger(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account's `UID`")
	return func(ctx context.Context, pos []string) error {
		if *acct == "" || len(pos) > 0 {
			return usagef("ledger needs --account UID (or: ledger verify [--account UID])")
		}
		s, err := a.open(ctx, sqlstore.Read)
		if err != nil {
			return err
		}
		defer s.Close()
		entries, err := s.Ledger(ctx, *acct)
		if err != nil {
			return err
		}
		loc, err := s.Location(ctx)
		if err != nil {
			return err
		}
		return ledgerTable(entries, loc).write(a.stdout)
	}
}

// ledgerTable is an account's statement: labels for the kinds, times in
// the billing time zone, amounts aligned right.
func ledgerTable(entries []callbill.LedgerEntry, loc *time.Location) *table {
	t := newTable(right("#"), left("时间"), left("类型"), right("金额"), right("余额"), left("说明"))
	for _, e := range entries {
		what := e.Ref
		if e.Reason != "" {
			what += " — " + e.Reason
		}
		if e.Corrects != "" {
			what += "（更正 " + e.Corrects + "）"
		}
		t.row(fmt.Sprint(e.Seq), e.At.In(loc).Format("2006-01-02 15:04:05"), zh(callbill.LedgerKindLabel, e.Kind), callbill.FormatMoney(e.Amount), callbill.FormatMoney(e.Balance), what)
	}
	return t
}

func (a *app) ledgerVerify(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account's `UID` (default: every account)")
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return usagef("ledger verify takes only --account")
		}
		s, err := a.open(ctx, sqlstore.Read)
		if err != nil {
			return err
		}
		defer s.Close()
		v, err := money(s).VerifyLedger(ctx, ledger.VerifyInput{Account: *acct, AllAccounts: *acct == ""})
		if err != nil {
			return err
		}
		problems, n := v.Problems, v.Checked
		if len(problems) > 0 {
			fmt.Fprintf(a.stderr, "%s\n", strings.Join(problems, "\n"))
			return callbill.Errorf(callbill.EINTERNAL, "the ledger does not reconcile: %d problem(s) in %d account(s) checked", len(problems), n)
		}
		fmt.Fprintf(a.stdout, "ledger reconciles: %d account(s), cash = Σ ledger and every bill's paid = what the ledger paid toward it\n", n)
		return nil
	}
}
