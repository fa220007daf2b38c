package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/sqlstore"
)

// TestOpenSpendIsTheLiveBill: the open-cycle spend that authorization and
// budgets read is the live bill's estimated payable, to the fen, moves with
// an import, and leaves a cycle once it is closed.
func TestOpenSpendIsTheLiveBill(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc := &closing.Service{Store: s}
		mustApply(t, s, dailyWorld)
		calls := dailyCalls()
		importCalls(t, s, callbill.ImportOptions{}, calls[:len(calls)/2]...)
		oct := callbill.NewCycle(2026, 10)
		check := func(t *testing.T) *callbill.Spend {
			t.Helper()
			spend, err := svc.OpenSpend(ctx, []string{"2001", "2001"})
			if err != nil {
				t.Fatal(err)
			}
			if len(spend["2001"]) != 1 || spend["2001"][0].Cycle != oct {
				t.Fatalf("open spend: %+v", spend)
			}
			sp := spend["2001"][0]
			bill, err := svc.Bill(ctx, closing.BillInput{Account: "2001", Cycle: oct})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := callbill.FormatMoney(sp.Payable), bill.JSON(callbill.View{}).Totals.Payable; got != want {
				t.Errorf("spend %s, live bill %s", got, want)
			}
			byInst := bill.Filter("", "day-s").JSON(callbill.View{}).Totals.Payable
			if got := callbill.FormatMoney(sp.ByInstance()["day-s"]); got != byInst {
				t.Errorf("day-s: spend %s, live bill %s", got, byInst)
			}
			sum := callbill.MustDecimal("0")
			for _, v := range sp.ByItem() {
				sum = sum.Add(v)
			}
			if !sum.Equal(sp.Payable) {
				t.Errorf("items add up to %s, not %s", sum, sp.Payable)
			}
			return sp
		}
		half := check(t)
		importCalls(t, s, callbill.ImportOptions{}, calls[len(calls)/2:]...)
		whole := check(t)
		if got := callbill.FormatMoney(whole.Payable); got != "21.87" {
			t.Errorf("the whole month's spend: %s, want 21.87 (the live bill of TestDailyViewEqualsTheMonth)", got)
		}
		if !half.Payable.LessThan(whole.Payable) || half.Minutes(callbill.ItemFixedLineOutbound) >= whole.Minutes(callbill.ItemFixedLineOutbound) {
			t.Errorf("the second import did not move the spend: %s → %s", half.Payable, whole.Payable)
		}
		closeCycle(t, s, "2026-10")
		if spend, err := svc.OpenSpend(ctx, []string{"2001"}); err != nil || len(spend["2001"]) != 0 {
			t.Errorf("after the close: %+v %v", spend, err)
		}
		if _, err := svc.OpenSpend(ctx, []string{"9999"}); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("unknown account: %v", err)
		}
	})
}

// TestOpenSpendOfManyAccounts: asked for more accounts than it reads one
// by one, OpenSpend reads every account at once and answers the same as
// account by account; an unknown one among them is still ENOTFOUND.
func TestOpenSpendOfManyAccounts(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc := &closing.Service{Store: s}
		var w strings.Builder
		w.WriteString("accounts:\n")
		var uids []string
		var calls []callbill.CDR
		for i := 0; i < 40; i++ {
			uid := fmt.Sprintf("30%02d", i)
			uids = append(uids, uid)
			fmt.Fprintf(&w, "  - {uid: %q, name: a%d, instances: [{id: m-%d, mode: payg, numbers: [{number: \"05712%03d\", kind: fixed, source: ccc}]}]}\n", uid, i, i, i)
			calls = append(calls, call(fmt.Sprintf("m%d", i), fmt.Sprintf("m-%d", i), callbill.Outbound, fmt.Sprintf("05712%03d", i),
				"2026-10-05T10:00:00+08:00", int64(i+1)*60))
		}
		mustApply(t, s, w.String())
		importCalls(t, s, callbill.ImportOptions{}, calls...)
		all, err := svc.OpenSpend(ctx, uids)
		if err != nil {
			t.Fatal(err)
		}
		for _, uid := range uids {
			one, err := svc.OpenSpend(ctx, []string{uid})
			if err != nil {
				t.Fatal(err)
			}
			if len(all[uid]) != 1 || len(one[uid]) != 1 || !all[uid][0].Payable.Equal(one[uid][0].Payable) || all[uid][0].Payable.IsZero() {
				t.Errorf("%s: %+v of many, %+v alone", uid, all[uid], one[uid])
			}
		}
		if _, err := svc.OpenSpend(ctx, append(uids, "9999")); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("an unknown account among many: %v", err)
		}
	})
}
