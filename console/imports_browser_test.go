package console_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/callbill/callbill/api"
	"github.com/chromedp/chromedp"
)

// TestBrowserImports: the operator opens 导入记录 from the navigation (its
// rows are the API's), opens the newest import's 撤销…, ticks the box and
// undoes it (the API then says undone, and the tenant's live bill is the
// API's), is refused undoing an import of the closed cycle with the reason
// and the command that corrects it, and sees the pages in English and at
// phone width.
func TestBrowserImports(t *testing.T) {
	f := newFixture(t, 500)
	ids := openCalls(t, f, 300)
	tb := newTab(t, f.srv.URL)
	tb.login(map[string]string{"#op-key": operatorKey}, "#op-submit")
	tb.submit("#nav-op-imports")
	if got := tb.text("main h1"); got != "导入记录" {
		t.Fatalf("imports page: %q", got)
	}
	var list struct{ Imports []api.ImportJSON }
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/imports")), &list)
	rows := tb.table("imports-table").Rows
	if len(rows) != len(list.Imports) {
		t.Fatalf("%d rows, the API lists %d", len(rows), len(list.Imports))
	}
	for i, imp := range list.Imports {
		r := rows[i]
		if r["id"].V != imp.ID || r["status"].V != imp.Status || r["imported"].V != fmt.Sprint(imp.Imported) ||
			r["sources"].V != strings.Join(imp.Sources, ", ") || r["action"].Text != "撤销…" {
			t.Errorf("row %d %+v, API %+v", i, r, imp)
		}
	}
	tb.shot("imports")

	tb.submit(`#imports-table tbody tr:first-child td[data-k="action"] a`)
	if got := tb.text("main h1"); got != "撤销导入 "+ids[1] {
		t.Fatalf("undo page: %q", got)
	}
	tb.shot("undo-page")
	tb.do(chromedp.Click(chromedp.CSS("#undo-confirm")))
	tb.submit("#undo-submit")
	if got := tb.text("#flash"); !strings.HasPrefix(got, "已撤销导入 "+ids[1]+"：移除 ") {
		t.Fatalf("undo: %q", got)
	}
	if r := tb.table("imports-table").Rows[0]; r["status"].V != "undone" || r["action"].V != "" || !strings.Contains(r["undo"].Text, "console:operator-key") {
		t.Errorf("the undone import's row: %+v", r)
	}
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/imports?limit=1")), &list)
	if imp := list.Imports[0]; imp.Status != "undone" || imp.Undo == nil || imp.Undo.Removed != imp.Imported {
		t.Errorf("after the undo, the API says %+v", imp)
	}
	tb.shot("undone")
	var bill struct{ Totals struct{ Payable string } }
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+f.uid1+"/bills/"+f.open.String())), &bill)
	tb.open("/console/a/" + f.uid1 + "/overview?cycle=" + f.open.String())
	if got, want := tb.text("#sum-payable"), "¥"+bill.Totals.Payable; !strings.HasPrefix(strings.ReplaceAll(got, ",", ""), want) {
		t.Errorf("the live bill shows %q, the API %s", got, want)
	}

	// The demo's import is billed in the closed cycle: refused, with why.
	tb.open("/console/op/imports/imp-1/undo")
	tb.do(chromedp.Click(chromedp.CSS("#undo-confirm")))
	tb.submit("#undo-submit")
	if got := tb.text("#error"); !strings.Contains(got, "无法撤销") || !strings.Contains(got, f.cycle.String()) || !strings.Contains(got, "callbill adjust") {
		t.Errorf("undo in a closed cycle: %q", got)
	}
	tb.shot("refused")

	tb.submit("#lang-en")
	if got := tb.text("main h1"); got != "Undo import imp-1" || tb.text("#undo-submit") != "Undo the import" {
		t.Errorf("English undo page: %q", got)
	}
	tb.open("/console/op/imports")
	if got := tb.text("main h1"); got != "Imports" {
		t.Errorf("English imports page: %q", got)
	}
	tb.shot("imports-en")
	tb.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	for _, p := range []string{"/console/op/imports", "/console/op/imports/imp-1/undo"} {
		tb.open(p)
		var width int
		tb.eval(`document.documentElement.scrollWidth`, &width)
		if width > 391 {
			t.Errorf("%s at phone width: %d px in a 390 px window", p, width)
		}
	}
	tb.shot("imports-phone")
}
