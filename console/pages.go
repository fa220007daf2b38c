package console

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
)

// option is an entry of a select.
type option struct {
	Value, Label string
	Selected     bool
}

func options(selected string, pairs ...string) []option {
	var out []option
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, option{pairs[i], pairs[i+1], pairs[i] == selected})
	}
	return out
}

// cyclePick is a page's cycle: the one asked for, else the newest cycle
// holding anything, else the current one; and the picker's choices.
type cyclePick struct {
	Cycle   callbill.Cycle
	Options []option
}

func (s *Server) pickCycle(ctx context.Context, r *http.Request, uid string) (*cyclePick, *time.Location, error) {
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return nil, nil, err
	}
	have, err := s.Store.BillCycles(ctx, uid)
	if err != nil {
		return nil, nil, err
	}
	current := callbill.CycleOf(s.Now(), loc)
	p := &cyclePick{Cycle: current}
	for i := len(have) - 1; i >= 0; i-- {
		if have[i] <= current {
			p.Cycle = have[i]
			break
		}
	}
	if q := r.URL.Query().Get("cycle"); q != "" {
		c, err := callbill.ParseCycle(q)
		if err != nil {
			return nil, nil, err
		}
		p.Cycle = c
	}
	for _, c := range cycleOptions(have, current) {
		p.Options = append(p.Options, option{c.String(), c.String(), c == p.Cycle})
	}
	if !slices.ContainsFunc(p.Options, func(o option) bool { return o.Selected }) {
		p.Options = append([]option{{p.Cycle.String(), p.Cycle.String(), true}}, p.Options...)
	}
	return p, loc, nil
}

type overviewData struct {
	Pick   *cyclePick
	Bill   callbill.OverviewJSON
	Table  table
	Daily  chart
	Items  chart
	Closed bool
	// Budget is the budget banner: each budget whose threshold fired in
	// the open cycle shown, by its highest threshold.
	Budget []string
}

// overview is 账单概览: a cycle's totals, its sums by product detail, the
// payable of each day and of each billing item.
func (s *Server) overview(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	v.Nav = "overview"
	pick, _, err := s.pickCycle(ctx, r, v.UID)
	if err != nil {
		return err
	}
	b, err := s.bills().Bill(ctx, closing.BillInput{Account: v.UID, Cycle: pick.Cycle})
	if err != nil {
		return err
	}
	daily, err := s.bills().Bill(ctx, closing.BillInput{Account: v.UID, Cycle: pick.Cycle, Daily: true})
	if err != nil {
		return err
	}
	ov := b.Overview()
	d := overviewData{Pick: pick, Bill: ov, Closed: b.Status == callbill.BillStatusClosed,
		Daily: dailyChart(daily, v.lang), Items: itemChart(b, v.lang)}
	d.Table = table{ID: "overview-table", Empty: v.T("empty.bill"), Cols: []col{
		{Key: "product", Label: v.T("col.product")}, {Key: "product_detail", Label: v.T("col.product_detail")},
		{Key: "subscription_type", Label: v.T("col.subscription_type")},
		{Key: "original", Label: v.T("col.original"), Num: true}, {Key: "discount", Label: v.T("col.discount"), Num: true},
		{Key: "payable", Label: payableLabel(v, b.Status), Num: true}, {Key: "outstanding", Label: v.T("col.outstanding"), Num: true}}}
	for _, it := range ov.Items {
		d.Table.Rows = append(d.Table.Rows, []cell{code(it.Product, v.T("product.ccc")),
			code(it.ProductDetail, v.PDName(callbill.ProductDetail(it.ProductDetail))),
			code(it.SubscriptionType, v.T("subtype."+it.SubscriptionType)),
			moneyCell(it.Original), moneyCell(it.Discount), moneyCell(it.Payable), owedCell(v, b.Status, it.SubscriptionType, it.Outstanding)})
	}
	d.Table.Foot = []cell{txt(v.T("total")), txt(""), txt(""), moneyCell(ov.Totals.Original), moneyCell(ov.Totals.Discount),
		moneyCell(ov.Totals.Payable), owedCell(v, b.Status, "", ov.Totals.Outstanding)}
	if !d.Closed {
		if d.Budget, err = s.budgetBanner(ctx, v, pick.Cycle); err != nil {
			return err
		}
	}
	return s.render(w, r, v, "overview", d)
}

func moneyCell(s string) cell { return cell{Text: MoneyString(s), V: s} }

// owedCell is an outstanding amount; on an open cycle's pay-as-you-go rows
// and totals it is "—" (settled at the close), its raw value the API's
// "0.00" (docs/rules.md, "Open cycle preview").
func owedCell(v *view, status callbill.BillStatus, subscriptionType, s string) cell {
	if callbill.SettledAtClose(status, subscriptionType) {
		return cell{Text: "—", V: s, Title: v.T("bill.at_close")}
	}
	return moneyCell(s)
}

