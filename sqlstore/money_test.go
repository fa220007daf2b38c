package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/authz"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/sqlstore"
	"github.com/shopspring/decimal"
)

// money is the ledger service on s.
func money(s *sqlstore.Store) *ledger.Service { return &ledger.Service{Store: s} }

// verifyLedger reconciles one account, or all ("").
func verifyLedger(ctx context.Context, s *sqlstore.Store, uid string) ([]string, int, error) {
	v, err := money(s).VerifyLedger(ctx, ledger.VerifyInput{Account: uid, AllAccounts: uid == ""})
	if err != nil {
		return nil, 0, err
	}
	return v.Problems, v.Checked, nil
}

const moneyWorld = `
accounts:
  - uid: "2001"
    name: 乙
    credit_line: "0"
    allowance: "5.00"
    grace_days: 2
    low_balance_alert: "100.00"
    instances:
      - id: m-payg
        mode: payg
        numbers:
          - {number: "0100001", kind: fixed, source: third_party}
          - {number: "0571009", kind: fixed, source: ccc}
          - {number: "4000009", kind: "400", source: ccc, tier: 普通, since: "2030-01-01T00:00:00+08:00"}
      - id: m-sub
        mode: subscription
        numbers:
          - {number: "0100002", kind: fixed, source: third_party}
`

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func verifyClean(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	problems, _, err := verifyLedger(context.Background(), s, "")
	if err != nil || len(problems) > 0 {
		t.Fatalf("ledger verify: %v %v", problems, err)
	}
}

func TestTopUpKeysAndRefusals(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		mustApply(t, s, moneyWorld)
		r, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("10.00"), Key: "k1"})
		if err != nil || r.Replayed || !r.Entry.Balance.Equal(dec("10")) {
			t.Fatalf("top-up: %+v %v", r, err)
		}
		r, err = money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("10.00"), Key: "k1"})
		if err != nil || !r.Replayed || r.Entry.Seq != 1 {
			t.Fatalf("replay: %+v %v", r, err)
		}
		_, err = money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("11.00"), Key: "k1"})
		if callbill.ErrorCode(err) != callbill.ECONFLICT || !strings.Contains(err.Error(), `"k1"`) {
			t.Fatalf("same key, other request: %v", err)
		}
		for _, bad := range []string{"0", "-1", "1.001"} {
			if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec(bad), Key: "kb" + bad}); callbill.ErrorCode(err) != callbill.EINVALID {
				t.Errorf("amount %s: %v", bad, err)
			}
		}
		if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("1"), Key: ""}); callbill.ErrorCode(err) != callbill.EINVALID {
			t.Errorf("no key: %v", err)
		}
		if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "9999", Amount: dec("1"), Key: "k9"}); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("unknown account: %v", err)
		}
		if _, err := money(s).Adjust(ctx, ledger.AdjustInput{Account: "2001", Amount: dec("-1"), Reason: " ", Key: "a0"}); callbill.ErrorCode(err) != callbill.EINVALID {
			t.Errorf("adjustment without a reason: %v", err)
		}
		st, _ := s.Status(ctx, "2001")
		if !st.Standing.Cash.Equal(dec("10")) {
			t.Fatalf("cash %s, want 10", st.Standing.Cash)
		}
		verifyClean(t, s)
	})
}

// owe closes October with 200 platform minutes (200 × 0.0499 = 9.98) owed by 2001.
func owe(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	importCalls(t, s, callbill.ImportOptions{},
		call("c1", "m-payg", callbill.Inbound, "0100001", "2026-10-05T10:00:00+08:00", 200*60))
	closeCycle(t, s, "2026-10")
}

