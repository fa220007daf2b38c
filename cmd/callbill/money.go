package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/sqlstore"
)

func (a *app) topup(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("topup", flag.ContinueOnError)
	acct := fs.String("account", "", "account UID")
	amount := fs.String("amount", "", "amount in CNY, e.g. 100.00")
	key := fs.String("key", "", "idempotency key: the same key again moves no money twice")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *acct == "" || *amount == "" || *key == "" || len(pos) > 0 {
		return usagef("topup needs --account UID --amount AMOUNT --key KEY")
	}
	amt, err := callbill.ParseAmount(*amount)
	if err != nil {
		return err
	}
	s, err := a.open(ctx)
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

func (a *app) adjust(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("adjust", flag.ContinueOnError)
	acct := fs.String("account", "", "account UID")
	amount := fs.String("amount", "", "credit (e.g. 10.00) or debit (e.g. -10.00) in CNY")
	reason := fs.String("reason", "", "why, for the tenant's statement")
	corrects := fs.String("corrects", "", "what it corrects, e.g. bill:2026-10")
	key := fs.String("key", "", "idempotency key")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *acct == "" || *amount == "" || *key == "" || *reason == "" || len(pos) > 0 {
		return usagef("adjust needs --account UID --amount ±AMOUNT --reason TEXT --key KEY [--corrects REF]")
	}
	amt, err := callbill.ParseSignedAmount(*amount)
	if err != nil {
		return err
	}
	s, err := a.open(ctx)
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

func (a *app) accountShow(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("account show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("account show needs one UID")
	}
	s, err := a.open(ctx)
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
	fmt.Fprintf(w, "账户 %s %s  状态 %s\n", j.Account, j.Name, j.State)
	fmt.Fprintf(w, "现金余额 %s  信控额度 %s  欠费 %s  可用额度 %s  延期免停 %s / %d 天\n",
		j.Cash, j.CreditLine, j.Outstanding, j.Available, j.Allowance, j.GraceDays)
	for _, p := range j.Packages {
		fmt.Fprintf(w, "语音包 %s %s: 剩余 %d / %d 分钟, %s 到期\n", p.ID, p.Type, p.Remaining, p.Minutes, p.Expires)
	}
	for _, n := range j.Numbers {
		paid := ""
		if n.PaidUntil != "" {
			paid = ", 月租付至 " + n.PaidUntil
		}
		fmt.Fprintf(w, "号码 %s (%s, %s %s)%s\n", n.Number, n.Instance, n.Kind, n.Source, paid)
	}
	for _, e := range j.Alerts {
		fmt.Fprintf(w, "提醒 %s %s\n", e.At, e.Cause)
	}
	for _, e := range j.Events {
		fmt.Fprintf(w, "状态 %s → %s: %s\n", e.At, e.State, e.Cause)
	}
	return nil
}

func (a *app) ledger(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "verify" {
		return a.ledgerVerify(ctx, args[1:])
	}
	fs := flag.NewFlagSet("ledger", flag.ContinueOnError)
	acct := fs.String("account", "", "account UID")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *acct == "" || len(pos) > 0 {
		return usagef("ledger needs --account UID (or: ledger verify [--account UID])")
	}
	s, err := a.open(ctx)
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
	fmt.Fprintf(a.stdout, "%-4s  %-19s  %-8s  %12s  %12s  %s\n", "#", "时间", "类型", "金额", "余额", "说明")
	for _, e := range entries {
		what := e.Ref
		if e.Reason != "" {
			what += " — " + e.Reason
		}
		if e.Corrects != "" {
			what += " (corrects " + e.Corrects + ")"
		}
		fmt.Fprintf(a.stdout, "%-4d  %-19s  %-8s  %12s  %12s  %s\n", e.Seq, e.At.In(loc).Format("2006-01-02 15:04:05"),
			e.Kind, callbill.FormatMoney(e.Amount), callbill.FormatMoney(e.Balance), what)
	}
	return nil
}

func (a *app) ledgerVerify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ledger verify", flag.ContinueOnError)
	acct := fs.String("account", "", "account UID (default: all)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("ledger verify takes only --account")
	}
	s, err := a.open(ctx)
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

func (a *app) authorize(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("authorize", flag.ContinueOnError)
	inst := fs.String("instance", "", "instance id")
	num := fs.String("number", "", "the service number")
	dir := fs.String("direction", "", "inbound or outbound")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	d := callbill.Direction(strings.ToLower(*dir))
	if *inst == "" || *num == "" || !d.Valid() || len(pos) > 0 {
		return usagef("authorize needs --instance ID --number N --direction inbound|outbound")
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	snap, err := s.AuthSnapshot(ctx)
	if err != nil {
		return err
	}
	dec := snap.Authorize(*inst, callbill.Digits(*num), d, s.Now())
	if dec.Allow {
		fmt.Fprintln(a.stdout, "allow")
		return nil
	}
	fmt.Fprintf(a.stdout, "deny: %s\n", dec.Reason)
	return exitCode(exitDenied)
}
