package console_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/console"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/worker"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"
)

// The browser tests drive Debian's chromium through the DevTools protocol
// (chromedp) against the console served on 127.0.0.1. They skip when
// /usr/bin/chromium is missing, except under CI (CI=true), where they fail:
// .ci/run installs it. Each test saves screenshots in its temp dir and
// copies them to /tmp/console-shots.

const chromiumPath = "/usr/bin/chromium"

// shotsDir keeps copies of the screenshots for people to look at.
const shotsDir = "/tmp/console-shots"

type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	n    int
}

func newTab(t *testing.T, base string) *tab {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: under CI the browser tests must run (.ci/run installs chromium)", chromiumPath)
		}
		t.Skipf("%s is missing; apt-get install chromium to run the browser tests", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	tb := &tab{t: t, ctx: ctx, base: base, dir: t.TempDir()}
	tb.do(chromedp.EmulateViewport(1280, 900))
	return tb
}

func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// open loads a console page and waits for its heading.
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.base+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
}

// submit clicks a button that sends a form and waits for the next page.
func (tb *tab) submit(sel string) {
	tb.t.Helper()
	tb.do(chromedp.Evaluate[chromedp.Void](`window.__old = true`))
	tb.do(chromedp.Click(chromedp.CSS(sel)))
	tb.waitJS(`!window.__old && document.readyState === "complete" && !!document.querySelector("main h1")`)
}

// set sets a form field's value as a person choosing it would.
func (tb *tab) set(sel, value string) {
	tb.t.Helper()
	var ok bool
	tb.eval(`(() => { const e = document.querySelector(`+jsString(sel)+`); if (!e) return false; e.value = `+jsString(value)+`;
		e.dispatchEvent(new Event("input", {bubbles: true})); return e.value === `+jsString(value)+`; })()`, &ok)
	if !ok {
		tb.t.Fatalf("cannot set %s to %q", sel, value)
	}
}

// waitJS waits until a JavaScript expression is true.
func (tb *tab) waitJS(expr string) {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`(() => { try { return !!(`+expr+`) } catch (e) { return false } })()`))
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.t.Fatalf("timed out waiting for %s", expr)
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (tb *tab) eval(expr string, out any) {
	tb.t.Helper()
	raw, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		tb.t.Fatalf("eval %s: %v", expr, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		tb.t.Fatalf("eval %s: %v (%s)", expr, err, raw)
	}
}

// shot saves a full-page screenshot in the test's temp dir and a copy in
// shotsDir.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	buf := tb.capture()
	tb.n++
	file := fmt.Sprintf("%02d-%s.png", tb.n, name)
	if err := os.WriteFile(filepath.Join(tb.dir, file), buf, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	if os.MkdirAll(shotsDir, 0o755) == nil {
		os.WriteFile(filepath.Join(shotsDir, tb.t.Name()+"-"+file), buf, 0o644)
	}
}

// capture takes a PNG of the whole page: the window is made as tall as the
// page first (a capture beyond the window lays out sticky cells wrongly).
func (tb *tab) capture() []byte {
	tb.t.Helper()
	var size struct{ W, H int }
	tb.eval(`({w: window.innerWidth, h: window.innerHeight})`, &size)
	var full int
	tb.eval(`Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)`, &full)
	mobile := size.W < 700
	resize := func(h int) {
		if mobile {
			tb.do(chromedp.EmulateViewport(int64(size.W), int64(h), chromedp.EmulateMobile))
		} else {
			tb.do(chromedp.EmulateViewport(int64(size.W), int64(h)))
		}
	}
	resize(max(full, size.H))
	buf, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	resize(size.H)
	if err != nil {
		tb.t.Fatalf("screenshot: %v", err)
	}
	return buf
}

type domCell struct {
	V    string `json:"v"`
	Text string `json:"text"`
}

type domTable struct {
	Rows []map[string]domCell `json:"rows"`
	Foot map[string]domCell   `json:"foot"`
}