func TestStatesAllowanceGraceAndAuthorization(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		mustApply(t, s, moneyWorld)
		owe(t, s) // available −9.98, below the allowance of −5: overdue, 2 days of grace
		st, _ := s.Status(ctx, "2001")
		if st.State != callbill.StateOverdue || !st.Standing.Outstanding.Equal(dec("9.98")) {
			t.Fatalf("after close: %s, outstanding %s", st.State, st.Standing.Outstanding)
		}
		allow := func(inst, num string, dir callbill.Direction) callbill.Decision {
			d, err := (&authz.Service{Store: s}).Authorize(ctx, authz.AuthorizeInput{Instance: inst, Number: num, Direction: dir})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		// Within the grace period the account is not stopped, but beyond its
		// allowance it has no headroom for a pay-as-you-go minute
		// (docs/authorization.md).
		if d := allow("m-payg", "0100001", callbill.Outbound); d.Allow || strings.Contains(d.Reason, "stopped") || !strings.Contains(d.Reason, "cannot pay for one minute") {
			t.Fatalf("overdue within grace, beyond the allowance: %+v", d)
		}
		now = now.Add(47 * time.Hour)
		if err := money(s).Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.Status(ctx, "2001"); st.Recorded != callbill.StateOverdue {
			t.Fatalf("before the grace ends: %s", st.Recorded)
		}
		now = now.Add(2 * time.Hour)
		if err := money(s).Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		st, _ = s.Status(ctx, "2001")
		if st.Recorded != callbill.StateStopped {
			t.Fatalf("after the grace: %s", st.Recorded)
		}
		if d := allow("m-payg", "0100001", callbill.Outbound); d.Allow || !strings.Contains(d.Reason, "stopped") {
			t.Fatalf("stopped payg call: %+v", d)
		}
		if d := allow("m-sub", "0100002", callbill.Inbound); !d.Allow {
			t.Fatalf("subscription seats keep working: %+v", d)
		}
		// 5.00 brings available to −4.98, within the allowance: overdue, not
		// stopped; the 0.02 left of the allowance pays for no minute.
		if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("5.00"), Key: "t1"}); err != nil {
			t.Fatal(err)
		}
		if d := allow("m-payg", "0100001", callbill.Outbound); d.Allow || !strings.Contains(d.Reason, "is 0.02 yuan, the first minute costs 0.0499") {
			t.Fatalf("within the allowance: %+v", d)
		}
		if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("4.98"), Key: "t2"}); err != nil {
			t.Fatal(err)
		}
		st, _ = s.Status(ctx, "2001")
		if st.Recorded != callbill.StateNormal || !st.Standing.Outstanding.IsZero() {
			t.Fatalf("paid up: %s %s", st.Recorded, st.Standing.Outstanding)
		}
		// Available 0 and the allowance of 5.00: 100 platform minutes (4.99).
		if d := allow("m-payg", "0100001", callbill.Outbound); !d.Allow || d.MaxSeconds != 6000 {
			t.Fatalf("paid up: %+v", d)
		}
		var got []string
		for i := len(st.Events) - 1; i >= 0; i-- {
			if st.Events[i].Kind == "state" {
				got = append(got, string(st.Events[i].State))
			}
		}
		if fmt.Sprint(got) != "[overdue stopped overdue normal]" {
			t.Errorf("transitions %v", got)
		}
		for _, e := range st.Events {
			if e.Cause == "" {
				t.Errorf("transition without a cause: %+v", e)
			}
		}
		// The other refusals.
		for _, c := range []struct {
			inst, num string
			dir       callbill.Direction
			reason    string
		}{
			{"nope", "1", callbill.Inbound, "unknown instance"},
			{"m-payg", "123", callbill.Inbound, "not registered"},
			{"m-payg", "4000009", callbill.Outbound, callbill.ReasonOutbound400},
			{"m-payg", "4000009", callbill.Inbound, callbill.ReasonNotInService},
		} {
			if d := allow(c.inst, c.num, c.dir); d.Allow || !strings.Contains(d.Reason, c.reason) {
				t.Errorf("%+v: %+v", c, d)
			}
		}
		verifyClean(t, s)
	})
}

