package callbill

import "github.com/shopspring/decimal"

// BillJSON is the JSON form of a bill (docs/rules.md, "Bill totals and JSON"). Field order is fixed:
// tools compare it byte for byte.
type BillJSON struct {
	Account     string           `json:"account"`
	Cycle       string           `json:"cycle"`
	Status      BillStatus       `json:"status"`
	Currency    string           `json:"currency"`
	By          string           `json:"by,omitempty"`
	Period      string           `json:"period,omitempty"`
	Totals      TotalsJSON       `json:"totals"`
	Lines       []LineJSON       `json:"lines"`
	Adjustments []AdjustmentJSON `json:"adjustments,omitempty"`
}

// AdjustmentJSON is an adjustment shown on the bill of the cycle it was made in.
type AdjustmentJSON struct {
	At       string `json:"at"`
	Amount   string `json:"amount"`
	Reason   string `json:"reason"`
	Corrects string `json:"corrects,omitempty"`
	Key      string `json:"key"`
}

// TotalsJSON is the totals object of the bill's JSON.
type TotalsJSON struct {
	Original    string `json:"original"`
	Discount    string `json:"discount"`
	Payable     string `json:"payable"`
	RoundDown   string `json:"round_down"`
	Paid        string `json:"paid"`
	Outstanding string `json:"outstanding"`
}

// JSON renders the totals, amounts to the fen and the round-down exact.
func (t Totals) JSON() TotalsJSON {
	return TotalsJSON{Original: FormatMoney(t.Original), Discount: FormatMoney(t.Discount), Payable: FormatMoney(t.Payable),
		RoundDown: FormatRoundDown(t.RoundDown), Paid: FormatMoney(t.Paid), Outstanding: FormatMoney(t.Outstanding)}
}

// LineJSON is one line of the bill's JSON. In the by-instance view the item fields are
// left out.
type LineJSON struct {
	Date              string `json:"date,omitempty"`
	ProductDetail     string `json:"product_detail"`
	SubscriptionType  string `json:"subscription_type"`
	Instance          string `json:"instance"`
	Item              string `json:"item,omitempty"`
	Number            string `json:"number,omitempty"`
	PurchaseID        string `json:"purchase_id,omitempty"`
	Band              int    `json:"band,omitempty"`
	UnitPrice         string `json:"unit_price,omitempty"`
	PriceUnit         string `json:"price_unit,omitempty"`
	Usage             string `json:"usage,omitempty"`
	UsageUnit         string `json:"usage_unit,omitempty"`
	DeductedByPackage string `json:"deducted_by_package,omitempty"`
	Original          string `json:"original"`
	Discount          string `json:"discount"`
	Payable           string `json:"payable"`
	Outstanding       string `json:"outstanding"`
}

// SettledAtClose reports whether a bill row's outstanding is not known yet:
// a pay-as-you-go row of an open cycle, an estimate that is deducted from
// cash only at the close. Its JSON says "0.00" (nothing is owed before the
// close); the CLI and the console show "—" (docs/rules.md, "Open cycle
// preview"). Purchases (Subscription) are paid when made and show their 0.
func SettledAtClose(status BillStatus, subscriptionType string) bool {
	return status == BillStatusOpen && subscriptionType != SubscriptionTypeSubscription
}

// View selects how a bill is shown.
type View struct {
	ByInstance bool // one line per product detail and instance instead of per billing item
	Daily      bool // lines carry their day (the bill must come from a daily query)
}

