package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/invoice"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/sqlstore"
)

// invoiceWorld: 3001 (enterprise) tops up 100.00 and rents a number for
// 35.00; 3002 (individual) has no cash. October's calls: 200 platform
// minutes each (9.98).
const invoiceWorld = `
accounts:
  - uid: "3001"
    name: 杭州示例科技有限公司
    kind: enterprise
    instances:
      - id: i-a
        mode: payg
        numbers:
          - {number: "0571001", kind: fixed, source: third_party}
          - {number: "057188880001", kind: fixed, source: ccc}
  - uid: "3002"
    name: 张三
    kind: individual
    instances:
      - id: i-b
        mode: payg
        numbers:
          - {number: "0571002", kind: fixed, source: third_party}
topups:
  - {id: T-1, account: "3001", amount: "100.00", at: "2026-10-01T08:00:00+08:00"}
purchases:
  - {id: P-1, account: "3001", at: "2026-10-02T09:00:00+08:00", number_rent: {number: "057188880001", months: 1}}
`

// invoices is the invoice workflow over the store under test.
func invoices(s *sqlstore.Store) *invoice.Service { return &invoice.Service{Store: s} }

// validCode is a unified social credit code with a correct check character.
const validCode = "91330100MA27XL4X76"

func companyTitle(uid string, typ callbill.InvoiceType) callbill.InvoiceTitle {
	return callbill.InvoiceTitle{Account: uid, Kind: callbill.TitleCompany, Type: typ, Name: "杭州示例科技有限公司", TaxID: validCode,
		Bank: "招商银行杭州分行", BankAccount: "5719 0000 1234 5678", Address: "杭州市西湖区文三路1号", Phone: "0571-88880001"}
}

// invoiceSetup applies invoiceWorld and closes October: 3001 has paid 35.00
// + 9.98 = 44.98 for consumption; 3002 owes 9.98.
func invoiceSetup(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	mustApply(t, s, invoiceWorld)
	importCalls(t, s, callbill.ImportOptions{},
		call("a1", "i-a", callbill.Inbound, "0571001", "2026-10-05T10:00:00+08:00", 200*60),
		call("b1", "i-b", callbill.Inbound, "0571002", "2026-10-05T10:00:00+08:00", 200*60))
	closeCycle(t, s, "2026-10")
}

func TestInvoiceableAmount(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		invoiceSetup(t, s)
		want := func(uid string, paid, issued, pending, inv, owed int64) {
			t.Helper()
			got, err := invoices(s).Invoiceable(ctx, uid)
			if err != nil {
				t.Fatal(err)
			}
			if got.PaidFen != paid || got.IssuedFen != issued || got.PendingFen != pending || got.InvoiceableFen != inv || got.OwedFen != owed {
				t.Fatalf("%s: %+v, want paid %d issued %d pending %d invoiceable %d owed %d", uid, got, paid, issued, pending, inv, owed)
			}
		}
		want("3001", 4498, 0, 0, 4498, 0) // the rent and October's deduction; the unspent 55.02 is not invoiceable
		want("3002", 0, 0, 0, 0, 998)
		// A top-up is not invoiceable until consumed; it settles 3002's arrears, which then are.
		if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "3002", Amount: dec("20.00"), Key: "t2"}); err != nil {
			t.Fatal(err)
		}
		want("3002", 998, 0, 0, 998, 0)
		// Adjustments count with their sign: a credit gives money back, a debit charges more.
		if _, err := money(s).Adjust(ctx, ledger.AdjustInput{Account: "3001", Amount: dec("5.00"), Reason: "refund", Corrects: "bill:2026-10", Key: "a1"}); err != nil {
			t.Fatal(err)
		}
		want("3001", 3998, 0, 0, 3998, 0)
		if _, err := money(s).Adjust(ctx, ledger.AdjustInput{Account: "3001", Amount: dec("-2.00"), Reason: "correction", Corrects: "bill:2026-10", Key: "a2"}); err != nil {
			t.Fatal(err)
		}
		want("3001", 4198, 0, 0, 4198, 0)
		// A debit beyond cash is owed until paid.
		if _, err := money(s).Adjust(ctx, ledger.AdjustInput{Account: "3002", Amount: dec("-15.00"), Reason: "correction", Key: "a3"}); err != nil {
			t.Fatal(err)
		}
		want("3002", 998+1002, 0, 0, 998+1002, 498) // cash 10.02 − 15.00 = −4.98: 15.00 charged, 10.02 of it paid
		if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "3002", Amount: dec("4.98"), Key: "t3"}); err != nil {
			t.Fatal(err)
		}
		want("3002", 2498, 0, 0, 2498, 0)
		// Pending and issued applications count; withdrawn and rejected ones do not.
		title, err := invoices(s).SaveTitle(ctx, companyTitle("3001", callbill.InvoiceGeneral))
		if err != nil {
			t.Fatal(err)
		}
		apply := func(fen int64) *callbill.InvoiceApplication {
			t.Helper()
			a, err := invoices(s).Apply(ctx, invoice.ApplyInput{Account: "3001", TitleID: title.ID, AmountFen: fen})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		a1, a2, a3, a4 := apply(1000), apply(500), apply(300), apply(200)
		want("3001", 4198, 0, 2000, 2198, 0)
		if _, err := invoices(s).Issue(ctx, invoice.IssueInput{ID: a1.ID, Number: "12345678", Date: "2027-06-01"}); err != nil {
			t.Fatal(err)
		}
		if _, err := invoices(s).Reject(ctx, invoice.RejectInput{ID: a2.ID, Reason: "wrong title"}); err != nil {
			t.Fatal(err)
		}
		if _, err := invoices(s).Withdraw(ctx, invoice.WithdrawInput{Account: "3001", ID: a3.ID}); err != nil {
			t.Fatal(err)
		}
		want("3001", 4198, 1000, 200, 2998, 0)
		_ = a4
	})
}

