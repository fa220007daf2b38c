package callbill

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// CloseReport tells which cycles a close closed.
type CloseReport struct {
	Closed        []Cycle // cycles closed now, oldest first
	AlreadyClosed bool    // the cycle was closed before; nothing changed
	// WithoutCalls lists the cycles closed now in which no account had a
	// call: calls of theirs imported later are billed as late calls in
	// the next open cycle, which an operator who closed too early wants to
	// hear.
	WithoutCalls []Cycle
}

// BillStatus is the state of a bill.
type BillStatus string

const (
	BillStatusOpen   BillStatus = "open"   // live preview of an open cycle
	BillStatusClosed BillStatus = "closed" // frozen at close
)

// Line is one bill line (docs/rules.md, "Bill lines and line order"). Postpaid lines carry their exact
// amounts; the displayed amounts are set by RoundPostpaid. Purchase lines are
// settled on their own (SettlePurchase).
type Line struct {
	ProductDetail    ProductDetail
	SubscriptionType string
	Instance         string
	Item             Item
	Number           string
	UnitPrice        decimal.Decimal
	PriceUnit        string
	Usage            decimal.Decimal // charged quantity; package-covered minutes excluded
	UsageUnit        string
	Covered          decimal.Decimal // minutes deducted by voice packages
	Band             int             // 1, 2, … on graduated items
	PriceFrom        int64           // effective time of the price (orders price versions)
	PurchaseID       string
	PurchaseAt       time.Time
	Day              int // in daily views: the day of month; 0 otherwise

	ExactOriginal decimal.Decimal
	ExactDiscount decimal.Decimal
	ExactPayable  decimal.Decimal

	Original    decimal.Decimal
	Discount    decimal.Decimal
	Payable     decimal.Decimal
	Paid        decimal.Decimal // what was paid toward Payable: 0 on an open cycle's postpaid lines
	Outstanding decimal.Decimal // what is owed: 0 on an open cycle (nothing is owed before the close)
}

// IsPurchase reports whether the line is a prepaid purchase.
func (l *Line) IsPurchase() bool { return l.PurchaseID != "" }

// Totals are a bill's sums (docs/rules.md, "Bill totals and JSON").
type Totals struct {
	Original    decimal.Decimal
	Discount    decimal.Decimal
	Payable     decimal.Decimal
	RoundDown   decimal.Decimal // exact fraction dropped from the postpaid total
	Paid        decimal.Decimal
	Outstanding decimal.Decimal
}

// Bill is an account's bill for one cycle.
type Bill struct {
	Account string
	Cycle   Cycle
	Status  BillStatus
	Lines   []Line
	Totals  Totals

	PostpaidPayable decimal.Decimal // the rounded-down postpaid total
	PostpaidPaid    decimal.Decimal // what has been paid toward it

	// Adjustments made in the cycle: corrections (of a closed bill, which is
	// never edited) and other credits and debits, each settled in cash when
	// made, so they are shown beside the lines, not in the totals.
	Adjustments []LedgerEntry
}

// UsageRow is a bill-line aggregate of the cycle: AggKey without account and
// cycle, usage summed (over days, unless a daily view asks per day).
type UsageRow struct {
	Day       int
	PD        ProductDetail
	Instance  string
	Item      Item
	Number    string
	Micro     int64
	PriceFrom int64
	Band      int
	Usage     int64
	Covered   int64
}

// PostpaidInput is everything closing (or previewing) one account's cycle reads.
type PostpaidInput struct {
	Account *Account // with contract, retention and instances with numbers
	Cycle   Cycle
	Loc     *time.Location
	Book    *PriceBook
	Usage   []UsageRow
	// Minutes400 is each CCC 400 number's inbound minutes billed in the cycle,
	// package-covered and late minutes included.
	Minutes400 map[string]int64
	// RecordingBytes is each instance's stored bytes of calls started in the
	// retention window ending with the cycle.
	RecordingBytes map[string]int64
	// Daily keeps Usage per day and puts the monthly charges (400 minimums,
	// storage) on the cycle's last day.
	Daily bool
}

// FreeStorageGB is every account's free recording storage.
var FreeStorageGB = decimal.NewFromInt(50)

