package console_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/demo"
)

// openCalls posts n demo calls of the open cycle through the API, as two
// imports (their own contact ids, so that none is a duplicate of the
// closed cycle's), and returns their ids.
func openCalls(t testing.TB, f *fixture, n int) []string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := demo.WriteCalls(&buf, demo.Options{Cycle: f.open, Accounts: 2, Calls: n, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(buf.String(), "\nc", "\nx")), "\n")
	half := 1 + (len(lines)-1)/2
	var ids []string
	for k, part := range [][]string{lines[1:half], lines[half:]} {
		body := lines[0] + "\n" + strings.Join(part, "\n") + "\n"
		req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/imports?source=open-"+itoa(int64(k+1))+".csv", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+operatorKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var rep struct {
			Import   string
			Imported int
		}
		if resp.StatusCode != 200 || json.Unmarshal(b, &rep) != nil || rep.Imported != len(part) {
			t.Fatalf("import: %d %s", resp.StatusCode, b)
		}
		ids = append(ids, rep.Import)
	}
	return ids
}

// TestOperatorImports: 导入记录 lists the imports as the API does; undoing
// one needs the box ticked, then takes its calls out of the live bill and
// says what it did; an import in a closed cycle is refused in the page's
// language, the operator told the command that corrects it; tenants never
// see the pages.
func TestOperatorImports(t *testing.T) {
	f := newFixture(t, 500)
	ids := openCalls(t, f, 300)
	c := f.operator(t)
	_, body := c.get("/console/op/imports")
	var list struct{ Imports []api.ImportJSON }
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/imports")), &list)
	if len(list.Imports) != 3 || list.Imports[0].ID != ids[1] {
		t.Fatalf("API imports %+v", list.Imports)
	}
	for _, imp := range list.Imports {
		if !strings.Contains(body, `data-k="id" data-v="`+imp.ID+`"`) || !strings.Contains(body, `data-v="`+imp.Status+`">已完成`) {
			t.Errorf("the page lacks %s (%s)", imp.ID, imp.Status)
		}
	}
	if !strings.Contains(body, "open-2.csv") || !strings.Contains(body, "api:operator-key") || !strings.Contains(body, `id="nav-op-imports"`) {
		t.Errorf("imports page:\n%s", body)
	}
	payable := func() string {
		var b struct{ Totals struct{ Payable string } }
		json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+f.uid1+"/bills/"+f.open.String())), &b)
		return b.Totals.Payable
	}
	before := payable()

	page := "/console/op/imports/" + ids[1] + "/undo"
	to, _, errText, _ := c.send(page, "undo-form", page, nil)
	if !strings.HasPrefix(to, page) || errText != "请勾选确认。" {
		t.Fatalf("undo without the box: %s %q", to, errText)
	}
	if got := payable(); got != before {
		t.Fatalf("an unconfirmed undo changed the bill: %s → %s", before, got)
	}
	to, flash, errText, body := c.send(page, "undo-form", page, map[string]string{"confirm": "yes"})
	if to != "/console/op/imports" || errText != "" || !strings.HasPrefix(flash, "已撤销导入 "+ids[1]+"：移除 ") {
		t.Fatalf("undo: %s %q %q", to, flash, errText)
	}
	if !strings.Contains(body, `data-v="undone">已撤销`) || !strings.Contains(body, "console:operator-key") {
		t.Errorf("the list after the undo:\n%s", body)
	}
	if got := payable(); got == before {
		t.Errorf("the live bill did not move: %s", got)
	}
	var rec api.ImportJSON
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/imports?limit=1")), &list)
	if rec = list.Imports[0]; rec.Status != "undone" || rec.UndoneBy != "console:operator-key" || rec.Undo == nil || rec.Undo.Removed == 0 {
		t.Errorf("API after the undo: %+v", rec)
	}
	if _, body := c.get(page); !strings.Contains(body, `id="undone-note"`) || strings.Contains(body, `id="undo-form"`) {
		t.Errorf("an undone import still offers the undo")
	}

	// The demo's import is billed in the closed cycle.
	demoPage := "/console/op/imports/imp-1/undo"
	_, _, errText, _ = c.send(demoPage, "undo-form", demoPage, map[string]string{"confirm": "yes"})
	if !strings.Contains(errText, "无法撤销") || !strings.Contains(errText, "已关闭账期（"+f.cycle.String()+"）") || !strings.Contains(errText, "callbill adjust") {
		t.Errorf("undo in a closed cycle: %q", errText)
	}
	c.get("/console/lang?to=en&back=/console/")
	_, _, errText, _ = c.send(demoPage, "undo-form", demoPage, map[string]string{"confirm": "yes"})
	if !strings.Contains(errText, "cannot be undone") || !strings.Contains(errText, "adjustment") {
		t.Errorf("undo in a closed cycle, in English: %q", errText)
	}
	if _, body := c.get("/console/op/imports"); !strings.Contains(body, "<h1>Imports</h1>") || !strings.Contains(body, `>Undone<`) {
		t.Errorf("English imports page")
	}

	tenant := f.tenant(t)
	for _, p := range []string{"/console/op/imports", page} {
		if resp, _ := tenant.get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("a tenant got %d for %s", resp.StatusCode, p)
		}
	}
}
