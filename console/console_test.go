package console_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/budget"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/console"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/invoice"
	"github.com/callbill/callbill/jobs"
	"github.com/shopspring/decimal"
)

func TestMoney(t *testing.T) {
	for in, want := range map[string]string{"0": "¥0.00", "1234.5": "¥1,234.50", "-12": "-¥12.00", "999": "¥999.00",
		"1000": "¥1,000.00", "1234567.891": "¥1,234,567.89", "100000": "¥100,000.00", "0.005": "¥0.01"} {
		if got := console.Money(decimal.RequireFromString(in)); got != want {
			t.Errorf("Money(%s) = %s, want %s", in, got, want)
		}
		if got := console.MoneyString(in); got != want {
			t.Errorf("MoneyString(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestSignInAndCookies(t *testing.T) {
	f := newFixture(t, 2000)
	c := f.client(t)
	// Not signed in: every page sends to the sign-in page.
	resp, _ := c.get("/console/a/" + f.uid1 + "/overview")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login?next=") {
		t.Fatalf("anonymous: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Wrong credentials of each kind.
	for _, form := range []url.Values{
		{"method": {"accesskey"}, "id": {f.key1.ID}, "secret": {"wrong"}},
		{"method": {"accesskey"}, "id": {"LTAInope"}, "secret": {f.key1.Secret}},
		{"method": {"password"}, "name": {tenantUser}, "password": {"wrong-password"}},
		{"method": {"password"}, "name": {"nobody"}, "password": {tenantPass}},
		{"method": {"operator"}, "key": {"wrong"}},
	} {
		if resp := c.login(form); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%v: %d", form, resp.StatusCode)
		}
	}
	// A form without the sign-in token is refused.
	resp, _ = c.post("/console/login", url.Values{"method": {"operator"}, "key": {operatorKey}, "csrf": {"forged"}})
	if resp.StatusCode == http.StatusSeeOther {
		t.Fatal("sign-in without the form token succeeded")
	}
	// Each way in, and where it leads.
	for _, tc := range []struct {
		form url.Values
		home string
	}{
		{url.Values{"method": {"accesskey"}, "id": {f.key1.ID}, "secret": {f.key1.Secret}}, "/console/a/" + f.uid1 + "/overview"},
		{url.Values{"method": {"password"}, "name": {tenantUser}, "password": {tenantPass}}, "/console/a/" + f.uid1 + "/overview"},
		{url.Values{"method": {"password"}, "name": {operatorUser}, "password": {operatorPass}}, "/console/op/accounts"},
		{url.Values{"method": {"operator"}, "key": {operatorKey}}, "/console/op/accounts"},
	} {
		c := f.client(t)
		resp := c.login(tc.form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%v: %d", tc.form["method"], resp.StatusCode)
		}
		var sess *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == "callbill_session" {
				sess = ck
			}
		}
		if sess == nil || !sess.HttpOnly || sess.Path != "/console/" || sess.SameSite != http.SameSiteLaxMode || len(sess.Value) != 43 {
			t.Fatalf("session cookie %+v", sess)
		}
		resp, _ = c.get("/console/")
		if got := resp.Header.Get("Location"); got != tc.home {
			t.Errorf("%v: home %s, want %s", tc.form["method"], got, tc.home)
		}
		// Signing out ends the session.
		tok := c.token(tc.home)
		if resp, _ := c.post("/console/logout", url.Values{"csrf": {tok}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		if resp, _ := c.get(tc.home); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("after logout: %d", resp.StatusCode)
		}
	}
	// Behind a TLS proxy the cookie is Secure.
	c = f.client(t)
	tok := c.token("/console/login")
	req, _ := http.NewRequest("POST", f.srv.URL+"/console/login", strings.NewReader(url.Values{"csrf": {tok}, "method": {"operator"}, "key": {operatorKey}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, _ = c.do(req)
	secure := false
	for _, ck := range resp.Cookies() {
		if ck.Name == "callbill_session" {
			secure = ck.Secure
		}
	}
	if !secure {
		t.Error("the session cookie is not Secure behind https")
	}
	// The secret and the password never reach the log.
	if strings.Contains(f.log.String(), f.key1.Secret) || strings.Contains(f.log.String(), tenantPass) || strings.Contains(f.log.String(), operatorKey) {
		t.Error("a secret was logged")
	}
}

func TestSignInIsThrottled(t *testing.T) {
	f := newFixture(t, 100)
	c := f.client(t)
	for range 10 {
		c.login(url.Values{"method": {"operator"}, "key": {"wrong"}})
	}
	if resp := c.login(url.Values{"method": {"operator"}, "key": {operatorKey}}); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("11th attempt: %d", resp.StatusCode)
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, 100)
	c := f.tenant(t)
	for _, p := range []string{"/console/login", "/console/a/" + f.uid1 + "/overview", "/console/static/console.css", "/console/nope",
		"/console/a/" + f.uid2 + "/overview"} {
		resp, _ := c.get(p)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", p, h)
		}
	}
	// No inline script anywhere: the CSP would block it.
	_, body := c.get("/console/a/" + f.uid1 + "/overview")
	if regexp.MustCompile(`<script[^>]*>[^<]`).MatchString(body) || strings.Contains(body, " style=") || strings.Contains(body, "onclick") {
		t.Error("inline script or style on the overview")
	}
}

// TestTenantIsolation walks the console's own route list: a tenant session
// gets 404 for every page of another account and for every operator page,
// whatever the method, and learns nothing of the other tenant.
func TestTenantIsolation(t *testing.T) {
	f := newFixture(t, 2000)
	c := f.tenant(t)
	tok := c.token("/console/a/" + f.uid1 + "/overview")
	other, err := f.store.Account(context.Background(), f.uid2)
	if err != nil {
		t.Fatal(err)
	}
	// An export of the other tenant, to try to download, and its invoice
	// title, application and contracts, to try to reach.
	ctx := context.Background()
	job, _, err := (jobs.Service{Store: f.store}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobExport, Key: "x", Account: f.uid2, Params: `{"account":"` + f.uid2 + `","cycle":"` + f.cycle.String() + `"}`})
	if err != nil {
		t.Fatal(err)
	}
	title, err := f.invoices().SaveTitle(ctx, callbill.InvoiceTitle{Account: f.uid2, Kind: callbill.TitleCompany, Type: callbill.InvoiceGeneral,
		Name: other.Name, TaxID: "91350100M000100Y43"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := f.invoices().Apply(ctx, invoice.ApplyInput{Account: f.uid2, TitleID: title.ID, AmountFen: 100})
	if err != nil {
		t.Fatal(err)
	}
	formal := formalContract(t, f, f.uid2)
	budgets := &budget.Service{Store: f.store, Spend: &closing.Service{Store: f.store}}
	bud, err := budgets.Set(ctx, budget.SetInput{Account: f.uid2, Scope: callbill.BudgetTotal, Measure: callbill.BudgetAmount, Amount: callbill.MustDecimal("100.00")})
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := f.store.Location(ctx)
	// The id in a route is the other tenant's object of that kind.
	idFor := func(pattern string) string {
		switch {
		case strings.Contains(pattern, "/titles/{id}"):
			return title.ID
		case strings.Contains(pattern, "/invoices/{id}"):
			return app.ID
		case strings.Contains(pattern, "/contracts/{id}"):
			return formal.ID
		case strings.Contains(pattern, "/budgets/{id}"):
			return bud.Budget.ID
		}
		return itoa(job.ID)
	}
	form := url.Values{"csrf": {tok}, "key": {"isolation-test-key-0123456789"}, "account": {f.uid2}, "amount": {"1"},
		"cycle": {f.open.String()}, "confirm": {"yes"}, "title": {title.ID}, "kind": {"service"}, "from": {f.cycle.String()},
		"to": {f.cycle.String()}, "name": {other.Name}, "reason": {"isolation"}, "invoice_no": {"12345678"},
		"invoice_date": {time.Now().In(loc).Format("2006-01-02")}, "phone": {"13800138000"}}
	checked, own := 0, 0
	for _, r := range f.cons.Routes() {
		if r.Scope == console.ScopePublic || r.Scope == console.ScopeSession {
			continue
		}
		id := idFor(r.Pattern)
		paths := []string{strings.NewReplacer("{uid}", f.uid2, "{id}", id, "{$}", "").Replace(r.Pattern)}
		if r.Scope == console.ScopeAccount && strings.Contains(r.Pattern, "{id}") {
			// The other tenant's object under the tenant's own account.
			paths = append(paths, strings.NewReplacer("{uid}", f.uid1, "{id}", id).Replace(r.Pattern))
			own++
		}
		methods := []string{r.Method}
		if r.Method == "" {
			methods = []string{"GET", "POST"}
		}
		for _, path := range paths {
			for _, m := range methods {
				var resp *http.Response
				var body string
				if m == "POST" {
					resp, body = c.post(path, form)
				} else {
					resp, body = c.get(path)
				}
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("%s %s (%s): %d", m, path, r.Scope, resp.StatusCode)
				}
				if strings.Contains(body, other.Name) || strings.Contains(body, f.uid2) && !strings.Contains(path, f.uid2) ||
					strings.Contains(body, id) && id != itoa(job.ID) && !strings.Contains(path, id) {
					t.Errorf("%s %s shows the other tenant", m, path)
				}
				checked++
			}
		}
	}
	if checked < 40 || own < 7 {
		t.Fatalf("only %d routes checked (%d with the other tenant's id under the own account)", checked, own)
	}
	// The other tenant's things are as they were.
	if a, err := f.invoices().List(ctx, invoice.ListInput{Account: f.uid2}); err != nil || len(a) != 1 || a[0].State != callbill.InvoicePending {
		t.Errorf("the other tenant's applications: %+v %v", a, err)
	}
	if ts, err := f.invoices().Titles(ctx, f.uid2); err != nil || len(ts) != 1 {
		t.Errorf("the other tenant's titles: %+v %v", ts, err)
	}
	if cs, err := (&contract.Service{Store: f.store}).List(ctx, contract.ListInput{Account: f.uid2}); err != nil || len(cs) != 1 || cs[0].State != callbill.ContractFormal {
		t.Errorf("the other tenant's contracts: %+v %v", cs, err)
	}
	if bs, err := budgets.List(ctx, budget.ListInput{Account: f.uid2}); err != nil || len(bs) != 1 || bs[0].ID != bud.Budget.ID {
		t.Errorf("the other tenant's budgets: %+v %v", bs, err)
	}
	if bs, _ := budgets.List(ctx, budget.ListInput{Account: f.uid1}); len(bs) != 0 {
		t.Errorf("a budget was set on the tenant's own account: %+v", bs)
	}
	if ts, _ := f.invoices().Titles(ctx, f.uid1); len(ts) != 0 {
		t.Errorf("a title was added to the tenant's own account: %+v", ts)
	}
	// Its own pages work.
	for _, p := range []string{"overview", "bill", "usage", "exports", "packages", "account", "invoices", "contracts", "budgets"} {
		if resp, _ := c.get("/console/a/" + f.uid1 + "/" + p); resp.StatusCode != 200 {
			t.Errorf("own %s: %d", p, resp.StatusCode)
		}
	}
	// Nothing was closed or moved by the attempts.
	b, err := (&closing.Service{Store: f.store}).Bill(context.Background(), closing.BillInput{Account: f.uid1, Cycle: f.open})
	if err != nil || b.Status != callbill.BillStatusOpen {
		t.Errorf("the open cycle is %v (%v)", b.Status, err)
	}
}

func TestFormsNeedTokenAndSameOrigin(t *testing.T) {
	f := newFixture(t, 100)
	c := f.operator(t)
	tok := c.token("/console/op/close")
	form := url.Values{"cycle": {f.open.String()}, "confirm": {"yes"}}
	// No token.
	if resp, _ := c.post("/console/op/close", form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("without a token: %d", resp.StatusCode)
	}
	// A token, but from another site (the browser says so).
	form.Set("csrf", tok)
	req, _ := http.NewRequest("POST", f.srv.URL+"/console/op/close", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, _ := c.do(req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("POST", f.srv.URL+"/console/op/close", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp, _ := c.do(req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin: %d", resp.StatusCode)
	}
	b, _ := (&closing.Service{Store: f.store}).Bill(context.Background(), closing.BillInput{Account: f.uid1, Cycle: f.open})
	if b.Status != callbill.BillStatusOpen {
		t.Fatal("a refused form closed the cycle")
	}
	// The real form.
	resp, body := c.post("/console/op/close", form)
	if resp.StatusCode != 200 || !strings.Contains(body, f.open.String()) {
		t.Fatalf("close: %d", resp.StatusCode)
	}
	b, _ = (&closing.Service{Store: f.store}).Bill(context.Background(), closing.BillInput{Account: f.uid1, Cycle: f.open})
	if b.Status != callbill.BillStatusClosed {
		t.Fatal("the cycle is not closed")
	}
}

func TestSessionsEnd(t *testing.T) {
	f := newFixture(t, 100)
	ctx := context.Background()
	page := "/console/a/" + f.uid1 + "/account"
	// Idle for more than 12 hours.
	c := f.tenant(t)
	if resp, _ := c.get(page); resp.StatusCode != 200 {
		t.Fatalf("signed in: %d", resp.StatusCode)
	}
	f.store.Now = func() time.Time { return time.Now().Add(13 * time.Hour) }
	if resp, _ := c.get(page); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after 13 idle hours: %d", resp.StatusCode)
	}
	f.store.Now = time.Now
	// Revoking the AccessKey ends its sessions.
	c = f.tenant(t)
	if err := f.store.RevokeAccessKey(ctx, f.key1.ID); err != nil {
		t.Fatal(err)
	}
	if resp, _ := c.get(page); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after revoking the key: %d", resp.StatusCode)
	}
	// Removing the user ends its sessions.
	c = f.client(t)
	c.login(url.Values{"method": {"password"}, "name": {tenantUser}, "password": {tenantPass}})
	if resp, _ := c.get(page); resp.StatusCode != 200 {
		t.Fatalf("user signed in: %d", resp.StatusCode)
	}
	if err := f.store.RemoveConsoleUser(ctx, tenantUser); err != nil {
		t.Fatal(err)
	}
	if resp, _ := c.get(page); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after removing the user: %d", resp.StatusCode)
	}
	// A new operator key ends the old key's sessions.
	c = f.operator(t)
	f.cons.OperatorKey = "another-key"
	if resp, _ := c.get("/console/op/accounts"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the operator key changed: %d", resp.StatusCode)
	}
}

var cellRE = regexp.MustCompile(`<td data-k="([a-z_]+)" data-v="([^"]*)"[^>]*>`)

// rows reads a table's body rows as maps of column key to raw value.
func rows(t *testing.T, body, id string) (out []map[string]string, foot map[string]string) {
	t.Helper()
	i := strings.Index(body, `<table id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no table %s", id)
	}
	body = body[i:]
	body = body[:strings.Index(body, "</table>")]
	tb, tf, _ := strings.Cut(body, "<tfoot>")
	for _, tr := range strings.Split(tb, "<tr")[1:] {
		m := map[string]string{}
		for _, c := range cellRE.FindAllStringSubmatch(tr, -1) {
			m[c[1]] = html.UnescapeString(c[2])
		}
		if len(m) > 0 {
			out = append(out, m)
		}
	}
	if tf != "" {
		foot = map[string]string{}
		for _, c := range cellRE.FindAllStringSubmatch(tf, -1) {
			foot[c[1]] = html.UnescapeString(c[2])
		}
	}
	return out, foot
}

// TestBillPagesMatchTheAPI compares every line of the bill details, in
// every view, and the overview, with the API's JSON.
func TestBillPagesMatchTheAPI(t *testing.T) {
	f := newFixture(t, 3000)
	c := f.tenant(t)
	cy := f.cycle.String()
	for _, q := range []string{"", "by=instance", "period=day", "by=instance&period=day", "product_detail=ccc_postpaid",
		"product_detail=ccc_voice_package", "product=ccc&product_detail=ccc_subscription&period=day"} {
		var want callbill.BillJSON
		json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+f.uid1+"/bills/"+cy+"?"+q)), &want)
		resp, body := c.get("/console/a/" + f.uid1 + "/bill?cycle=" + cy + "&" + q)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", q, resp.StatusCode)
		}
		got, foot := rows(t, body, "bill-table")
		if len(got) != len(want.Lines) {
			t.Fatalf("%s: %d rows, API %d lines", q, len(got), len(want.Lines))
		}
		for i, l := range want.Lines {
			var m map[string]any
			b, _ := json.Marshal(l)
			json.Unmarshal(b, &m)
			for k, v := range m {
				if k == "band" {
					v = itoa(int64(v.(float64)))
				}
				if got[i][k] != v {
					t.Errorf("%s line %d %s: page %q, API %q", q, i, k, got[i][k], v)
				}
			}
		}
		for k, v := range map[string]string{"original": want.Totals.Original, "discount": want.Totals.Discount,
			"payable": want.Totals.Payable, "outstanding": want.Totals.Outstanding} {
			if foot[k] != v {
				t.Errorf("%s total %s: page %q, API %q", q, k, foot[k], v)
			}
			if !strings.Contains(body, ">"+console.MoneyString(v)+"</td>") {
				t.Errorf("%s: %s not shown as %s", q, k, console.MoneyString(v))
			}
		}
	}
	var ov callbill.OverviewJSON
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+f.uid1+"/bills/"+cy+"/overview")), &ov)
	_, body := c.get("/console/a/" + f.uid1 + "/overview?cycle=" + cy)
	got, foot := rows(t, body, "overview-table")
	if len(got) != len(ov.Items) {
		t.Fatalf("overview: %d rows, API %d", len(got), len(ov.Items))
	}
	for i, it := range ov.Items {
		if got[i]["product_detail"] != it.ProductDetail || got[i]["payable"] != it.Payable || got[i]["original"] != it.Original {
			t.Errorf("overview row %d: %v, API %+v", i, got[i], it)
		}
	}
	if foot["payable"] != ov.Totals.Payable || !strings.Contains(body, `id="sum-payable" data-v="`+ov.Totals.Payable+`">`+console.MoneyString(ov.Totals.Payable)) {
		t.Errorf("overview payable: %v, API %s", foot, ov.Totals.Payable)
	}
	// The daily chart's days add up to the payable.
	days, _ := rows(t, body, "chart-daily-data")
	sum := decimal.Zero
	for _, d := range days {
		sum = sum.Add(decimal.RequireFromString(d["payable"]))
	}
	if sum.StringFixed(2) != ov.Totals.Payable {
		t.Errorf("daily chart sums to %s, payable %s", sum.StringFixed(2), ov.Totals.Payable)
	}
	// English.
	c.get("/console/lang?to=en&back=/console/")
	if _, body := c.get("/console/a/" + f.uid1 + "/overview?cycle=" + cy); !strings.Contains(body, "Bill overview") || !strings.Contains(body, `lang="en"`) {
		t.Error("no English overview")
	}
}

func TestUsagePagingMatchesTheAPI(t *testing.T) {
	f := newFixture(t, 3000)
	c := f.tenant(t)
	var api struct {
		Calls []struct {
			Seq            int64
			Start          string
			Caller, Callee string
			Charge         string
		}
		Next string
	}
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+f.uid1+"/usage?cycle="+f.cycle.String()+"&limit=20")), &api)
	_, body := c.get("/console/a/" + f.uid1 + "/usage?cycle=" + f.cycle.String() + "&size=20")
	got, _ := rows(t, body, "usage-table")
	if len(got) != 20 || len(api.Calls) != 20 {
		t.Fatalf("%d rows, API %d", len(got), len(api.Calls))
	}
	// 序号 is the row's position in the listing, not the call's internal
	// sequence; the rows are the API's.
	same := func(r map[string]string, cl struct {
		Seq            int64
		Start          string
		Caller, Callee string
		Charge         string
	}) bool {
		return r["start"] == cl.Start && r["caller"] == cl.Caller && r["callee"] == cl.Callee && r["charge"] == cl.Charge
	}
	for i, cl := range api.Calls {
		if got[i]["no"] != itoa(int64(i+1)) || !same(got[i], cl) {
			t.Errorf("row %d: %v, API %+v", i, got[i], cl)
		}
	}
	if strings.Contains(body, ">"+itoa(api.Calls[0].Seq)+"<") && api.Calls[0].Seq > 20 {
		t.Errorf("the call's sequence %d is shown", api.Calls[0].Seq)
	}
	// Next, then back: the positions continue, and come back.
	next := regexp.MustCompile(`href="([^"]+)" id="page-next"`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no next page")
	}
	_, body2 := c.get(html.UnescapeString(next[1]))
	got2, _ := rows(t, body2, "usage-table")
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+f.uid1+"/usage?cycle="+f.cycle.String()+"&limit=20&after="+api.Next)), &api)
	if len(got2) != 20 || !same(got2[0], api.Calls[0]) || got2[0]["no"] != "21" || got2[19]["no"] != "40" {
		t.Errorf("page 2: %v…%v, API %+v", got2[0], got2[len(got2)-1], api.Calls[0])
	}
	next3 := regexp.MustCompile(`href="([^"]+)" id="page-next"`).FindStringSubmatch(body2)
	_, body4 := c.get(html.UnescapeString(next3[1]))
	if got4, _ := rows(t, body4, "usage-table"); len(got4) == 0 || got4[0]["no"] != "41" {
		t.Errorf("page 3 starts at %v", got4)
	}
	prev := regexp.MustCompile(`href="([^"]+)" id="page-prev"`).FindStringSubmatch(body4)
	_, body5 := c.get(html.UnescapeString(prev[1]))
	if got5, _ := rows(t, body5, "usage-table"); len(got5) != 20 || got5[0]["no"] != "21" || got5[0]["start"] != got2[0]["start"] {
		t.Errorf("back to page 2: %v", got5)
	}
	prev = regexp.MustCompile(`href="([^"]+)" id="page-prev"`).FindStringSubmatch(body2)
	if prev == nil {
		t.Fatal("no previous page")
	}
	_, body3 := c.get(html.UnescapeString(prev[1]))
	got3, _ := rows(t, body3, "usage-table")
	if len(got3) != 20 || got3[0]["no"] != "1" || got3[19]["no"] != "20" || got3[0]["start"] != got[0]["start"] || got3[19]["charge"] != got[19]["charge"] {
		t.Errorf("back to page 1: %v…%v", got3[0], got3[len(got3)-1])
	}
	// A page link made by hand, without its position, numbers nothing
	// rather than wrongly; going back to the first page numbers from 1.
	bare := regexp.MustCompile(`&amp;n=\d+|n=\d+&amp;`).ReplaceAllString(next[1], "")
	if _, b := c.get(html.UnescapeString(bare)); strings.Contains(b, `data-k="no" data-v="21"`) || !strings.Contains(b, `data-k="no" data-v=""`) {
		t.Errorf("a page without its position: %s", bare)
	}
	// Filters: outbound calls only, then a date range.
	_, body = c.get("/console/a/" + f.uid1 + "/usage?cycle=" + f.cycle.String() + "&direction=outbound&item=FixedLineOutbound")
	got, _ = rows(t, body, "usage-table")
	if len(got) == 0 {
		t.Fatal("no outbound calls")
	}
	for _, r := range got {
		if r["direction"] != "outbound" || r["item"] != "FixedLineOutbound" {
			t.Fatalf("filtered row %v", r)
		}
	}
	loc, _ := time.LoadLocation(callbill.DefaultTimezone)
	day := f.cycle.Start(loc).AddDate(0, 0, 9).Format("2006-01-02")
	_, body = c.get("/console/a/" + f.uid1 + "/usage?mode=range&from=" + day + "&to=" + day)
	got, _ = rows(t, body, "usage-table")
	if len(got) == 0 {
		t.Fatal("no calls on " + day)
	}
	for _, r := range got {
		if !strings.HasPrefix(r["start"], day) {
			t.Fatalf("row outside %s: %v", day, r)
		}
	}
}

