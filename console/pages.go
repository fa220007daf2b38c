package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/export"
	"github.com/callbill/callbill/jobs"
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
	b, err := s.Store.Bill(ctx, v.UID, pick.Cycle, false)
	if err != nil {
		return err
	}
	daily, err := s.Store.Bill(ctx, v.UID, pick.Cycle, true)
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
		{Key: "payable", Label: v.T("col.payable"), Num: true}, {Key: "outstanding", Label: v.T("col.outstanding"), Num: true}}}
	for _, it := range ov.Items {
		d.Table.Rows = append(d.Table.Rows, []cell{code(it.Product, v.T("product.ccc")),
			code(it.ProductDetail, v.PDName(callbill.ProductDetail(it.ProductDetail))),
			code(it.SubscriptionType, v.T("subtype."+it.SubscriptionType)),
			moneyCell(it.Original), moneyCell(it.Discount), moneyCell(it.Payable), moneyCell(it.Outstanding)})
	}
	d.Table.Foot = []cell{txt(v.T("total")), txt(""), txt(""), moneyCell(ov.Totals.Original), moneyCell(ov.Totals.Discount),
		moneyCell(ov.Totals.Payable), moneyCell(ov.Totals.Outstanding)}
	return s.render(w, r, v, "overview", d)
}

func moneyCell(s string) cell { return cell{Text: MoneyString(s), V: s} }

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
// same lines as the API's bill, under the Chinese names of DESIGN §4.4.
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
		return callbill.Errorf(callbill.EINVALID, "统计项 (by) must be item or instance")
	}
	if period != "" && period != "cycle" && period != "day" {
		return callbill.Errorf(callbill.EINVALID, "统计周期 (period) must be cycle or day")
	}
	if pd != "" && callbill.ProductDetailOrder(callbill.ProductDetail(pd)) == len(callbill.ProductDetails) {
		return callbill.Errorf(callbill.EINVALID, "unknown product detail %q", pd)
	}
	view := callbill.View{ByInstance: by == "instance", Daily: period == "day"}
	b, err := s.Store.Bill(ctx, v.UID, pick.Cycle, view.Daily)
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
	t := table{ID: "bill-table", Empty: v.T("empty.bill")}
	if view.Daily {
		t.Cols = append(t.Cols, col{Key: "date", Label: v.T("col.date")})
	}
	t.Cols = append(t.Cols, col{Key: "product_detail", Label: v.T("col.product_detail"), Wrap: true},
		col{Key: "subscription_type", Label: v.T("col.subscription_type")}, col{Key: "instance", Label: v.T("col.instance")})
	if !view.ByInstance {
		t.Cols = append(t.Cols, col{Key: "item", Label: v.T("col.item"), Wrap: true}, col{Key: "number", Label: v.T("col.number")},
			col{Key: "purchase_id", Label: v.T("col.purchase_id")}, col{Key: "band", Label: v.T("col.band"), Num: true},
			col{Key: "unit_price", Label: v.T("col.unit_price"), Num: true}, col{Key: "price_unit", Label: v.T("col.price_unit")},
			col{Key: "usage", Label: v.T("col.usage"), Num: true}, col{Key: "usage_unit", Label: v.T("col.usage_unit")},
			col{Key: "deducted_by_package", Label: v.T("col.deducted_by_package"), Num: true})
	}
	t.Cols = append(t.Cols, col{Key: "original", Label: v.T("col.original"), Num: true}, col{Key: "discount", Label: v.T("col.discount"), Num: true},
		col{Key: "payable", Label: v.T("col.payable"), Num: true, Stick: 2}, col{Key: "outstanding", Label: v.T("col.outstanding"), Num: true, Stick: 1})
	for _, l := range j.Lines {
		var row []cell
		if view.Daily {
			row = append(row, txt(l.Date))
		}
		row = append(row, code(l.ProductDetail, v.PDName(callbill.ProductDetail(l.ProductDetail))),
			code(l.SubscriptionType, v.T("subtype."+l.SubscriptionType)), txt(l.Instance))
		if !view.ByInstance {
			band := ""
			if l.Band > 0 {
				band = strconv.Itoa(l.Band)
			}
			row = append(row, code(l.Item, v.ItemName(callbill.Item(l.Item))), txt(l.Number), txt(l.PurchaseID), txt(band),
				txt(l.UnitPrice), txt(l.PriceUnit), code(l.Usage, groupString(l.Usage)), txt(l.UsageUnit),
				code(l.DeductedByPackage, groupString(l.DeductedByPackage)))
		}
		row = append(row, moneyCell(l.Original), moneyCell(l.Discount), moneyCell(l.Payable), moneyCell(l.Outstanding))
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
			foot[i] = moneyCell(j.Totals.Outstanding)
		}
	}
	t.Foot = foot
	d.Table = t
	return s.render(w, r, v, "bill", d)
}

