package callbill

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/shopspring/decimal"
)

// ---- the daily view: splitting displayed lines over their days -------------------

func decs(ss ...string) []decimal.Decimal {
	out := make([]decimal.Decimal, len(ss))
	for i, s := range ss {
		out[i] = dec(s)
	}
	return out
}

func TestSplitFen(t *testing.T) {
	for _, tc := range []struct {
		name    string
		amount  string
		weights []string
		want    []string
	}{
		{"even", "0.03", []string{"1", "1", "1"}, []string{"0.01", "0.01", "0.01"}},
		{"a tie: the earlier part gets the fen", "0.10", []string{"1", "1", "1"}, []string{"0.04", "0.03", "0.03"}},
		{"the largest dropped fraction gets the fen", "1.00", []string{"1", "2"}, []string{"0.33", "0.67"}},
		{"two fen, three parts", "0.05", []string{"1", "1", "1"}, []string{"0.02", "0.02", "0.01"}},
		// 0.20 × 0.1 / 0.3 = 0.0666…: exact shares, not rounded quotients.
		{"non-terminating shares", "0.20", []string{"0.1", "0.1", "0.1"}, []string{"0.07", "0.07", "0.06"}},
		{"zero weights get nothing", "0.05", []string{"0", "1", "0", "1"}, []string{"0", "0.03", "0", "0.02"}},
		{"a negative weight counts as 0", "0.05", []string{"-1", "1"}, []string{"0", "0.05"}},
		{"no positive weight: whole on the last part", "0.07", []string{"0", "0"}, []string{"0", "0.07"}},
		{"nothing to split", "0", []string{"1", "2"}, []string{"0", "0"}},
		{"one part", "12.34", []string{"0.0499"}, []string{"12.34"}},
		{"weights with many decimals", "0.02", []string{"0.000001", "0.000002", "0.000003"}, []string{"0", "0.01", "0.01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := splitFen(dec(tc.amount), decs(tc.weights...))
			if len(got) != len(tc.want) {
				t.Fatalf("%d parts, want %d", len(got), len(tc.want))
			}
			for i := range got {
				decEq(t, fmt.Sprintf("part %d", i), got[i], dec(tc.want[i]))
			}
		})
	}
	if got := splitFen(dec("1.00"), nil); len(got) != 0 {
		t.Errorf("no parts: %v", got)
	}
}

// rat is d as an exact fraction.
func rat(d decimal.Decimal) *big.Rat { return d.Rat() }

// TestPropertySplitFen: the parts add up to the amount, none is negative,
// each is less than a fen from its exact share, and a part got the extra
// fen only if no part that did not get one dropped more (ties: earlier
// first). The exact shares are worked out here with big.Rat, apart from the
// code under test.
func TestPropertySplitFen(t *testing.T) {
	fenRat := big.NewRat(1, 100)
	for n := 0; n < iterations(5000); n++ {
		rng := caseRNG(propertySeed, n)
		amount := decimal.New(rng.Int64N(10_000_000), -2)
		if rng.IntN(5) == 0 {
			amount = decimal.New(rng.Int64N(40), -2) // fewer fen than parts
		}
		weights := make([]decimal.Decimal, 1+rng.IntN(40))
		for i := range weights {
			switch rng.IntN(5) {
			case 0:
				weights[i] = zero
			case 1: // a minute's price, a contract's rate: up to 10 decimals
				weights[i] = decimal.New(rng.Int64N(1_000_000_000), -10)
			default:
				weights[i] = decimal.New(rng.Int64N(100_000_000), -int32(rng.IntN(7)))
			}
		}
		parts := splitFen(amount, weights)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("case %d: amount %s weights %v → %v: %s", n, amount, weights, parts, fmt.Sprintf(format, args...))
		}
		sum, wsum := zero, new(big.Rat)
		for _, w := range weights {
			wsum.Add(wsum, rat(w))
		}
		exact := make([]*big.Rat, len(parts))
		for i, p := range parts {
			sum = sum.Add(p)
			if p.IsNegative() {
				fail("part %d is negative", i)
			}
			if !p.Equal(p.Truncate(2)) {
				fail("part %d is not in fen", i)
			}
			if wsum.Sign() == 0 {
				continue
			}
			exact[i] = new(big.Rat).Quo(new(big.Rat).Mul(rat(amount), rat(weights[i])), wsum)
			diff := new(big.Rat).Sub(rat(p), exact[i])
			if diff.Abs(diff).Cmp(fenRat) >= 0 {
				fail("part %d is 0.01 or more from its exact share %s", i, exact[i].FloatString(12))
			}
		}
		if !sum.Equal(amount) {
			fail("parts add up to %s", sum)
		}
		if wsum.Sign() == 0 {
			continue
		}
		// dropped fraction of part i: exact − floor to the fen.
		dropped := func(i int) *big.Rat {
			f := new(big.Rat).Mul(exact[i], big.NewRat(100, 1))
			q := new(big.Int).Quo(f.Num(), f.Denom())
			return new(big.Rat).Sub(exact[i], new(big.Rat).SetFrac(q, big.NewInt(100)))
		}
		for i := range parts {
			if dropped(i).Sign() == 0 || rat(parts[i]).Cmp(new(big.Rat).Add(new(big.Rat).Sub(exact[i], dropped(i)), fenRat)) != 0 {
				continue // i did not get the extra fen
			}
			for j := range parts {
				gotJ := rat(parts[j]).Cmp(new(big.Rat).Sub(exact[j], dropped(j))) != 0
				if gotJ {
					continue
				}
				if c := dropped(j).Cmp(dropped(i)); c > 0 || (c == 0 && j < i) {
					fail("part %d got the extra fen before part %d, which dropped %s ≥ %s", i, j,
						dropped(j).FloatString(12), dropped(i).FloatString(12))
				}
			}
		}
	}
}