func TestInvoiceTitleRules(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		invoiceSetup(t, s)
		bad := func(name, want string, mod func(t *callbill.InvoiceTitle)) {
			t.Helper()
			ti := companyTitle("3001", callbill.InvoiceSpecial)
			mod(&ti)
			_, err := invoices(s).SaveTitle(ctx, ti)
			if callbill.ErrorCode(err) != callbill.EINVALID || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want invalid with %q", name, err, want)
			}
		}
		bad("bad check character", "wrong check character", func(t *callbill.InvoiceTitle) { t.TaxID = "91330100MA27XL4X7A" })
		bad("short tax ID", "18-character", func(t *callbill.InvoiceTitle) { t.TaxID = "9133010" })
		bad("letter O in a tax ID", "not allowed", func(t *callbill.InvoiceTitle) { t.TaxID = "91330100MA27XL4XO7" })
		bad("special without bank", "bank", func(t *callbill.InvoiceTitle) { t.Bank = "" })
		bad("special without tax ID", "tax ID", func(t *callbill.InvoiceTitle) { t.TaxID = "" })
		bad("special without address and phone", "address, phone", func(t *callbill.InvoiceTitle) { t.Address, t.Phone = "", "" })
		bad("bank account with letters", "digits", func(t *callbill.InvoiceTitle) { t.BankAccount = "6222abc0001234" })
		bad("bad phone", "not a phone number", func(t *callbill.InvoiceTitle) { t.Phone = "12345" })
		bad("special person title", "company title", func(t *callbill.InvoiceTitle) { t.Kind = callbill.TitlePerson })
		bad("unknown type", "general", func(t *callbill.InvoiceTitle) { t.Type = "vip" })
		bad("no name", "name", func(t *callbill.InvoiceTitle) { t.Name = " " })
		// An individual account: no special invoice, no company title.
		ti := companyTitle("3002", callbill.InvoiceSpecial)
		if _, err := invoices(s).SaveTitle(ctx, ti); callbill.ErrorCode(err) != callbill.EINVALID || !strings.Contains(err.Error(), "enterprise account") {
			t.Errorf("special on an individual account: %v", err)
		}
		ti.Type = callbill.InvoiceGeneral
		if _, err := invoices(s).SaveTitle(ctx, ti); callbill.ErrorCode(err) != callbill.EINVALID || !strings.Contains(err.Error(), "real-name") {
			t.Errorf("company title on an individual account: %v", err)
		}
		person, err := invoices(s).SaveTitle(ctx, callbill.InvoiceTitle{Account: "3002", Kind: callbill.TitlePerson, Type: callbill.InvoiceGeneral, Name: "张三"})
		if err != nil {
			t.Fatal(err)
		}
		// Normalized, stored, listed, edited, deleted.
		sp, err := invoices(s).SaveTitle(ctx, companyTitle("3001", callbill.InvoiceSpecial))
		if err != nil {
			t.Fatal(err)
		}
		if sp.BankAccount != "5719000012345678" || !strings.HasPrefix(sp.ID, "TI") {
			t.Errorf("stored %+v", sp)
		}
		lower := companyTitle("3001", callbill.InvoiceGeneral)
		lower.TaxID = strings.ToLower(validCode)
		if _, err := invoices(s).SaveTitle(ctx, lower); err != nil {
			t.Errorf("a lower-case tax ID is upper-cased: %v", err)
		}
		sp.Name = "杭州示例科技有限公司（新）"
		if _, err := invoices(s).SaveTitle(ctx, *sp); err != nil {
			t.Fatal(err)
		}
		list, err := invoices(s).Titles(ctx, "3001")
		names := map[string]string{}
		for _, ti := range list {
			names[ti.ID] = ti.Name
		}
		if err != nil || len(list) != 2 || names[sp.ID] != "杭州示例科技有限公司（新）" {
			t.Fatalf("titles %+v %v", list, err)
		}
		// Another account's title is not found, for reading, editing and deleting.
		if _, err := invoices(s).Title(ctx, "3001", person.ID); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("another account's title: %v", err)
		}
		other := *person
		other.Account = "3001"
		other.Kind, other.TaxID = callbill.TitleCompany, validCode
		if _, err := invoices(s).SaveTitle(ctx, other); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("editing another account's title: %v", err)
		}
		if err := invoices(s).DeleteTitle(ctx, "3001", person.ID); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("deleting another account's title: %v", err)
		}
		if err := invoices(s).DeleteTitle(ctx, "3001", sp.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := invoices(s).Title(ctx, "3001", sp.ID); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("deleted title: %v", err)
		}
	})
}

