package invoice_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/invoice"
	"github.com/shopspring/decimal"
)

func TestAmounts(t *testing.T) {
	applied := map[callbill.InvoiceState]int64{callbill.InvoiceIssued: 1000, callbill.InvoicePending: 500,
		callbill.InvoiceRejected: 700, callbill.InvoiceWithdrawn: 300}
	for _, c := range []struct {
		name            string
		ledger          []string // other than top-ups
		cash, bills     string
		paid, inv, owed int64
		issued, pending int64
		applied         map[callbill.InvoiceState]int64
	}{
		{name: "nothing consumed", cash: "100", bills: "0"},
		{name: "purchases and deductions", ledger: []string{"-30.00", "-14.98"}, cash: "55.02", bills: "0", paid: 4498, inv: 4498},
		{name: "a credit gives back, a debit charges", ledger: []string{"-44.98", "5.00", "-2.00"}, cash: "1", bills: "0", paid: 4198, inv: 4198},
		{name: "a debit beyond cash is owed, not paid", ledger: []string{"-9.98", "-15.00"}, cash: "-4.98", bills: "0", paid: 2000, inv: 2000, owed: 498},
		{name: "unpaid bills are owed", ledger: []string{"-10.00"}, cash: "0", bills: "9.98", paid: 1000, inv: 1000, owed: 998},
		{name: "issued and pending count, rejected and withdrawn do not", ledger: []string{"-20.00"}, cash: "0", bills: "0",
			applied: applied, paid: 2000, issued: 1000, pending: 500, inv: 500},
		{name: "never below zero", ledger: []string{"-10.00"}, cash: "0", bills: "0", applied: applied, paid: 1000, issued: 1000, pending: 500},
	} {
		var ledger []decimal.Decimal
		for _, l := range c.ledger {
			ledger = append(ledger, dec(l))
		}
		got := invoice.Amounts("1001", ledger, dec(c.cash), dec(c.bills), c.applied)
		want := callbill.Invoiceable{Account: "1001", PaidFen: c.paid, IssuedFen: c.issued, PendingFen: c.pending, InvoiceableFen: c.inv, OwedFen: c.owed}
		if *got != want {
			t.Errorf("%s: %+v, want %+v", c.name, *got, want)
		}
	}
}

func TestInvoiceableSkipsTopUps(t *testing.T) {
	_, s, _ := setup(t)
	inv, err := s.Invoiceable(context.Background(), "1001")
	if err != nil || inv.PaidFen != 5000 || inv.InvoiceableFen != 5000 {
		t.Fatalf("%+v, %v: want 50.00 paid for consumption (the 100.00 top-up only once consumed)", inv, err)
	}
	_, err = s.Invoiceable(context.Background(), "9999")
	wantCode(t, err, callbill.ENOTFOUND, "account 9999 not found")
}