// dailyCase is account A over 31 days of 2026-10 at a contract of 0.85:
// payg platform minutes and fixed outbound minutes, and subscription fixed
// outbound minutes, a few each day. Rounding its day lines as one list (the
// daily view before SplitDays) gave 25.73 / 3.86 / 21.87 against the month's
// 25.72 / 3.85 / 21.87, and 云呼叫中心（后付费） 17.04 / 2.52 / 14.52 against
// 17.04 / 2.55 / 14.49.
func dailyCase(t testing.TB) *PostpaidInput {
	acct := &Account{UID: acctA, Contract: &Contract{Discount: dec("0.85")}, Instances: []Instance{
		{ID: instPayg, Account: acctA, Mode: ModePayg},
		{ID: instSub, Account: acctA, Mode: ModeSubscription},
	}}
	in := postpaidInput(t, acct, "2026-10")
	in.Daily = true
	for d := 1; d <= 31; d++ {
		in.Usage = append(in.Usage,
			UsageRow{Day: d, PD: PDPostpaid, Instance: instPayg, Item: ItemCallCenterSoftware, Micro: 49_900, Band: 1, Usage: int64(d%3 + 1)},
			UsageRow{Day: d, PD: PDPostpaid, Instance: instPayg, Item: ItemFixedLineOutbound, Micro: 150_000, Usage: int64(d*7%5 + 1)},
			UsageRow{Day: d, PD: PDSubscription, Instance: instSub, Item: ItemFixedLineOutbound, Micro: 110_000, Usage: int64(d*3%4 + 1)})
	}
	return in
}

// splitCase is dailyCase's bill of the given status (paid toward a closed
// one) and its daily view.
func splitCase(t testing.TB, status BillStatus, paid string) (month, daily *Bill) {
	in := dailyCase(t)
	days := postpaidLines(t, in)
	lines := postpaidLines(t, in.Monthly())
	total, rd := RoundPostpaid(lines)
	month = AssembleBill(acctA, in.Cycle, status, lines, rd, total, dec(paid), nil)
	d := *month
	d.Lines = SplitDays(month.Lines, days, in.Cycle.Days())
	return month, &d
}