func TestInvoiceApplicationsAndTransitions(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		invoiceSetup(t, s)
		general, err := invoices(s).SaveTitle(ctx, companyTitle("3001", callbill.InvoiceGeneral))
		if err != nil {
			t.Fatal(err)
		}
		bare := companyTitle("3001", callbill.InvoiceGeneral)
		bare.Bank, bare.BankAccount, bare.Address, bare.Phone = "", "", "", ""
		bareTitle, err := invoices(s).SaveTitle(ctx, bare)
		if err != nil {
			t.Fatal(err)
		}
		req := invoice.ApplyInput{Account: "3001", TitleID: general.ID, AmountFen: 1000, Key: "k1"}
		// Refusals.
		over := req
		over.AmountFen, over.Key = 4499, ""
		if _, err := invoices(s).Apply(ctx, over); callbill.ErrorCode(err) != callbill.EREFUSED || !strings.Contains(err.Error(), "invoiceable 44.98") {
			t.Errorf("over the invoiceable amount: %v", err)
		}
		for _, fen := range []int64{0, -5} {
			r := req
			r.AmountFen, r.Key = fen, ""
			if _, err := invoices(s).Apply(ctx, r); callbill.ErrorCode(err) != callbill.EINVALID {
				t.Errorf("amount %d: %v", fen, err)
			}
		}
		sp := req
		sp.TitleID, sp.Type, sp.Key = bareTitle.ID, callbill.InvoiceSpecial, ""
		if _, err := invoices(s).Apply(ctx, sp); callbill.ErrorCode(err) != callbill.EINVALID || !strings.Contains(err.Error(), "bank") {
			t.Errorf("special on a title without bank details: %v", err)
		}
		unknown := req
		unknown.TitleID, unknown.Key = "TI-nope", ""
		if _, err := invoices(s).Apply(ctx, unknown); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("unknown title: %v", err)
		}
		person, err := invoices(s).SaveTitle(ctx, callbill.InvoiceTitle{Account: "3002", Kind: callbill.TitlePerson, Type: callbill.InvoiceGeneral, Name: "张三"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = invoices(s).Apply(ctx, invoice.ApplyInput{Account: "3002", TitleID: person.ID, AmountFen: 1})
		if callbill.ErrorCode(err) != callbill.EREFUSED || !strings.Contains(err.Error(), "owes 9.98 (欠费)") {
			t.Errorf("with arrears: %v", err)
		}
		other := req
		other.TitleID, other.Key = person.ID, ""
		if _, err := invoices(s).Apply(ctx, other); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("another account's title: %v", err)
		}
		// Applied; the same key again is the same application; with another request a conflict.
		a, err := invoices(s).Apply(ctx, req)
		if err != nil || a.State != callbill.InvoicePending || a.Replayed || a.Type != callbill.InvoiceGeneral || a.Title.Name != general.Name {
			t.Fatalf("apply: %+v %v", a, err)
		}
		again, err := invoices(s).Apply(ctx, req)
		if err != nil || !again.Replayed || again.ID != a.ID {
			t.Fatalf("replay: %+v %v", again, err)
		}
		diff := req
		diff.AmountFen = 999
		if _, err := invoices(s).Apply(ctx, diff); callbill.ErrorCode(err) != callbill.ECONFLICT {
			t.Errorf("same key, other request: %v", err)
		}
		// The title changes later; the application keeps the one applied with.
		general.Name = "改名公司"
		if _, err := invoices(s).SaveTitle(ctx, *general); err != nil {
			t.Fatal(err)
		}
		if got, _ := invoices(s).Get(ctx, "3001", a.ID); got.Title.Name != "杭州示例科技有限公司" {
			t.Errorf("the application's title changed: %+v", got.Title)
		}
		if _, err := invoices(s).Get(ctx, "3002", a.ID); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("another account reads it: %v", err)
		}
		if _, err := invoices(s).Withdraw(ctx, invoice.WithdrawInput{Account: "3002", ID: a.ID}); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("another account withdraws it: %v", err)
		}
		// Issue: bad number, bad date, future date, before the application.
		for _, c := range []struct{ no, date, want string }{{"12ab5678", "2027-06-01", "digits"}, {"1234567", "2027-06-01", "digits"},
			{"12345678", "2027/06/01", "YYYY-MM-DD"}, {"12345678", "2027-06-02", "future"}, {"12345678", "2027-05-31", "before the application"}} {
			if _, err := invoices(s).Issue(ctx, invoice.IssueInput{ID: a.ID, Number: c.no, Date: c.date}); callbill.ErrorCode(err) != callbill.EINVALID || !strings.Contains(err.Error(), c.want) {
				t.Errorf("issue %s %s: %v", c.no, c.date, err)
			}
		}
		issued, err := invoices(s).Issue(ctx, invoice.IssueInput{ID: a.ID, Number: "12345678901234567890", Date: "2027-06-01"})
		if err != nil || issued.State != callbill.InvoiceIssued || issued.InvoiceNo != "12345678901234567890" || issued.DecidedAt.IsZero() {
			t.Fatalf("issue: %+v %v", issued, err)
		}
		if again, err := invoices(s).Issue(ctx, invoice.IssueInput{ID: a.ID, Number: "12345678901234567890", Date: "2027-06-01"}); err != nil || !again.Replayed {
			t.Errorf("issuing again with the same number: %+v %v", again, err)
		}
		if _, err := invoices(s).Issue(ctx, invoice.IssueInput{ID: a.ID, Number: "87654321", Date: "2027-06-01"}); callbill.ErrorCode(err) != callbill.EREFUSED {
			t.Errorf("issuing an issued one with another number: %v", err)
		}
		for name, fn := range map[string]func() error{
			"withdraw issued": func() error {
				_, err := invoices(s).Withdraw(ctx, invoice.WithdrawInput{Account: "3001", ID: a.ID})
				return err
			},
			"reject issued": func() error {
				_, err := invoices(s).Reject(ctx, invoice.RejectInput{ID: a.ID, Reason: "no"})
				return err
			},
		} {
			if err := fn(); callbill.ErrorCode(err) != callbill.EREFUSED || !strings.Contains(err.Error(), "not pending") {
				t.Errorf("%s: %v", name, err)
			}
		}
		// An invoice number is issued once.
		b, err := invoices(s).Apply(ctx, invoice.ApplyInput{Account: "3001", TitleID: general.ID, AmountFen: 500})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := invoices(s).Issue(ctx, invoice.IssueInput{ID: b.ID, Number: "12345678901234567890", Date: "2027-06-01"}); callbill.ErrorCode(err) != callbill.ECONFLICT {
			t.Errorf("a number issued twice: %v", err)
		}
		// Reject needs a reason; a rejected one cannot be issued or withdrawn.
		if _, err := invoices(s).Reject(ctx, invoice.RejectInput{ID: b.ID, Reason: " "}); callbill.ErrorCode(err) != callbill.EINVALID {
			t.Errorf("reject without a reason: %v", err)
		}
		rej, err := invoices(s).Reject(ctx, invoice.RejectInput{ID: b.ID, Reason: "抬头与实名认证不符"})
		if err != nil || rej.State != callbill.InvoiceRejected || rej.Reason != "抬头与实名认证不符" {
			t.Fatalf("reject: %+v %v", rej, err)
		}
		if _, err := invoices(s).Issue(ctx, invoice.IssueInput{ID: b.ID, Number: "11112222", Date: "2027-06-01"}); callbill.ErrorCode(err) != callbill.EREFUSED {
			t.Errorf("issue a rejected one: %v", err)
		}
		if _, err := invoices(s).Withdraw(ctx, invoice.WithdrawInput{Account: "3001", ID: b.ID}); callbill.ErrorCode(err) != callbill.EREFUSED {
			t.Errorf("withdraw a rejected one: %v", err)
		}
		// Withdraw: only while pending; again changes nothing.
		c, err := invoices(s).Apply(ctx, invoice.ApplyInput{Account: "3001", TitleID: general.ID, AmountFen: 700, Remark: "十月"})
		if err != nil {
			t.Fatal(err)
		}
		w, err := invoices(s).Withdraw(ctx, invoice.WithdrawInput{Account: "3001", ID: c.ID})
		if err != nil || w.State != callbill.InvoiceWithdrawn {
			t.Fatalf("withdraw: %+v %v", w, err)
		}
		if w, err := invoices(s).Withdraw(ctx, invoice.WithdrawInput{Account: "3001", ID: c.ID}); err != nil || !w.Replayed {
			t.Errorf("withdraw again: %+v %v", w, err)
		}
		if _, err := invoices(s).Issue(ctx, invoice.IssueInput{ID: c.ID, Number: "11112222", Date: "2027-06-01"}); callbill.ErrorCode(err) != callbill.EREFUSED {
			t.Errorf("issue a withdrawn one: %v", err)
		}
		if _, err := invoices(s).Reject(ctx, invoice.RejectInput{ID: c.ID, Reason: "x"}); callbill.ErrorCode(err) != callbill.EREFUSED {
			t.Errorf("reject a withdrawn one: %v", err)
		}
		// Lists: the account's newest first, the operator's queue oldest first.
		d, _ := invoices(s).Apply(ctx, invoice.ApplyInput{Account: "3001", TitleID: general.ID, AmountFen: 100})
		list, err := invoices(s).List(ctx, invoice.ListInput{Account: "3001"})
		if err != nil || len(list) != 4 {
			t.Fatalf("list %d %v", len(list), err)
		}
		queue, err := invoices(s).List(ctx, invoice.ListInput{AllAccounts: true, State: callbill.InvoicePending})
		if err != nil || len(queue) != 1 || queue[0].ID != d.ID {
			t.Fatalf("queue %+v %v", queue, err)
		}
		if _, err := invoices(s).List(ctx, invoice.ListInput{AllAccounts: true, State: "bogus"}); callbill.ErrorCode(err) != callbill.EINVALID {
			t.Errorf("bad status: %v", err)
		}
	})
}

