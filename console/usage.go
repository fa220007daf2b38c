package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
)

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
func (u *usageQuery) filter(v *view, uid string, loc *time.Location) (callbill.UsageFilter, callbill.ExportParams, error) {
	p := callbill.ExportParams{Account: uid, Instance: u.Instance, Item: u.Item, Number: u.Number, Direction: u.Direction}
	if u.Mode == "range" {
		from, err1 := time.ParseInLocation("2006-01-02", u.From, loc)
		to, err2 := time.ParseInLocation("2006-01-02", u.To, loc)
		if err1 != nil || err2 != nil {
			return callbill.UsageFilter{}, p, v.errf(callbill.EINVALID, "err.dates")
		}
		if to.Before(from) {
			return callbill.UsageFilter{}, p, v.errf(callbill.EINVALID, "err.date_order")
		}
		p.From, p.To = from.Format(time.RFC3339), to.AddDate(0, 0, 1).Format(time.RFC3339)
	} else {
		p.Cycle = u.Cycle
	}
	if p.Item != "" && p.Item != "none" && !slices.Contains([]callbill.Item{callbill.ItemFixedLineInbound, callbill.ItemFixedLineOutbound, callbill.ItemInbound400}, callbill.Item(p.Item)) {
		return callbill.UsageFilter{}, p, v.errf(callbill.EINVALID, "err.calltype", short(p.Item))
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

// maxPosition bounds the position a page's link says it starts at.
const maxPosition = 1_000_000_000_000

// firstPosition is the position in the listing (1, 2, 3 …, continuing
// across pages) of a page's first row, 0 when it is not known (a page
// link made by hand, without n). A page without a keyset starts at 1; a
// page after= starts at n; a page before= ends right before n; and a page
// before= with nothing before it is the first page whatever n says.
func firstPosition(nParam string, after, before int64, rows int, firstPage bool) int64 {
	if after <= 0 && before <= 0 || firstPage {
		return 1
	}
	n, err := strconv.ParseInt(nParam, 10, 64)
	if err != nil || n < 1 || n > maxPosition {
		return 0
	}
	if before > 0 {
		n -= int64(rows)
	}
	return max(n, 0)
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
	f, _, err := u.filter(v, v.UID, loc)
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
	first := firstPosition(q.Get("n"), after, before, len(calls), f.Desc && next == 0)
	d := usageData{Q: u, Pick: pick, ExportKey: newToken(),
		Instance:  []option{{"", v.T("all"), u.Instance == ""}},
		Item:      options(u.Item, "", v.T("all"), string(callbill.ItemFixedLineInbound), v.ItemName(callbill.ItemFixedLineInbound), string(callbill.ItemFixedLineOutbound), v.ItemName(callbill.ItemFixedLineOutbound), string(callbill.ItemInbound400), v.ItemName(callbill.ItemInbound400), "none", v.T("item.none")),
		Direction: options(u.Direction, "", v.T("all"), "inbound", v.T("dir.inbound"), "outbound", v.T("dir.outbound")),
		Size:      options(strconv.Itoa(u.Size), "20", "20", "50", "50", "100", "100")}
	for _, in := range v.Account.Instances {
		d.Instance = append(d.Instance, option{in.ID, in.ID, in.ID == u.Instance})
	}
	base := u.values()
	// A page's link carries, beside its keyset, the position of the row
	// the page starts after (after=) or ends before (before=): the next
	// page's first row is this page's first + its rows; the previous
	// page ends right before this page's first row.
	pageURL := func(k string, seq, n int64) string {
		qq := url.Values{}
		for key, vals := range base {
			qq[key] = vals
		}
		if k != "" {
			qq.Set(k, strconv.FormatInt(seq, 10))
			if n > 0 {
				qq.Set("n", strconv.FormatInt(n, 10))
			}
		}
		return v.A("usage") + "?" + qq.Encode()
	}
	nextPos := int64(0)
	if first > 0 {
		nextPos = first + int64(len(calls))
	}
	if len(calls) > 0 {
		firstSeq, lastSeq := calls[0].Seq, calls[len(calls)-1].Seq
		switch {
		case f.Desc:
			d.Next = pageURL("after", lastSeq, nextPos)
			if next != 0 {
				d.Prev = pageURL("before", firstSeq, first)
			}
		default:
			if next != 0 {
				d.Next = pageURL("after", lastSeq, nextPos)
			}
			if f.After > 0 {
				d.Prev = pageURL("before", firstSeq, first)
			}
		}
	}
	if f.After > 0 {
		d.First = pageURL("", 0, 0)
	}
	t := table{ID: "usage-table", Empty: v.T("empty.usage"), Cols: []col{
		{Key: "no", Label: v.T("col.seq"), Num: true}, {Key: "start", Label: v.T("col.start")}, {Key: "end", Label: v.T("col.end")},
		{Key: "instance", Label: v.T("col.instance")}, {Key: "direction", Label: v.T("col.direction")},
		{Key: "caller", Label: v.T("col.caller")}, {Key: "callee", Label: v.T("col.callee")},
		{Key: "minutes", Label: v.T("col.minutes"), Num: true}, {Key: "item", Label: v.T("col.calltype")},
		{Key: "covered_minutes", Label: v.T("col.covered"), Num: true}, {Key: "platform_minutes", Label: v.T("col.platform"), Num: true},
		{Key: "charge", Label: v.T("col.charge"), Num: true, Stick: 1}}}
	for i, c := range calls {
		no := ""
		if first > 0 {
			no = strconv.FormatInt(first+int64(i), 10)
		}
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
		t.Rows = append(t.Rows, []cell{code(no, groupString(no)),
			code(time.Unix(c.Start, 0).In(loc).Format(time.RFC3339), start), code(time.Unix(c.End, 0).In(loc).Format(time.RFC3339), end),
			txt(c.InstanceID), code(string(c.Direction), v.T("dir."+string(c.Direction))), txt(c.Caller), txt(c.Callee),
			code(strconv.FormatInt(c.Minutes, 10), Int(c.Minutes)), code(string(c.Item), item),
			code(strconv.FormatInt(c.CoveredMinutes, 10), Int(c.CoveredMinutes)), code(strconv.FormatInt(c.PlatformMinutes, 10), Int(c.PlatformMinutes)),
			code(charge.String(), MoneyString(charge.String()))})
	}
	d.Table = t
	return s.render(w, r, v, "usage", d)
}