func TestSplitDaysAddsUpToTheMonth(t *testing.T) {
	for _, tc := range []struct {
		status BillStatus
		paid   string
	}{{BillStatusOpen, "0"}, {BillStatusClosed, "0"}, {BillStatusClosed, "10.00"}, {BillStatusClosed, "21.87"}} {
		t.Run(fmt.Sprintf("%s, %s paid", tc.status, tc.paid), func(t *testing.T) {
			month, daily := splitCase(t, tc.status, tc.paid)
			if len(daily.Lines) != 3*31 {
				t.Fatalf("%d day lines", len(daily.Lines))
			}
			for _, f := range []struct {
				pd                          ProductDetail
				instance                    string
				original, discount, payable string
			}{
				{"", "", "25.72", "3.85", "21.87"},
				{PDPostpaid, "", "17.04", "2.55", "14.49"},
				{PDSubscription, "", "8.68", "1.30", "7.38"},
				{"", instPayg, "17.04", "2.55", "14.49"},
			} {
				m, d := month.Filter(f.pd, f.instance), daily.Filter(f.pd, f.instance)
				if !totalsEqual(m.Totals, d.Totals) {
					t.Errorf("filter %q %q: month %+v, days %+v", f.pd, f.instance, m.Totals.JSON(), d.Totals.JSON())
				}
				decEq(t, "original", m.Totals.Original, dec(f.original))
				decEq(t, "discount", m.Totals.Discount, dec(f.discount))
				decEq(t, "payable", m.Totals.Payable, dec(f.payable))
			}
			// Every line's days add up to it; a day's original is its payable + discount.
			for _, l := range month.Lines {
				sum := Line{Original: zero, Discount: zero, Payable: zero, Paid: zero, Outstanding: zero}
				prevDay, unpaidSeen := 0, false
				for _, d := range daily.Lines {
					if d.Item != l.Item || d.Instance != l.Instance || !d.UnitPrice.Equal(l.UnitPrice) {
						continue
					}
					if d.Day <= prevDay {
						t.Errorf("%s %s: day %d after day %d", l.Instance, l.Item, d.Day, prevDay)
					}
					prevDay = d.Day
					if !d.Original.Equal(d.Payable.Add(d.Discount)) || d.Payable.IsNegative() || d.Discount.IsNegative() {
						t.Errorf("%s %s day %d: %s / %s / %s", l.Instance, l.Item, d.Day, d.Original, d.Discount, d.Payable)
					}
					// What was paid reaches the earlier days first.
					if d.Paid.IsPositive() && unpaidSeen {
						t.Errorf("%s %s day %d: paid %s after an unpaid day", l.Instance, l.Item, d.Day, d.Paid)
					}
					if d.Paid.LessThan(d.Payable) {
						unpaidSeen = true
					}
					if tc.status == BillStatusOpen && (!d.Paid.IsZero() || !d.Outstanding.IsZero()) {
						t.Errorf("open cycle, %s day %d: paid %s outstanding %s", l.Item, d.Day, d.Paid, d.Outstanding)
					}
					if !d.Paid.Add(d.Outstanding).Equal(d.Payable) && tc.status == BillStatusClosed {
						t.Errorf("closed cycle, %s day %d: paid %s + outstanding %s ≠ payable %s", l.Item, d.Day, d.Paid, d.Outstanding, d.Payable)
					}
					sum.Original, sum.Discount = sum.Original.Add(d.Original), sum.Discount.Add(d.Discount)
					sum.Payable, sum.Paid, sum.Outstanding = sum.Payable.Add(d.Payable), sum.Paid.Add(d.Paid), sum.Outstanding.Add(d.Outstanding)
				}
				what := string(l.Item) + " " + l.Instance
				decEq(t, what+" original", sum.Original, l.Original)
				decEq(t, what+" discount", sum.Discount, l.Discount)
				decEq(t, what+" payable", sum.Payable, l.Payable)
				decEq(t, what+" paid", sum.Paid, l.Paid)
				decEq(t, what+" outstanding", sum.Outstanding, l.Outstanding)
			}
		})
	}
}

func totalsEqual(a, b Totals) bool {
	return a.Original.Equal(b.Original) && a.Discount.Equal(b.Discount) && a.Payable.Equal(b.Payable) &&
		a.RoundDown.Equal(b.RoundDown) && a.Paid.Equal(b.Paid) && a.Outstanding.Equal(b.Outstanding)
}

// TestDailyCaseDifferedBefore keeps dailyCase honest: rounding its day
// lines as one list, as the daily view did, does not give the month's
// totals, so TestSplitDaysAddsUpToTheMonth tests what was broken.
func TestDailyCaseDifferedBefore(t *testing.T) {
	in := dailyCase(t)
	days := postpaidLines(t, in)
	RoundPostpaid(days)
	old := SumTotals(days, zero)
	month, _ := splitCase(t, BillStatusOpen, "0")
	if old.Original.Equal(month.Totals.Original) || old.Discount.Equal(month.Totals.Discount) {
		t.Errorf("rounding the days as one list gives the month's totals: %+v", old.JSON())
	}
	decEq(t, "rounded as one list: original", old.Original, dec("25.73"))
	decEq(t, "rounded as one list: discount", old.Discount, dec("3.86"))
}