func TestApplyIdempotency(t *testing.T) {
	m, s, title := setup(t)
	ctx := context.Background()
	req := invoice.ApplyInput{Account: "1001", TitleID: title, AmountFen: 1000, Remark: " 十月 ", Key: " k1 "}
	a, err := s.Apply(ctx, req)
	if err != nil || a.Replayed || a.Key != "k1" || a.Remark != "十月" || a.State != callbill.InvoicePending || a.Type != callbill.InvoiceGeneral {
		t.Fatalf("%+v, %v", a, err)
	}
	again, err := s.Apply(ctx, req)
	if err != nil || !again.Replayed || again.ID != a.ID || len(m.apps) != 1 {
		t.Fatalf("retry: %+v, %v, %d applications", again, err, len(m.apps))
	}
	other := req
	other.AmountFen = 999
	_, err = s.Apply(ctx, other)
	wantCode(t, err, callbill.ECONFLICT, `idempotency key "k1" was used for a different request (application `+a.ID+`)`)
	// Without a key each request is an application of its own.
	req.Key = ""
	for range 2 {
		if _, err := s.Apply(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.apps) != 3 {
		t.Fatalf("%d applications, want 3", len(m.apps))
	}
}

func TestApplyRefusals(t *testing.T) {
	m, s, title := setup(t)
	ctx := context.Background()
	_, err := s.Apply(ctx, invoice.ApplyInput{Account: "1001", TitleID: title, AmountFen: 5001})
	wantCode(t, err, callbill.EREFUSED, "the amount 50.01 is more than the invoiceable 50.00 (paid for consumption 50.00, invoiced 0.00, pending 0.00)")
	if _, err := s.Apply(ctx, invoice.ApplyInput{Account: "1001", TitleID: title, AmountFen: 4000}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Apply(ctx, invoice.ApplyInput{Account: "1001", TitleID: title, AmountFen: 1001})
	wantCode(t, err, callbill.EREFUSED, "invoiceable 10.00 (paid for consumption 50.00, invoiced 0.00, pending 40.00)")
	m.owed["1001"] = dec("9.98")
	_, err = s.Apply(ctx, invoice.ApplyInput{Account: "1001", TitleID: title, AmountFen: 1})
	wantCode(t, err, callbill.EREFUSED, "the account owes 9.98 (欠费); pay it before applying for an invoice")
	_, err = s.Apply(ctx, invoice.ApplyInput{Account: "1001", TitleID: title, AmountFen: 1, Type: callbill.InvoiceSpecial})
	wantCode(t, err, callbill.EINVALID, "needs the title's bank, bank account, address, phone")
	_, err = s.Apply(ctx, invoice.ApplyInput{Account: "1001", TitleID: "TI999", AmountFen: 1})
	wantCode(t, err, callbill.ENOTFOUND, "invoice title TI999 not found")
	_, err = s.Apply(ctx, invoice.ApplyInput{Account: "1002", TitleID: title, AmountFen: 1})
	wantCode(t, err, callbill.ENOTFOUND, "invoice title "+title+" not found") // another account's title
	// Every problem of the input is told; the first is what an API shows.
	_, err = s.Apply(ctx, invoice.ApplyInput{Account: "1001", TitleID: title, AmountFen: 0, Type: "red"})
	wantCode(t, err, callbill.EINVALID, "an invoice amount must be a positive number of fen, not 0\ninvoice type must be general or special, not \"red\"")
	if callbill.ErrorMessage(err) != "an invoice amount must be a positive number of fen, not 0" {
		t.Fatalf("message %q", callbill.ErrorMessage(err))
	}
}

func TestStateMachine(t *testing.T) {
	m, s, title := setup(t)
	ctx := context.Background()
	apply := func() *callbill.InvoiceApplication {
		t.Helper()
		a, err := s.Apply(ctx, invoice.ApplyInput{Account: "1001", TitleID: title, AmountFen: 100})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	issue := func(id, no, date string) (*callbill.InvoiceApplication, error) {
		return s.Issue(ctx, invoice.IssueInput{ID: id, Number: no, Date: date})
	}
	reject := func(id, reason string) (*callbill.InvoiceApplication, error) {
		return s.Reject(ctx, invoice.RejectInput{ID: id, Reason: reason})
	}
	withdraw := func(account, id string) (*callbill.InvoiceApplication, error) {
		return s.Withdraw(ctx, invoice.WithdrawInput{Account: account, ID: id})
	}

	// pending → issued: the same number and date again change nothing; nothing else is allowed.
	a := apply()
	for _, c := range []struct{ no, date, want string }{
		{"1234", "2026-11-10", "must be 8 to 20 digits"},
		{"12345678", "10/11/2026", "must be YYYY-MM-DD"},
		{"12345678", "2026-11-09", "is before the application (2026-11-10)"},
		{"12345678", "2026-11-11", "is in the future"},
	} {
		_, err := issue(a.ID, c.no, c.date)
		wantCode(t, err, callbill.EINVALID, c.want)
	}
	got, err := issue(a.ID, " 12345678 ", " 2026-11-10 ")
	if err != nil || got.State != callbill.InvoiceIssued || got.InvoiceNo != "12345678" || got.DecidedAt != m.now || got.Replayed {
		t.Fatalf("issue: %+v, %v", got, err)
	}
	if got, err := issue(a.ID, "12345678", "2026-11-10"); err != nil || !got.Replayed {
		t.Fatalf("issue again: %+v, %v", got, err)
	}
	_, err = issue(a.ID, "87654321", "2026-11-10")
	wantCode(t, err, callbill.EREFUSED, "is issued, not pending: only a pending application can be issued")
	_, err = reject(a.ID, "no")
	wantCode(t, err, callbill.EREFUSED, "is issued, not pending: only a pending application can be rejected")
	_, err = withdraw("1001", a.ID)
	wantCode(t, err, callbill.EREFUSED, "is issued, not pending: only a pending application can be withdrawn")

	// An invoice number is issued once.
	b := apply()
	_, err = issue(b.ID, "12345678", "2026-11-10")
	wantCode(t, err, callbill.ECONFLICT, "invoice number 12345678 was issued before (application "+a.ID+")")

	// pending → rejected, with a reason; the same reason again changes nothing.
	_, err = reject(b.ID, "  ")
	wantCode(t, err, callbill.EINVALID, "rejecting an application needs a reason")
	if got, err := reject(b.ID, " 抬头不符 "); err != nil || got.State != callbill.InvoiceRejected || got.Reason != "抬头不符" {
		t.Fatalf("reject: %+v, %v", got, err)
	}
	if got, err := reject(b.ID, "抬头不符"); err != nil || !got.Replayed {
		t.Fatalf("reject again: %+v, %v", got, err)
	}
	_, err = reject(b.ID, "other")
	wantCode(t, err, callbill.EREFUSED, "is rejected, not pending")
	_, err = issue(b.ID, "11112222", "2026-11-10")
	wantCode(t, err, callbill.EREFUSED, "is rejected, not pending")

	// pending → withdrawn, by its own account only; again changes nothing.
	c := apply()
	_, err = withdraw("", c.ID)
	wantCode(t, err, callbill.EINVALID, "withdrawing needs the account")
	_, err = withdraw("1002", c.ID)
	wantCode(t, err, callbill.ENOTFOUND, "invoice application "+c.ID+" not found")
	if got, err := withdraw("1001", c.ID); err != nil || got.State != callbill.InvoiceWithdrawn {
		t.Fatalf("withdraw: %+v, %v", got, err)
	}
	if got, err := withdraw("1001", c.ID); err != nil || !got.Replayed {
		t.Fatalf("withdraw again: %+v, %v", got, err)
	}
	_, err = issue(c.ID, "11112222", "2026-11-10")
	wantCode(t, err, callbill.EREFUSED, "is withdrawn, not pending")
	_, err = issue("INV-none", "11112222", "2026-11-10")
	wantCode(t, err, callbill.ENOTFOUND, "invoice application INV-none not found")

	// Issued and pending amounts are not invoiceable; rejected and withdrawn ones are again.
	inv, err := s.Invoiceable(ctx, "1001")
	if err != nil || inv.IssuedFen != 100 || inv.PendingFen != 0 || inv.InvoiceableFen != 4900 {
		t.Fatalf("%+v, %v", inv, err)
	}
}

func TestList(t *testing.T) {
	_, s, title := setup(t)
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		a, err := s.Apply(ctx, invoice.ApplyInput{Account: "1001", TitleID: title, AmountFen: 100, Key: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	if _, err := s.Withdraw(ctx, invoice.WithdrawInput{Account: "1001", ID: ids[1]}); err != nil {
		t.Fatal(err)
	}
	order := func(in invoice.ListInput) []string {
		t.Helper()
		as, err := s.List(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	if got := order(invoice.ListInput{Account: "1001"}); fmt.Sprint(got) != fmt.Sprint([]string{ids[2], ids[1], ids[0]}) {
		t.Errorf("newest first: %v", got)
	}
	if got := order(invoice.ListInput{AllAccounts: true, State: callbill.InvoicePending}); fmt.Sprint(got) != fmt.Sprint([]string{ids[0], ids[2]}) {
		t.Errorf("the pending queue, oldest first: %v", got)
	}
	for _, c := range []struct {
		in   invoice.ListInput
		want string
	}{
		{invoice.ListInput{}, "name an account or all accounts"},
		{invoice.ListInput{Account: "1001", AllAccounts: true}, "name an account or all accounts"},
		{invoice.ListInput{AllAccounts: true, State: "bogus"}, `status must be pending, issued, rejected or withdrawn, not "bogus"`},
	} {
		_, err := s.List(ctx, c.in)
		wantCode(t, err, callbill.EINVALID, c.want)
	}
	_, err := s.List(ctx, invoice.ListInput{Account: "9999"})
	wantCode(t, err, callbill.ENOTFOUND, "account 9999 not found")
}

func TestTitles(t *testing.T) {
	m, s, title := setup(t)
	ctx := context.Background()
	first, _ := s.Title(ctx, "1001", title)
	// Replacing a title keeps when it was made.
	ti := *first
	ti.Name = " 甲公司（新） "
	saved, err := s.SaveTitle(ctx, ti)
	if err != nil || saved.Name != "甲公司（新）" || saved.CreatedAt != first.CreatedAt || !saved.UpdatedAt.After(first.UpdatedAt) {
		t.Fatalf("%+v, %v", saved, err)
	}
	// A title must match the account's real-name identity.
	ti = callbill.InvoiceTitle{Account: "1002", Kind: callbill.TitleCompany, Type: callbill.InvoiceGeneral, Name: "x", TaxID: "91330100MA27XL4X76"}
	_, err = s.SaveTitle(ctx, ti)
	wantCode(t, err, callbill.EINVALID, "real-name identity")
	_, err = s.SaveTitle(ctx, callbill.InvoiceTitle{Account: "9999", Kind: callbill.TitlePerson, Type: callbill.InvoiceGeneral, Name: "x"})
	wantCode(t, err, callbill.ENOTFOUND, "account 9999 not found")
	// An account keeps at most MaxTitles.
	for len(m.titles) < invoice.MaxTitles {
		if _, err := s.SaveTitle(ctx, callbill.InvoiceTitle{Account: "1001", Kind: callbill.TitleCompany, Type: callbill.InvoiceGeneral,
			Name: "甲公司", TaxID: "91330100MA27XL4X76"}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.SaveTitle(ctx, callbill.InvoiceTitle{Account: "1001", Kind: callbill.TitleCompany, Type: callbill.InvoiceGeneral,
		Name: "甲公司", TaxID: "91330100MA27XL4X76"})
	wantCode(t, err, callbill.EREFUSED, "account 1001 has 50 invoice titles, the most it may keep: delete one first")
	if err := s.DeleteTitle(ctx, "1002", title); callbill.ErrorCode(err) != callbill.ENOTFOUND {
		t.Fatalf("another account's title: %v", err)
	}
	if err := s.DeleteTitle(ctx, "1001", title); err != nil {
		t.Fatal(err)
	}
	if ts, err := s.Titles(ctx, "1001"); err != nil || len(ts) != invoice.MaxTitles-1 {
		t.Fatalf("%d titles, %v", len(ts), err)
	}
}