// payableLabel is 应付金额, or 预估应付 on an open cycle, whose payable is an
// estimate until the close.
func payableLabel(v *view, status callbill.BillStatus) string {
	if status == callbill.BillStatusOpen {
		return v.T("col.payable_estimate")
	}
	return v.T("col.payable")
}

type billData struct {
	Pick      *cyclePick
	By        []option
	Period    []option
	Product   []option
	PD        []option
	Instance  []option
	Table     table
	Status    callbill.BillStatus
	Totals    callbill.TotalsJSON
	Adjust    []callbill.AdjustmentJSON
	RoundDown string
}

// billDetails is 账单明细: a cycle's lines by billing item or instance, by
// cycle or day, filtered by product, product detail and instance — the
// same lines as the API's bill, under the Chinese names of docs/rules.md, "Bill totals and JSON".
func (s *Server) billDetails(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	v.Nav = "bill"
	q := r.URL.Query()
	pick, _, err := s.pickCycle(ctx, r, v.UID)
	if err != nil {
		return err
	}
	by, period, product, pd, inst := q.Get("by"), q.Get("period"), q.Get("product"), q.Get("product_detail"), q.Get("instance")
	if by != "" && by != "item" && by != "instance" {
		return v.errf(callbill.EINVALID, "err.by")
	}
	if period != "" && period != "cycle" && period != "day" {
		return v.errf(callbill.EINVALID, "err.period")
	}
	if pd != "" && callbill.ProductDetailOrder(callbill.ProductDetail(pd)) == len(callbill.ProductDetails) {
		return v.errf(callbill.EINVALID, "err.product_detail", short(pd))
	}
	view := callbill.View{ByInstance: by == "instance", Daily: period == "day"}
	b, err := s.bills().Bill(ctx, closing.BillInput{Account: v.UID, Cycle: pick.Cycle, Daily: view.Daily})
	if err != nil {
		return err
	}
	if product != "" && product != "ccc" {
		b = b.Filter("-", "-") // no line belongs to another product
	}
	if pd != "" || inst != "" {
		b = b.Filter(callbill.ProductDetail(pd), inst)
	}
	j := b.JSON(view)
	for i, a := range j.Adjustments {
		if a.Corrects != "" {
			j.Adjustments[i].Corrects = v.T("corrects") + " " + refCell(v, a.Corrects, pick.Cycle).Text
		}
	}
	d := billData{Pick: pick, Status: j.Status, Totals: j.Totals, Adjust: j.Adjustments, RoundDown: j.Totals.RoundDown,
		By:      options(by, "item", v.T("by.item"), "instance", v.T("by.instance")),
		Period:  options(period, "cycle", v.T("period.cycle"), "day", v.T("period.day")),
		Product: options(product, "", v.T("all"), "ccc", v.T("product.ccc")),
		PD:      []option{{"", v.T("all"), pd == ""}}, Instance: []option{{"", v.T("all"), inst == ""}}}
	for _, p := range callbill.ProductDetails {
		d.PD = append(d.PD, option{string(p), v.PDName(p), string(p) == pd})
	}
	for _, in := range v.Account.Instances {
		d.Instance = append(d.Instance, option{in.ID, in.ID, in.ID == inst})
	}
	t := table{ID: "bill-table", Empty: v.T("empty.bill"), Cards: true}
	if view.Daily {
		t.Cols = append(t.Cols, col{Key: "date", Label: v.T("col.date")})
	}
	t.Cols = append(t.Cols, col{Key: "product_detail", Label: v.T("col.product_detail"), Wrap: true},
		col{Key: "subscription_type", Label: v.T("col.subscription_type"), Break: true}, col{Key: "instance", Label: v.T("col.instance")})
	if !view.ByInstance {
		t.Cols = append(t.Cols, col{Key: "item", Label: v.T("col.item"), Wrap: true}, col{Key: "number", Label: v.T("col.number")},
			col{Key: "purchase_id", Label: v.T("col.purchase_id")}, col{Key: "band", Label: v.T("col.band"), Num: true},
			col{Key: "unit_price", Label: v.T("col.unit_price"), Num: true}, col{Key: "price_unit", Label: v.T("col.price_unit"), Break: true},
			col{Key: "usage", Label: v.T("col.usage"), Num: true}, col{Key: "usage_unit", Label: v.T("col.usage_unit"), Break: true},
			col{Key: "deducted_by_package", Label: v.T("col.deducted_by_package"), Num: true})
	}
	t.Cols = append(t.Cols, col{Key: "original", Label: v.T("col.original"), Num: true}, col{Key: "discount", Label: v.T("col.discount"), Num: true},
		col{Key: "payable", Label: payableLabel(v, b.Status), Num: true, Stick: 2}, col{Key: "outstanding", Label: v.T("col.outstanding"), Num: true, Stick: 1})
	for _, l := range j.Lines {
		var row []cell
		if view.Daily {
			// The year is the page's cycle's: a day is shown as MM-DD,
			// which keeps the 17 columns within 1280 px.
			row = append(row, code(l.Date, strings.TrimPrefix(l.Date, pick.Cycle.String()[:5])))
		}
		row = append(row, code(l.ProductDetail, v.PDName(callbill.ProductDetail(l.ProductDetail))),
			code(l.SubscriptionType, v.T("subtype."+l.SubscriptionType)), txt(l.Instance))
		if !view.ByInstance {
			band := ""
			if l.Band > 0 {
				band = strconv.Itoa(l.Band)
			}
			row = append(row, code(l.Item, v.ItemName(callbill.Item(l.Item))), txt(l.Number), txt(l.PurchaseID), txt(band),
				txt(l.UnitPrice), code(l.PriceUnit, v.Unit(l.PriceUnit)), code(l.Usage, groupString(l.Usage)), code(l.UsageUnit, v.Unit(l.UsageUnit)),
				code(l.DeductedByPackage, groupString(l.DeductedByPackage)))
		}
		row = append(row, moneyCell(l.Original), moneyCell(l.Discount), moneyCell(l.Payable), owedCell(v, j.Status, l.SubscriptionType, l.Outstanding))
		t.Rows = append(t.Rows, row)
	}
	foot := make([]cell, len(t.Cols))
	foot[0] = txt(v.T("total"))
	for i, c := range t.Cols {
		switch c.Key {
		case "original":
			foot[i] = moneyCell(j.Totals.Original)
		case "discount":
			foot[i] = moneyCell(j.Totals.Discount)
		case "payable":
			foot[i] = moneyCell(j.Totals.Payable)
		case "outstanding":
			foot[i] = owedCell(v, j.Status, "", j.Totals.Outstanding)
		}
	}
	t.Foot = foot
	d.Table = t
	return s.render(w, r, v, "bill", d)
}