// table reads a data table of the page as the browser shows it.
func (tb *tab) table(id string) domTable {
	tb.t.Helper()
	var t domTable
	tb.eval(`(() => {
		const t = document.getElementById(`+jsString(id)+`);
		if (!t) return null;
		const read = tr => { const m = {}; for (const td of tr.cells) { if (td.dataset.k) m[td.dataset.k] = {v: td.dataset.v || "", text: td.textContent.trim()}; } return m; };
		const rows = [...t.tBodies[0].rows].filter(r => !r.classList.contains("empty")).map(read);
		const foot = t.tFoot ? read(t.tFoot.rows[0]) : null;
		return {rows, foot};
	})()`, &t)
	return t
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// login signs in through the sign-in page.
func (tb *tab) login(fields map[string]string, button string) {
	tb.t.Helper()
	tb.open("/console/login")
	for sel, v := range fields {
		tb.do(chromedp.SendKeys(chromedp.CSS(sel), v))
	}
	tb.submit(button)
}

// TestBrowserTenant signs a tenant in, opens every page, applies each of the
// seed's filters, exports and downloads the usage detail, and checks that
// the numbers the pages show are the API's.
func TestBrowserTenant(t *testing.T) {
	f := newFixture(t, 4000)
	tb := newTab(t, f.srv.URL)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	node := &worker.Node{Store: f.store, Name: "browser-test", ExportDir: f.exports, Poll: 50 * time.Millisecond, NoAutoClose: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go node.Run(ctx)
	cy := f.cycle.String()
	uid := f.uid1
	formalContract(t, f, uid)

	tb.login(map[string]string{"#ak-id": f.key1.ID, "#ak-secret": f.key1.Secret}, "#ak-submit")
	// 账单概览: the newest cycle with a bill opens first.
	tb.waitJS(`document.getElementById("sum-payable")`)
	if got := tb.text("main h1"); got != "账单概览" {
		t.Fatalf("after sign-in: %q", got)
	}
	var ov callbill.OverviewJSON
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+uid+"/bills/"+cy+"/overview")), &ov)
	for id, want := range map[string]string{"sum-original": ov.Totals.Original, "sum-discount": ov.Totals.Discount,
		"sum-payable": ov.Totals.Payable, "sum-outstanding": ov.Totals.Outstanding} {
		if got := tb.text("#" + id); got != console.MoneyString(want) {
			t.Errorf("overview %s: page %q, API %q", id, got, console.MoneyString(want))
		}
	}
	if ov.Totals.Payable == "0.00" {
		t.Fatal("the demo bill is empty")
	}
	pt := tb.table("overview-table")
	if len(pt.Rows) != len(ov.Items) {
		t.Fatalf("overview rows %d, API %d", len(pt.Rows), len(ov.Items))
	}
	for i, it := range ov.Items {
		if r := pt.Rows[i]; r["product_detail"].V != it.ProductDetail || r["payable"].Text != console.MoneyString(it.Payable) ||
			r["original"].Text != console.MoneyString(it.Original) || r["outstanding"].Text != console.MoneyString(it.Outstanding) {
			t.Errorf("overview row %d: %+v, API %+v", i, r, it)
		}
	}
	if pt.Foot["payable"].Text != console.MoneyString(ov.Totals.Payable) {
		t.Errorf("overview total %q", pt.Foot["payable"].Text)
	}
	var bars struct{ Daily, Items, Labels int }
	tb.eval(`({daily: document.querySelectorAll("#chart-daily .bar-group").length,
		items: document.querySelectorAll("#chart-items .bar-group").length,
		labels: document.querySelectorAll("#chart-daily text.value").length})`, &bars)
	if bars.Daily != f.cycle.Days() || bars.Items == 0 || bars.Labels == 0 {
		t.Errorf("charts: %+v", bars)
	}
	tb.shot("overview")
	copyShot(t, tb, "overview.png")

	// The cycle picker: the open cycle after it, then back.
	tb.set("#f-cycle", f.open.String())
	tb.submit("#overview-filter button[type=submit]")
	if got := tb.text("#bill-status"); got != "未出账 · 预估（实时预览）" {
		t.Errorf("open cycle status %q", got)
	}
	// An open cycle's payable is an estimate and nothing is owed before the close.
	var open struct {
		Label, Owed string
		Warn, Note  bool
	}
	tb.eval(`({label: document.getElementById("label-payable").textContent, owed: document.getElementById("sum-outstanding").textContent,
		warn: document.querySelector(".card.warn") !== null, note: document.getElementById("bill-estimate") !== null})`, &open)
	if open.Label != "预估应付" || open.Owed != "—" || open.Warn || !open.Note {
		t.Errorf("open cycle overview: %+v", open)
	}
	tb.shot("overview-open")
	copyShot(t, tb, "overview-open.png")

	// 账单明细, with each of the seed's filters: 月份, 统计项, 统计周期, 产品, 产品明细.
	tb.open("/console/a/" + uid + "/bill")
	for _, q := range []map[string]string{
		{"cycle": cy},
		{"cycle": cy, "by": "instance"},
		{"cycle": cy, "period": "day"},
		{"cycle": cy, "by": "instance", "period": "day"},
		{"cycle": cy, "product": "ccc", "product_detail": "ccc_postpaid"},
		{"cycle": cy, "product": "ccc", "product_detail": "ccc_voice_package", "by": "item", "period": "cycle"},
		{"cycle": cy, "product": "", "product_detail": "", "instance": ""},
	} {
		// Every field is set: the form keeps what the last query chose.
		query := []string{}
		for _, k := range []string{"cycle", "by", "period", "product", "product_detail", "instance"} {
			v, ok := q[k]
			if !ok {
				v = map[string]string{"by": "item", "period": "cycle"}[k]
			}
			tb.set("#f-"+k, v)
			query = append(query, k+"="+v)
		}
		tb.submit("#bill-query")
		var want callbill.BillJSON
		json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+uid+"/bills/"+cy+"?"+strings.Join(query, "&"))), &want)
		got := tb.table("bill-table")
		if len(got.Rows) != len(want.Lines) {
			t.Fatalf("%v: %d rows, API %d lines", q, len(got.Rows), len(want.Lines))
		}
		for i, l := range want.Lines {
			r := got.Rows[i]
			if r["payable"].Text != console.MoneyString(l.Payable) || r["original"].V != l.Original || r["discount"].V != l.Discount ||
				r["outstanding"].V != l.Outstanding || r["instance"].V != l.Instance || r["product_detail"].V != l.ProductDetail ||
				(l.Date != "" && r["date"].V != l.Date) || (l.Item != "" && (r["item"].V != l.Item || r["usage"].V != l.Usage || r["unit_price"].V != l.UnitPrice)) {
				t.Errorf("%v line %d: %+v, API %+v", q, i, r, l)
			}
		}
		for k, v := range map[string]string{"original": want.Totals.Original, "discount": want.Totals.Discount, "payable": want.Totals.Payable, "outstanding": want.Totals.Outstanding} {
			if got.Foot[k].Text != console.MoneyString(v) {
				t.Errorf("%v total %s: page %q, API %q", q, k, got.Foot[k].Text, v)
			}
		}
		if len(q) == 1 {
			// Chinese column names (docs/rules.md, "Bill totals and JSON").
			var heads []string
			tb.eval(`[...document.querySelectorAll("#bill-table thead th")].map(th => th.textContent)`, &heads)
			for _, h := range []string{"产品明细", "实例ID", "计费项", "单价", "单价单位", "用量", "用量单位", "资源包抵扣", "原价", "优惠金额", "应付金额", "欠费金额"} {
				if !strings.Contains(strings.Join(heads, "|"), h) {
					t.Errorf("no column %s in %v", h, heads)
				}
			}
			tb.shot("bill-details")
			copyShot(t, tb, "details.png")
			// Sorting by 应付金额: twice gives the largest first.
			tb.do(chromedp.Click(chromedp.CSS(`#bill-table th[data-k="payable"]`)), chromedp.Click(chromedp.CSS(`#bill-table th[data-k="payable"]`)))
			sorted := tb.table("bill-table")
			maxV := 0.0
			for _, r := range sorted.Rows {
				var x float64
				fmt.Sscan(r["payable"].V, &x)
				maxV = max(maxV, x)
			}
			var first float64
			fmt.Sscan(sorted.Rows[0]["payable"].V, &first)
			if first != maxV || sorted.Foot["payable"].Text != console.MoneyString(want.Totals.Payable) {
				t.Errorf("sorted: first %v, largest %v", first, maxV)
			}
		}
	}
	tb.shot("bill-details-filtered")

	// 用量明细: filters and paging, then 导出CSV.
	tb.open("/console/a/" + uid + "/usage")
	tb.set("#f-cycle", cy)
	tb.set("#f-direction", "outbound")
	tb.set("#f-size", "20")
	tb.submit("#usage-query")
	u1 := tb.table("usage-table")
	if len(u1.Rows) != 20 {
		t.Fatalf("usage page: %d rows", len(u1.Rows))
	}
	var apiUsage struct {
		Calls []struct {
			Seq       int64
			Start     string
			Direction string
			Charge    string
		}
		Next string
	}
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+uid+"/usage?cycle="+cy+"&direction=outbound&limit=20")), &apiUsage)
	for i, c := range apiUsage.Calls {
		if r := u1.Rows[i]; r["no"].V != itoa(int64(i+1)) || r["start"].V != c.Start || r["direction"].Text != "呼出" || r["charge"].V != c.Charge {
			t.Errorf("usage row %d: %+v, API %+v", i, r, c)
		}
	}
	tb.shot("usage")
	tb.submit("#page-next")
	u2 := tb.table("usage-table")
	if len(u2.Rows) == 0 || u2.Rows[0]["no"].V != "21" || u2.Rows[0]["start"].V == u1.Rows[0]["start"].V {
		t.Errorf("next page starts at %+v after %+v", u2.Rows[0], u1.Rows[19])
	}
	tb.submit("#page-prev")
	if back := tb.table("usage-table"); back.Rows[0]["no"].V != "1" || back.Rows[0]["start"].V != u1.Rows[0]["start"].V {
		t.Errorf("previous page starts at %+v, want %+v", back.Rows[0], u1.Rows[0])
	}
	// The export takes the filter as it stands: outbound calls of the cycle.
	tb.submit("#export-csv")
	if got := tb.text("main h1"); got != "导出记录" {
		t.Fatalf("after 导出CSV: %q", got)
	}
	tb.waitJS(`document.querySelector('#exports-table td[data-k="status"]').dataset.v === "done"`)
	ex := tb.table("exports-table")
	if len(ex.Rows) != 1 || ex.Rows[0]["status"].Text != "已完成" {
		t.Fatalf("export records: %+v", ex.Rows)
	}
	tb.shot("exports")
	// Download it as a browser does.
	dl := t.TempDir()
	events := true
	if _, err := chromedp.CallBrowser(tb.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dl, EventsEnabled: &events}); err != nil {
		t.Fatal(err)
	}
	progress := chromedp.BrowserEvents(tb.ctx, browser.DownloadProgress)
	tb.do(chromedp.Click(chromedp.CSS(`#exports-table td[data-k="file"] a`)))
	var done browser.EventDownloadProgress
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			done = ev
			break
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the download was cancelled")
		}
	}
	file := filepath.Join(dl, done.GUID)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\ufeff阿里云账户ID（UID）,通话开始时间,")) {
		t.Fatalf("downloaded file starts %q", data[:min(len(data), 80)])
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	outbound := countUsage(t, f, uid, "cycle="+cy+"&direction=outbound")
	if len(recs)-1 != outbound || ex.Rows[0]["rows"].V != itoa(int64(outbound)) {
		t.Errorf("export: %d rows, the page says %s, the API lists %d outbound calls", len(recs)-1, ex.Rows[0]["rows"].V, outbound)
	}
	for _, r := range recs[1:] {
		if r[0] != uid || r[1] == "" || r[2] != "0" && r[3] == "0" && r[4] == "0" && false {
			t.Fatalf("export row %v", r)
		}
	}

	// 资源包.
	tb.open("/console/a/" + uid + "/packages")
	var pkgs []struct {
		ID        string
		Remaining int64
	}
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+uid+"/voice-packages")), &pkgs)
	pk := tb.table("packages-table")
	if len(pk.Rows) != len(pkgs) || len(pkgs) == 0 {
		t.Fatalf("packages: %d rows, API %d", len(pk.Rows), len(pkgs))
	}
	for _, p := range pkgs {
		found := false
		for _, r := range pk.Rows {
			if r["id"].V == p.ID {
				found = r["remaining"].V == itoa(p.Remaining)
			}
		}
		if !found {
			t.Errorf("package %s (remaining %d) not shown right", p.ID, p.Remaining)
		}
	}
	tb.shot("packages")

	// 账户.
	tb.open("/console/a/" + uid + "/account")
	var acct api.AccountJSON
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+uid)), &acct)
	for id, want := range map[string]string{"cash": acct.Cash, "credit_line": acct.CreditLine, "outstanding": acct.Outstanding, "available": acct.Available} {
		if got := tb.text("#acct-" + id); got != console.MoneyString(want) {
			t.Errorf("account %s: page %q, API %q", id, got, console.MoneyString(want))
		}
	}
	if st, _ := chromedp.Run(tb.ctx, chromedp.AttributeValue(chromedp.CSS("#acct-state"), "data-v")); st.Value != acct.State {
		t.Errorf("state %q, API %q", st.Value, acct.State)
	}
	var ledger []api.EntryJSON
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+uid+"/ledger")), &ledger)
	lt := tb.table("ledger-table")
	if len(lt.Rows) != len(ledger) || lt.Rows[0]["balance"].V != ledger[len(ledger)-1].Balance {
		t.Errorf("ledger: %d rows, API %d", len(lt.Rows), len(ledger))
	}
	tb.shot("account")

	// 发票: the invoiceable amount and the applications, as the API has them.
	tb.open("/console/a/" + uid + "/invoices")
	var inv struct{ Invoiceable, Paid string }
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+uid+"/invoiceable")), &inv)
	if got := tb.text("#inv-invoiceable"); got != console.MoneyString(inv.Invoiceable) || inv.Invoiceable == "" {
		t.Errorf("invoiceable: page %q, API %q", got, inv.Invoiceable)
	}
	tb.shot("invoices")
	// 合同: a formal purchase contract downloads as a PDF.
	tb.open("/console/a/" + uid + "/contracts")
	ct := tb.table("contracts-table")
	if len(ct.Rows) != 1 || ct.Rows[0]["state"].V != "formal" || ct.Rows[0]["pdf"].Text != "下载 PDF" {
		t.Fatalf("contracts: %+v", ct.Rows)
	}
	tb.shot("contracts")
	progress = chromedp.BrowserEvents(tb.ctx, browser.DownloadProgress)
	tb.do(chromedp.Click(chromedp.CSS(`#contracts-table td[data-k="pdf"] a`)))
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("PDF download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			pdf, _ := os.ReadFile(filepath.Join(dl, ev.GUID))
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
				t.Errorf("the contract download is not a PDF: %q", pdf[:min(len(pdf), 20)])
			}
			break
		}
	}

	// Another tenant's page is "not found".
	tb.open("/console/a/" + f.uid2 + "/overview")
	if st, _ := chromedp.Run(tb.ctx, chromedp.AttributeValue(chromedp.CSS("#error-page"), "data-status")); st.Value != "404" {
		t.Errorf("another tenant's overview: %q", st.Value)
	}

	// English, then at phone width.
	tb.open("/console/a/" + uid + "/overview?cycle=" + cy)
	tb.submit("#lang-en")
	if got := tb.text("main h1"); got != "Bill overview" {
		t.Errorf("English heading %q", got)
	}
	tb.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	tb.open("/console/a/" + uid + "/overview?cycle=" + cy)
	var width struct{ Doc, View int }
	tb.eval(`({doc: document.documentElement.scrollWidth, view: window.innerWidth})`, &width)
	if width.Doc > width.View+1 {
		t.Errorf("at phone width the page is %d px wide in a %d px window", width.Doc, width.View)
	}
	tb.shot("overview-phone")
	tb.open("/console/a/" + uid + "/bill?cycle=" + cy)
	tb.eval(`({doc: document.documentElement.scrollWidth, view: window.innerWidth})`, &width)
	if width.Doc > width.View+1 {
		t.Errorf("bill details at phone width: %d px in %d", width.Doc, width.View)
	}
	tb.shot("bill-phone")
}

