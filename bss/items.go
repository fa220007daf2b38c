package bss

import (
	"sort"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// How callbill's bill lines become BSS items (docs/bss.md has the table).

// Product is the product (产品) of every line.
const (
	ProductCode = "ccc"
	ProductName = "云呼叫中心"
	Currency    = "CNY"
)

// Item values of a record: what kind of bill it is.
const (
	ItemPayAsYouGo   = "PayAsYouGoBill"
	ItemSubscription = "SubscriptionOrder"
)

// money is an amount sent as a JSON number with exactly two decimals (the
// v1 SDK decodes amounts into float64).
type money decimal.Decimal

func (m money) MarshalJSON() ([]byte, error) {
	return []byte(callbill.FormatMoney(decimal.Decimal(m))), nil
}

func mp(d decimal.Decimal) *money { m := money(d); return &m }

var zero = money(decimal.Zero)

// item is one row of any bill API: the union of the fields the v1 SDK's
// shared Item struct decodes that callbill can fill. Fields that belong to
// other APIs are left out (omitempty).
type item struct {
	RecordID       string `json:",omitempty"`
	SubOrderId     string `json:",omitempty"`
	PaymentTime    string `json:",omitempty"`
	UsageStartTime string `json:",omitempty"`
	UsageEndTime   string `json:",omitempty"`
	Status         string `json:",omitempty"`
	BillingDate    string `json:",omitempty"`
	InstanceID     string `json:",omitempty"`
	InstanceConfig string `json:",omitempty"`

	OwnerID         string
	BillAccountID   string `json:",omitempty"`
	BillAccountName string `json:",omitempty"`

	ProductCode      string
	ProductName      string
	ProductType      string
	ProductDetail    string
	CommodityCode    string
	PipCode          string
	SubscriptionType string
	Item             string

	BillingItem               string `json:",omitempty"`
	BillingItemCode           string `json:",omitempty"`
	ListPrice                 string `json:",omitempty"`
	ListPriceUnit             string `json:",omitempty"`
	Usage                     string `json:",omitempty"`
	UsageUnit                 string `json:",omitempty"`
	DeductedByResourcePackage string `json:",omitempty"`

	Currency              string
	PaymentCurrency       string `json:",omitempty"`
	PretaxGrossAmount     money
	InvoiceDiscount       money
	RoundDownDiscount     string `json:",omitempty"`
	PretaxAmount          money
	AfterDiscountAmount   *money `json:",omitempty"`
	PretaxAmountLocal     *money `json:",omitempty"`
	Tax                   *money `json:",omitempty"`
	AfterTaxAmount        *money `json:",omitempty"`
	DeductedByCashCoupons money
	DeductedByCoupons     money
	DeductedByPrepaidCard money
	AdjustAmount          money
	PaymentAmount         money
	CashAmount            money
	OutstandingAmount     money

	// for filters and ordering, not sent
	pd       callbill.ProductDetail
	purchase bool
	gross    decimal.Decimal
	payable  decimal.Decimal
}

// account is who the rows belong to.
type account struct {
	UID, Name string
}

func itemName(subscriptionType string) string {
	if subscriptionType == callbill.SubscriptionTypeSubscription {
		return ItemSubscription
	}
	return ItemPayAsYouGo
}

// newItem starts a row of a product detail and subscription type.
func newItem(a account, pd callbill.ProductDetail, st string) item {
	return item{OwnerID: a.UID, ProductCode: ProductCode, ProductName: ProductName, ProductDetail: callbill.ProductDetailName[pd],
		CommodityCode: string(pd), PipCode: ProductCode, SubscriptionType: st, Item: itemName(st), Currency: Currency,
		PretaxGrossAmount: zero, InvoiceDiscount: zero, PretaxAmount: zero, DeductedByCashCoupons: zero,
		DeductedByCoupons: zero, DeductedByPrepaidCard: zero, AdjustAmount: zero, PaymentAmount: zero, CashAmount: zero,
		OutstandingAmount: zero, pd: pd, gross: decimal.Zero, payable: decimal.Zero}
}

// add adds a displayed line's amounts: 原价 → PretaxGrossAmount, 优惠金额 →
// InvoiceDiscount, 应付金额 → PretaxAmount, 欠费金额 → OutstandingAmount,
// and what was paid → PaymentAmount and CashAmount (an open cycle's postpaid
// lines: nothing paid, nothing outstanding).
func (it *item) add(l *callbill.Line) {
	sum := func(m *money, d decimal.Decimal) { *m = money(decimal.Decimal(*m).Add(d)) }
	sum(&it.PretaxGrossAmount, l.Original)
	sum(&it.InvoiceDiscount, l.Discount)
	sum(&it.PretaxAmount, l.Payable)
	sum(&it.OutstandingAmount, l.Outstanding)
	sum(&it.PaymentAmount, l.Paid)
	sum(&it.CashAmount, l.Paid)
	it.gross, it.payable = it.gross.Add(l.Original), it.payable.Add(l.Payable)
}

// withTax adds the fields of record-level APIs: no tax is computed, so the
// after-tax and local amounts equal the pre-tax amount.
func (it *item) withTax() {
	p := decimal.Decimal(it.PretaxAmount)
	it.Tax, it.AfterTaxAmount, it.PretaxAmountLocal = mp(decimal.Zero), mp(p), mp(p)
	it.PaymentCurrency = Currency
	if it.RoundDownDiscount == "" {
		it.RoundDownDiscount = "0.00"
	}
}

// overview sums a bill's lines per product detail and subscription type
// (QueryBillOverview), in product-detail order, pay-as-you-go first. The
// bill's round-down goes to its first pay-as-you-go item.
func overview(b *callbill.Bill, a account) []item {
	idx := map[[2]string]int{}
	var out []item
	for i := range b.Lines {
		l := &b.Lines[i]
		k := [2]string{string(l.ProductDetail), l.SubscriptionType}
		j, ok := idx[k]
		if !ok {
			j = len(out)
			idx[k] = j
			it := newItem(a, l.ProductDetail, l.SubscriptionType)
			it.BillAccountID, it.BillAccountName = a.UID, a.Name
			it.purchase = l.SubscriptionType == callbill.SubscriptionTypeSubscription
			out = append(out, it)
		}
		out[j].add(l)
	}
	sortItems(out)
	giveRoundDown(out, b)
	for i := range out {
		out[i].withTax()
	}
	return out
}

// records lists a bill's records (QueryBill, QuerySettleBill): one per
// product detail for its postpaid lines (the monthly pay-as-you-go bill) and
// one per purchase (the order).
func records(b *callbill.Bill, a account, loc *time.Location) []item {
	idx := map[callbill.ProductDetail]int{}
	var out []item
	start, end := b.Cycle.Start(loc), b.Cycle.End(loc).Add(-time.Second)
	for i := range b.Lines {
		l := &b.Lines[i]
		if l.IsPurchase() {
			it := newItem(a, l.ProductDetail, l.SubscriptionType)
			at := l.PurchaseAt.In(loc).Format(timeLayout)
			it.RecordID, it.SubOrderId, it.PaymentTime, it.UsageStartTime = l.PurchaseID, l.PurchaseID, at, at
			it.purchase = true
			it.add(l)
			out = append(out, it)
			continue
		}
		j, ok := idx[l.ProductDetail]
		if !ok {
			j = len(out)
			idx[l.ProductDetail] = j
			it := newItem(a, l.ProductDetail, l.SubscriptionType)
			it.RecordID = b.Cycle.String() + "-" + string(l.ProductDetail)
			it.UsageStartTime, it.UsageEndTime = start.Format(timeLayout), end.Format(timeLayout)
			out = append(out, it)
		}
		out[j].add(l)
	}
	sortItems(out)
	giveRoundDown(out, b)
	for i := range out {
		it := &out[i]
		it.BillAccountID, it.BillAccountName = a.UID, a.Name
		// Alibaba's payment states: PayUnsettle (未结算) for an open
		// cycle's pay-as-you-go record, settled at the close; PayUnclear
		// (未结清) for a closed record with arrears; PayFinish (已支付)
		// once nothing is owed.
		switch {
		case b.Status == callbill.BillStatusOpen && !it.purchase:
			it.Status = "PayUnsettle"
		case !decimal.Decimal(it.OutstandingAmount).IsZero():
			it.Status = "PayUnclear"
		default:
			it.Status = "PayFinish"
		}
		it.withTax()
	}
	return out
}

// timeLayout is how PaymentTime and the usage times are written, in the
// billing time zone.
const timeLayout = "2006-01-02 15:04:05"

// sortItems orders rows by product detail (in the order of docs/rules.md,
// "Product details and subscription types"), pay-as-you-go
// before purchases; purchases keep their line order.
func sortItems(items []item) {
	sort.SliceStable(items, func(i, j int) bool {
		a, b := &items[i], &items[j]
		if x, y := callbill.ProductDetailOrder(a.pd), callbill.ProductDetailOrder(b.pd); x != y {
			return x < y
		}
		return !a.purchase && b.purchase
	})
}

// giveRoundDown puts the bill's round-down (抹零, exact) on its first
// pay-as-you-go row: it belongs to the postpaid total, and the displayed
// lines already have it folded in (原价 − 优惠 = 应付 on every line), so
// RoundDownDiscount is informative and must not be subtracted again.
func giveRoundDown(items []item, b *callbill.Bill) {
	for i := range items {
		if !items[i].purchase {
			items[i].RoundDownDiscount = callbill.FormatRoundDown(b.Totals.RoundDown)
			return
		}
	}
}

// instanceRows lists the rows of QueryInstanceBill and DescribeInstanceBill:
// per billing item (one per bill line) or per instance (lines summed per
// product detail, subscription type and instance, as `bill show --by
// instance` does).
func instanceRows(lines []callbill.Line, a account, byItem bool, date string, describe bool) []item {
	if !byItem {
		lines = callbill.GroupByInstance(lines)
	}
	out := make([]item, 0, len(lines))
	for i := range lines {
		l := &lines[i]
		it := newItem(a, l.ProductDetail, l.SubscriptionType)
		it.InstanceID, it.BillingDate = l.Instance, date
		it.purchase = l.IsPurchase()
		if describe {
			it.BillAccountID, it.BillAccountName = a.UID, a.Name
		}
		if byItem {
			it.BillingItem = callbill.ItemName[l.Item]
			if describe {
				it.BillingItemCode = string(l.Item)
			}
			it.ListPrice, it.ListPriceUnit = callbill.FormatPrice(l.UnitPrice), l.PriceUnit
			it.Usage, it.UsageUnit = callbill.FormatExact(l.Usage), l.UsageUnit
			it.DeductedByResourcePackage = callbill.FormatExact(l.Covered)
			it.InstanceConfig = lineConfig(l)
		}
		it.add(l)
		if describe {
			it.AfterDiscountAmount = mp(decimal.Decimal(it.PretaxAmount))
		}
		out = append(out, it)
	}
	return out
}

// lineConfig names what tells two lines of one instance and item apart
// beyond the unit price: the number of per-number items and the purchase.
func lineConfig(l *callbill.Line) string {
	s := ""
	if l.Number != "" {
		s = "number=" + l.Number
	}
	if l.PurchaseID != "" {
		if s != "" {
			s += ";"
		}
		s += "purchase=" + l.PurchaseID
	}
	return s
}
