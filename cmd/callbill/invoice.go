package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/invoice"
	"github.com/callbill/callbill/sqlstore"
)

// The invoice commands: titles, applications and the operator's decisions
// (docs/rules.md, "Invoices"; docs/invoices.md).

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) titleAdd(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account's `UID`")
	kind := fs.String("kind", "", "`company|person`, matching the account (enterprise or individual)")
	typ := fs.String("type", "general", "`general|special`: 增值税普通发票 or 增值税专用发票")
	name := fs.String("name", "", "the title (抬头) `NAME`")
	taxID := fs.String("tax-id", "", "the unified social credit code (`ID`) of a company title")
	bank := fs.String("bank", "", "the `BANK` (开户银行)")
	bankAcct := fs.String("bank-account", "", "the bank account number `N`")
	addr := fs.String("address", "", "the registered `ADDRESS`")
	phone := fs.String("phone", "", "the registered `PHONE`")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, pos []string) error {
		if *acct == "" || *kind == "" || *name == "" || len(pos) > 0 {
			return usagef("invoice title add needs --account UID --kind company|person --name NAME")
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		t, err := invoices(s).SaveTitle(ctx, callbill.InvoiceTitle{Account: *acct, Kind: callbill.TitleKind(*kind), Type: callbill.InvoiceType(*typ),
			Name: *name, TaxID: *taxID, Bank: *bank, BankAccount: *bankAcct, Address: *addr, Phone: *phone})
		if err != nil {
			return err
		}
		if *asJSON {
			loc, err := s.Location(ctx)
			if err != nil {
				return err
			}
			return a.printJSON(api.Title(t, loc))
		}
		fmt.Fprintf(a.stdout, "title %s added: %s %s (%s)\n", t.ID, t.Name, callbill.InvoiceTypeName[t.Type], zh(callbill.TitleKindLabel, t.Kind))
		return nil
	}
}

func (a *app) titleList(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account's `UID`")
	asJSON := fs.Bool("json", false, "print JSON (codes, not labels)")
	return func(ctx context.Context, pos []string) error {
		if *acct == "" || len(pos) > 0 {
			return usagef("invoice title list needs --account UID")
		}
		s, err := a.open(ctx, sqlstore.Read)
		if err != nil {
			return err
		}
		defer s.Close()
		ts, err := invoices(s).Titles(ctx, *acct)
		if err != nil {
			return err
		}
		loc, err := s.Location(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			out := []api.TitleJSON{}
			for i := range ts {
				out = append(out, api.Title(&ts[i], loc))
			}
			return a.printJSON(out)
		}
		t := newTable(left("抬头ID"), left("抬头类型"), left("发票类型"), left("抬头名称"), left("纳税人识别号"))
		for _, x := range ts {
			t.row(x.ID, zh(callbill.TitleKindLabel, x.Kind), callbill.InvoiceTypeName[x.Type], x.Name, x.TaxID)
		}
		return t.write(a.stdout)
	}
}

func (a *app) titleDelete(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account's `UID`")
	return func(ctx context.Context, pos []string) error {
		if *acct == "" || len(pos) != 1 {
			return usagef("invoice title delete needs --account UID and the title ID")
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := invoices(s).DeleteTitle(ctx, *acct, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "title %s deleted\n", pos[0])
		return nil
	}
}

func (a *app) invoiceApply(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account's `UID`")
	title := fs.String("title", "", "the title's `ID`")
	amount := fs.String("amount", "", "the `AMOUNT` in CNY, e.g. 12.34")
	typ := fs.String("type", "", "`general|special` (default: the title's)")
	remark := fs.String("remark", "", "a remark (`TEXT`) for the operator")
	key := fs.String("key", "", "idempotency `KEY`: the same key again is the same application")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, pos []string) error {
		if *acct == "" || *title == "" || *amount == "" || len(pos) > 0 {
			return usagef("invoice apply needs --account UID --title ID --amount AMOUNT")
		}
		fen, err := callbill.ParseFen(*amount)
		if err != nil {
			return err
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		app, err := invoices(s).Apply(ctx, invoice.ApplyInput{Account: *acct, TitleID: *title, Type: callbill.InvoiceType(*typ),
			AmountFen: fen, Remark: *remark, Key: *key})
		if err != nil {
			return err
		}
		return a.printApplication(ctx, s, app, *asJSON)
	}
}

// printApplication prints one application: JSON, or a line with labels.
func (a *app) printApplication(ctx context.Context, s *sqlstore.Store, app *callbill.InvoiceApplication, asJSON bool) error {
	loc, err := s.Location(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return a.printJSON(api.Application(app, loc))
	}
	if app.Replayed {
		fmt.Fprintf(a.stdout, "application %s: the same request was applied before, nothing changed\n", app.ID)
	}
	line := fmt.Sprintf("申请 %s  %s  %s  %s 元  账户 %s  抬头 %s  申请时间 %s", app.ID, zh(callbill.InvoiceStateLabel, app.State),
		callbill.InvoiceTypeName[app.Type], callbill.FormatFen(app.AmountFen), app.Account, app.Title.Name, app.CreatedAt.In(loc).Format("2006-01-02 15:04"))
	if note := applicationNote(app); note != "" {
		line += "  " + note
	}
	fmt.Fprintln(a.stdout, line)
	return nil
}

// applicationNote is what an issued or rejected application adds.
func applicationNote(app *callbill.InvoiceApplication) string {
	switch app.State {
	case callbill.InvoiceIssued:
		return fmt.Sprintf("发票号码 %s 开票日期 %s", app.InvoiceNo, app.InvoiceDate)
	case callbill.InvoiceRejected:
		return "驳回原因 " + app.Reason
	}
	return ""
}

func (a *app) invoiceList(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account's `UID` (default: every account)")
	status := fs.String("status", "", "only applications in a state: `pending|issued|rejected|withdrawn`")
	asJSON := fs.Bool("json", false, "print JSON (codes, not labels)")
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return usagef("invoice list takes no arguments")
		}
		s, err := a.open(ctx, sqlstore.Read)
		if err != nil {
			return err
		}
		defer s.Close()
		apps, err := invoices(s).List(ctx, invoice.ListInput{Account: *acct, AllAccounts: *acct == "", State: callbill.InvoiceState(*status)})
		if err != nil {
			return err
		}
		loc, err := s.Location(ctx)
		if err != nil {
			return err
		}
		var inv *callbill.Invoiceable
		if *acct != "" {
			if inv, err = invoices(s).Invoiceable(ctx, *acct); err != nil {
				return err
			}
		}
		if *asJSON {
			out := struct {
				Invoiceable  *api.InvoiceableJSON  `json:"invoiceable,omitempty"`
				Applications []api.ApplicationJSON `json:"applications"`
			}{Applications: []api.ApplicationJSON{}}
			if inv != nil {
				j := api.Invoiceable(inv)
				out.Invoiceable = &j
			}
			for i := range apps {
				out.Applications = append(out.Applications, api.Application(&apps[i], loc))
			}
			return a.printJSON(out)
		}
		if inv != nil {
			fmt.Fprintf(a.stdout, "可开票金额 %s  (已消费 %s − 已开票 %s − 申请中 %s)  欠费 %s\n", callbill.FormatFen(inv.InvoiceableFen),
				callbill.FormatFen(inv.PaidFen), callbill.FormatFen(inv.IssuedFen), callbill.FormatFen(inv.PendingFen), callbill.FormatFen(inv.OwedFen))
		}
		return applicationsTable(apps, loc).write(a.stdout)
	}
}