// refCell shows what a ledger entry belongs to (its Ref, kept raw in the
// cell's value): a bill as "2026-11 账单", linked to its overview; a
// purchase as "订单 P-1", linked to the bill details of its cycle (its
// line is there); a top-up's or an adjustment's key as it is.
func refCell(v *view, ref string, cycle callbill.Cycle) cell {
	kind, id, _ := strings.Cut(ref, ":")
	switch kind {
	case "bill":
		if c, err := callbill.ParseCycle(id); err == nil {
			return cell{Text: fmt.Sprintf(v.T("ref.bill"), c), V: ref, Href: v.A("overview?cycle=" + c.String())}
		}
	case "purchase":
		if id != "" && cycle != 0 {
			return cell{Text: fmt.Sprintf(v.T("ref.purchase"), id), V: ref, Href: v.A("bill?cycle=" + cycle.String())}
		}
	case "topup", "adjust":
		if id != "" {
			return code(ref, id)
		}
	}
	return txt(ref)
}

// groupString groups a decimal string's whole part by thousands.
func groupString(s string) string {
	if s == "" {
		return ""
	}
	return group(s)
}

type packagesData struct {
	Table table
}

// packages is 资源包: the account's voice packages, what is left of them
// and when they expire.
func (s *Server) packages(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	v.Nav = "packages"
	ps, now, err := s.Store.VoicePackages(ctx, v.UID)
	if err != nil {
		return err
	}
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	slices.Reverse(ps) // newest first
	t := table{ID: "packages-table", Empty: v.T("empty.packages"), Cols: []col{
		{Key: "id", Label: v.T("col.package")}, {Key: "type", Label: v.T("col.package_type")},
		{Key: "minutes", Label: v.T("col.package_minutes"), Num: true}, {Key: "used", Label: v.T("col.used"), Num: true},
		{Key: "remaining", Label: v.T("col.remaining"), Num: true}, {Key: "left", Label: v.T("col.left"), Num: true},
		{Key: "from", Label: v.T("col.valid_from")}, {Key: "until", Label: v.T("col.valid_until")}, {Key: "status", Label: v.T("col.status")}}}
	for _, p := range ps {
		st := "available"
		switch {
		case now.Before(p.From):
			st = "not_yet_valid"
		case !p.ValidAt(now):
			st = "expired"
		case p.Remaining == 0:
			st = "used_up"
		}
		left := 0
		if p.Minutes > 0 {
			left = int(p.Remaining * 100 / p.Minutes)
		}
		t.Rows = append(t.Rows, []cell{txt(p.ID), code(string(p.Type), v.T("pkg."+string(p.Type))),
			code(strconv.FormatInt(p.Minutes, 10), Int(p.Minutes)), code(strconv.FormatInt(p.Minutes-p.Remaining, 10), Int(p.Minutes-p.Remaining)),
			code(strconv.FormatInt(p.Remaining, 10), Int(p.Remaining)), code(strconv.Itoa(left), strconv.Itoa(left)+"%"),
			code(p.From.In(loc).Format(time.RFC3339), dateTime(p.From, loc)), code(p.Until.In(loc).Format(time.RFC3339), dateTime(p.Until, loc)),
			code(st, v.T("pkgstate."+st))})
	}
	return s.render(w, r, v, "packages", packagesData{Table: t})
}