// groupString groups a decimal string's whole part by thousands.
func groupString(s string) string {
	if s == "" {
		return ""
	}
	return group(s)
}

// usageQuery is the usage page's filter, as the query string and the
// export form carry it.
type usageQuery struct {
	Mode      string // cycle or range
	Cycle     string
	From, To  string // YYYY-MM-DD, in the billing time zone, both included
	Instance  string
	Item      string
	Number    string
	Direction string
	Size      int
}

func parseUsageQuery(q url.Values) usageQuery {
	u := usageQuery{Mode: q.Get("mode"), Cycle: q.Get("cycle"), From: q.Get("from"), To: q.Get("to"), Instance: q.Get("instance"),
		Item: q.Get("item"), Number: strings.TrimSpace(q.Get("number")), Direction: q.Get("direction")}
	if u.Mode != "range" {
		u.Mode = "cycle"
	}
	u.Size, _ = strconv.Atoi(q.Get("size"))
	if u.Size != 20 && u.Size != 50 && u.Size != 100 {
		u.Size = 50
	}
	return u
}

// filter checks the query and gives the usage filter and the export's
// parameters.
func (u *usageQuery) filter(uid string, loc *time.Location) (callbill.UsageFilter, callbill.ExportParams, error) {
	p := callbill.ExportParams{Account: uid, Instance: u.Instance, Item: u.Item, Number: u.Number, Direction: u.Direction}
	if u.Mode == "range" {
		from, err1 := time.ParseInLocation("2006-01-02", u.From, loc)
		to, err2 := time.ParseInLocation("2006-01-02", u.To, loc)
		if err1 != nil || err2 != nil {
			return callbill.UsageFilter{}, p, callbill.Errorf(callbill.EINVALID, "the dates must be YYYY-MM-DD")
		}
		if to.Before(from) {
			return callbill.UsageFilter{}, p, callbill.Errorf(callbill.EINVALID, "the start date is after the end date")
		}
		p.From, p.To = from.Format(time.RFC3339), to.AddDate(0, 0, 1).Format(time.RFC3339)
	} else {
		p.Cycle = u.Cycle
	}
	if p.Item != "" && p.Item != "none" && !slices.Contains([]callbill.Item{callbill.ItemFixedLineInbound, callbill.ItemFixedLineOutbound, callbill.ItemInbound400}, callbill.Item(p.Item)) {
		return callbill.UsageFilter{}, p, callbill.Errorf(callbill.EINVALID, "unknown call type %q", p.Item)
	}
	f, err := p.Filter()
	f.Limit = u.Size
	return f, p, err
}

// values is the query string of the filter.
func (u *usageQuery) values() url.Values {
	q := url.Values{}
	q.Set("mode", u.Mode)
	if u.Mode == "range" {
		q.Set("from", u.From)
		q.Set("to", u.To)
	} else {
		q.Set("cycle", u.Cycle)
	}
	for k, v := range map[string]string{"instance": u.Instance, "item": u.Item, "number": u.Number, "direction": u.Direction} {
		if v != "" {
			q.Set(k, v)
		}
	}
	q.Set("size", strconv.Itoa(u.Size))
	return q
}

type usageData struct {
	Q         usageQuery
	Pick      *cyclePick
	Instance  []option
	Item      []option
	Direction []option
	Size      []option
	Table     table
	Prev      string
	Next      string
	First     string
	ExportKey string
}

