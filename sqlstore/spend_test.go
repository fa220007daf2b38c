package sqlstore_test

import (
	"context"
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
