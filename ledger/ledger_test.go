package ledger_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ledger"
)

func acct(uid string) *ledger.Account {
	return &ledger.Account{Account: callbill.Account{UID: uid, Allowance: dec("5.00"), GraceDays: 2}, State: callbill.StateNormal}
}

// A key names one request: the same request again answers with the first
// entry and moves nothing; another request under it is refused.
func TestIdempotencyByKeyAndRequest(t *testing.T) {
	ctx := context.Background()
	m := newMem(acct("1"), acct("2"))
	svc := &ledger.Service{Store: m}
	r, err := svc.TopUp(ctx, ledger.TopUpInput{Account: "1", Amount: dec("10.00"), Key: "k"})
	if err != nil || r.Replayed || !r.Cash.Equal(dec("10")) {
		t.Fatalf("first: %+v, %v", r, err)
	}
	r, err = svc.TopUp(ctx, ledger.TopUpInput{Account: "1", Amount: dec("10.00"), Key: "k"})
	if err != nil || !r.Replayed || r.Entry.Seq != 1 || !r.Cash.Equal(dec("10")) || len(m.entries["1"]) != 1 {
		t.Fatalf("retry: %+v, %v, %d entries", r, err, len(m.entries["1"]))
	}
	if _, err := svc.TopUp(ctx, ledger.TopUpInput{Account: "1", Amount: dec("11.00"), Key: "k"}); callbill.ErrorCode(err) != callbill.ECONFLICT {
		t.Fatalf("other amount, same key: %v", err)
	}
	if _, err := svc.Adjust(ctx, ledger.AdjustInput{Account: "1", Amount: dec("10.00"), Reason: "r", Key: "k"}); callbill.ErrorCode(err) != callbill.ECONFLICT {
		t.Fatalf("an adjustment under a top-up's key: %v", err)
	}
	// Keys are each account's own.
	if r, err := svc.TopUp(ctx, ledger.TopUpInput{Account: "2", Amount: dec("10.00"), Key: "k"}); err != nil || r.Replayed {
		t.Fatalf("another account's key: %+v, %v", r, err)
	}
	in := ledger.AdjustInput{Account: "1", Amount: dec("0.001")}
	err = in.Validate()
	for _, want := range []string{"non-zero amount in fen", "needs a reason", "needs an idempotency key"} {
		if callbill.ErrorCode(err) != callbill.EINVALID || !strings.Contains(err.Error(), want) {
			t.Errorf("validate: %v, want %q among the problems", err, want)
		}
	}
}

// Cash settles closed bills oldest cycle first, as far as it goes.
func TestSettlementOldestFirst(t *testing.T) {
	ctx := context.Background()
	m := newMem(acct("1"))
	m.bills["1"] = []ledger.BillPaid{
		{Cycle: callbill.Cycle(2026*12 + 9), Payable: dec("30.00"), Paid: dec("0")},
		{Cycle: callbill.Cycle(2026*12 + 7), Payable: dec("5.00"), Paid: dec("5.00")},
		{Cycle: callbill.Cycle(2026*12 + 8), Payable: dec("20.00"), Paid: dec("0")},
	}
	r, err := (&ledger.Service{Store: m}).TopUp(ctx, ledger.TopUpInput{Account: "1", Amount: dec("40.00"), Key: "t"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range m.entries["1"] {
		got = append(got, string(e.e.Kind)+" "+e.e.Ref+" "+callbill.FormatMoney(e.e.Amount)+" → "+callbill.FormatMoney(e.e.Balance))
	}
	want := "topup topup:t 40.00 → 40.00|settle bill:" + callbill.Cycle(2026*12+8).String() + " -20.00 → 20.00|settle bill:" +
		callbill.Cycle(2026*12+9).String() + " -20.00 → 0.00"
	if strings.Join(got, "|") != want {
		t.Errorf("entries\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if !r.Cash.IsZero() || !m.bills["1"][0].Paid.Equal(dec("20")) || !m.bills["1"][2].Paid.Equal(dec("20")) {
		t.Errorf("cash %s, bills %+v", r.Cash, m.bills["1"])
	}
	// The bill paid before the ledger began is the one thing that does not reconcile.
	v, err := (&ledger.Service{Store: m}).VerifyLedger(ctx, ledger.VerifyInput{AllAccounts: true})
	if err != nil || v.Checked != 1 || strings.Join(v.Problems, "|") != "account 1: bill "+callbill.Cycle(2026*12+7).String()+" says paid 5, the ledger paid 0" {
		t.Errorf("verify: %+v, %v", v, err)
	}
}

// normal → overdue (below 0) → stopped (below −allowance for the grace
// period, found by a sweep) → normal, each transition an event; overdue and
// stopped are webhook events, the return to normal is not; the low-balance
// alert fires once per crossing.
func TestStandingTransitions(t *testing.T) {
	ctx := context.Background()
	a := acct("1")
	low := dec("100.00")
	a.LowBalanceAlert = &low
	m := newMem(a)
	svc := &ledger.Service{Store: m}
	debit := func(amount, key string) {
		t.Helper()
		if _, err := svc.Adjust(ctx, ledger.AdjustInput{Account: "1", Amount: dec(amount), Reason: "test", Key: key}); err != nil {
			t.Fatal(err)
		}
	}
	debit("-1.00", "d1")
	if s := m.accounts["1"]; s.State != callbill.StateOverdue || !s.BelowSince.IsZero() || !s.LowAlerted {
		t.Fatalf("after −1: %+v", s)
	}
	debit("-10.00", "d2") // below −allowance: the grace period starts
	if s := m.accounts["1"]; s.State != callbill.StateOverdue || !s.BelowSince.Equal(m.now) {
		t.Fatalf("after −11: %+v", s)
	}
	m.now = m.now.Add(47 * time.Hour)
	if err := svc.Sweep(ctx); err != nil || m.accounts["1"].State != callbill.StateOverdue {
		t.Fatalf("within the grace period: %v, %s", err, m.accounts["1"].State)
	}
	m.now = m.now.Add(time.Hour)
	if err := svc.Sweep(ctx); err != nil || m.accounts["1"].State != callbill.StateStopped {
		t.Fatalf("grace over: %v, %s", err, m.accounts["1"].State)
	}
	if _, err := svc.TopUp(ctx, ledger.TopUpInput{Account: "1", Amount: dec("11.00"), Key: "t"}); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range m.emitted {
		kinds = append(kinds, e.kind)
	}
	if got, want := strings.Join(kinds, " "), "account.overdue balance.low account.stopped topup.received"; got != want {
		t.Errorf("webhook events %q, want %q", got, want)
	}
	var evs []string
	for _, e := range m.events["1"] {
		evs = append(evs, e.Kind+":"+string(e.State))
	}
	if got, want := strings.Join(evs, " "), "state:overdue alert:overdue state:stopped state:normal"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	if s := m.accounts["1"]; s.State != callbill.StateNormal || !s.BelowSince.IsZero() || !s.LowAlerted {
		t.Errorf("after the top-up: %+v (still below the alert level: no second alert)", s)
	}
}
