package console_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/console"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/demo"
	"github.com/callbill/callbill/invoice"
	"github.com/callbill/callbill/ledger"
	"github.com/shopspring/decimal"
)

var (
	formRE   = regexp.MustCompile(`(?s)<form [^>]*?(?:id="([^"]+)"|data-id="([^"]+)")[^>]*>(.*?)</form>`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
	errorRE  = regexp.MustCompile(`<p class="error" role="alert" id="error">([^<]*)</p>`)
	flashRE  = regexp.MustCompile(`<p class="flash" role="status" id="flash">([^<]*)</p>`)
)

// formFields returns the hidden fields (token, key) of the page's form
// with the id (or data-id) given — "" for any form with a key —, plus the
// extra fields.
func formFields(t *testing.T, body, id string, extra map[string]string) url.Values {
	t.Helper()
	for _, m := range formRE.FindAllStringSubmatch(body, -1) {
		if id != "" && m[1] != id && m[2] != id || id == "" && !strings.Contains(m[3], `name="key"`) {
			continue
		}
		v := url.Values{}
		for _, h := range hiddenRE.FindAllStringSubmatch(m[3], -1) {
			v.Set(h[1], html.UnescapeString(h[2]))
		}
		for k, x := range extra {
			v.Set(k, x)
		}
		return v
	}
	t.Fatalf("no form %s on the page", id)
	return nil
}

// send posts a form of a page and follows the redirect (POST-redirect-
// GET): it returns where it went, the message it shows (flash or error)
// and the page.
func (c *client) send(page, form, action string, extra map[string]string) (to, flash, errText, body string) {
	c.t.Helper()
	_, pb := c.get(page)
	return c.sendForm(formFields(c.t.(*testing.T), pb, form, extra), action)
}

func (c *client) sendForm(v url.Values, action string) (to, flash, errText, body string) {
	c.t.Helper()
	resp, b := c.post(action, v)
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("POST %s: %d, want a redirect (%s)", action, resp.StatusCode, pageError(b))
	}
	to = resp.Header.Get("Location")
	_, body = c.get(to)
	if m := flashRE.FindStringSubmatch(body); m != nil {
		flash = html.UnescapeString(m[1])
	}
	if m := errorRE.FindStringSubmatch(body); m != nil {
		errText = html.UnescapeString(m[1])
	}
	return to, flash, errText, body
}