// usage is 用量明细: an account's calls, filtered by cycle or dates,
// instance, call type, number and direction, a keyset page at a time.
func (s *Server) usage(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	v.Nav = "usage"
	pick, loc, err := s.pickCycle(ctx, r, v.UID)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	u := parseUsageQuery(q)
	u.Cycle = pick.Cycle.String()
	if u.Mode == "range" && u.From == "" && u.To == "" {
		start := pick.Cycle.Start(loc)
		u.From, u.To = start.Format("2006-01-02"), pick.Cycle.End(loc).AddDate(0, 0, -1).Format("2006-01-02")
	}
	f, _, err := u.filter(v.UID, loc)
	if err != nil {
		return err
	}
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	if before > 0 {
		f.Desc, f.After = true, before
	} else if after > 0 {
		f.After = after
	}
	calls, next, err := s.Store.Usage(ctx, v.UID, f)
	if err != nil {
		return err
	}
	if f.Desc {
		slices.Reverse(calls)
	}
	d := usageData{Q: u, Pick: pick, ExportKey: newToken(),
		Instance:  []option{{"", v.T("all"), u.Instance == ""}},
		Item:      options(u.Item, "", v.T("all"), string(callbill.ItemFixedLineInbound), v.ItemName(callbill.ItemFixedLineInbound), string(callbill.ItemFixedLineOutbound), v.ItemName(callbill.ItemFixedLineOutbound), string(callbill.ItemInbound400), v.ItemName(callbill.ItemInbound400), "none", v.T("item.none")),
		Direction: options(u.Direction, "", v.T("all"), "inbound", v.T("dir.inbound"), "outbound", v.T("dir.outbound")),
		Size:      options(strconv.Itoa(u.Size), "20", "20", "50", "50", "100", "100")}
	for _, in := range v.Account.Instances {
		d.Instance = append(d.Instance, option{in.ID, in.ID, in.ID == u.Instance})
	}
	base := u.values()
	pageURL := func(k string, seq int64) string {
		qq := url.Values{}
		for key, vals := range base {
			qq[key] = vals
		}
		if k != "" {
			qq.Set(k, strconv.FormatInt(seq, 10))
		}
		return v.A("usage") + "?" + qq.Encode()
	}
	if len(calls) > 0 {
		first, last := calls[0].Seq, calls[len(calls)-1].Seq
		switch {
		case f.Desc:
			d.Next = pageURL("after", last)
			if next != 0 {
				d.Prev = pageURL("before", first)
			}
		default:
			if next != 0 {
				d.Next = pageURL("after", last)
			}
			if f.After > 0 {
				d.Prev = pageURL("before", first)
			}
		}
	}
	if f.After > 0 {
		d.First = pageURL("", 0)
	}
	t := table{ID: "usage-table", Empty: v.T("empty.usage"), Cols: []col{
		{Key: "seq", Label: v.T("col.seq"), Num: true}, {Key: "start", Label: v.T("col.start")}, {Key: "end", Label: v.T("col.end")},
		{Key: "instance", Label: v.T("col.instance")}, {Key: "direction", Label: v.T("col.direction")},
		{Key: "caller", Label: v.T("col.caller")}, {Key: "callee", Label: v.T("col.callee")},
		{Key: "minutes", Label: v.T("col.minutes"), Num: true}, {Key: "item", Label: v.T("col.calltype")},
		{Key: "covered_minutes", Label: v.T("col.covered"), Num: true}, {Key: "platform_minutes", Label: v.T("col.platform"), Num: true},
		{Key: "charge", Label: v.T("col.charge"), Num: true, Stick: 1}}}
	for _, c := range calls {
		item := v.T("item.none")
		if c.Item != "" {
			item = v.ItemName(c.Item)
		}
		start := dateTime(time.Unix(c.Start, 0), loc)
		if c.Late {
			start += " " + v.T("late")
		}
		end := dateTime(time.Unix(c.End, 0), loc)
		if end[:10] == start[:10] {
			end = end[11:]
		}
		charge := callbill.FromMicro(c.ChargeMicro)
		t.Rows = append(t.Rows, []cell{code(strconv.FormatInt(c.Seq, 10), strconv.FormatInt(c.Seq, 10)),
			code(time.Unix(c.Start, 0).In(loc).Format(time.RFC3339), start), code(time.Unix(c.End, 0).In(loc).Format(time.RFC3339), end),
			txt(c.InstanceID), code(string(c.Direction), v.T("dir."+string(c.Direction))), txt(c.Caller), txt(c.Callee),
			code(strconv.FormatInt(c.Minutes, 10), Int(c.Minutes)), code(string(c.Item), item),
			code(strconv.FormatInt(c.CoveredMinutes, 10), Int(c.CoveredMinutes)), code(strconv.FormatInt(c.PlatformMinutes, 10), Int(c.PlatformMinutes)),
			code(charge.String(), MoneyString(charge.String()))})
	}
	d.Table = t
	return s.render(w, r, v, "usage", d)
}