// PostpaidLines builds the cycle's postpaid lines with exact amounts, in line
// order: usage from the aggregates, 400 minimums, recording storage. The
// caller rounds them with RoundPostpaid.
func PostpaidLines(in *PostpaidInput) ([]Line, error) {
	type key struct {
		pd       ProductDetail
		instance string
		item     Item
		number   string
		micro    int64
		day      int
	}
	modes := map[string]Mode{}
	for _, inst := range in.Account.Instances {
		modes[inst.ID] = inst.Mode
	}
	idx := map[key]int{}
	var lines []Line
	for _, u := range in.Usage {
		k := key{u.PD, u.Instance, u.Item, "", u.Micro, u.Day}
		if u.Item == ItemInbound400Minimum || u.Item == ItemNumberRent {
			k.number = u.Number
		}
		i, ok := idx[k]
		if !ok {
			i = len(lines)
			idx[k] = i
			lines = append(lines, Line{ProductDetail: u.PD, SubscriptionType: SubscriptionTypePayAsYouGo,
				Instance: u.Instance, Item: u.Item, Number: k.number, UnitPrice: FromMicro(u.Micro),
				PriceUnit: PriceUnit(u.Item, modes[u.Instance], false), UsageUnit: UsageUnit(u.Item, false),
				Band: u.Band, PriceFrom: u.PriceFrom, Day: u.Day, Usage: zero, Covered: zero})
		}
		l := &lines[i]
		l.Usage = l.Usage.Add(decimal.NewFromInt(u.Usage))
		l.Covered = l.Covered.Add(decimal.NewFromInt(u.Covered))
		if u.Band < l.Band {
			l.Band = u.Band
		}
		if u.PriceFrom < l.PriceFrom {
			l.PriceFrom = u.PriceFrom
		}
	}
	for i := range lines {
		lines[i].UnitPrice = in.bookPrice(&lines[i], modes[lines[i].Instance])
	}
	minimums, err := Minimum400Lines(in)
	if err != nil {
		return nil, err
	}
	storage, err := StorageLines(in)
	if err != nil {
		return nil, err
	}
	lines = append(append(lines, minimums...), storage...)
	for i := range lines {
		l := &lines[i]
		l.ExactOriginal = l.UnitPrice.Mul(l.Usage)
		applyContract(l, in.Account.Contract.RateFor(l.Item, in.Cycle))
	}
	SortLines(lines)
	return lines, nil
}

// bookPrice returns a usage line's unit price as the price book states it,
// with its own decimals; aggregates keep prices as integers of 1e-6 yuan.
func (in *PostpaidInput) bookPrice(l *Line, mode Mode) decimal.Decimal {
	if p, err := in.Book.At(l.Item, mode, time.Unix(l.PriceFrom, 0)); err == nil {
		for _, t := range p.Tiers {
			if t.Price.Equal(l.UnitPrice) {
				return t.Price
			}
		}
	}
	return l.UnitPrice
}

func applyContract(l *Line, rate decimal.Decimal) {
	l.ExactDiscount = l.ExactOriginal.Mul(one.Sub(rate))
	l.ExactPayable = l.ExactOriginal.Sub(l.ExactDiscount)
}

// Minimum400Lines returns an Inbound_400_Minimum line for every CCC 400 number
// in service during the cycle whose usage value falls short of its tier's
// minimum (docs/rules.md, "The 400 monthly minimum").
func Minimum400Lines(in *PostpaidInput) ([]Line, error) {
	from, to := in.Cycle.Start(in.Loc), in.Cycle.End(in.Loc)
	var out []Line
	for _, inst := range in.Account.Instances {
		for _, n := range inst.Numbers {
			if n.Kind != Number400 || n.Source != SourceCCC || !n.InServiceDuring(from, to) {
				continue
			}
			minimum, ok := Minimum400[n.Tier]
			if !ok {
				continue
			}
			p, err := in.Book.At(ItemInbound400, inst.Mode, from)
			if err != nil {
				return nil, err
			}
			value := p.Flat().Mul(decimal.NewFromInt(in.Minutes400[n.Number]))
			if value.GreaterThanOrEqual(minimum) {
				continue
			}
			// The shortfall is an exact amount, shown without trailing zeros.
			short, err := decimal.NewFromString(minimum.Sub(value).String())
			if err != nil {
				return nil, err
			}
			out = append(out, Line{ProductDetail: UsageProductDetail(inst.Mode),
				SubscriptionType: SubscriptionTypePayAsYouGo, Instance: inst.ID, Item: ItemInbound400Minimum,
				Number: n.Number, UnitPrice: short, PriceUnit: PriceUnit(ItemInbound400Minimum, inst.Mode, false),
				Usage: one, UsageUnit: UsageUnit(ItemInbound400Minimum, false), Covered: zero,
				Day: lastDayIfDaily(in)})
		}
	}
	return out, nil
}