// JSON renders the bill.
func (b *Bill) JSON(v View) BillJSON {
	out := BillJSON{Account: b.Account, Cycle: b.Cycle.String(), Status: b.Status, Currency: "CNY",
		Totals: b.Totals.JSON(), Lines: []LineJSON{}}
	if v.ByInstance {
		out.By = "instance"
	}
	if v.Daily {
		out.Period = "day"
	}
	for _, a := range b.Adjustments {
		out.Adjustments = append(out.Adjustments, AdjustmentJSON{At: a.At.UTC().Format("2006-01-02T15:04:05Z"),
			Amount: FormatMoney(a.Amount), Reason: a.Reason, Corrects: a.Corrects, Key: a.Key})
	}
	lines := b.Lines
	if v.ByInstance {
		lines = GroupByInstance(lines)
	}
	for i := range lines {
		l := &lines[i]
		j := LineJSON{ProductDetail: string(l.ProductDetail), SubscriptionType: l.SubscriptionType, Instance: l.Instance,
			Original: FormatMoney(l.Original), Discount: FormatMoney(l.Discount), Payable: FormatMoney(l.Payable),
			Outstanding: FormatMoney(l.Outstanding)}
		if v.Daily && l.Day > 0 {
			j.Date = b.Cycle.String() + "-" + twoDigits(l.Day)
		}
		if !v.ByInstance {
			j.Item, j.Number, j.PurchaseID = string(l.Item), l.Number, l.PurchaseID
			if !l.IsPurchase() && l.Item == ItemCallCenterSoftware {
				j.Band = l.Band
			}
			j.UnitPrice, j.PriceUnit = FormatPrice(l.UnitPrice), l.PriceUnit
			j.Usage, j.UsageUnit, j.DeductedByPackage = FormatExact(l.Usage), l.UsageUnit, FormatExact(l.Covered)
		}
		out.Lines = append(out.Lines, j)
	}
	return out
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

// GroupByInstance sums displayed amounts per (day, product detail, subscription
// type, instance), in line order.
func GroupByInstance(lines []Line) []Line {
	type key struct {
		day      int
		pd       ProductDetail
		st       string
		instance string
	}
	idx := map[key]int{}
	var out []Line
	for _, l := range lines {
		k := key{l.Day, l.ProductDetail, l.SubscriptionType, l.Instance}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Line{Day: l.Day, ProductDetail: l.ProductDetail, SubscriptionType: l.SubscriptionType,
				Instance: l.Instance, Original: decimal.Zero, Discount: decimal.Zero, Payable: decimal.Zero, Paid: decimal.Zero, Outstanding: decimal.Zero})
		}
		o := &out[i]
		o.Original = o.Original.Add(l.Original)
		o.Discount = o.Discount.Add(l.Discount)
		o.Payable = o.Payable.Add(l.Payable)
		o.Paid = o.Paid.Add(l.Paid)
		o.Outstanding = o.Outstanding.Add(l.Outstanding)
	}
	return out
}

// Filter keeps the lines of one product detail and/or instance ("" = any);
// the totals are summed again from what is kept.
func (b *Bill) Filter(pd ProductDetail, instance string) *Bill {
	out := *b
	out.Lines = nil
	for _, l := range b.Lines {
		if (pd == "" || l.ProductDetail == pd) && (instance == "" || l.Instance == instance) {
			out.Lines = append(out.Lines, l)
		}
	}
	out.Totals = SumTotals(out.Lines, b.Totals.RoundDown)
	return &out
}

// OverviewJSON is a bill summed by product detail (账单概览).
type OverviewJSON struct {
	Account  string             `json:"account"`
	Cycle    string             `json:"cycle"`
	Status   BillStatus         `json:"status"`
	Currency string             `json:"currency"`
	Totals   TotalsJSON         `json:"totals"`
	Items    []OverviewItemJSON `json:"items"`
}

// OverviewItemJSON is one product detail and subscription type of a bill.
type OverviewItemJSON struct {
	Product          string `json:"product"`
	ProductDetail    string `json:"product_detail"`
	ProductName      string `json:"product_detail_name"`
	SubscriptionType string `json:"subscription_type"`
	Original         string `json:"original"`
	Discount         string `json:"discount"`
	Payable          string `json:"payable"`
	Outstanding      string `json:"outstanding"`
}

// Overview sums the bill's displayed lines per product detail and
// subscription type, in line order.
func (b *Bill) Overview() OverviewJSON {
	j := b.JSON(View{})
	out := OverviewJSON{Account: j.Account, Cycle: j.Cycle, Status: j.Status, Currency: j.Currency, Totals: j.Totals, Items: []OverviewItemJSON{}}
	type key struct{ pd, st string }
	idx := map[key]int{}
	sums := [][4]decimal.Decimal{}
	for _, l := range b.Lines {
		k := key{string(l.ProductDetail), l.SubscriptionType}
		i, ok := idx[k]
		if !ok {
			i = len(out.Items)
			idx[k] = i
			out.Items = append(out.Items, OverviewItemJSON{Product: "ccc", ProductDetail: k.pd,
				ProductName: ProductDetailName[l.ProductDetail], SubscriptionType: k.st})
			sums = append(sums, [4]decimal.Decimal{zero, zero, zero, zero})
		}
		sums[i][0] = sums[i][0].Add(l.Original)
		sums[i][1] = sums[i][1].Add(l.Discount)
		sums[i][2] = sums[i][2].Add(l.Payable)
		sums[i][3] = sums[i][3].Add(l.Outstanding)
	}
	for i := range out.Items {
		out.Items[i].Original, out.Items[i].Discount = FormatMoney(sums[i][0]), FormatMoney(sums[i][1])
		out.Items[i].Payable, out.Items[i].Outstanding = FormatMoney(sums[i][2]), FormatMoney(sums[i][3])
	}
	return out
}
