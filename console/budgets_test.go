package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/ingest"
)

// platformCalls imports calls of uid into the current cycle on a
// third-party number of a pay-as-you-go instance (the platform fee, 0.0499
// a minute): minutes in all, split into calls of ten minutes or less.
func platformCalls(t testing.TB, f *fixture, uid string, minutes int) {
	t.Helper()
	ctx := context.Background()
	a, err := f.store.Account(ctx, uid)
	if err != nil {
		t.Fatal(err)
	}
	var inst, num string
	for _, in := range a.Instances {
		for _, n := range in.Numbers {
			if in.Mode == callbill.ModePayg && n.Source == callbill.SourceThirdParty && inst == "" {
				inst, num = in.ID, n.Number
			}
		}
	}
	if inst == "" {
		t.Fatalf("account %s has no third-party number on a pay-as-you-go instance", uid)
	}
	loc, _ := f.store.Location(ctx)
	start := callbill.CycleOf(time.Now(), loc).Start(loc).Unix() + 60
	var rows []callbill.CDR
	for i := 0; minutes > 0; i++ {
		m := min(minutes, 10)
		minutes -= m
		s := start + int64(i)*900
		rows = append(rows, callbill.CDR{ContactID: fmt.Sprintf("budget-%d-%d", time.Now().UnixNano(), i), InstanceID: inst,
			Direction: callbill.Outbound, Caller: num, Callee: "13800000000", Start: s, End: s + int64(m)*60})
	}
	if _, err := (&ingest.Service{Store: f.store}).Import(ctx, ingest.Input{Source: &cdrList{rows: rows}}); err != nil {
		t.Fatal(err)
	}
}

// cdrList is a source of CDRs.
type cdrList struct {
	rows []callbill.CDR
	i    int
}

func (c *cdrList) Next() (callbill.CDR, callbill.Pos, error) {
	if c.i >= len(c.rows) {
		return callbill.CDR{}, callbill.Pos{}, io.EOF
	}
	c.i++
	return c.rows[c.i-1], callbill.Pos{Line: c.i + 1}, nil
}

// budgetsAPI is the API's view of an account's budgets.
func budgetsAPI(t *testing.T, f *fixture, uid string) []api.BudgetStatusJSON {
	t.Helper()
	var out struct {
		Budgets []api.BudgetStatusJSON `json:"budgets"`
	}
	if err := json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+uid+"/budgets")), &out); err != nil {
		t.Fatal(err)
	}
	return out.Budgets
}

var bannerRE = regexp.MustCompile(`(?s)<div class="error budget-banner" role="alert" id="budget-banner">(.*?)</div>`)