// StorageLines returns the RecordStorage lines: each instance's stored GB
// (half-up to 4 decimals), less the account's free 50 GB taken in instance-id
// order (docs/rules.md, "Recording storage").
func StorageLines(in *PostpaidInput) ([]Line, error) {
	insts := append([]Instance(nil), in.Account.Instances...)
	sort.Slice(insts, func(i, j int) bool { return insts[i].ID < insts[j].ID })
	free := FreeStorageGB
	from := in.Cycle.Start(in.Loc)
	var out []Line
	for _, inst := range insts {
		b := in.RecordingBytes[inst.ID]
		if b == 0 {
			continue
		}
		gb := decimal.NewFromInt(b).DivRound(bytesGB, 4)
		take := decimal.Min(gb, free)
		free = free.Sub(take)
		billable := gb.Sub(take)
		if !billable.IsPositive() {
			continue
		}
		p, err := in.Book.At(ItemRecordStorage, inst.Mode, from)
		if err != nil {
			return nil, err
		}
		out = append(out, Line{ProductDetail: UsageProductDetail(inst.Mode),
			SubscriptionType: SubscriptionTypePayAsYouGo, Instance: inst.ID, Item: ItemRecordStorage,
			UnitPrice: p.Flat(), PriceUnit: PriceUnit(ItemRecordStorage, inst.Mode, false), Usage: billable,
			UsageUnit: UsageUnit(ItemRecordStorage, false), Covered: zero, PriceFrom: p.From.Unix(),
			Day: lastDayIfDaily(in)})
	}
	return out, nil
}

// lastDayIfDaily puts monthly charges on the cycle's last day in daily views.
func lastDayIfDaily(in *PostpaidInput) int {
	if in.Daily {
		return in.Cycle.Days()
	}
	return 0
}

// RoundPostpaid applies the rounding of docs/rules.md, "Rounding", to postpaid lines (in line
// order): the total payable is the exact sum rounded down to the fen; each
// line gets its exact payable rounded down, and the fen still missing go one
// each to the lines with the largest dropped fraction, earlier line first on
// ties; the displayed discount is half-up and the displayed original is
// payable + discount. It returns the total payable and the dropped fraction.
func RoundPostpaid(lines []Line) (total, roundDown decimal.Decimal) {
	sum := zero
	floors := make([]decimal.Decimal, len(lines))
	dropped := make([]decimal.Decimal, len(lines))
	for i := range lines {
		l := &lines[i]
		sum = sum.Add(l.ExactPayable)
		floors[i] = RoundDownFen(l.ExactPayable)
		dropped[i] = l.ExactPayable.Sub(floors[i])
	}
	total = RoundDownFen(sum)
	roundDown = sum.Sub(total)
	largestRemainder(floors, dropped, total)
	for i := range lines {
		l := &lines[i]
		l.Payable = floors[i]
		l.Discount = HalfUpFen(l.ExactDiscount)
		l.Original = l.Payable.Add(l.Discount)
		l.Outstanding = l.Payable
	}
	return total, roundDown
}