// countUsage counts an account's calls through the API's usage pages.
func countUsage(t *testing.T, f *fixture, uid, query string) int {
	n, after := 0, ""
	for {
		var page struct {
			Calls []json.RawMessage
			Next  string
		}
		json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+uid+"/usage?"+query+"&limit=1000&after="+after)), &page)
		n += len(page.Calls)
		if page.Next == "" {
			return n
		}
		after = page.Next
	}
}

func copyShot(t *testing.T, tb *tab, name string) {
	buf := tb.capture()
	if os.MkdirAll(shotsDir, 0o755) == nil {
		os.WriteFile(filepath.Join(shotsDir, name), buf, 0o644)
	}
}

// TestBrowserOperator signs the operator in, looks at the accounts and a
// tenant's view, closes a cycle, records a top-up and makes an AccessKey.
func TestBrowserOperator(t *testing.T) {
	f := newFixture(t, 2000)
	tb := newTab(t, f.srv.URL)
	tb.open("/console/login")
	tb.shot("login")
	tb.login(map[string]string{"#op-key": operatorKey}, "#op-submit")
	if got := tb.text("main h1"); got != "账户列表" {
		t.Fatalf("after sign-in: %q", got)
	}
	at := tb.table("accounts-table")
	if len(at.Rows) != 2 {
		t.Fatalf("%d accounts", len(at.Rows))
	}
	for _, r := range at.Rows {
		var acct api.AccountJSON
		json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+r["uid"].V)), &acct)
		if r["state"].V != acct.State || r["outstanding"].Text != console.MoneyString(acct.Outstanding) || r["cash"].V != acct.Cash {
			t.Errorf("account row %+v, API %+v", r, acct)
		}
	}
	tb.shot("accounts")
	// Any tenant's view.
	tb.submit(`#accounts-table td[data-k="uid"] a`)
	tb.waitJS(`document.getElementById("sum-payable")`)
	tb.shot("tenant-view")

	// Close the open cycle.
	tb.open("/console/op/close")
	tb.set("#close-cycle", f.open.String())
	tb.do(chromedp.Click(chromedp.CSS("#close-confirm")))
	tb.submit("#close-submit")
	if got := tb.text("#flash"); !strings.Contains(got, f.open.String()) {
		t.Fatalf("close: %q", got)
	}
	tb.shot("closed")
	var bill callbill.BillJSON
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+f.uid1+"/bills/"+f.open.String())), &bill)
	if bill.Status != callbill.BillStatusClosed {
		t.Fatalf("after closing, the API says %s", bill.Status)
	}
	tb.open("/console/a/" + f.uid1 + "/overview?cycle=" + f.open.String())
	if got := tb.text("#bill-status"); got != "已出账" {
		t.Errorf("closed cycle shows %q", got)
	}

	// A top-up; sending the same form again records it once.
	tb.open("/console/op/topup?account=" + f.uid2)
	tb.do(chromedp.SendKeys(chromedp.CSS("#topup-amount"), "1234.50"))
	before := len(ledgerOf(t, f, f.uid2))
	tb.submit("#topup-submit")
	if got := tb.text("#flash"); !strings.Contains(got, "¥1,234.50") {
		t.Fatalf("top-up: %q", got)
	}
	entries := ledgerOf(t, f, f.uid2)
	if len(entries) != before+1 || entries[len(entries)-1].Amount != "1234.50" || entries[len(entries)-1].Kind != "topup" {
		t.Fatalf("ledger after the top-up: %+v", entries[len(entries)-1])
	}
	tb.shot("topup")

	// An AccessKey, shown once, that works; then revoked.
	tb.open("/console/op/keys?account=" + f.uid2)
	tb.submit("#key-create-submit")
	id, secret := tb.text("#new-key-id"), tb.text("#new-key-secret")
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/accounts/"+f.uid2, nil)
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the new key: %v %v", resp, err)
	}
	resp.Body.Close()
	tb.shot("keys")
	tb.open("/console/op/keys?account=" + f.uid2)
	tb.submit(`#keys-table tr:last-child button`)
	if got := tb.text("#flash"); !strings.Contains(got, id) {
		t.Errorf("revoke: %q", got)
	}
	if _, err := f.store.AccessKey(context.Background(), id); callbill.ErrorCode(err) != callbill.ENOTFOUND {
		t.Errorf("the key still works: %v", err)
	}
}