// TestBudgetForms: the 预算 page sets budgets and usage triggers (the
// rules' refusals in the page's language beside their form, filled in
// again), shows each budget's actual and forecast as the API does, fires
// at once what the spend already crossed, removes; the overview of the
// open cycle carries the banner; the operator lists every account's.
func TestBudgetForms(t *testing.T) {
	f := newFixture(t, 200)
	c := f.tenant(t)
	a := "/console/a/" + f.uid1 + "/"
	page := a + "budgets"
	if _, body := c.get(page); !strings.Contains(body, "还没有预算。") || !strings.Contains(body, `id="nav-budgets"`) {
		t.Fatal("an empty budget page")
	}
	platformCalls(t, f, f.uid1, 30) // 1.497 of platform fee this cycle at list price, less the account's discount

	// Refusals, in Chinese, beside their form, the fields kept.
	to, _, errText, body := c.send(page, "set", a+"budgets/set", map[string]string{"watch": "item:CallCenterSoftware", "amount": "1.00", "thresholds": "50,半"})
	if to != page+"#set-form" || errText != "提醒阈值须为整数百分比，用逗号分隔，例如 50,80,100。" || !strings.Contains(body, `value="50,半"`) ||
		!strings.Contains(body, `<option value="item:CallCenterSoftware" selected>`) {
		t.Fatalf("bad thresholds: %s %q", to, errText)
	}
	if _, _, errText, _ = c.send(page, "set", a+"budgets/set", map[string]string{"watch": "total", "amount": "0", "thresholds": ""}); errText != "预算金额须大于 0，最多 1000000000.00 元，精确到分。" {
		t.Errorf("amount 0: %q", errText)
	}
	if _, _, errText, _ = c.send(page, "set", a+"budgets/set", map[string]string{"watch": "total", "amount": "1.00", "thresholds": "50,50"}); errText != "提醒阈值 50% 重复。" {
		t.Errorf("a threshold twice: %q", errText)
	}
	if to, _, errText, _ = c.send(page, "trigger", a+"budgets/trigger", map[string]string{"item": "FixedLineOutbound", "minutes": "十"}); to != page+"#trigger-form" || errText != "分钟数须为整数。" {
		t.Errorf("minutes: %s %q", to, errText)
	}

	// A budget of ¥1.00 on the platform fee: the spend crossed 50 % and 100 %, fired at once.
	_, pb := c.get(page)
	form := formFields(t, pb, "set", map[string]string{"watch": "item:CallCenterSoftware", "amount": "¥1.00", "thresholds": "50%，100%"})
	_, flash, errText, body := c.sendForm(form, a+"budgets/set")
	if errText != "" || flash != "已保存预算：计费项 · 坐席平台费。本期费用已超过 2 个阈值，已立即提醒。" {
		t.Fatalf("set: %q %q", flash, errText)
	}
	if !strings.Contains(body, `<option value="total" selected>`) {
		t.Error("after a budget is saved its form starts afresh (the total chosen)")
	}
	if _, flash, _, _ = c.sendForm(form, a+"budgets/set"); flash != "已保存预算：计费项 · 坐席平台费。本期费用已超过 2 个阈值，已立即提醒。" {
		t.Errorf("the same form again answers as the first: %q", flash)
	}
	_, flash, _, _ = c.send(page, "trigger", a+"budgets/trigger", map[string]string{"item": "CallCenterSoftware", "minutes": "20"})
	if flash != "已保存预算：用量提醒 · 坐席平台费。本期费用已超过 1 个阈值，已立即提醒。" {
		t.Errorf("trigger: %q", flash)
	}
	api := budgetsAPI(t, f, f.uid1)
	if len(api) != 2 {
		t.Fatalf("API: %+v", api)
	}
	var fired string // what the amount budget's 100 % saw
	for _, b := range api {
		for _, al := range b.Alerts {
			if b.Measure == "amount" && al.Threshold == 100 {
				fired = al.Actual
			}
		}
	}
	if fired == "" || callbill.MustDecimal(fired).LessThan(callbill.MustDecimal("1.00")) {
		t.Fatalf("the amount budget's 100 %%: %+v", api)
	}
	_, body = c.get(page)
	for _, b := range api {
		row := regexp.MustCompile(`(?s)<tr><td data-k="scope" data-v="item:CallCenterSoftware"[^>]*>[^<]*</td>(.*?)</tr>`).FindAllStringSubmatch(body, -1)
		found := false
		for _, r := range row {
			if strings.Contains(r[1], `data-k="actual" data-v="`+b.Actual+`"`) && strings.Contains(r[1], `data-k="forecast" data-v="`+b.Forecast+`"`) &&
				strings.Contains(r[1], `data-k="used_percent" data-v="`+b.Used+`"`) && strings.Contains(r[1], `data-k="alerts" data-v="`+fmt.Sprint(len(b.Alerts))+`"`) {
				found = true
			}
		}
		if !found {
			t.Errorf("the page does not show the API's %s budget: %+v", b.Measure, b)
		}
	}
	if n := strings.Count(body, `<td data-k="threshold"`); n != 3 {
		t.Errorf("%d alerts listed, want 3", n)
	}

	// The overview of the open cycle warns; a closed one does not.
	_, ov := c.get(a + "overview")
	m := bannerRE.FindStringSubmatch(ov)
	if m == nil || !strings.Contains(m[1], "计费项 · 坐席平台费 已达预算 ¥1.00 的 100%（实际 ¥"+fired+"）") ||
		!strings.Contains(m[1], "用量提醒 · 坐席平台费 分钟数已超过 20 分钟（实际 30 分钟）") || !strings.Contains(m[1], a+"budgets") {
		t.Errorf("banner: %q", m)
	}
	if _, ov = c.get(a + "overview?cycle=" + f.cycle.String()); bannerRE.MatchString(ov) {
		t.Error("a closed cycle shows the budget banner")
	}

	// English.
	c.get("/console/lang?to=en&back=/console/")
	if _, _, errText, _ = c.send(page, "set", a+"budgets/set", map[string]string{"watch": "total", "amount": "1.00", "thresholds": "0"}); errText != "threshold 0% is outside 1 … 1000 %" {
		t.Errorf("English: %q", errText)
	}
	if _, ov = c.get(a + "overview"); !strings.Contains(ov, "Billing item · Platform fee: ¥1.00 budget, 100% reached (actual ¥"+fired+")") {
		t.Errorf("English banner: %q", bannerRE.FindString(ov))
	}
	c.get("/console/lang?to=zh&back=/console/")

	// Removing.
	_, body = c.get(page)
	rm := regexp.MustCompile(`action="(`+regexp.QuoteMeta(a)+`budgets/(bgt_[A-Za-z0-9]+)/remove)"`).FindAllStringSubmatch(body, -1)
	if len(rm) != 2 {
		t.Fatalf("%d remove buttons", len(rm))
	}
	v := url.Values{"csrf": {tokenRE.FindStringSubmatch(body)[1]}, "key": {"remove-budget-key-0123456789ab"}}
	if _, flash, _, _ = c.sendForm(v, rm[0][1]); !strings.HasPrefix(flash, "已删除预算：") {
		t.Errorf("remove: %q", flash)
	}
	if api = budgetsAPI(t, f, f.uid1); len(api) != 1 {
		t.Errorf("after the removal: %+v", api)
	}

	// The operator's list: every account's budgets and alerts.
	op := f.operator(t)
	_, ob := op.get("/console/op/budgets")
	if !strings.Contains(ob, `id="op-budgets-table"`) || strings.Count(ob, `<td data-k="scope"`) != 4 || !strings.Contains(ob, "/console/a/"+f.uid1+"/budgets") {
		t.Errorf("operator's budgets: one in force and three alerts expected")
	}
	if _, ob = op.get("/console/op/budgets?account=" + f.uid2); strings.Count(ob, `<td data-k="scope"`) != 0 {
		t.Errorf("operator's budgets of %s: none expected", f.uid2)
	}
}