// TestConcurrentApplicationsNeverExceedInvoiceable: 12 applications of
// 10.00 at once against 44.98 invoiceable: exactly 4 are accepted.
func TestConcurrentApplicationsNeverExceedInvoiceable(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		invoiceSetup(t, s)
		title, err := invoices(s).SaveTitle(ctx, companyTitle("3001", callbill.InvoiceGeneral))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted, refused := 0, 0
		var unexpected []error
		start := make(chan struct{})
		for i := 0; i < 12; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := invoices(s).Apply(ctx, invoice.ApplyInput{Account: "3001", TitleID: title.ID, AmountFen: 1000, Key: fmt.Sprint("c", i)})
				mu.Lock()
				defer mu.Unlock()
				switch callbill.ErrorCode(err) {
				case "":
					accepted++
				case callbill.EREFUSED:
					refused++
				default:
					unexpected = append(unexpected, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(unexpected) > 0 || accepted != 4 || refused != 8 {
			t.Fatalf("accepted %d, refused %d, errors %v", accepted, refused, unexpected)
		}
		inv, _ := invoices(s).Invoiceable(ctx, "3001")
		if inv.PendingFen != 4000 || inv.InvoiceableFen != 498 {
			t.Fatalf("after: %+v", inv)
		}
	})
}

