package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/console"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/world"
)

// newDailyFixture serves an account at a contract of 0.85 with a payg and a
// subscription instance and a few calls on every day of 2026-10 whose
// payables have fractions of a fen — a bill whose day view, when the day
// lines were rounded as one list, showed 25.73 / 3.86 / 21.87 against the
// month's 25.72 / 3.85 / 21.87 (and 17.04 / 2.52 / 14.52 against 17.04 /
// 2.55 / 14.49 for 云呼叫中心（后付费）). 2026-10 is open (ended, not closed);
// a voice package bought in it (fixed inbound, which no call uses: 290 at
// 0.85 = 246.50) is paid, and leaves 3.50 of cash for the close.
func newDailyFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlstore.Open(ctx, filepath.Join(dir, "daily.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := func() time.Time { return time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC) }
	s.Now = now
	s.MasterKey = []byte("0123456789abcdef0123456789abcdef")
	w, ps := world.Parse([]byte(`
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
  - {id: T1, account: "2001", amount: "250.00", at: "2026-10-01T08:00:00+08:00"}
purchases:
  - {id: P1, account: "2001", at: "2026-10-01T09:00:00+08:00", voice_package: {type: fixed_inbound, minutes: 10000}}
`))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if _, err := (&provision.Service{Store: s}).Apply(ctx, provision.ApplyInput{World: w}); err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("contact_id,instance_id,direction,caller,callee,start_time,end_time\n")
	for d := 1; d <= 31; d++ {
		start := time.Date(2026, 10, d, 10, 0, 0, 0, time.FixedZone("CST", 8*3600)).Unix()
		fmt.Fprintf(&csv, "p%d,day-p,inbound,13800000000,0571102,%d,%d\n", d, start, start+int64(d%3+1)*60)
		fmt.Fprintf(&csv, "o%d,day-p,outbound,0571101,13800000000,%d,%d\n", d, start, start+int64(d*7%5+1)*60)
		fmt.Fprintf(&csv, "s%d,day-s,outbound,0571103,13800000000,%d,%d\n", d, start, start+int64(d*3%4+1)*60)
	}
	dec, err := cdr.NewDecoder(strings.NewReader(csv.String()))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := (&ingest.Service{Store: s}).Import(ctx, ingest.Input{Source: cdr.Source(dec, 0), ImportOptions: callbill.ImportOptions{}})
	if err != nil || rep.Imported != 93 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	key, err := s.CreateAccessKey(ctx, "2001")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := &fixture{store: s, exports: filepath.Join(dir, "exports"), cycle: callbill.NewCycle(2026, 10), uid1: "2001", key1: key}
	f.cons = &console.Server{Store: s, OperatorKey: operatorKey, ExportDir: f.exports, Log: log, Now: now}
	as := &api.Server{Store: s, Money: s, Rest: s, Keys: s, OperatorKey: operatorKey, ExportDir: f.exports, Log: log}
	mux := http.NewServeMux()
	mux.Handle("/console/", f.cons.Handler())
	mux.Handle("/api/", as.Handler())
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// TestDayViewTotalsEqualTheMonth: 账单明细 by day shows, for every filter,
// the totals 账单明细 by month shows — open and closed.
func TestDayViewTotalsEqualTheMonth(t *testing.T) {
	f := newDailyFixture(t)
	c := f.tenant(t)
	check := func(t *testing.T, paid, outstanding string) {
		for _, q := range []struct{ query, original, discount, payable string }{
			{"", "315.72", "47.35", "268.37"},
			{"&product_detail=ccc_postpaid", "17.04", "2.55", "14.49"},
			{"&product=ccc&product_detail=ccc_subscription", "8.68", "1.30", "7.38"},
			{"&instance=day-s", "8.68", "1.30", "7.38"},
			{"&by=instance", "315.72", "47.35", "268.37"},
			{"&by=instance&product_detail=ccc_postpaid", "17.04", "2.55", "14.49"},
		} {
			base := "/console/a/2001/bill?cycle=2026-10" + q.query
			_, mbody := c.get(base + "&period=cycle")
			_, dbody := c.get(base + "&period=day")
			_, month := rows(t, mbody, "bill-table")
			days, day := rows(t, dbody, "bill-table")
			for _, k := range []string{"original", "discount", "payable", "outstanding"} {
				if month[k] != day[k] {
					t.Errorf("%s %s: month %q, days %q", q.query, k, month[k], day[k])
				}
			}
			if month["original"] != q.original || month["discount"] != q.discount || month["payable"] != q.payable {
				t.Errorf("%s: month totals %v", q.query, month)
			}
			if len(days) < 31 {
				t.Errorf("%s: %d day rows", q.query, len(days))
			}
			if q.query == "" && (!strings.Contains(dbody, `id="sum-paid" data-v="`+paid+`"`) || month["outstanding"] != outstanding) {
				t.Errorf("paid %s, outstanding %q, want %s", paid, month["outstanding"], outstanding)
			}
			// The day view is the API's.
			var api callbill.BillJSON
			decodeJSON(t, f.apiGet(t, "/api/v1/accounts/2001/bills/2026-10?period=day"+q.query), &api)
			if api.Totals.Payable != day["payable"] || api.Totals.Discount != day["discount"] || len(api.Lines) != len(days) {
				t.Errorf("%s: API %+v (%d lines), page %v (%d rows)", q.query, api.Totals, len(api.Lines), day, len(days))
			}
		}
	}
	t.Run("open", func(t *testing.T) { check(t, "246.50", "0.00") })
	if _, err := (&closing.Service{Store: f.store}).Close(context.Background(), closing.CloseInput{Cycle: f.cycle}); err != nil {
		t.Fatal(err)
	}
	// The 3.50 of cash left pays that much of the 21.87 postpaid.
	t.Run("closed", func(t *testing.T) { check(t, "250.00", "18.37") })
}

// TestOpenCycleIsAnEstimate: an open cycle's payable is labelled an
// estimate, nothing shows as owed (—, no warning), the purchases stay paid;
// a closed cycle shows 应付金额 and its real outstanding.
func TestOpenCycleIsAnEstimate(t *testing.T) {
	f := newDailyFixture(t)
	c := f.tenant(t)
	var ov callbill.OverviewJSON
	decodeJSON(t, f.apiGet(t, "/api/v1/accounts/2001/bills/2026-10/overview"), &ov)
	if ov.Status != callbill.BillStatusOpen || ov.Totals.Outstanding != "0.00" || ov.Totals.Payable != "268.37" || ov.Totals.Paid != "246.50" {
		t.Fatalf("API overview %+v", ov.Totals)
	}
	_, body := c.get("/console/a/2001/overview?cycle=2026-10")
	for _, want := range []string{`id="label-payable">预估应付<`, `id="sum-outstanding" data-v="0.00" title="出账时结算">—<`,
		`id="bill-status" data-v="open">未出账 · 预估（实时预览）<`, `id="bill-estimate"`, `id="sum-paid" data-v="246.50">¥246.50<`} {
		if !strings.Contains(body, want) {
			t.Errorf("open overview lacks %s", want)
		}
	}
	if strings.Contains(body, "card warn") {
		t.Error("open overview warns of arrears")
	}
	if !strings.Contains(body, "每日消费（预估应付）") || !strings.Contains(body, "按计费项消费（预估应付）") || strings.Contains(body, "（应付金额）") {
		t.Error("open overview's charts are not titled as estimates")
	}
	got, foot := rows(t, body, "overview-table")
	for i, it := range ov.Items {
		wantText := "¥0.00" // a purchase: paid
		if it.SubscriptionType == callbill.SubscriptionTypePayAsYouGo {
			wantText = "—"
		}
		if got[i]["outstanding"] != "0.00" {
			t.Errorf("overview row %d: %v", i, got[i])
		}
		if !strings.Contains(rowHTML(body, "overview-table", i), `>`+wantText+`</td>`) {
			t.Errorf("overview row %d (%s) does not show %s: %s", i, it.SubscriptionType, wantText, rowHTML(body, "overview-table", i))
		}
	}
	if foot["outstanding"] != "0.00" || !strings.Contains(body, `title="出账时结算">—</td></tr></tfoot>`) {
		t.Errorf("overview foot %v", foot)
	}
	// 账单明细, by day too: the payable column says 预估应付, pay-as-you-go
	// rows owe —, the voice package 0.
	for _, q := range []string{"", "&period=day", "&by=instance"} {
		_, body := c.get("/console/a/2001/bill?cycle=2026-10" + q)
		if !strings.Contains(body, `data-k="payable" class="num stick-r2" data-type="num">预估应付</th>`) || !strings.Contains(body, `id="bill-estimate"`) {
			t.Errorf("%s: no estimate label", q)
		}
		lines, _ := rows(t, body, "bill-table")
		dashes := strings.Count(body, `title="出账时结算">—</td>`)
		if dashes != len(lines) { // every row but the package's, and the totals
			t.Errorf("%s: %d dashes for %d rows", q, dashes, len(lines))
		}
		for _, l := range lines {
			if l["outstanding"] != "0.00" {
				t.Errorf("%s: row %v", q, l)
			}
		}
	}
	// English.
	c.get("/console/lang?to=en&back=/console/")
	if _, body := c.get("/console/a/2001/overview?cycle=2026-10"); !strings.Contains(body, `id="label-payable">Estimated payable<`) ||
		!strings.Contains(body, "Not billed · estimate (live preview)") {
		t.Error("no English estimate label")
	}
	// Closed: 应付金额, no note, the real outstanding.
	c.get("/console/lang?to=zh&back=/console/")
	if _, err := (&closing.Service{Store: f.store}).Close(context.Background(), closing.CloseInput{Cycle: f.cycle}); err != nil {
		t.Fatal(err)
	}
	_, body = c.get("/console/a/2001/overview?cycle=2026-10")
	if !strings.Contains(body, `id="label-payable">应付金额<`) || strings.Contains(body, `id="bill-estimate"`) || strings.Contains(body, "出账时结算") ||
		!strings.Contains(body, `id="sum-outstanding" data-v="18.37">¥18.37<`) || !strings.Contains(body, "card warn") {
		t.Error("the closed overview is shown as an estimate")
	}
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
}

// rowHTML is the i-th body row of a table, as written.
func rowHTML(body, id string, i int) string {
	body = body[strings.Index(body, `<table id="`+id+`"`):]
	body = body[strings.Index(body, "<tbody>"):strings.Index(body, "</tbody>")]
	trs := strings.Split(body, "<tr>")[1:]
	if i >= len(trs) {
		return ""
	}
	return trs[i]
}