func itoa(n int64) string { return decimal.NewFromInt(n).String() }

// TestInvoicePagesWithoutTheStore: a store without invoices gives
// placeholders; a formal contract's PDF is the account's alone.
func TestInvoicePages(t *testing.T) {
	f := newFixture(t, 200)
	c := formalContract(t, f, f.uid1)
	tenant := f.tenant(t)
	resp, body := tenant.get("/console/a/" + f.uid1 + "/contracts/" + c.ID + "/pdf")
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "%PDF-") || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("own PDF: %d %q", resp.StatusCode, body[:min(len(body), 20)])
	}
	// The other tenant asks for it under its own account and under ours.
	other := f.client(t)
	other.login(url.Values{"method": {"accesskey"}, "id": {f.key2.ID}, "secret": {f.key2.Secret}})
	for _, p := range []string{"/console/a/" + f.uid2 + "/contracts/" + c.ID + "/pdf", "/console/a/" + f.uid1 + "/contracts/" + c.ID + "/pdf"} {
		if resp, _ := other.get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s by the other tenant: %d", p, resp.StatusCode)
		}
	}
	// Without invoices in the store: placeholders.
	plain := &console.Server{Store: struct{ console.Store }{f.store}, OperatorKey: operatorKey}
	srv := httptest.NewServer(plain.Handler())
	defer srv.Close()
	pc := &client{t: t, base: srv.URL, http: tenant.http}
	jar, _ := cookiejar.New(nil)
	pc.http = &http.Client{Jar: jar, CheckRedirect: tenant.http.CheckRedirect}
	pc.login(url.Values{"method": {"accesskey"}, "id": {f.key1.ID}, "secret": {f.key1.Secret}})
	for _, p := range []string{"invoices", "contracts"} {
		resp, body := pc.get("/console/a/" + f.uid1 + "/" + p)
		if resp.StatusCode != 200 || !strings.Contains(body, `id="placeholder-`+p+`"`) {
			t.Errorf("%s without the invoice store: %d", p, resp.StatusCode)
		}
	}
}