func TestContracts(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		invoiceSetup(t, s)
		// One per purchase.
		c, err := (&contract.Service{Store: s}).Create(ctx, callbill.ContractRequest{Account: "3001", Purchase: "P-1", Key: "c1",
			Customer: &callbill.ContractParty{Name: "ignored", Address: "杭州市西湖区文三路1号", Phone: "13800138000", TaxID: validCode}})
		if err != nil {
			t.Fatal(err)
		}
		if c.State != callbill.ContractDraft || c.Kind != callbill.ContractPurchase || c.Customer.Name != "杭州示例科技有限公司" ||
			!c.Payable.Equal(dec("35")) || len(c.Items) != 1 || c.Items[0].Payable != "35.00" || c.Provider.Configured() {
			t.Fatalf("draft %+v", c)
		}
		if again, err := (&contract.Service{Store: s}).Create(ctx, callbill.ContractRequest{Account: "3001", Purchase: "P-1", Key: "c1",
			Customer: &callbill.ContractParty{Name: "ignored", Address: "杭州市西湖区文三路1号", Phone: "13800138000", TaxID: validCode}}); err != nil || !again.Replayed || again.ID != c.ID {
			t.Fatalf("replay: %+v %v", again, err)
		}
		if _, err := (&contract.Service{Store: s}).Create(ctx, callbill.ContractRequest{Account: "3001", Purchase: "P-1"}); callbill.ErrorCode(err) != callbill.ECONFLICT ||
			!strings.Contains(err.Error(), "one contract per purchase") {
			t.Errorf("a second contract for the purchase: %v", err)
		}
		if _, err := (&contract.Service{Store: s}).Create(ctx, callbill.ContractRequest{Account: "3002", Purchase: "P-1"}); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("another account's purchase: %v", err)
		}
		for name, r := range map[string]callbill.ContractRequest{
			"nothing":     {Account: "3001"},
			"both":        {Account: "3001", Purchase: "P-1", From: cyc("2026-10"), To: cyc("2026-10")},
			"backwards":   {Account: "3001", From: cyc("2026-10"), To: cyc("2026-09")},
			"too long":    {Account: "3001", From: cyc("2024-01"), To: cyc("2026-10")},
			"bad phone":   {Account: "3001", From: cyc("2026-10"), To: cyc("2026-10"), Customer: &callbill.ContractParty{Phone: "123"}},
			"bad tax ID":  {Account: "3001", From: cyc("2026-10"), To: cyc("2026-10"), Customer: &callbill.ContractParty{TaxID: "91330100MA27XL4X7A"}},
			"bad account": {Account: "3001", From: cyc("2026-10"), To: cyc("2026-10"), Customer: &callbill.ContractParty{BankAccount: "12ab"}},
			"bad email":   {Account: "3001", From: cyc("2026-10"), To: cyc("2026-10"), Customer: &callbill.ContractParty{Email: "a@"}},
		} {
			if _, err := (&contract.Service{Store: s}).Create(ctx, r); callbill.ErrorCode(err) != callbill.EINVALID {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := (&contract.Service{Store: s}).Create(ctx, callbill.ContractRequest{Account: "3001", From: cyc("2026-10"), To: cyc("2026-11")}); callbill.ErrorCode(err) != callbill.EREFUSED ||
			!strings.Contains(err.Error(), "not closed") {
			t.Errorf("an open cycle: %v", err)
		}
		if _, err := (&contract.Service{Store: s}).Create(ctx, callbill.ContractRequest{Account: "3001", From: cyc("2026-09"), To: cyc("2026-09")}); callbill.ErrorCode(err) != callbill.EREFUSED ||
			!strings.Contains(err.Error(), "no postpaid charges") {
			t.Errorf("a period without charges: %v", err)
		}
		// A service contract for October: the postpaid line, 9.98.
		sc, err := (&contract.Service{Store: s}).Create(ctx, callbill.ContractRequest{Account: "3001", From: cyc("2026-10"), To: cyc("2026-10")})
		if err != nil {
			t.Fatal(err)
		}
		if sc.Kind != callbill.ContractService || !sc.Payable.Equal(dec("9.98")) || len(sc.Items) != 1 || sc.Items[0].Cycle != "2026-10" ||
			sc.Items[0].Item != "CallCenterSoftware" || sc.Items[0].Usage != "200" {
			t.Fatalf("service %+v", sc)
		}
		if _, err := (&contract.Service{Store: s}).Create(ctx, callbill.ContractRequest{Account: "3001", From: cyc("2026-09"), To: cyc("2026-10")}); callbill.ErrorCode(err) != callbill.ECONFLICT {
			t.Errorf("an overlapping period: %v", err)
		}
		// Edit a draft; the name stays the account's.
		ed, err := (&contract.Service{Store: s}).Edit(ctx, "3001", c.ID, callbill.ContractParty{Name: "别的名字", Contact: "李四", Phone: "0571-88880001", Email: "li@example.com"})
		if err != nil || ed.Customer.Name != "杭州示例科技有限公司" || ed.Customer.Contact != "李四" || ed.Customer.Address != "" {
			t.Fatalf("edit: %+v %v", ed, err)
		}
		if _, err := (&contract.Service{Store: s}).Edit(ctx, "3001", c.ID, callbill.ContractParty{Phone: "x"}); callbill.ErrorCode(err) != callbill.EINVALID {
			t.Errorf("edit with a bad phone: %v", err)
		}
		if _, err := (&contract.Service{Store: s}).Edit(ctx, "3002", c.ID, callbill.ContractParty{}); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("another account edits: %v", err)
		}
		// No provider set yet: confirming is refused, the draft stays one.
		if _, err := (&contract.Service{Store: s}).Confirm(ctx, "3001", c.ID); callbill.ErrorCode(err) != callbill.EREFUSED ||
			!strings.Contains(callbill.ErrorMessage(err), "contact your operator") {
			t.Errorf("confirm without a provider: %v", err)
		}
		if d, err := (&contract.Service{Store: s}).Get(ctx, "3001", c.ID); err != nil || d.State != callbill.ContractDraft {
			t.Errorf("after the refusal: %+v %v", d, err)
		}
		// The provider block, taken at confirmation.
		if err := s.SetContractProvider(ctx, callbill.ContractParty{Name: "示例云通信有限公司", TaxID: "bad"}); callbill.ErrorCode(err) != callbill.EINVALID {
			t.Errorf("bad provider: %v", err)
		}
		if err := s.SetContractProvider(ctx, callbill.DefaultProvider); callbill.ErrorCode(err) != callbill.EINVALID {
			t.Errorf("the placeholder as the provider: %v", err)
		}
		if err := s.SetContractProvider(ctx, callbill.ContractParty{Name: "示例云通信有限公司", Address: "北京市朝阳区", TaxID: validCode, Bank: "工商银行", BankAccount: "0200001234567890123"}); err != nil {
			t.Fatal(err)
		}
		// Confirm: formal; then no edit and no tenant void; the operator voids it.
		f, err := (&contract.Service{Store: s}).Confirm(ctx, "3001", c.ID)
		if err != nil || f.State != callbill.ContractFormal || f.Confirmed.IsZero() || f.Provider.Name != "示例云通信有限公司" {
			t.Fatalf("confirm: %+v %v", f, err)
		}
		if again, err := (&contract.Service{Store: s}).Confirm(ctx, "3001", c.ID); err != nil || !again.Replayed {
			t.Errorf("confirm again: %+v %v", again, err)
		}
		if _, err := (&contract.Service{Store: s}).Edit(ctx, "3001", c.ID, callbill.ContractParty{}); callbill.ErrorCode(err) != callbill.EREFUSED || !strings.Contains(err.Error(), "formal") {
			t.Errorf("edit a formal contract: %v", err)
		}
		if _, err := (&contract.Service{Store: s}).Void(ctx, contract.VoidInput{Account: "3001", ID: c.ID, Reason: "", Operator: false}); callbill.ErrorCode(err) != callbill.EREFUSED || !strings.Contains(err.Error(), "only the operator") {
			t.Errorf("tenant voids a formal contract: %v", err)
		}
		if _, err := (&contract.Service{Store: s}).Void(ctx, contract.VoidInput{Account: "3001", ID: c.ID, Reason: "", Operator: true}); callbill.ErrorCode(err) != callbill.EINVALID {
			t.Errorf("operator void without a reason: %v", err)
		}
		v, err := (&contract.Service{Store: s}).Void(ctx, contract.VoidInput{Account: "", ID: c.ID, Reason: "客户申请作废", Operator: true})
		if err != nil || v.State != callbill.ContractVoid || v.VoidedBy != "operator" {
			t.Fatalf("operator void: %+v %v", v, err)
		}
		if _, err := (&contract.Service{Store: s}).Confirm(ctx, "3001", c.ID); callbill.ErrorCode(err) != callbill.EREFUSED {
			t.Errorf("confirm a void contract: %v", err)
		}
		// The purchase is free again; the tenant voids a draft.
		c2, err := (&contract.Service{Store: s}).Create(ctx, callbill.ContractRequest{Account: "3001", Purchase: "P-1"})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := (&contract.Service{Store: s}).Void(ctx, contract.VoidInput{Account: "3001", ID: c2.ID, Reason: "", Operator: false}); err != nil || v.State != callbill.ContractVoid || v.VoidedBy != "tenant" {
			t.Fatalf("tenant voids a draft: %+v %v", v, err)
		}
		if _, err := (&contract.Service{Store: s}).Edit(ctx, "3001", c2.ID, callbill.ContractParty{}); callbill.ErrorCode(err) != callbill.EREFUSED {
			t.Errorf("edit a void contract: %v", err)
		}
		// Lapse: a draft not confirmed within 30 days.
		c3, err := (&contract.Service{Store: s}).Create(ctx, callbill.ContractRequest{Account: "3001", Purchase: "P-1"})
		if err != nil {
			t.Fatal(err)
		}
		base := s.Now()
		s.Now = func() time.Time { return base.Add(30*24*time.Hour - time.Second) }
		if got, _ := (&contract.Service{Store: s}).Get(ctx, "3001", c3.ID); got.State != callbill.ContractDraft {
			t.Fatalf("a day-29 draft: %s", got.State)
		}
		s.Now = func() time.Time { return base.Add(30 * 24 * time.Hour) }
		got, _ := (&contract.Service{Store: s}).Get(ctx, "3001", c3.ID)
		if got.State != callbill.ContractLapsed || !got.Ended.Equal(base.Add(30*24*time.Hour)) {
			t.Fatalf("a 30-day draft: %+v", got)
		}
		if lapsed, _ := (&contract.Service{Store: s}).List(ctx, contract.ListInput{Account: "3001", State: callbill.ContractLapsed}); len(lapsed) != 2 { // c3 and the October service draft
			t.Errorf("lapsed list: %d", len(lapsed))
		}
		for name, fn := range map[string]func() error{
			"confirm": func() error { _, err := (&contract.Service{Store: s}).Confirm(ctx, "3001", c3.ID); return err },
			"edit": func() error {
				_, err := (&contract.Service{Store: s}).Edit(ctx, "3001", c3.ID, callbill.ContractParty{})
				return err
			},
			"void": func() error {
				_, err := (&contract.Service{Store: s}).Void(ctx, contract.VoidInput{Account: "3001", ID: c3.ID, Reason: "", Operator: false})
				return err
			},
		} {
			if err := fn(); callbill.ErrorCode(err) != callbill.EREFUSED || !strings.Contains(err.Error(), "lapsed") {
				t.Errorf("%s a lapsed draft: %v", name, err)
			}
		}
		c4, err := (&contract.Service{Store: s}).Create(ctx, callbill.ContractRequest{Account: "3001", Purchase: "P-1"})
		if err != nil || c4.State != callbill.ContractDraft {
			t.Fatalf("a new draft after the lapse: %+v %v", c4, err)
		}
		all, err := (&contract.Service{Store: s}).List(ctx, contract.ListInput{AllAccounts: true})
		if err != nil || len(all) != 5 {
			t.Fatalf("all contracts: %d %v", len(all), err)
		}
		if _, err := (&contract.Service{Store: s}).Get(ctx, "3002", c4.ID); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("another account reads it: %v", err)
		}
	})
}

func cyc(s string) callbill.Cycle {
	c, err := callbill.ParseCycle(s)
	if err != nil {
		panic(err)
	}
	return c
}