// largestRemainder is the largest-remainder rule (docs/rules.md, "Rounding"), the one place it
// is written: floors holds each part rounded down to the fen, dropped what
// rounding dropped from it (only their order matters, so any common scale
// will do); the fen still missing to reach total go, one each, to the parts
// with the largest dropped fraction, earlier part first on ties. floors is
// changed in place.
func largestRemainder(floors, dropped []decimal.Decimal, total decimal.Decimal) {
	missing := total
	for _, f := range floors {
		missing = missing.Sub(f)
	}
	n := missing.Div(fen).IntPart()
	if n <= 0 {
		return
	}
	order := make([]int, len(floors))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return dropped[order[a]].GreaterThan(dropped[order[b]]) })
	// n never exceeds the parts (each dropped less than a fen); the bound
	// only keeps inconsistent input from indexing past them.
	for k := 0; k < len(order) && int64(k) < n; k++ {
		floors[order[k]] = floors[order[k]].Add(fen)
	}
}

// ApplyPaid spreads what was paid toward the postpaid lines of a closed bill
// over them in line order: a line's paid is what reached it, its
// outstanding its payable less that. Purchases are paid when made.
func ApplyPaid(lines []Line, paid decimal.Decimal) {
	caps := make([]decimal.Decimal, len(lines))
	for i := range lines {
		caps[i] = zero
		if !lines[i].IsPurchase() {
			caps[i] = lines[i].Payable
		}
	}
	took := pour(paid, caps)
	for i := range lines {
		l := &lines[i]
		if l.IsPurchase() {
			l.Paid, l.Outstanding = l.Payable, zero
			continue
		}
		l.Paid, l.Outstanding = took[i], l.Payable.Sub(took[i])
	}
}

// pour gives amount to the parts in order, each up to its cap: how a payment
// reaches a bill's lines (docs/rules.md, "Balances, payments and arrears") and a line's days.
func pour(amount decimal.Decimal, caps []decimal.Decimal) []decimal.Decimal {
	out := make([]decimal.Decimal, len(caps))
	left := amount
	for i, c := range caps {
		out[i] = decimal.Max(zero, decimal.Min(left, c))
		left = left.Sub(out[i])
	}
	return out
}

// PreviewPaid sets what an open cycle's lines show as paid and owed: its
// postpaid lines are an estimate, nothing is deducted or owed before the
// close, so their paid and outstanding are 0; purchases are paid when made
// (docs/rules.md, "Open cycle preview").
func PreviewPaid(lines []Line) {
	for i := range lines {
		l := &lines[i]
		if l.IsPurchase() {
			l.Paid, l.Outstanding = l.Payable, zero
			continue
		}
		l.Paid, l.Outstanding = zero, zero
	}
}

// Monthly is the input of the cycle's lines from a daily input: the same
// usage rows, their days summed by PostpaidLines, so that a daily view reads
// the aggregates once for its month and its days.
func (in *PostpaidInput) Monthly() *PostpaidInput {
	out := *in
	out.Daily = false
	out.Usage = make([]UsageRow, len(in.Usage))
	for i, u := range in.Usage {
		u.Day = 0
		out.Usage[i] = u
	}
	return &out
}

// SplitDays is the daily view of a bill's lines (docs/rating.md, "The daily
// view"): each displayed postpaid line is split over its days, so that the
// days of a line add up to it exactly and the daily view's totals — and any
// filter's — are the month's. days are the cycle's postpaid lines per day
// (PostpaidLines of a daily input): they give each day its usage and its
// weight, its exact original. A line's payable and its discount are each
// split by splitFen (largest remainder per line); a day's original is its
// payable + discount; what was paid toward the line and what it owes go to
// its days in day order (pour), as a payment goes to lines in line order. A
// line without days (a monthly charge: 400 minimum, storage) stays whole on
// lastDay; purchases are kept as they are, on their day. Days matching no
// line are left out: the lines are the bill.
func SplitDays(lines, days []Line, lastDay int) []Line {
	type key struct {
		pd       ProductDetail
		instance string
		item     Item
		number   string
		price    string
	}
	keyOf := func(l *Line) key { return key{l.ProductDetail, l.Instance, l.Item, l.Number, l.UnitPrice.String()} }
	byKey := map[key][]int{}
	for i := range days {
		if !days[i].IsPurchase() {
			k := keyOf(&days[i])
			byKey[k] = append(byKey[k], i)
		}
	}
	out := make([]Line, 0, len(lines)+len(days))
	for i := range lines {
		l := &lines[i]
		idx := byKey[keyOf(l)]
		if l.IsPurchase() {
			out = append(out, *l)
			continue
		}
		if len(idx) == 0 {
			d := *l
			d.Day = lastDay
			out = append(out, d)
			continue
		}
		sort.SliceStable(idx, func(a, b int) bool { return days[idx[a]].Day < days[idx[b]].Day })
		weights := make([]decimal.Decimal, len(idx))
		for j, di := range idx {
			weights[j] = days[di].ExactOriginal
		}
		payable, discount := splitFen(l.Payable, weights), splitFen(l.Discount, weights)
		paid := pour(l.Paid, payable)
		unpaid := make([]decimal.Decimal, len(idx))
		for j := range unpaid {
			unpaid[j] = payable[j].Sub(paid[j])
		}
		owed := pour(l.Outstanding, unpaid)
		for j, di := range idx {
			d, src := *l, &days[di]
			d.Day, d.Usage, d.Covered = src.Day, src.Usage, src.Covered
			d.ExactOriginal, d.ExactDiscount, d.ExactPayable = src.ExactOriginal, src.ExactDiscount, src.ExactPayable
			d.Payable, d.Discount = payable[j], discount[j]
			d.Original = d.Payable.Add(d.Discount)
			d.Paid, d.Outstanding = paid[j], owed[j]
			out = append(out, d)
		}
	}
	SortLines(out)
	return out
}