func TestMountedPagesAndRootRedirect(t *testing.T) {
	f := newFixture(t, 100)
	cons := &console.Server{Store: f.store, OperatorKey: operatorKey,
		Invoices: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sess := console.Session(r)
			w.Write([]byte("invoices of " + sess.Account + " " + r.Method))
		})}
	mux := http.NewServeMux()
	mux.Handle("/console/", cons.Handler())
	mux.Handle("/", console.RootRedirect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("bss")) })))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, base: srv.URL, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	c.login(url.Values{"method": {"accesskey"}, "id": {f.key1.ID}, "secret": {f.key1.Secret}})
	if resp, body := c.get("/console/a/" + f.uid1 + "/invoices/x"); resp.StatusCode != 200 || body != "invoices of "+f.uid1+" GET" {
		t.Errorf("mounted page: %d %q", resp.StatusCode, body)
	}
	if resp, _ := c.get("/console/a/" + f.uid2 + "/invoices"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another tenant's mounted page: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/console/a/"+f.uid1+"/invoices", url.Values{"csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a mounted form without the token: %d", resp.StatusCode)
	}
	tok := c.token("/console/a/" + f.uid1 + "/account")
	if resp, body := c.post("/console/a/"+f.uid1+"/invoices", url.Values{"csrf": {tok}}); resp.StatusCode != 200 || !strings.HasSuffix(body, "POST") {
		t.Errorf("a mounted form: %d %q", resp.StatusCode, body)
	}
	if resp, _ := c.get("/"); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console/" {
		t.Errorf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := c.get("/?Action=QueryBill"); body != "bss" {
		t.Errorf("GET /?Action=: %q", body)
	}
	// A browser's icon request is the console's, not the BSS endpoint's;
	// other paths and methods still reach the endpoint.
	resp, body := c.get("/favicon.ico")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(body, "<svg") {
		t.Errorf("GET /favicon.ico: %d %s %.20q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if _, page := c.get("/console/a/" + f.uid1 + "/account"); !strings.Contains(page, `<link rel="icon" href="/console/static/favicon.svg?v=`) {
		t.Error("pages do not link to the icon")
	}
	if resp, body := c.get("/console/static/favicon.svg"); resp.StatusCode != 200 || !strings.HasPrefix(body, "<svg") {
		t.Errorf("the icon asset: %d", resp.StatusCode)
	}
	if resp, body := c.post("/favicon.ico", url.Values{}); resp.StatusCode != 200 || body != "bss" {
		t.Errorf("POST /favicon.ico: %d %q", resp.StatusCode, body)
	}
}

var (
	h1RE      = regexp.MustCompile(`<h1>([^<]*)</h1>`)
	errPageRE = regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`)
)