func TestNumberRentExpiresAndIsReleased(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 10, 2, 0, 0, 0, time.UTC) // 10:00 in Shanghai
		s.Now = func() time.Time { return now }
		mustApply(t, s, moneyWorld)
		if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("200.00"), Key: "t1"}); err != nil {
			t.Fatal(err)
		}
		p := callbill.Purchase{ID: "R1", Account: "2001", Kind: callbill.PurchaseNumberRent, Number: "0571009", Months: 1}
		if skipped, err := money(s).Purchase(ctx, p); err != nil || skipped {
			t.Fatalf("rent: %v %v", skipped, err)
		}
		if skipped, err := money(s).Purchase(ctx, p); err != nil || !skipped {
			t.Fatalf("the same purchase again: %v %v", skipped, err)
		}
		st, _ := s.Status(ctx, "2001")
		var paid time.Time
		for _, n := range st.Numbers {
			if n.Number.Number == "0571009" {
				paid = n.PaidUntil
			}
		}
		if want := time.Date(2026, 12, 10, 2, 0, 0, 0, time.UTC); !paid.Equal(want) {
			t.Fatalf("paid until %v, want %v", paid, want)
		}
		snap, _ := s.AuthSnapshot(ctx)
		if d := snap.Authorize("m-payg", "0571009", callbill.Outbound, paid.Add(-time.Second)); !d.Allow {
			t.Errorf("before expiry: %+v", d)
		}
		if d := snap.Authorize("m-payg", "0571009", callbill.Outbound, paid); d.Allow || !strings.Contains(d.Reason, "stopped") {
			t.Errorf("at expiry: %+v", d)
		}
		if d := snap.Authorize("m-payg", "0571009", callbill.Outbound, paid.AddDate(0, 0, 7)); d.Allow || !strings.Contains(d.Reason, "released") {
			t.Errorf("7 days later: %+v", d)
		}
		// A renewal extends from the end of what was paid.
		if _, err := money(s).Purchase(ctx, callbill.Purchase{ID: "R2", Account: "2001", Kind: callbill.PurchaseNumberRent, Number: "0571009", Months: 2}); err != nil {
			t.Fatal(err)
		}
		st, _ = s.Status(ctx, "2001")
		for _, n := range st.Numbers {
			if n.Number.Number == "0571009" && !n.PaidUntil.Equal(time.Date(2027, 2, 10, 2, 0, 0, 0, time.UTC)) {
				t.Errorf("renewed until %v", n.PaidUntil)
			}
		}
		// Cash short: refused, nothing moves.
		_, err := money(s).Purchase(ctx, callbill.Purchase{ID: "V1", Account: "2001", Kind: callbill.PurchaseVoicePackage,
			PackageType: callbill.PackageFixedOutbound, PackageMinutes: 10_000})
		if callbill.ErrorCode(err) != callbill.EREFUSED || !strings.Contains(err.Error(), "cash balance") {
			t.Fatalf("short cash: %v", err)
		}
		verifyClean(t, s)
	})
}

func TestLowBalanceAlertsOncePerCrossing(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		mustApply(t, s, moneyWorld)
		steps := []struct {
			amount string
			adjust bool
		}{{"50.00", false}, {"10.00", false}, {"100.00", false}, {"-100.00", true}}
		for i, st := range steps {
			var err error
			if st.adjust {
				_, err = money(s).Adjust(ctx, ledger.AdjustInput{Account: "2001", Amount: dec(st.amount), Reason: "test debit", Key: fmt.Sprint("s", i)})
			} else {
				_, err = money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec(st.amount), Key: fmt.Sprint("s", i)})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		st, _ := s.Status(ctx, "2001")
		alerts := 0
		for _, e := range st.Events {
			if e.Kind == "alert" {
				alerts++
			}
		}
		// Below 100 after 50 (alert), still below after 60 (none), above at 160,
		// below again at 60 (alert).
		if alerts != 2 {
			t.Errorf("%d alerts, want 2: %+v", alerts, st.Events)
		}
	})
}

func TestAdjustmentsSettleArrearsAndReconcile(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		mustApply(t, s, moneyWorld)
		owe(t, s)
		// A credit correcting October settles October's arrears.
		res, err := money(s).Adjust(ctx, ledger.AdjustInput{Account: "2001", Amount: dec("9.98"), Reason: "platform minutes billed twice", Corrects: "bill:2026-10", Key: "adj1"})
		if err != nil {
			t.Fatal(err)
		}
		// The entry's balance is after the credit; the cash the request
		// reports is after the arrears it settled.
		if !res.Entry.Balance.Equal(dec("9.98")) || !res.Cash.IsZero() {
			t.Fatalf("credit: entry balance %s, cash %s", res.Entry.Balance, res.Cash)
		}
		b := bill(t, s, "2001", "2026-10")
		if b.Totals.Outstanding != "0.00" || b.Totals.Paid != "9.98" {
			t.Fatalf("October after the credit: %+v", b.Totals)
		}
		// A debit takes cash below 0: that counts against available.
		if _, err := money(s).Adjust(ctx, ledger.AdjustInput{Account: "2001", Amount: dec("-20.00"), Reason: "late fee", Key: "adj2"}); err != nil {
			t.Fatal(err)
		}
		st, _ := s.Status(ctx, "2001")
		// Below −allowance, within the 2 days of grace: overdue.
		if !st.Standing.Available().Equal(dec("-20")) || st.State != callbill.StateOverdue {
			t.Fatalf("after the debit: available %s, %s", st.Standing.Available(), st.State)
		}
		nov := bill(t, s, "2001", "2026-11")
		if len(nov.Adjustments) != 2 || nov.Adjustments[0].Corrects != "bill:2026-10" || nov.Adjustments[1].Amount != "-20.00" {
			t.Fatalf("the open bill shows the adjustments: %+v", nov.Adjustments)
		}
		if oct := bill(t, s, "2001", "2026-10"); len(oct.Adjustments) != 0 {
			t.Fatalf("a closed bill is never edited: %+v", oct.Adjustments)
		}
		entries, _ := s.Ledger(ctx, "2001")
		last := entries[len(entries)-1]
		if last.Kind != callbill.LedgerAdjust || last.Reason != "late fee" || !last.Balance.Equal(dec("-20")) {
			t.Fatalf("last entry %+v", last)
		}
		verifyClean(t, s)
	})
}