func pageError(body string) string {
	if m := regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`).FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

func invoiceable(t *testing.T, f *fixture, uid string) int64 {
	t.Helper()
	inv, err := f.invoices().Invoiceable(context.Background(), uid)
	if err != nil {
		t.Fatal(err)
	}
	return inv.InvoiceableFen
}

// TestInvoiceForms: titles (the rules' errors in the page's language, the
// form filled in again), applying (refusals as messages, the amount in
// yuan sent in fen, one application per form), withdrawing, and the
// operator's queue issuing and rejecting.
func TestInvoiceForms(t *testing.T) {
	f := newFixture(t, 200)
	ctx := context.Background()
	c := f.tenant(t)
	a := "/console/a/" + f.uid1 + "/"
	page := a + "invoices"
	acct, _ := f.store.Account(ctx, f.uid1)
	name := acct.Name
	if _, body := c.get(page); !strings.Contains(body, `id="apply-need-title"`) {
		t.Fatal("the apply form shows without a title")
	}

	// A special title with a wrong check character, then with fields missing.
	bad := map[string]string{"kind": "company", "type": "special", "name": name, "tax_id": "91350100m000100y44",
		"bank": "招商银行苏州分行", "bank_account": "6225 8812 3456 7890", "address": "苏州市工业园区星湖街 328 号", "phone": "0512-66668888"}
	to, _, errText, body := c.send(page, "title", a+"invoices/titles", bad)
	if to != page+"#title-form" || errText != "纳税人识别号「91350100M000100Y44」校验位错误：末位是 4，按前 17 位应为 3。" {
		t.Fatalf("wrong tax ID: %s %q", to, errText)
	}
	if !strings.Contains(body, `value="91350100m000100y44"`) || !strings.Contains(body, `value="招商银行苏州分行"`) ||
		!strings.Contains(body, `<option value="special" selected>`) {
		t.Error("the title form was not filled in again")
	}
	if _, again := c.get(page); errorRE.MatchString(again) {
		t.Error("the error shows again on reload")
	}
	bad["tax_id"], bad["bank"], bad["phone"] = "91350100M000100Y43", "", ""
	if _, _, errText, _ = c.send(page, "title", a+"invoices/titles", bad); errText != "增值税专用发票还需填写抬头的开户银行、电话。" {
		t.Errorf("missing fields: %q", errText)
	}
	for field, want := range map[string]string{"phone": "电话「12345」不是有效的电话号码", "bank_account": "银行账号「12ab」应为 8 至 32 位数字",
		"kind": "企业账户的发票抬头只能是企业"} {
		g := map[string]string{"kind": "company", "type": "general", "name": name, "tax_id": "91350100M000100Y43"}
		g[field] = map[string]string{"phone": "12345", "bank_account": "12ab", "kind": "person"}[field]
		if field == "kind" {
			g["tax_id"] = ""
		}
		if _, _, errText, _ := c.send(page, "title", a+"invoices/titles", g); !strings.Contains(errText, want) {
			t.Errorf("%s: %q, want %q", field, errText, want)
		}
	}
	// In English the rule's own words.
	c.get("/console/lang?to=en&back=/console/")
	bad["tax_id"], bad["bank"], bad["phone"] = "123", "招商银行苏州分行", "0512-66668888"
	if _, _, errText, _ = c.send(page, "title", a+"invoices/titles", bad); !strings.HasPrefix(errText, `tax ID "123" must be the 18-character`) {
		t.Errorf("English error %q", errText)
	}
	c.get("/console/lang?to=zh&back=/console/")

	// A good title; the same form sent twice adds it once.
	good := map[string]string{"kind": "company", "type": "special", "name": name, "tax_id": "91350100M000100Y43", "bank": "招商银行苏州分行",
		"bank_account": "6225-8812-3456-7890", "address": "苏州市工业园区星湖街 328 号", "phone": "0512-66668888"}
	_, pb := c.get(page)
	form := formFields(t, pb, "title", good)
	to, flash, errText, body := c.sendForm(form, a+"invoices/titles")
	if to != page || errText != "" || flash != "已添加发票抬头："+name {
		t.Fatalf("add title: %s %q %q", to, flash, errText)
	}
	if _, flash2, _, _ := c.sendForm(form, a+"invoices/titles"); flash2 != flash {
		t.Errorf("the title form again: %q", flash2)
	}
	titles, _ := f.invoices().Titles(ctx, f.uid1)
	if len(titles) != 1 || titles[0].BankAccount != "6225881234567890" || titles[0].Type != callbill.InvoiceSpecial {
		t.Fatalf("titles %+v", titles)
	}
	if tr, _ := rows(t, body, "titles-table"); len(tr) != 1 || tr[0]["tax_id"] != "91350100M000100Y43" || tr[0]["type"] != "special" {
		t.Errorf("titles table %v", tr)
	}

	// Applying: refusals and bad amounts are messages in the page.
	before := invoiceable(t, f, f.uid1)
	over := callbill.FormatFen(before + 1)
	_, _, errText, body = c.send(page, "apply", a+"invoices/apply", map[string]string{"title": titles[0].ID, "amount": over})
	if want := "申请金额 " + console.MoneyString(over) + " 超过可开票金额 " + console.MoneyString(callbill.FormatFen(before)) + "。"; errText != want {
		t.Errorf("over the invoiceable: %q, want %q", errText, want)
	}
	if !strings.Contains(body, `id="apply-amount" value="`+over+`"`) {
		t.Error("the apply form was not filled in again")
	}
	for _, amt := range []string{"abc", "1.234", "-5", "0"} {
		if _, _, errText, _ := c.send(page, "apply", a+"invoices/apply", map[string]string{"title": titles[0].ID, "amount": amt}); errText == "" {
			t.Errorf("amount %q accepted", amt)
		}
	}
	if _, _, errText, _ := c.send(page, "apply", a+"invoices/apply", map[string]string{"title": "TI-nope", "amount": "1"}); errText != "请选择本账户的一个发票抬头。" {
		t.Errorf("unknown title: %q", errText)
	}
	// ¥1,234.56 as typed: 123456 fen; the same form twice is one application.
	_, pb = c.get(page)
	form = formFields(t, pb, "apply", map[string]string{"title": titles[0].ID, "amount": "¥1,234.56", "type": "general", "remark": "十月"})
	_, flash, errText, body = c.sendForm(form, a+"invoices/apply")
	if errText != "" || !strings.HasPrefix(flash, "已提交发票申请 INV") || !strings.Contains(flash, "¥1,234.56") {
		t.Fatalf("apply: %q %q", flash, errText)
	}
	if _, flash2, _, _ := c.sendForm(form, a+"invoices/apply"); flash2 != flash {
		t.Errorf("the apply form again: %q", flash2)
	}
	apps, _ := f.invoices().List(ctx, invoice.ListInput{Account: f.uid1})
	if len(apps) != 1 || apps[0].AmountFen != 123456 || apps[0].State != callbill.InvoicePending || apps[0].Type != callbill.InvoiceGeneral || apps[0].Remark != "十月" {
		t.Fatalf("applications %+v", apps)
	}
	if got := invoiceable(t, f, f.uid1); got != before-123456 {
		t.Errorf("invoiceable %d, want %d", got, before-123456)
	}
	if ar, _ := rows(t, body, "invoices-table"); len(ar) != 1 || ar[0]["state"] != "pending" || ar[0]["amount"] != "1234.56" || ar[0]["action"] != "withdraw" {
		t.Errorf("applications table %v", ar)
	}
	if !strings.Contains(body, `id="inv-invoiceable" data-v="`+callbill.FormatFen(before-123456)+`"`) {
		t.Error("the invoiceable card did not drop")
	}

	// Withdraw it: the amount is invoiceable again.
	_, flash, _, _ = c.send(page, "", a+"invoices/"+apps[0].ID+"/withdraw", nil)
	if !strings.HasPrefix(flash, "已撤回发票申请 "+apps[0].ID) || invoiceable(t, f, f.uid1) != before {
		t.Errorf("withdraw: %q", flash)
	}

	// Two more: the operator issues one and rejects the other.
	var ids []string
	for _, amt := range []string{"10.00", "20.00"} {
		c.send(page, "apply", a+"invoices/apply", map[string]string{"title": titles[0].ID, "amount": amt})
	}
	apps, _ = f.invoices().List(ctx, invoice.ListInput{Account: f.uid1, State: callbill.InvoicePending})
	for _, ap := range apps {
		ids = append(ids, ap.ID)
	}
	if len(ids) != 2 {
		t.Fatalf("pending %v", ids)
	}
	op := f.operator(t)
	queue := "/console/op/invoices"
	_, qb := op.get(queue)
	if qr, _ := rows(t, qb, "queue-table"); len(qr) != 2 || qr[0]["id"] != ids[0] || qr[0]["amount"] != callbill.FormatFen(apps[0].AmountFen) || qr[0]["account"] != f.uid1 || qr[0]["title"] != name {
		t.Fatalf("queue %v", qr)
	}
	if !strings.Contains(qb, `href="/console/op/invoices"`) || !strings.Contains(qb, `href="/console/op/contracts"`) {
		t.Error("no queue or contracts in the operator navigation")
	}
	loc, _ := f.store.Location(ctx)
	today := time.Now().In(loc).Format("2006-01-02")
	for number, want := range map[string]string{"1234": "发票号码「1234」应为 8 至 20 位数字。"} {
		if _, _, errText, _ := op.send(queue, ids[0], queue+"/"+ids[0]+"/issue", map[string]string{"invoice_no": number, "invoice_date": today}); errText != want {
			t.Errorf("issue %s: %q", number, errText)
		}
	}
	future := time.Now().In(loc).AddDate(0, 0, 2).Format("2006-01-02")
	if _, _, errText, _ := op.send(queue, ids[0], queue+"/"+ids[0]+"/issue", map[string]string{"invoice_no": "12345678", "invoice_date": future}); errText != "开票日期 "+future+" 晚于今天。" {
		t.Errorf("a future date: %q", errText)
	}
	_, flash, errText, _ = op.send(queue, ids[0], queue+"/"+ids[0]+"/issue", map[string]string{"invoice_no": "03312345678901234567", "invoice_date": today})
	if errText != "" || !strings.HasPrefix(flash, "已开具发票 03312345678901234567") {
		t.Fatalf("issue: %q %q", flash, errText)
	}
	var got struct {
		Status    string
		InvoiceNo string `json:"invoice_no"`
	}
	json.Unmarshal([]byte(f.apiGet(t, "/api/v1/accounts/"+f.uid1+"/invoices/"+ids[0])), &got)
	if got.Status != "issued" || got.InvoiceNo != "03312345678901234567" {
		t.Errorf("after issuing, the API says %+v", got)
	}
	if _, _, errText, _ := op.send(queue, ids[1], queue+"/"+ids[1]+"/reject", map[string]string{"reason": " "}); errText != "驳回申请须填写原因。" {
		t.Errorf("reject without a reason: %q", errText)
	}
	if _, flash, _, _ := op.send(queue, ids[1], queue+"/"+ids[1]+"/reject", map[string]string{"reason": "抬头与合同主体不符"}); !strings.HasPrefix(flash, "已驳回申请 "+ids[1]) {
		t.Errorf("reject: %q", flash)
	}
	_, qb = op.get(queue + "?status=all&account=" + f.uid1)
	states := map[string]string{}
	qr, _ := rows(t, qb, "queue-table")
	for _, r := range qr {
		states[r["id"]] = r["state"]
	}
	if states[ids[0]] != "issued" || states[ids[1]] != "rejected" || len(qr) != 3 {
		t.Errorf("all applications: %v", states)
	}
	// The tenant sees the number and the reason; withdrawing an issued one is refused.
	_, body = c.get(page)
	ar, _ := rows(t, body, "invoices-table")
	for _, r := range ar {
		if r["id"] == ids[0] && (r["invoice_no"] != "03312345678901234567" || r["invoice_date"] != today || r["action"] != "") ||
			r["id"] == ids[1] && r["reason"] != "抬头与合同主体不符" {
			t.Errorf("tenant's row %v", r)
		}
	}
	v := formFields(t, body, "apply", nil) // a token and a fresh key
	if _, _, errText, _ := c.sendForm(url.Values{"csrf": v["csrf"], "key": v["key"]}, a+"invoices/"+ids[0]+"/withdraw"); errText != "发票申请 "+ids[0]+" 当前为「已开具」：只有审核中的申请可以撤回。" {
		t.Errorf("withdraw an issued one: %q", errText)
	}

	// With arrears, no application.
	if _, err := (&ledger.Service{Store: f.store}).Adjust(ctx, ledger.AdjustInput{Account: f.uid1, Amount: decimal.RequireFromString("-1000000"), Reason: "test debit", Key: "debit-1"}); err != nil {
		t.Fatal(err)
	}
	inv, _ := f.invoices().Invoiceable(ctx, f.uid1)
	_, _, errText, body = c.send(page, "apply", a+"invoices/apply", map[string]string{"title": titles[0].ID, "amount": "1"})
	if errText != "账户欠费 "+console.MoneyString(callbill.FormatFen(inv.OwedFen))+"，请先结清欠费再申请发票。" || !strings.Contains(body, `id="inv-owed"`) {
		t.Errorf("with arrears: %q", errText)
	}
	// Deleting the title keeps the applications' copies.
	_, flash, _, _ = c.send(page, "", a+"invoices/titles/"+titles[0].ID+"/delete", nil)
	if ts, _ := f.invoices().Titles(ctx, f.uid1); len(ts) != 0 || !strings.HasPrefix(flash, "已删除发票抬头："+name) {
		t.Errorf("delete: %q, %d titles", flash, len(ts))
	}

	// A form sent several times at once (clicks in a row) adds one title.
	_, pb = c.get(page)
	body = formFields(t, pb, "title", map[string]string{"kind": "company", "type": "general", "name": name, "tax_id": "91350100M000100Y43"}).Encode()
	var wg sync.WaitGroup
	codes := make(chan int, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", c.base+a+"invoices/titles", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", c.base)
			resp, err := c.http.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusSeeOther {
			t.Errorf("a form sent at once: %d", code)
		}
	}
	if ts, _ := f.invoices().Titles(ctx, f.uid1); len(ts) != 1 {
		t.Errorf("the form sent 6 times at once made %d titles", len(ts))
	}
}

// TestContractForms: drafting for a purchase (one live contract each) and
// for a period of closed cycles, editing the customer details, confirming,
// the PDF, voiding (a tenant's draft; a formal contract by the operator
// only).
func TestContractForms(t *testing.T) {
	f := newFixture(t, 200)
	ctx := context.Background()
	c := f.tenant(t)
	a := "/console/a/" + f.uid1 + "/"
	page := a + "contracts"
	_, body := c.get(page)
	purchases := regexp.MustCompile(`<option value="(P-[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(purchases) != 5 || !strings.Contains(body, `<option value="`+f.cycle.String()+`" selected>`) || strings.Contains(body, `<option value="`+f.open.String()+`"`) {
		t.Fatalf("purchases %v, or the closed cycles wrong", purchases)
	}
	p := purchases[len(purchases)-1][1] // the oldest
	to, flash, errText, body := c.send(page, "new-purchase", page, map[string]string{"purchase": p})
	id := strings.TrimPrefix(to, page+"/")
	if errText != "" || !strings.HasPrefix(flash, "已起草合同 "+id) || !strings.Contains(body, `id="con-state" data-v="draft"`) {
		t.Fatalf("draft: %s %q %q", to, flash, errText)
	}
	if it, foot := rows(t, body, "items-table"); len(it) != 1 || foot["payable"] == "" {
		t.Errorf("items %v %v", it, foot)
	}
	if _, body = c.get(page); strings.Contains(body, `<option value="`+p+`"`) {
		t.Error("the purchase is still offered")
	}
	// Another draft for it (from a page shown before) is refused.
	_, _, errText, _ = c.sendForm(url.Values{"csrf": {c.token(page)}, "key": {"another-form-key-0123456789"}, "kind": {"purchase"}, "purchase": {p}}, page)
	if !strings.HasPrefix(errText, "订单 "+p+" 已有合同 "+id+"（草稿）") {
		t.Errorf("a second contract: %q", errText)
	}
	// The customer details: checked (the form filled in again), then saved.
	_, _, errText, body = c.send(to, "party", to+"/party", map[string]string{"address": "苏州市工业园区星湖街 328 号", "phone": "12345"})
	if errText != "甲方电话「12345」不是有效的电话号码（手机号、带区号的固定电话如 0571-88880001，或 400/800 号码）。" ||
		!strings.Contains(body, `value="苏州市工业园区星湖街 328 号"`) {
		t.Errorf("bad phone: %q", errText)
	}
	if _, _, errText, _ = c.send(to, "party", to+"/party", map[string]string{"phone": "0512-66668888", "email": "x@"}); errText != "甲方电子邮箱「x@」格式不正确。" {
		t.Errorf("bad e-mail: %q", errText)
	}
	_, flash, _, _ = c.send(to, "party", to+"/party", map[string]string{"address": "苏州市工业园区星湖街 328 号", "contact": "王芳",
		"phone": "0512-66668888", "email": "finance@example.com", "tax_id": "91350100m000100y43"})
	if ct, _ := (&contract.Service{Store: f.store}).Get(ctx, f.uid1, id); ct.Customer.Contact != "王芳" || ct.Customer.TaxID != "91350100M000100Y43" || !strings.HasPrefix(flash, "已保存") {
		t.Errorf("saved %+v %q", ct.Customer, flash)
	}
	// Confirm: formal, with a PDF; the tenant cannot void it, nor edit it.
	_, flash, _, body = c.send(to, "confirm", to+"/confirm", nil)
	if !strings.Contains(body, `id="con-state" data-v="formal"`) || !strings.HasPrefix(flash, "合同 "+id+" 已确认") || !strings.Contains(body, `id="con-pdf"`) {
		t.Fatalf("confirm: %q", flash)
	}
	if resp, pdf := c.get(to + "/pdf"); resp.StatusCode != 200 || !strings.HasPrefix(pdf, "%PDF-") {
		t.Errorf("PDF: %d", resp.StatusCode)
	}
	tokens := url.Values{"csrf": {c.token(to)}, "key": {"formal-page-key-0123456789"}}
	if _, _, errText, _ = c.sendForm(tokens, to+"/void"); errText != "合同 "+id+" 已是正式合同：只有运营方可以作废（请提交工单）。" {
		t.Errorf("tenant voids a formal contract: %q", errText)
	}
	tokens.Set("phone", "0512-66668888")
	if _, _, errText, _ = c.sendForm(tokens, to+"/party"); errText != "合同 "+id+" 当前为「正式」：只有草稿可以修改。" {
		t.Errorf("edit a formal contract: %q", errText)
	}

	// A service contract for the closed cycle; the open one is refused.
	if _, _, errText, _ = c.send(page, "new-service", page, map[string]string{"from": f.open.String(), "to": f.open.String()}); errText != "账期 "+f.open.String()+" 尚未出账：服务合同只涵盖已出账的账期。" {
		t.Errorf("an open cycle: %q", errText)
	}
	sto, flash, _, body := c.send(page, "new-service", page, map[string]string{"from": f.cycle.String(), "to": f.cycle.String()})
	sid := strings.TrimPrefix(sto, page+"/")
	if !strings.HasPrefix(flash, "已起草合同 "+sid) || !strings.Contains(body, `id="con-subject">`+f.cycle.String()+" ~ "+f.cycle.String()) {
		t.Fatalf("service draft: %s %q", sto, flash)
	}
	if _, _, errText, _ = c.send(page, "new-service", page, map[string]string{"from": f.cycle.String(), "to": f.cycle.String()}); !strings.HasPrefix(errText, "合同 "+sid+" 已涵盖") {
		t.Errorf("an overlapping period: %q", errText)
	}
	// The tenant voids the draft.
	_, flash, _, body = c.send(sto, "void-draft", sto+"/void", nil)
	if !strings.Contains(body, `id="con-state" data-v="void"`) || flash != "合同 "+sid+" 已作废。" {
		t.Errorf("void the draft: %q", flash)
	}

	// The operator's list; a formal contract needs a reason to be voided.
	op := f.operator(t)
	list := "/console/op/contracts"
	_, lb := op.get(list + "?status=formal")
	if lr, _ := rows(t, lb, "op-contracts-table"); len(lr) != 1 || lr[0]["id"] != id || lr[0]["void"] != "void" || lr[0]["pdf"] != "pdf" {
		t.Fatalf("operator's formal contracts %v", lr)
	}
	if _, _, errText, _ = op.send(list+"?status=formal", id, list+"/"+id+"/void?status=formal", map[string]string{"reason": ""}); errText != "作废正式合同须填写原因。" {
		t.Errorf("void without a reason: %q", errText)
	}
	to2, flash, _, _ := op.send(list+"?status=formal", id, list+"/"+id+"/void?status=formal", map[string]string{"reason": "客户申请重签"})
	if to2 != list+"?status=formal" || flash != "合同 "+id+" 已作废。" {
		t.Errorf("operator void: %s %q", to2, flash)
	}
	if ct, _ := (&contract.Service{Store: f.store}).Get(ctx, f.uid1, id); ct.State != callbill.ContractVoid || ct.VoidedBy != "operator" || ct.VoidReason != "客户申请重签" {
		t.Errorf("after the operator's void: %+v", ct)
	}
	// The purchase is free for a new contract.
	if _, body = c.get(page); !strings.Contains(body, `<option value="`+p+`"`) {
		t.Error("the voided contract's purchase is not offered again")
	}
	// English.
	c.get("/console/lang?to=en&back=/console/")
	if _, _, errText, _ = c.send(page, "new-service", page, map[string]string{"from": f.open.String(), "to": f.open.String()}); !strings.HasPrefix(errText, "cycle "+f.open.String()+" is not closed yet") {
		t.Errorf("English: %q", errText)
	}
}