// TestErrorPagesInLanguage: the errors the console's pages can meet — bad
// filters, cycles outside the billing window, forms refused — are shown in
// the page's language, the status's name too; on a Chinese page none is
// left in English.
func TestErrorPagesInLanguage(t *testing.T) {
	f := newFixture(t, 100)
	c, op := f.tenant(t), f.operator(t)
	a := "/console/a/" + f.uid1 + "/"
	loc, _ := time.LoadLocation(callbill.DefaultTimezone)
	first := (callbill.CycleOf(time.Now(), loc) - 24).String()
	for _, tc := range []struct {
		who      *client
		path     string
		status   int
		zh, en   string
		prefixed bool // zh is the message's beginning (it names a date)
	}{
		{c, a + "overview?cycle=2026-13", 400, "账期「2026-13」的格式应为 YYYY-MM。", `billing cycle "2026-13" must be YYYY-MM`, false},
		{c, a + "bill?cycle=2000-01", 400, "账期 2000-01 早于首个计费账期 " + first + "：该账期没有账单。", "cycle 2000-01 is before the first billable cycle", true},
		{c, a + "overview?cycle=2999-01", 400, "账期 2999-01 晚于 ", "cycle 2999-01 is after", true},
		{c, a + "bill?by=x", 400, "统计项须为计费项或实例。", "Group by must be billing item or instance.", false},
		{c, a + "bill?period=x", 400, "统计周期须为账期或天。", "Period must be billing cycle or day.", false},
		{c, a + "bill?product_detail=%3Cx%3E", 400, "没有产品明细「<x>」。", `There is no product detail "<x>".`, false},
		{c, a + "usage?mode=range&from=x&to=y", 400, "日期的格式应为 YYYY-MM-DD。", "The dates must be YYYY-MM-DD.", false},
		{c, a + "usage?mode=range&from=2026-10-05&to=2026-10-01", 400, "开始日期晚于结束日期。", "The start date is after the end date.", false},
		{c, a + "usage?item=x", 400, "没有通话类型「x」。", `There is no call type "x".`, false},
		{c, a + "usage?direction=sideways", 400, "呼叫方向须为呼入或呼出。", "direction must be inbound or outbound", false},
		{c, a + "exports/99999/file", 404, "页面不存在。", "Page not found.", false},
		{op, "/console/op/invoices?status=x", 400, "没有发票申请状态「x」（可选：审核中、已开具、已驳回、已撤回、全部）。", `Status must be pending, issued, rejected, withdrawn or all, not "x".`, false},
		{op, "/console/op/contracts?status=x", 400, "没有合同状态「x」（可选：草稿、正式、已作废、已失效）。", `Status must be draft, formal, void or lapsed, not "x".`, false},
	} {
		for _, lang := range []string{"zh", "en"} {
			tc.who.get("/console/lang?to=" + lang + "&back=/console/")
			resp, body := tc.who.get(tc.path)
			want, title := tc.zh, strconv.Itoa(tc.status)+" "+map[int]string{400: "请求有误", 404: "页面不存在"}[tc.status]
			if lang == "en" {
				want, title = tc.en, strconv.Itoa(tc.status)+" "+http.StatusText(tc.status)
			}
			h, m := h1RE.FindStringSubmatch(body), errPageRE.FindStringSubmatch(body)
			if resp.StatusCode != tc.status || h == nil || h[1] != title || m == nil {
				t.Errorf("%s %s: %d, heading %v", lang, tc.path, resp.StatusCode, h)
				continue
			}
			got := html.UnescapeString(m[1])
			if got != want && !((tc.prefixed || lang == "en") && strings.HasPrefix(got, want)) {
				t.Errorf("%s %s: %q, want %q", lang, tc.path, got, want)
			}
		}
		tc.who.get("/console/lang?to=zh&back=/console/")
	}

	// Forms: a close of a cycle that has not ended, a top-up of a bad
	// amount, a form without its token.
	closeForm := url.Values{"csrf": {op.token("/console/op/close")}, "cycle": {"2999-01"}, "confirm": {"yes"}}
	if resp, body := op.post("/console/op/close", closeForm); resp.StatusCode != 422 || !strings.Contains(body, ">账期 2999-01 尚未结束（结束于 ") {
		t.Errorf("closing a cycle that has not ended: %d %s", resp.StatusCode, errorRE.FindString(body))
	}
	_, page := op.get("/console/op/topup?account=" + f.uid1)
	topup := formFields(t, page, "topup-form", map[string]string{"account": f.uid1, "amount": "1e5"})
	if resp, body := op.post("/console/op/topup", topup); resp.StatusCode != 400 || !strings.Contains(html.UnescapeString(body), `>金额 "1e5" 不是有效的数字：`) {
		t.Errorf("a top-up of 1e5: %d %s", resp.StatusCode, errorRE.FindString(body))
	}
	resp, body := c.post(a+"usage/export", url.Values{"csrf": {"forged"}})
	if h := h1RE.FindStringSubmatch(body); resp.StatusCode != 403 || h == nil || h[1] != "403 禁止访问" || !strings.Contains(body, "表单不是从本控制台发出的，或已过期：请刷新页面后重试。") {
		t.Errorf("a form without its token: %d %v", resp.StatusCode, h)
	}
}