// applicationsTable lists invoice applications.
func applicationsTable(apps []callbill.InvoiceApplication, loc *time.Location) *table {
	t := newTable(left("申请ID"), left("状态"), left("发票类型"), right("金额"), left("账户"), left("抬头"), left("申请时间"), left("说明"))
	for i := range apps {
		x := &apps[i]
		t.row(x.ID, zh(callbill.InvoiceStateLabel, x.State), callbill.InvoiceTypeName[x.Type], callbill.FormatFen(x.AmountFen),
			x.Account, x.Title.Name, x.CreatedAt.In(loc).Format("2006-01-02 15:04"), applicationNote(x))
	}
	return t
}

func (a *app) invoiceWithdraw(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account's `UID`")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, pos []string) error {
		if *acct == "" || len(pos) != 1 {
			return usagef("invoice withdraw needs --account UID and the application ID")
		}
		return a.decide(ctx, *asJSON, func(s *sqlstore.Store) (*callbill.InvoiceApplication, error) {
			return invoices(s).Withdraw(ctx, invoice.WithdrawInput{Account: *acct, ID: pos[0]})
		})
	}
}

func (a *app) invoiceIssue(fs *flag.FlagSet) runner {
	number := fs.String("number", "", "the invoice's number `N`")
	date := fs.String("date", "", "the invoice's date `YYYY-MM-DD` (default: today in the billing time zone)")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, pos []string) error {
		if *number == "" || len(pos) != 1 {
			return usagef("invoice issue needs the application ID and --number N")
		}
		return a.decide(ctx, *asJSON, func(s *sqlstore.Store) (*callbill.InvoiceApplication, error) {
			d := *date
			if d == "" {
				loc, err := s.Location(ctx)
				if err != nil {
					return nil, err
				}
				d = s.Now().In(loc).Format("2006-01-02")
			}
			return invoices(s).Issue(ctx, invoice.IssueInput{ID: pos[0], Number: *number, Date: d})
		})
	}
}

func (a *app) invoiceReject(fs *flag.FlagSet) runner {
	reason := fs.String("reason", "", "why (`TEXT`), for the tenant")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, pos []string) error {
		if *reason == "" || len(pos) != 1 {
			return usagef("invoice reject needs the application ID and --reason TEXT")
		}
		return a.decide(ctx, *asJSON, func(s *sqlstore.Store) (*callbill.InvoiceApplication, error) {
			return invoices(s).Reject(ctx, invoice.RejectInput{ID: pos[0], Reason: *reason})
		})
	}
}

// decide runs a decision on an application and prints the application.
func (a *app) decide(ctx context.Context, asJSON bool, fn func(s *sqlstore.Store) (*callbill.InvoiceApplication, error)) error {
	s, err := a.open(ctx, sqlstore.Write)
	if err != nil {
		return err
	}
	defer s.Close()
	app, err := fn(s)
	if err != nil {
		return err
	}
	return a.printApplication(ctx, s, app, asJSON)
}

// invoices is the invoice workflow on the store.
func invoices(s *sqlstore.Store) *invoice.Service { return &invoice.Service{Store: s} }