// TestConcurrentMoneyOnOneAccount runs 100 goroutines of top-ups and
// purchases on one account, a tenth of them replaying earlier keys: the
// ledger and the balance end exactly where the sequential sum says.
func TestConcurrentMoneyOnOneAccount(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		s.Now = func() time.Time { return time.Date(2026, 11, 10, 2, 0, 0, 0, time.UTC) }
		mustApply(t, s, moneyWorld)
		type op struct {
			topup  bool
			amount decimal.Decimal
			key    string
		}
		rng := rand.New(rand.NewPCG(7, 7))
		var ops []op
		for i := 0; i < 90; i++ {
			if i%3 == 2 {
				ops = append(ops, op{key: fmt.Sprint("P", i)}) // a 290.00 fixed-inbound package
			} else {
				ops = append(ops, op{topup: true, amount: decimal.New(int64(rng.IntN(50_000)+1), -2), key: fmt.Sprint("T", i)})
			}
		}
		for i := 0; i < 10; i++ {
			ops = append(ops, ops[rng.IntN(90)]) // replays
		}
		var mu sync.Mutex
		applied := map[string]decimal.Decimal{}
		var wg sync.WaitGroup
		for _, o := range ops {
			wg.Add(1)
			go func(o op) {
				defer wg.Done()
				var moved decimal.Decimal
				if o.topup {
					r, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: o.amount, Key: o.key})
					if err != nil {
						t.Error(err)
						return
					}
					if r.Replayed {
						return
					}
					moved = o.amount
				} else {
					skipped, err := money(s).Purchase(ctx, callbill.Purchase{ID: o.key, Account: "2001", Kind: callbill.PurchaseVoicePackage,
						PackageType: callbill.PackageFixedInbound, PackageMinutes: 10_000})
					if callbill.ErrorCode(err) == callbill.EREFUSED {
						return // cash was short at that moment: nothing moved
					}
					if err != nil {
						t.Error(err)
						return
					}
					if skipped {
						return
					}
					moved = dec("-290")
				}
				mu.Lock()
				defer mu.Unlock()
				if _, twice := applied[o.key]; twice {
					t.Errorf("key %s moved money twice", o.key)
				}
				applied[o.key] = moved
			}(o)
		}
		wg.Wait()
		sum := decimal.Zero
		for _, m := range applied {
			sum = sum.Add(m)
		}
		st, _ := s.Status(ctx, "2001")
		if !st.Standing.Cash.Equal(sum) {
			t.Fatalf("cash %s, the applied operations sum to %s", st.Standing.Cash, sum)
		}
		entries, _ := s.Ledger(ctx, "2001")
		if len(entries) != len(applied) {
			t.Fatalf("%d ledger entries for %d applied operations", len(entries), len(applied))
		}
		verifyClean(t, s)
	})
}