var cardRE = regexp.MustCompile(`<span class="card-label">([^<]*)</span><span class="card-value" id="(op-[a-z]+)">([^<]*)</span>`)

// TestOperatorAccountCards: the account list's cards count accounts by
// state, and apart from that the accounts that owe and what they owe
// together — labelled so, and agreeing with the API and with each other.
func TestOperatorAccountCards(t *testing.T) {
	// With 3,000 calls the second demo tenant (a credit line, little
	// cash) owes after the close, within its credit line: normal, yet
	// owing.
	f := newFixture(t, 3000)
	_, body := f.operator(t).get("/console/op/accounts")
	cards := map[string][2]string{}
	for _, m := range cardRE.FindAllStringSubmatch(body, -1) {
		cards[m[2]] = [2]string{html.UnescapeString(m[1]), m[3]}
	}
	states, owing, owed := map[string]int{}, 0, decimal.Zero
	for _, uid := range []string{f.uid1, f.uid2} {
		var a api.AccountJSON
		json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+uid)), &a)
		states[a.State]++
		if o := decimal.RequireFromString(a.Outstanding); o.IsPositive() {
			owing++
			owed = owed.Add(o)
		}
	}
	if owing == 0 || owing == states["overdue"]+states["stopped"] {
		t.Fatalf("the fixture should have an account that owes within its credit line: %v, %d owing", states, owing)
	}
	for id, want := range map[string][2]string{
		"op-count": {"账户数", "2"}, "op-normal": {"状态「正常」的账户", strconv.Itoa(states["normal"])},
		"op-overdue": {"状态「欠费」的账户", strconv.Itoa(states["overdue"])}, "op-stopped": {"状态「停机」的账户", strconv.Itoa(states["stopped"])},
		"op-owing": {"有欠费金额的账户", strconv.Itoa(owing)}, "op-outstanding": {"欠费金额合计", console.Money(owed)},
	} {
		if cards[id] != want {
			t.Errorf("card %s: %q, want %q", id, cards[id], want)
		}
	}
	if rs, _ := rows(t, body, "accounts-table"); len(rs) != 2 {
		t.Errorf("rows %v", rs)
	}
}