func ledgerOf(t *testing.T, f *fixture, uid string) []api.EntryJSON {
	var out []api.EntryJSON
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+uid+"/ledger")), &out)
	return out
}

// formalContract makes the account's first purchase a formal contract.
func formalContract(t *testing.T, f *fixture, uid string) *callbill.EContract {
	t.Helper()
	ctx := context.Background()
	b, err := (&closing.Service{Store: f.store}).Bill(ctx, closing.BillInput{Account: uid, Cycle: f.cycle})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range b.Lines {
		if l.IsPurchase() {
			c, err := (&contract.Service{Store: f.store}).Create(ctx, callbill.ContractRequest{Account: uid, Purchase: l.PurchaseID, Key: "test-" + l.PurchaseID})
			if err != nil {
				t.Fatal(err)
			}
			if c, err = (&contract.Service{Store: f.store}).Confirm(ctx, uid, c.ID); err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	t.Fatal("no purchase to contract for")
	return nil
}

// download clicks a link that downloads a file and returns the file.
func (tb *tab) download(sel string) []byte {
	tb.t.Helper()
	dir := tb.t.TempDir()
	events := true
	if _, err := chromedp.CallBrowser(tb.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events}); err != nil {
		tb.t.Fatal(err)
	}
	progress := chromedp.BrowserEvents(tb.ctx, browser.DownloadProgress)
	tb.do(chromedp.Click(chromedp.CSS(sel)))
	for ev, err := range progress {
		if err != nil {
			tb.t.Fatalf("download: %v", err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			data, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				tb.t.Fatal(err)
			}
			return data
		case browser.DownloadProgressStateCanceled:
			tb.t.Fatal("the download was cancelled")
		}
	}
	return nil
}

// TestBrowserInvoicesAndContracts: a tenant adds an invoice title (after
// a wrong tax ID, which the page explains), applies for an invoice (it is
// pending and the invoiceable amount drops by it), drafts a contract for a
// purchase, fills in its customer details, confirms it and downloads the
// PDF; then the operator issues the invoice from the queue.
func TestBrowserInvoicesAndContracts(t *testing.T) {
	f := newFixture(t, 200)
	tb := newTab(t, f.srv.URL)
	ctx := context.Background()
	uid := f.uid1
	accts, err := f.store.Account(ctx, uid)
	if err != nil {
		t.Fatal(err)
	}
	name := accts.Name

	tb.login(map[string]string{"#ak-id": f.key1.ID, "#ak-secret": f.key1.Secret}, "#ak-submit")
	tb.open("/console/a/" + uid + "/invoices")
	var before string
	tb.eval(`document.getElementById("inv-invoiceable").dataset.v`, &before)
	if tb.text("#apply-need-title") == "" {
		t.Fatal("no hint to add a title first")
	}

	// 发票抬头: a special invoice's title, first with a wrong check character.
	tb.set("#title-type", "special")
	tb.set("#title-name", name)
	tb.set("#title-tax-id", "91350100M000100Y44")
	tb.set("#title-bank", "招商银行苏州分行")
	tb.set("#title-bank-account", "6225 8812 3456 7890")
	tb.set("#title-address", "苏州市工业园区星湖街 328 号")
	tb.set("#title-phone", "0512-66668888")
	tb.submit("#title-submit")
	if got := tb.text("#error"); got != "纳税人识别号「91350100M000100Y44」校验位错误：末位是 4，按前 17 位应为 3。" {
		t.Fatalf("wrong tax ID: %q", got)
	}
	var kept struct{ Tax, Bank, Type string }
	tb.eval(`({tax: document.getElementById("title-tax-id").value, bank: document.getElementById("title-bank").value,
		type: document.getElementById("title-type").value})`, &kept)
	if kept.Tax != "91350100M000100Y44" || kept.Bank != "招商银行苏州分行" || kept.Type != "special" {
		t.Errorf("the form was not filled in again: %+v", kept)
	}
	tb.shot("title-error")
	tb.set("#title-tax-id", "91350100M000100Y43")
	tb.submit("#title-submit")
	if got := tb.text("#flash"); got != "已添加发票抬头："+name {
		t.Fatalf("add title: %q", got)
	}
	if tt := tb.table("titles-table"); len(tt.Rows) != 1 || tt.Rows[0]["tax_id"].V != "91350100M000100Y43" || tt.Rows[0]["type"].Text != "增值税专用发票" {
		t.Fatalf("titles: %+v", tt.Rows)
	}

	// Apply for ¥123.45: pending, and the invoiceable amount is 123.45 less.
	tb.set("#apply-amount", "123.45")
	tb.submit("#apply-submit")
	if got := tb.text("#flash"); !strings.HasPrefix(got, "已提交发票申请 INV") || !strings.Contains(got, "¥123.45") {
		t.Fatalf("apply: %q", got)
	}
	apps := tb.table("invoices-table")
	if len(apps.Rows) != 1 || apps.Rows[0]["state"].V != "pending" || apps.Rows[0]["state"].Text != "审核中" || apps.Rows[0]["amount"].V != "123.45" {
		t.Fatalf("applications: %+v", apps.Rows)
	}
	appID := apps.Rows[0]["id"].V
	var after, pending string
	tb.eval(`document.getElementById("inv-invoiceable").dataset.v`, &after)
	tb.eval(`document.getElementById("inv-pending").dataset.v`, &pending)
	if !decimal.RequireFromString(before).Sub(decimal.RequireFromString(after)).Equal(decimal.RequireFromString("123.45")) || pending != "123.45" {
		t.Errorf("invoiceable %s → %s, pending %s", before, after, pending)
	}
	tb.shot("invoices-applied")
	copyShot(t, tb, "invoices.png")

	// 合同: a draft for a purchase, its customer details, confirmed, downloaded.
	tb.open("/console/a/" + uid + "/contracts")
	var purchase string
	tb.eval(`document.getElementById("con-purchase").value`, &purchase)
	if !strings.HasPrefix(purchase, "P-") {
		t.Fatalf("purchase %q", purchase)
	}
	tb.submit("#new-purchase-submit")
	if got := tb.text("#flash"); !strings.HasPrefix(got, "已起草合同 CT") {
		t.Fatalf("draft: %q", got)
	}
	id := tb.text("#con-id")
	if st, _ := chromedp.Run(tb.ctx, chromedp.AttributeValue(chromedp.CSS("#con-state"), "data-v")); st.Value != "draft" || tb.text("#party-name") != name {
		t.Fatalf("draft %s: state %q", id, st.Value)
	}
	tb.set("#party-address", "苏州市工业园区星湖街 328 号")
	tb.set("#party-contact", "王芳")
	tb.set("#party-phone", "0512-66668888")
	tb.submit("#party-submit")
	if got := tb.text("#flash"); got != "已保存合同 "+id+" 的甲方信息。" {
		t.Fatalf("party: %q", got)
	}
	tb.shot("contract-draft")
	tb.submit("#con-confirm")
	if st, _ := chromedp.Run(tb.ctx, chromedp.AttributeValue(chromedp.CSS("#con-state"), "data-v")); st.Value != "formal" {
		t.Fatalf("after confirming: %q (%s)", st.Value, tb.text("main"))
	}
	tb.shot("contract-formal")
	copyShot(t, tb, "contract.png")
	pdf := tb.download("#con-pdf")
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("the contract download is not a PDF: %q", pdf[:min(len(pdf), 20)])
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		path := filepath.Join(t.TempDir(), "contract.pdf")
		os.WriteFile(path, pdf, 0o600)
		out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").CombinedOutput()
		if err != nil {
			t.Fatalf("pdftotext: %v %s", err, out)
		}
		text := strings.Join(strings.Fields(string(out)), "")
		if !strings.Contains(text, name) || !strings.Contains(text, id) || !strings.Contains(text, "王芳") {
			t.Errorf("the PDF's text lacks the account's name, the contract id or the contact: %.300s", out)
		}
	} else {
		t.Log("pdftotext is missing: the PDF's text is not checked")
	}

	// The operator issues the invoice from the queue.
	tb.submit("#logout")
	tb.login(map[string]string{"#op-key": operatorKey}, "#op-submit")
	tb.submit("#nav-op-invoices")
	if got := tb.text("main h1"); got != "发票审核" {
		t.Fatalf("queue heading %q", got)
	}
	q := tb.table("queue-table")
	if len(q.Rows) != 1 || q.Rows[0]["id"].V != appID || q.Rows[0]["account"].Text != uid+" "+name || q.Rows[0]["title"].V != name || q.Rows[0]["amount"].Text != "¥123.45" {
		t.Fatalf("queue: %+v", q.Rows)
	}
	tb.shot("queue")
	form := `form.issue[data-id="` + appID + `"]`
	tb.set(form+` input[name="invoice_no"]`, "03312345678901234567")
	tb.submit(form + ` button`)
	if got := tb.text("#flash"); !strings.HasPrefix(got, "已开具发票 03312345678901234567") {
		t.Fatalf("issue: %q", got)
	}
	var got struct {
		Status    string
		InvoiceNo string `json:"invoice_no"`
	}
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+uid+"/invoices/"+appID)), &got)
	if got.Status != "issued" || got.InvoiceNo != "03312345678901234567" {
		t.Fatalf("after issuing, the API says %+v", got)
	}
	tb.set("#f-status", "all")
	tb.submit("#queue-query")
	if q := tb.table("queue-table"); len(q.Rows) != 1 || q.Rows[0]["state"].V != "issued" || q.Rows[0]["invoice_no"].V != "03312345678901234567" {
		t.Errorf("queue, all: %+v", q.Rows)
	}
	tb.shot("queue-issued")

	// 合同管理 lists the formal contract, with a form to void it.
	tb.submit("#nav-op-contracts")
	if ct := tb.table("op-contracts-table"); len(ct.Rows) != 1 || ct.Rows[0]["id"].V != id || ct.Rows[0]["state"].V != "formal" || ct.Rows[0]["void"].V != "void" {
		t.Errorf("operator's contracts: %+v", ct.Rows)
	}
	tb.shot("op-contracts")

	// In English, and at phone width the pages never scroll sideways.
	tb.open("/console/a/" + uid + "/contracts")
	tb.submit("#lang-en")
	if got := tb.text("main h1"); got != "Contracts" || tb.text("#new-service-submit") != "Draft the contract" {
		t.Errorf("English contracts page: %q", got)
	}
	tb.shot("contracts-en")
	tb.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	for _, p := range []string{"invoices", "contracts/" + id, "contracts"} {
		tb.open("/console/a/" + uid + "/" + p)
		// (A page wider than the phone widens the emulated window: compare with 390.)
		var width int
		tb.eval(`document.documentElement.scrollWidth`, &width)
		if width > 391 {
			t.Errorf("%s at phone width: %d px in a 390 px window", p, width)
		}
	}
	tb.shot("contracts-phone")
}