// TestPropertyLedgerReconciles runs random sequences of top-ups, purchases,
// calls, closes and adjustments: Σ ledger = cash, and paid + outstanding =
// payable on every bill, after every step.
func TestPropertyLedgerReconciles(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			each(t, func(t *testing.T, s *sqlstore.Store) {
				ctx := context.Background()
				rng := rand.New(rand.NewPCG(seed, 99))
				cycle := callbill.NewCycle(2026, 1)
				clock := cycle.Start(time.UTC).Add(24 * time.Hour)
				s.Now = func() time.Time { return clock }
				mustApply(t, s, moneyWorld)
				for step := 0; step < 40; step++ {
					key := fmt.Sprint("k", step)
					switch rng.IntN(5) {
					case 0:
						if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: decimal.New(int64(rng.IntN(100_000)+1), -2), Key: key}); err != nil {
							t.Fatal(err)
						}
					case 1:
						_, err := money(s).Purchase(ctx, callbill.Purchase{ID: key, Account: "2001", Kind: callbill.PurchaseNumberRent,
							Number: "0571009", Months: int64(rng.IntN(3) + 1)})
						if err != nil && callbill.ErrorCode(err) != callbill.EREFUSED {
							t.Fatal(err)
						}
					case 2:
						start := clock.Add(time.Duration(rng.IntN(3600)) * time.Second).Format(time.RFC3339)
						importCalls(t, s, callbill.ImportOptions{},
							call(key, "m-payg", callbill.Inbound, "0100001", start, int64(rng.IntN(20_000))))
					case 3:
						clock = (cycle + 1).Start(time.UTC).Add(48 * time.Hour)
						if _, err := (&closing.Service{Store: s}).Close(ctx, closing.CloseInput{Cycle: cycle}); err != nil {
							t.Fatal(err)
						}
						cycle++
					case 4:
						amt := decimal.New(int64(rng.IntN(4000)-2000), -2)
						if amt.IsZero() {
							amt = dec("0.01")
						}
						if _, err := money(s).Adjust(ctx, ledger.AdjustInput{Account: "2001", Amount: amt, Reason: "random", Key: key}); err != nil {
							t.Fatal(err)
						}
					}
					problems, _, err := verifyLedger(ctx, s, "")
					if err != nil || len(problems) > 0 {
						t.Fatalf("step %d: %v %v", step, problems, err)
					}
				}
				// paid + outstanding = payable on every closed bill.
				for c := callbill.NewCycle(2026, 1); c < cycle; c++ {
					b := bill(t, s, "2001", c.String())
					if dec(b.Totals.Paid).Add(dec(b.Totals.Outstanding)).String() != dec(b.Totals.Payable).String() {
						t.Errorf("%s: paid %s + outstanding %s ≠ payable %s", c, b.Totals.Paid, b.Totals.Outstanding, b.Totals.Payable)
					}
				}
			})
		})
	}
}

func TestAutoRenewFromCash(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 10, 2, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		mustApply(t, s, strings.Replace(moneyWorld, `{number: "0571009", kind: fixed, source: ccc}`,
			`{number: "0571009", kind: fixed, source: ccc, auto_renew: true}`, 1))
		if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("35.00"), Key: "t1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := money(s).Purchase(ctx, callbill.Purchase{ID: "R1", Account: "2001", Kind: callbill.PurchaseNumberRent, Number: "0571009", Months: 1}); err != nil {
			t.Fatal(err)
		}
		paidUntil := func() time.Time {
			st, _ := s.Status(ctx, "2001")
			for _, n := range st.Numbers {
				if n.Number.Number == "0571009" {
					return n.PaidUntil
				}
			}
			return time.Time{}
		}
		first := paidUntil()
		if n, err := money(s).RenewDue(ctx); err != nil || n != 0 {
			t.Fatalf("renewed %d a month early: %v", n, err)
		}
		now = first.AddDate(0, 0, -6) // within 7 days: renew, but cash is 0 now
		if n, err := money(s).RenewDue(ctx); err != nil || n != 0 {
			t.Fatalf("renewed without cash: %d %v", n, err)
		}
		money(s).RenewDue(ctx) // a second try records no second alert
		st, _ := s.Status(ctx, "2001")
		alerts := 0
		for _, e := range st.Events {
			if e.Kind == "alert" && strings.Contains(e.Cause, "auto-renewal") {
				alerts++
			}
		}
		if alerts != 1 {
			t.Fatalf("%d auto-renewal alerts, want 1: %+v", alerts, st.Events)
		}
		if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("35.00"), Key: "t2"}); err != nil {
			t.Fatal(err)
		}
		if n, err := money(s).RenewDue(ctx); err != nil || n != 1 {
			t.Fatalf("renewal: %d %v", n, err)
		}
		if n, err := money(s).RenewDue(ctx); err != nil || n != 0 {
			t.Fatalf("renewed twice: %d %v", n, err)
		}
		if got, want := paidUntil(), time.Date(2027, 1, 10, 2, 0, 0, 0, time.UTC); !got.Equal(want) {
			t.Fatalf("paid until %v, want %v", got, want)
		}
		verifyClean(t, s)
	})
}