type accountData struct {
	Status  *callbill.AccountStatus
	Cards   []card
	Ledger  table
	Events  table
	Omitted int
}

type card struct {
	ID, Label, Text, V string
	Warn               bool
}

// maxLedgerRows is how many ledger entries the account page lists.
const maxLedgerRows = 500

// account is 账户: balance, credit line, arrears, state, and the ledger
// statement with its running balance.
func (s *Server) account(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	v.Nav = "account"
	st, err := s.Store.Status(ctx, v.UID)
	if err != nil {
		return err
	}
	entries, err := s.Store.Ledger(ctx, v.UID)
	if err != nil {
		return err
	}
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	sd := st.Standing
	d := accountData{Status: st, Cards: []card{
		{ID: "cash", Label: v.T("acct.cash"), Text: Money(sd.Cash), V: callbill.FormatMoney(sd.Cash)},
		{ID: "credit_line", Label: v.T("acct.credit"), Text: Money(sd.CreditLine), V: callbill.FormatMoney(sd.CreditLine)},
		{ID: "outstanding", Label: v.T("acct.outstanding"), Text: Money(sd.Outstanding), V: callbill.FormatMoney(sd.Outstanding), Warn: sd.Outstanding.IsPositive()},
		{ID: "available", Label: v.T("acct.available"), Text: Money(sd.Available()), V: callbill.FormatMoney(sd.Available()), Warn: sd.Available().IsNegative()},
		{ID: "state", Label: v.T("acct.state"), Text: v.T("state." + string(st.State)), V: string(st.State), Warn: st.State != callbill.StateNormal},
		{ID: "allowance", Label: v.T("acct.allowance"), Text: Money(sd.Allowance), V: callbill.FormatMoney(sd.Allowance)},
	}}
	slices.Reverse(entries)
	if len(entries) > maxLedgerRows {
		d.Omitted = len(entries) - maxLedgerRows
		entries = entries[:maxLedgerRows]
	}
	d.Ledger = table{ID: "ledger-table", Empty: v.T("empty.ledger"), Cols: []col{
		{Key: "seq", Label: v.T("col.seq"), Num: true}, {Key: "at", Label: v.T("col.time")}, {Key: "kind", Label: v.T("col.kind")},
		{Key: "amount", Label: v.T("col.amount"), Num: true}, {Key: "balance", Label: v.T("col.balance"), Num: true},
		{Key: "ref", Label: v.T("col.ref")}, {Key: "reason", Label: v.T("col.reason")}}}
	for _, e := range entries {
		reason := e.Reason
		if e.Corrects != "" {
			reason = strings.TrimSpace(reason + " (" + v.T("corrects") + " " + refCell(v, e.Corrects, e.Cycle).Text + ")")
		}
		d.Ledger.Rows = append(d.Ledger.Rows, []cell{code(strconv.FormatInt(e.Seq, 10), strconv.FormatInt(e.Seq, 10)),
			code(e.At.In(loc).Format(time.RFC3339), dateTime(e.At, loc)), code(string(e.Kind), v.T("ledger."+string(e.Kind))),
			code(callbill.FormatMoney(e.Amount), Money(e.Amount)), code(callbill.FormatMoney(e.Balance), Money(e.Balance)), refCell(v, e.Ref, e.Cycle), txt(reason)})
	}
	d.Events = table{ID: "events-table", Empty: v.T("empty.events"), Cols: []col{
		{Key: "at", Label: v.T("col.time")}, {Key: "kind", Label: v.T("col.kind")}, {Key: "state", Label: v.T("acct.state")},
		{Key: "cause", Label: v.T("col.cause")}}}
	for _, e := range st.Events {
		state := ""
		if e.State != "" {
			state = v.T("state." + string(e.State))
		}
		d.Events.Rows = append(d.Events.Rows, []cell{code(e.At.In(loc).Format(time.RFC3339), dateTime(e.At, loc)),
			code(e.Kind, v.T("event."+e.Kind)), code(string(e.State), state), txt(e.Cause)})
	}
	return s.render(w, r, v, "account", d)
}
