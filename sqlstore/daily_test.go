package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/sqlstore"
)

// dailyWorld is an account at a contract of 0.85 with a payg and a
// subscription instance; dailyCalls gives it a few calls on every day of
// 2026-10 whose payables have fractions of a fen.
const dailyWorld = `
accounts:
  - uid: "2001"
    name: 丙
    contract: {discount: "0.85"}
    instances:
      - id: day-p
        mode: payg
        numbers:
          - {number: "0571101", kind: fixed, source: ccc}
          - {number: "0571102", kind: fixed, source: third_party}
      - id: day-s
        mode: subscription
        numbers:
          - {number: "0571103", kind: fixed, source: ccc}
topups:
  - {id: T1, account: "2001", amount: "10.00", at: "2026-10-01T08:00:00+08:00"}
`

func dailyCalls() []callbill.CDR {
	var out []callbill.CDR
	for d := 1; d <= 31; d++ {
		start := fmt.Sprintf("2026-10-%02dT10:00:00+08:00", d)
		out = append(out,
			call(fmt.Sprintf("p%d", d), "day-p", callbill.Inbound, "0571102", start, int64(d%3+1)*60),
			call(fmt.Sprintf("o%d", d), "day-p", callbill.Outbound, "0571101", start, int64(d*7%5+1)*60),
			call(fmt.Sprintf("s%d", d), "day-s", callbill.Outbound, "0571103", start, int64(d*3%4+1)*60))
	}
	return out
}

// TestDailyViewEqualsTheMonth: the day view of any filter shows the month
// view's totals, open and closed; rounding the day lines as one list (the
// daily view before) gave 25.73 / 3.86 / 21.87 for this bill and 17.04 /
// 2.52 / 14.52 for 云呼叫中心（后付费）.
func TestDailyViewEqualsTheMonth(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		mustApply(t, s, dailyWorld)
		if rep := importCalls(t, s, callbill.ImportOptions{}, dailyCalls()...); rep.Imported != 93 {
			t.Fatalf("import: %+v", rep)
		}
		oct := callbill.NewCycle(2026, 10)
		views := func(t *testing.T, status callbill.BillStatus, paid, outstanding string) {
			t.Helper()
			month, err := (&closing.Service{Store: s}).Bill(ctx, closing.BillInput{Account: "2001", Cycle: oct})
			if err != nil {
				t.Fatal(err)
			}
			daily, err := (&closing.Service{Store: s}).Bill(ctx, closing.BillInput{Account: "2001", Cycle: oct, Daily: true})
			if err != nil {
				t.Fatal(err)
			}
			if month.Status != status || daily.Status != status {
				t.Fatalf("status %s / %s, want %s", month.Status, daily.Status, status)
			}
			for _, f := range []struct {
				pd                                   callbill.ProductDetail
				instance                             string
				original, discount, payable, paid, o string
			}{
				{"", "", "25.72", "3.85", "21.87", paid, outstanding},
				{callbill.PDPostpaid, "", "17.04", "2.55", "14.49", "", ""},
				{callbill.PDSubscription, "", "8.68", "1.30", "7.38", "", ""},
				{"", "day-s", "8.68", "1.30", "7.38", "", ""},
			} {
				for _, v := range []callbill.View{{}, {ByInstance: true}} {
					m := month.Filter(f.pd, f.instance).JSON(v)
					dv := v
					dv.Daily = true
					d := daily.Filter(f.pd, f.instance).JSON(dv)
					if m.Totals != d.Totals {
						t.Errorf("filter %q %q %+v: month %+v, days %+v", f.pd, f.instance, v, m.Totals, d.Totals)
					}
					if m.Totals.Original != f.original || m.Totals.Discount != f.discount || m.Totals.Payable != f.payable ||
						(f.paid != "" && (m.Totals.Paid != f.paid || m.Totals.Outstanding != f.o)) {
						t.Errorf("filter %q %q: month %+v", f.pd, f.instance, m.Totals)
					}
				}
			}
			// Each line's days add up to it.
			type sums struct{ original, discount, payable, outstanding string }
			add := func(a, b string) string {
				return callbill.FormatMoney(callbill.MustDecimal(a).Add(callbill.MustDecimal(b)))
			}
			perLine := map[string]sums{}
			days := map[string]int{}
			for _, l := range daily.JSON(callbill.View{Daily: true}).Lines {
				k := l.Instance + " " + l.Item + " " + l.UnitPrice
				p := perLine[k]
				if p.original == "" {
					p = sums{"0", "0", "0", "0"}
				}
				perLine[k] = sums{add(p.original, l.Original), add(p.discount, l.Discount), add(p.payable, l.Payable), add(p.outstanding, l.Outstanding)}
				days[k]++
			}
			for _, l := range month.JSON(callbill.View{}).Lines {
				k := l.Instance + " " + l.Item + " " + l.UnitPrice
				if got := perLine[k]; got != (sums{l.Original, l.Discount, l.Payable, l.Outstanding}) || days[k] != 31 {
					t.Errorf("%s: %d days add up to %+v, line %+v", k, days[k], got, l)
				}
			}
		}
		t.Run("open", func(t *testing.T) { views(t, callbill.BillStatusOpen, "0.00", "0.00") })
		closeCycle(t, s, "2026-10")
		t.Run("closed", func(t *testing.T) { views(t, callbill.BillStatusClosed, "10.00", "11.87") })
	})
}