// TestContractNeedsProvider: while the operator has not set the provider
// side (乙方), a tenant's draft shows it as "to be configured" — never the
// operator's command —, its confirm button is disabled with the reason, and
// a confirmation sent anyway is refused in the page's language; the
// operator's view also says how to set it. Once it is set, the draft shows
// it and is confirmed.
func TestContractNeedsProvider(t *testing.T) {
	f := newBareFixture(t, 200)
	c := f.tenant(t)
	page := "/console/a/" + f.uid1 + "/contracts"
	_, body := c.get(page)
	purchases := regexp.MustCompile(`<option value="(P-[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(purchases) == 0 {
		t.Fatal("no purchase offered")
	}
	to, _, errText, body := c.send(page, "new-purchase", page, map[string]string{"purchase": purchases[0][1]})
	id := strings.TrimPrefix(to, page+"/")
	if errText != "" || !strings.Contains(body, `id="con-state" data-v="draft"`) {
		t.Fatalf("draft: %s %q", to, errText)
	}
	providerName := regexp.MustCompile(`(?s)<h2>乙方（服务提供方）</h2>\s*<dl class="facts"><dt>名称</dt><dd data-k="name">([^<]*)</dd>`)
	if m := providerName.FindStringSubmatch(body); m == nil || m[1] != "（待运营方配置）" {
		t.Errorf("the draft's provider: %v", m)
	}
	if strings.Contains(body, "callbill contract provider") || strings.Contains(body, "未配置）") {
		t.Error("the tenant's page names the operator's command or the old placeholder")
	}
	if !strings.Contains(body, `id="con-confirm" disabled`) || !strings.Contains(body, "服务提供方（乙方）信息尚未由运营方配置，合同暂不能确认：请联系运营方。") {
		t.Error("the confirm button is not disabled with its reason")
	}
	_, _, errText, _ = c.send(to, "confirm", to+"/confirm", nil)
	if errText != "合同 "+id+" 暂不能确认：服务提供方（乙方）信息尚未由运营方配置，请联系运营方。" {
		t.Errorf("confirm without a provider: %q", errText)
	}
	if ct, _ := (&contract.Service{Store: f.store}).Get(context.Background(), f.uid1, id); ct.State != callbill.ContractDraft {
		t.Errorf("after the refusal: %s", ct.State)
	}
	c.get("/console/lang?to=en&back=/console/")
	_, _, errText, body = c.send(to, "confirm", to+"/confirm", nil)
	if errText != "contract "+id+" cannot be confirmed yet: the service provider's details (乙方) are not configured; contact your operator" ||
		!strings.Contains(body, "(to be configured by the operator)") || strings.Contains(body, "callbill contract provider") {
		t.Errorf("English: %q", errText)
	}

	// The operator, looking at the tenant's draft, is told how to set it.
	op := f.operator(t)
	_, body = op.get(to)
	if !strings.Contains(body, `id="no-provider-howto">运营方设置方法（一次即可）：callbill contract provider --name`) {
		t.Error("the operator's view does not say how to set the provider")
	}
	if _, _, errText, _ = op.send(to, "confirm", to+"/confirm", nil); !strings.HasSuffix(errText, "请联系运营方。 运营方设置方法（一次即可）：callbill contract provider --name … --address … --tax-id … --bank … --bank-account … --phone …") {
		t.Errorf("the operator's refusal: %q", errText)
	}

	if err := f.store.SetContractProvider(context.Background(), demo.Provider()); err != nil {
		t.Fatal(err)
	}
	_, body = c.get(to)
	if m := regexp.MustCompile(`(?s)<h2>Provider \(乙方\)</h2>\s*<dl class="facts"><dt>Name</dt><dd data-k="name">([^<]*)</dd>`).FindStringSubmatch(body); m == nil || m[1] != demo.Provider().Name {
		t.Errorf("the draft's provider once set: %v", m)
	}
	if strings.Contains(body, `id="con-confirm" disabled`) {
		t.Error("the confirm button is still disabled")
	}
	if _, _, _, body = c.send(to, "confirm", to+"/confirm", nil); !strings.Contains(body, `id="con-state" data-v="formal"`) {
		t.Error("not confirmed once the provider is set")
	}
}