var formKey = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

// createExport is 导出CSV: it queues an export job of the filter, as the
// API does, and goes to the export records. The form's key (new with every
// page) makes a double click one job.
func (s *Server) createExport(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	u := parseUsageQuery(r.PostForm)
	_, p, err := u.filter(v.UID, loc)
	if err != nil {
		return err
	}
	if p.Cycle == "" && p.From == "" {
		return callbill.Errorf(callbill.EINVALID, "an export needs a cycle or dates")
	}
	key := r.PostFormValue("key")
	if !formKey.MatchString(key) {
		return callbill.Errorf(callbill.EINVALID, "the export form has no key; reload the page")
	}
	job, _, err := (jobs.Service{Store: s.Store}).RequestExport(ctx, jobs.ExportInput{Key: "console-" + key, Params: p})
	if err != nil {
		return err
	}
	http.Redirect(w, r, v.A("exports")+"?job="+strconv.FormatInt(job.ID, 10), http.StatusSeeOther)
	return nil
}

type exportsData struct {
	Table   table
	Running bool
	New     int64
	More    int
}

// maxExportRows is how many export records the page lists.
const maxExportRows = 100

// exports is 导出记录: the account's export jobs, newest first; the page
// reloads itself while any is queued or running.
func (s *Server) exports(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	v.Nav = "exports"
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	list, err := (jobs.Service{Store: s.Store}).List(ctx, callbill.JobQuery{Kind: callbill.JobExport, Account: v.UID})
	if err != nil {
		return err
	}
	d := exportsData{}
	d.New, _ = strconv.ParseInt(r.URL.Query().Get("job"), 10, 64)
	if len(list) > maxExportRows {
		d.More = len(list) - maxExportRows
		list = list[:maxExportRows]
	}
	t := table{ID: "exports-table", Empty: v.T("empty.exports"), Cols: []col{
		{Key: "id", Label: v.T("col.job"), Num: true}, {Key: "created_at", Label: v.T("col.created")},
		{Key: "params", Label: v.T("col.params")}, {Key: "status", Label: v.T("col.status")},
		{Key: "rows", Label: v.T("col.rows"), Num: true}, {Key: "bytes", Label: v.T("col.size"), Num: true},
		{Key: "finished_at", Label: v.T("col.finished")}, {Key: "expires_at", Label: v.T("col.expires")},
		{Key: "file", Label: v.T("col.action")}}}
	for _, j := range list {
		var p callbill.ExportParams
		json.Unmarshal([]byte(j.Params), &p)
		var res export.Result
		json.Unmarshal([]byte(j.Result), &res)
		if j.Status == callbill.JobQueued || j.Status == callbill.JobRunning {
			d.Running = true
		}
		st := v.T("job." + string(j.Status))
		if j.Status == callbill.JobFailed && j.Error != "" {
			st += ": " + j.Error
		}
		expires, file := "", txt("")
		if j.Status == callbill.JobDone || j.Status == callbill.JobExpired {
			expires = dateTime(j.FinishedAt.AddDate(0, 0, callbill.ExportKeepDays), loc)
		}
		if j.Status == callbill.JobDone {
			file = cell{Text: v.T("download"), V: "file", Href: v.A("exports/" + strconv.FormatInt(j.ID, 10) + "/file")}
		}
		rows, size := cell{}, cell{}
		if j.Status == callbill.JobDone || j.Status == callbill.JobExpired {
			rows = code(strconv.FormatInt(res.Rows, 10), Int(res.Rows))
			size = code(strconv.FormatInt(res.Bytes, 10), byteSize(res.Bytes))
		}
		t.Rows = append(t.Rows, []cell{code(strconv.FormatInt(j.ID, 10), strconv.FormatInt(j.ID, 10)), txt(dateTime(j.CreatedAt, loc)),
			txt(describeExport(v, &p, loc)), code(string(j.Status), st), rows, size, txt(dateTime(j.FinishedAt, loc)), txt(expires), file})
	}
	d.Table = t
	if d.Running {
		v.Refresh = 2
	}
	return s.render(w, r, v, "exports", d)
}