// splitFen splits amount (in whole fen, not negative) over parts in
// proportion to weights (a negative weight counts as 0): each part gets its
// exact share amount × w / Σw rounded down to the fen, and the fen still
// missing go by largest remainder (ties: earlier part first). The shares
// are compared by the remainders of one exact division, so nothing is
// rounded on the way. With no positive weight, the amount goes whole to the
// last part.
func splitFen(amount decimal.Decimal, weights []decimal.Decimal) []decimal.Decimal {
	parts := make([]decimal.Decimal, len(weights))
	dropped := make([]decimal.Decimal, len(weights))
	sum := zero
	for i, w := range weights {
		parts[i], dropped[i] = zero, zero
		if w.IsPositive() {
			sum = sum.Add(w)
		}
	}
	if len(parts) == 0 {
		return parts
	}
	if !sum.IsPositive() {
		parts[len(parts)-1] = amount
		return parts
	}
	for i, w := range weights {
		if w.IsPositive() {
			parts[i], dropped[i] = amount.Mul(w).QuoRem(sum, fenPlaces)
		}
	}
	largestRemainder(parts, dropped, amount)
	return parts
}

// SettlePurchase prices a purchase on its own: exact original = unit price ×
// usage, discount at the contract rate in force at its time, payable and
// discount half-up, original their sum (docs/rules.md, "Prepaid purchases").
func SettlePurchase(p *Purchase, acct *Account, mode Mode, book *PriceBook, loc *time.Location) (Line, error) {
	l := Line{SubscriptionType: SubscriptionTypeSubscription, PurchaseID: p.ID, PurchaseAt: p.At,
		Instance: p.Instance, Covered: zero}
	switch p.Kind {
	case PurchaseVoicePackage:
		price, ok := PackagePrices[p.PackageType][p.PackageMinutes]
		if !ok {
			return l, Errorf(EINVALID, "no %s voice package of %d minutes", p.PackageType, p.PackageMinutes)
		}
		l.ProductDetail, l.Item, l.Instance = PDVoicePackage, ItemVoicePackage, ""
		l.UnitPrice, l.Usage = price, one
	case PurchaseSeats:
		pr, err := book.At(ItemCallCenterSoftware, ModeSubscription, p.At)
		if err != nil {
			return l, err
		}
		l.ProductDetail, l.Item = PDSubscription, ItemCallCenterSoftware
		tier := pr.Band(p.Count)
		l.UnitPrice, l.Usage = pr.Tiers[tier].Price, decimal.NewFromInt(p.Count*p.Months)
	case PurchaseNumberRent:
		pr, err := book.At(ItemNumberRent, mode, p.At)
		if err != nil {
			return l, err
		}
		l.ProductDetail, l.Item, l.Number = PDNumber, ItemNumberRent, p.Number
		l.UnitPrice, l.Usage = pr.Flat(), decimal.NewFromInt(p.Months)
	case PurchaseSipLine:
		pr, err := book.At(ItemSipLine, mode, p.At)
		if err != nil {
			return l, err
		}
		l.ProductDetail, l.Item = PDSip, ItemSipLine
		l.UnitPrice, l.Usage = pr.Flat(), decimal.NewFromInt(p.Count*p.Years)
	default:
		return l, Errorf(EINVALID, "unknown purchase kind %q", p.Kind)
	}
	l.PriceUnit, l.UsageUnit = PriceUnit(l.Item, mode, true), UsageUnit(l.Item, true)
	l.ExactOriginal = l.UnitPrice.Mul(l.Usage)
	applyContract(&l, acct.Contract.RateFor(l.Item, CycleOf(p.At, loc)))
	l.Payable = HalfUpFen(l.ExactPayable)
	l.Discount = HalfUpFen(l.ExactDiscount)
	l.Original = l.Payable.Add(l.Discount)
	l.Paid, l.Outstanding = l.Payable, zero
	return l, nil
}

