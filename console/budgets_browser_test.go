package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserBudgets signs a tenant in, is refused a bad threshold (in
// Chinese, the form kept), sets a budget on the platform fee below the
// spend so far (it fires at once), reads actual, forecast and share used
// against the API, sees the overview's banner, sets a usage trigger,
// checks the page in English and at phone width; then the operator's list.
func TestBrowserBudgets(t *testing.T) {
	f := newFixture(t, 200)
	tb := newTab(t, f.srv.URL)
	uid := f.uid1
	platformCalls(t, f, uid, 30)

	tb.login(map[string]string{"#ak-id": f.key1.ID, "#ak-secret": f.key1.Secret}, "#ak-submit")
	tb.open("/console/a/" + uid + "/overview")
	var banner bool
	tb.eval(`!!document.getElementById("budget-banner")`, &banner)
	if banner {
		t.Fatal("a banner before any budget")
	}
	tb.submit("#nav-budgets")
	if got := tb.text("main h1"); got != "预算管理" {
		t.Fatalf("budget page: %q", got)
	}
	if rows := tb.table("budgets-table").Rows; len(rows) != 0 {
		t.Fatalf("budgets before any: %+v", rows)
	}

	tb.set("#set-watch", "item:CallCenterSoftware")
	tb.set("#set-amount", "1.00")
	tb.set("#set-thresholds", "50,八十")
	tb.submit("#set-submit")
	if got := tb.text("#error"); got != "提醒阈值须为整数百分比，用逗号分隔，例如 50,80,100。" {
		t.Fatalf("bad thresholds: %q", got)
	}
	var kept struct{ Watch, Amount string }
	tb.eval(`({watch: document.getElementById("set-watch").value, amount: document.getElementById("set-amount").value})`, &kept)
	if kept.Watch != "item:CallCenterSoftware" || kept.Amount != "1.00" {
		t.Errorf("the form was not filled in again: %+v", kept)
	}
	tb.set("#set-thresholds", "50,100")
	tb.submit("#set-submit")
	if got := tb.text("#flash"); got != "已保存预算：计费项 · 坐席平台费。本期费用已超过 2 个阈值，已立即提醒。" {
		t.Fatalf("set: %q", got)
	}
	tb.set("#trigger-item", "CallCenterSoftware")
	tb.set("#trigger-minutes", "25")
	tb.submit("#trigger-submit")
	if got := tb.text("#flash"); !strings.Contains(got, "已超过 1 个阈值") {
		t.Fatalf("trigger: %q", got)
	}
	api := budgetsAPI(t, f, uid)
	rows := tb.table("budgets-table").Rows
	if len(rows) != 2 || len(api) != 2 {
		t.Fatalf("budgets: page %+v, API %+v", rows, api)
	}
	for i, r := range rows {
		b := api[i]
		if r["actual"].V != b.Actual || r["forecast"].V != b.Forecast || r["used_percent"].V != b.Used || r["used_percent"].Text != b.Used+"%" {
			t.Errorf("row %d %+v, API %+v", i, r, b)
		}
	}
	if rows[0]["amount"].Text != "¥1.00" || rows[0]["thresholds"].Text != "50% 100%" || rows[1]["amount"].Text != "25 分钟" || rows[1]["thresholds"].Text != "超过 25 分钟" {
		t.Errorf("budgets as shown: %+v", rows)
	}
	if alerts := tb.table("budget-alerts-table").Rows; len(alerts) != 3 {
		t.Errorf("%d alerts listed, want 3", len(alerts))
	}
	tb.shot("budgets")

	tb.open("/console/a/" + uid + "/overview")
	if got := tb.text("#budget-banner"); !strings.Contains(got, "预算提醒：本期已触发") || !strings.Contains(got, "已达预算 ¥1.00 的 100%") ||
		!strings.Contains(got, "分钟数已超过 25 分钟（实际 30 分钟）") {
		t.Errorf("banner: %q", got)
	}
	tb.shot("overview-banner")
	tb.submit("#to-budgets")

	// Removing the trigger.
	tb.submit(`#budgets-table tr:nth-child(2) td[data-k="action"] button`)
	if got := tb.text("#flash"); !strings.HasPrefix(got, "已删除预算：") {
		t.Errorf("remove: %q", got)
	}
	if n := len(tb.table("budgets-table").Rows); n != 1 {
		t.Errorf("%d budgets after the removal", n)
	}

	// In English, and at phone width the page never scrolls sideways.
	tb.submit("#lang-en")
	if got := tb.text("main h1"); got != "Budgets" || tb.text("#set-submit") != "Save budget" {
		t.Errorf("English budgets page: %q", got)
	}
	tb.shot("budgets-en")
	tb.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	for _, p := range []string{"budgets", "overview"} {
		tb.open("/console/a/" + uid + "/" + p)
		var width int
		tb.eval(`document.documentElement.scrollWidth`, &width)
		if width > 391 {
			t.Errorf("%s at phone width: %d px in a 390 px window", p, width)
		}
	}
	tb.shot("budgets-phone")

	// The operator's list.
	op := newTab(t, f.srv.URL)
	op.login(map[string]string{"#op-key": operatorKey}, "#op-submit")
	op.submit("#nav-op-budgets")
	if got := op.text("main h1"); got != "预算与提醒" {
		t.Fatalf("operator's page: %q", got)
	}
	bs := op.table("op-budgets-table").Rows
	if len(bs) != 1 || bs[0]["account"].V != uid || !strings.Contains(bs[0]["account"].Text, uid) {
		t.Errorf("operator's budgets: %+v", bs)
	}
	if as := op.table("op-budget-alerts-table").Rows; len(as) != 3 {
		t.Errorf("operator's alerts: %+v", as)
	}
	op.shot("op-budgets")
}