func describeExport(v *view, p *callbill.ExportParams, loc *time.Location) string {
	var parts []string
	if p.Cycle != "" {
		parts = append(parts, v.T("label.cycle")+" "+p.Cycle)
	} else {
		from, _ := time.Parse(time.RFC3339, p.From)
		to, _ := time.Parse(time.RFC3339, p.To)
		parts = append(parts, from.In(loc).Format("2006-01-02")+" ~ "+to.In(loc).Add(-time.Second).Format("2006-01-02"))
	}
	if p.Instance != "" {
		parts = append(parts, p.Instance)
	}
	if p.Item == "none" {
		parts = append(parts, v.T("item.none"))
	} else if p.Item != "" {
		parts = append(parts, v.ItemName(callbill.Item(p.Item)))
	}
	if p.Number != "" {
		parts = append(parts, p.Number)
	}
	if p.Direction != "" {
		parts = append(parts, v.T("dir."+p.Direction))
	}
	if p.Format != "" && p.Format != "csv" {
		parts = append(parts, strings.ToUpper(p.Format))
	}
	return strings.Join(parts, " · ")
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// exportFile sends a finished export of the account. Files are opened
// through os.Root on the export folder, so no stored name leads outside it.
func (s *Server) exportFile(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return callbill.Errorf(callbill.ENOTFOUND, "export not found")
	}
	j, err := s.Store.Job(r.Context(), id)
	if err != nil {
		return err
	}
	if j.Kind != callbill.JobExport || j.Account != v.UID {
		return callbill.Errorf(callbill.ENOTFOUND, "export %d not found", id)
	}
	if j.Status != callbill.JobDone {
		return callbill.Errorf(callbill.ECONFLICT, "export %d is %s, not done", j.ID, j.Status)
	}
	root, err := os.OpenRoot(s.ExportDir)
	if err != nil {
		return err
	}
	defer root.Close()
	var res export.Result
	json.Unmarshal([]byte(j.Result), &res)
	name := filepath.Base(res.Path)
	f, err := root.Open(name)
	if err != nil {
		return callbill.Errorf(callbill.ENOTFOUND, "the file of export %d is gone", j.ID)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	ext, kind := ".csv", "text/csv; charset=utf-8"
	if strings.HasSuffix(name, ".xlsx") {
		ext, kind = ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	w.Header().Set("Content-Type", kind)
	w.Header().Set("Content-Disposition", `attachment; filename="usage-`+j.Account+`-`+strconv.FormatInt(j.ID, 10)+ext+`"`)
	http.ServeContent(w, r, "", st.ModTime(), f)
	return nil
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
			reason = strings.TrimSpace(reason + " (" + v.T("corrects") + " " + e.Corrects + ")")
		}
		d.Ledger.Rows = append(d.Ledger.Rows, []cell{code(strconv.FormatInt(e.Seq, 10), strconv.FormatInt(e.Seq, 10)),
			code(e.At.In(loc).Format(time.RFC3339), dateTime(e.At, loc)), code(string(e.Kind), v.T("ledger."+string(e.Kind))),
			code(callbill.FormatMoney(e.Amount), Money(e.Amount)), code(callbill.FormatMoney(e.Balance), Money(e.Balance)), txt(e.Ref), txt(reason)})
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