// TestOperatorKeysAll: AccessKey 管理 opens on 全部 and lists every
// account's keys there, with a form that asks whose key to make; one
// account's view lists its keys only.
func TestOperatorKeysAll(t *testing.T) {
	f := newFixture(t, 100)
	op := f.operator(t)
	_, body := op.get("/console/op/keys")
	rs, _ := rows(t, body, "keys-table")
	got := map[string]string{}
	for _, r := range rs {
		got[r["id"]] = r["account"]
	}
	if len(rs) != 2 || got[f.key1.ID] != f.uid1 || got[f.key2.ID] != f.uid2 {
		t.Errorf("全部 lists %v", rs)
	}
	if strings.Contains(body, "请选择一个账户") || !strings.Contains(body, `<option value="" selected>全部</option>`) ||
		!strings.Contains(body, `id="key-create-account"`) || !strings.Contains(body, "下表列出所有账户的 AccessKey。") {
		t.Error("the page under 全部 does not offer the accounts to make a key for")
	}
	form := formFields(t, body, "key-create", map[string]string{"account": f.uid2})
	resp, body := op.post("/console/op/keys", form)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="new-key-secret"`) {
		t.Fatalf("create from 全部: %d", resp.StatusCode)
	}
	if rs, _ := rows(t, body, "keys-table"); len(rs) != 2 || rs[0]["account"] != f.uid2 || rs[1]["account"] != f.uid2 {
		t.Errorf("after creating, the account's keys: %v", rs)
	}
	_, body = op.get("/console/op/keys?account=" + f.uid1)
	if rs, _ := rows(t, body, "keys-table"); len(rs) != 1 || rs[0]["id"] != f.key1.ID || !strings.Contains(body, "下表列出该账户的 AccessKey： "+f.uid1) {
		t.Errorf("one account's keys: %v", rs)
	}
}

// TestLedgerReferences: the ledger's 关联 names what an entry belongs to —
// a bill as "2026-11 账单" linked to its overview, a purchase as its
// order linked to the bill details of its cycle — keeping the raw
// reference as the cell's value.
func TestLedgerReferences(t *testing.T) {
	f := newFixture(t, 200)
	c := f.tenant(t)
	a := "/console/a/" + f.uid1 + "/"
	_, body := c.get(a + "account")
	cy := f.cycle.String()
	for _, want := range []string{
		`<td data-k="ref" data-v="bill:` + cy + `"><a href="` + a + `overview?cycle=` + cy + `">` + cy + ` 账单</a></td>`,
		`<td data-k="ref" data-v="purchase:P-1-1"><a href="` + a + `bill?cycle=` + cy + `">订单 P-1-1</a></td>`,
		`<td data-k="ref" data-v="topup:T-1-1">T-1-1</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the ledger lacks %s", want)
		}
	}
	if strings.Contains(body, ">bill:") || strings.Contains(body, ">purchase:") {
		t.Error("a raw reference is shown")
	}
	c.get("/console/lang?to=en&back=/console/")
	if _, body = c.get(a + "account"); !strings.Contains(body, `">Bill `+cy+`</a>`) || !strings.Contains(body, `">Order P-1-1</a>`) {
		t.Error("English references")
	}
}