func TestSplitDaysMonthlyChargesPurchasesAndStrays(t *testing.T) {
	seat := Line{ProductDetail: PDSubscription, SubscriptionType: SubscriptionTypeSubscription, Instance: instSub,
		Item: ItemCallCenterSoftware, PurchaseID: "P-1", Day: 7, UnitPrice: dec("199"), Usage: dec("1"),
		Original: dec("199.00"), Discount: zero, Payable: dec("199.00"), Paid: dec("199.00"), Outstanding: zero}
	minimum := Line{ProductDetail: PDPostpaid, SubscriptionType: SubscriptionTypePayAsYouGo, Instance: instPayg,
		Item: ItemInbound400Minimum, Number: payg400, UnitPrice: dec("375"), Usage: one,
		Original: dec("375.00"), Discount: zero, Payable: dec("375.00"), Paid: zero, Outstanding: dec("375.00")}
	usage := Line{ProductDetail: PDPostpaid, SubscriptionType: SubscriptionTypePayAsYouGo, Instance: instPayg,
		Item: ItemFixedLineOutbound, UnitPrice: dec("0.15"), Usage: dec("3"),
		Original: dec("0.45"), Discount: zero, Payable: dec("0.45"), Paid: dec("0.45"), Outstanding: zero}
	days := []Line{
		{ProductDetail: PDPostpaid, Instance: instPayg, Item: ItemFixedLineOutbound, UnitPrice: dec("0.150"), Day: 2, Usage: dec("2"), ExactOriginal: dec("0.30")},
		{ProductDetail: PDPostpaid, Instance: instPayg, Item: ItemFixedLineOutbound, UnitPrice: dec("0.15"), Day: 1, Usage: dec("1"), ExactOriginal: dec("0.15")},
		// A line the bill does not have (a closed bill's frozen lines are the bill).
		{ProductDetail: PDPostpaid, Instance: instPayg, Item: ItemInbound400, UnitPrice: dec("0.2"), Day: 3, Usage: dec("1"), ExactOriginal: dec("0.2")},
	}
	got := SplitDays([]Line{usage, minimum, seat}, days, 31)
	type row struct {
		day     int
		item    Item
		usage   string
		payable string
		paid    string
	}
	var rows []row
	for _, l := range got {
		rows = append(rows, row{l.Day, l.Item, l.Usage.String(), l.Payable.StringFixed(2), l.Paid.StringFixed(2)})
	}
	want := []row{
		{1, ItemFixedLineOutbound, "1", "0.15", "0.15"},
		{2, ItemFixedLineOutbound, "2", "0.30", "0.30"},
		{7, ItemCallCenterSoftware, "1", "199.00", "199.00"},
		{31, ItemInbound400Minimum, "1", "375.00", "0.00"},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("day lines\n got %v\nwant %v", rows, want)
	}
}

// TestOpenBillOwesNothing: an open cycle's postpaid lines are an estimate;
// nothing is paid or owed before the close, while its purchases stay paid.
func TestOpenBillOwesNothing(t *testing.T) {
	_, closed := exampleBill(t)
	postpaid := append([]Line(nil), closed...)
	total, rd := RoundPostpaid(postpaid)
	acct := &Account{UID: acctA}
	p := Purchase{ID: "P-1", Account: acctA, At: at(t, "2026-10-01T09:00:00+08:00"), Kind: PurchaseVoicePackage,
		PackageType: PackageFixedOutbound, PackageMinutes: 10_000}
	vp, err := SettlePurchase(&p, acct, ModePayg, NewPriceBook(nil), shanghai(t))
	if err != nil {
		t.Fatal(err)
	}
	b := AssembleBill(acctA, cyc(t, "2026-10"), BillStatusOpen, postpaid, rd, total, dec("100.00"), []Line{vp})
	for _, l := range b.Lines {
		if !l.Outstanding.IsZero() {
			t.Errorf("%s: outstanding %s", l.Item, l.Outstanding)
		}
		if l.IsPurchase() && !l.Paid.Equal(l.Payable) || !l.IsPurchase() && !l.Paid.IsZero() {
			t.Errorf("%s: paid %s of %s", l.Item, l.Paid, l.Payable)
		}
	}
	j := b.JSON(View{})
	if j.Totals.Outstanding != "0.00" || j.Totals.Paid != "1450.00" || j.Totals.Payable != "1751.24" || !b.PostpaidPaid.IsZero() {
		t.Errorf("open totals %+v, postpaid paid %s", j.Totals, b.PostpaidPaid)
	}
	if ov := b.Overview(); ov.Totals.Outstanding != "0.00" || ov.Items[0].Outstanding != "0.00" {
		t.Errorf("overview %+v", ov)
	}
	if by := b.JSON(View{ByInstance: true}); by.Lines[0].Outstanding != "0.00" {
		t.Errorf("by instance %+v", by.Lines[0])
	}
	// Who shows "—": an open cycle's pay-as-you-go rows and totals only.
	for _, tc := range []struct {
		status BillStatus
		st     string
		want   bool
	}{
		{BillStatusOpen, SubscriptionTypePayAsYouGo, true}, {BillStatusOpen, "", true},
		{BillStatusOpen, SubscriptionTypeSubscription, false}, {BillStatusClosed, SubscriptionTypePayAsYouGo, false},
		{BillStatusClosed, "", false},
	} {
		if got := SettledAtClose(tc.status, tc.st); got != tc.want {
			t.Errorf("SettledAtClose(%s, %q) = %v", tc.status, tc.st, got)
		}
	}
}