// SortLines puts lines in line order (docs/rules.md, "Bill lines and line order"): product detail, instance
// (empty first), item, number, then band and price version for postpaid lines
// or time and id for purchases (postpaid lines first).
func SortLines(lines []Line) {
	sort.SliceStable(lines, func(i, j int) bool { return lineLess(&lines[i], &lines[j]) })
}

func lineLess(a, b *Line) bool {
	if a.Day != b.Day {
		return a.Day < b.Day
	}
	if x, y := ProductDetailOrder(a.ProductDetail), ProductDetailOrder(b.ProductDetail); x != y {
		return x < y
	}
	if a.Instance != b.Instance {
		return a.Instance < b.Instance
	}
	if x, y := ItemOrder(a.Item), ItemOrder(b.Item); x != y {
		return x < y
	}
	if a.Number != b.Number {
		return a.Number < b.Number
	}
	if a.IsPurchase() != b.IsPurchase() {
		return !a.IsPurchase()
	}
	if a.IsPurchase() {
		if !a.PurchaseAt.Equal(b.PurchaseAt) {
			return a.PurchaseAt.Before(b.PurchaseAt)
		}
		return a.PurchaseID < b.PurchaseID
	}
	if a.Band != b.Band {
		return a.Band < b.Band
	}
	if a.PriceFrom != b.PriceFrom {
		return a.PriceFrom < b.PriceFrom
	}
	return a.UnitPrice.LessThan(b.UnitPrice)
}

// AssembleBill puts a cycle's rounded postpaid lines and its purchase lines
// together, sets what was paid toward them (a closed bill: postpaidPaid in
// line order; an open one: nothing, see PreviewPaid), and sums the totals
// from the displayed lines.
func AssembleBill(account string, cycle Cycle, status BillStatus, postpaid []Line, roundDown, postpaidPayable, postpaidPaid decimal.Decimal, purchases []Line) *Bill {
	b := &Bill{Account: account, Cycle: cycle, Status: status, PostpaidPayable: postpaidPayable, PostpaidPaid: postpaidPaid}
	b.Lines = append(append(make([]Line, 0, len(postpaid)+len(purchases)), postpaid...), purchases...)
	SortLines(b.Lines)
	if status == BillStatusOpen {
		b.PostpaidPaid = zero
		PreviewPaid(b.Lines)
	} else {
		ApplyPaid(b.Lines, postpaidPaid)
	}
	b.Totals = SumTotals(b.Lines, roundDown)
	return b
}

// SumTotals sums a bill's displayed lines: the one place bill totals are
// computed, for bill views, filtered bills and bill.closed events alike.
func SumTotals(lines []Line, roundDown decimal.Decimal) Totals {
	t := Totals{Original: zero, Discount: zero, Payable: zero, RoundDown: roundDown, Paid: zero, Outstanding: zero}
	for i := range lines {
		l := &lines[i]
		t.Original = t.Original.Add(l.Original)
		t.Discount = t.Discount.Add(l.Discount)
		t.Payable = t.Payable.Add(l.Payable)
		t.Paid = t.Paid.Add(l.Paid)
		t.Outstanding = t.Outstanding.Add(l.Outstanding)
	}
	return t
}
