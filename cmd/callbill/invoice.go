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

// invoice: titles, applications and the operator's decisions (DESIGN §3.11).
func (a *app) invoice(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("invoice needs a subcommand: title, apply, list, withdraw, issue or reject")
	}
	switch args[0] {
	case "title":
		if len(args) < 2 {
			return usagef("invoice title needs a subcommand: add, list or delete")
		}
		switch args[1] {
		case "add":
			return a.titleAdd(ctx, args[2:])
		case "list":
			return a.titleList(ctx, args[2:])
		case "delete":
			return a.titleDelete(ctx, args[2:])
		}
		return usagef("unknown invoice title subcommand %q", args[1])
	case "apply":
		return a.invoiceApply(ctx, args[1:])
	case "list":
		return a.invoiceList(ctx, args[1:])
	case "withdraw", "issue", "reject":
		return a.invoiceDecide(ctx, args[0], args[1:])
	}
	return usagef("unknown invoice subcommand %q", args[0])
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) titleAdd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("invoice title add", flag.ContinueOnError)
	acct := fs.String("account", "", "account UID")
	kind := fs.String("kind", "", "company or person (must match the account: enterprise or individual)")
	typ := fs.String("type", "general", "general (增值税普通发票) or special (增值税专用发票)")
	name := fs.String("name", "", "the title (抬头)")
	taxID := fs.String("tax-id", "", "unified social credit code (company titles)")
	bank := fs.String("bank", "", "bank (开户银行)")
	bankAcct := fs.String("bank-account", "", "bank account number")
	addr := fs.String("address", "", "registered address")
	phone := fs.String("phone", "", "registered phone")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *acct == "" || *kind == "" || *name == "" || len(pos) > 0 {
		return usagef("invoice title add needs --account UID --kind company|person --name NAME [--type general|special] [--tax-id …] [--bank …] [--bank-account …] [--address …] [--phone …]")
	}
	s, err := a.open(ctx)
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
	fmt.Fprintf(a.stdout, "title %s added: %s %s (%s)\n", t.ID, t.Name, callbill.InvoiceTypeName[t.Type], t.Kind)
	return nil
}

func (a *app) titleList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("invoice title list", flag.ContinueOnError)
	acct := fs.String("account", "", "account UID")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *acct == "" || len(pos) > 0 {
		return usagef("invoice title list needs --account UID")
	}
	s, err := a.open(ctx)
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
	for _, t := range ts {
		fmt.Fprintf(a.stdout, "%s  %-7s %s  %s  %s\n", t.ID, t.Kind, callbill.InvoiceTypeName[t.Type], t.Name, t.TaxID)
	}
	return nil
}

func (a *app) titleDelete(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("invoice title delete", flag.ContinueOnError)
	acct := fs.String("account", "", "account UID")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *acct == "" || len(pos) != 1 {
		return usagef("invoice title delete needs --account UID and the title ID")
	}
	s, err := a.open(ctx)
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

func (a *app) invoiceApply(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("invoice apply", flag.ContinueOnError)
	acct := fs.String("account", "", "account UID")
	title := fs.String("title", "", "title ID")
	amount := fs.String("amount", "", "amount in CNY, e.g. 12.34")
	typ := fs.String("type", "", "general or special (default: the title's)")
	remark := fs.String("remark", "", "a remark for the operator")
	key := fs.String("key", "", "idempotency key: the same key again is the same application")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *acct == "" || *title == "" || *amount == "" || len(pos) > 0 {
		return usagef("invoice apply needs --account UID --title ID --amount AMOUNT [--type general|special] [--remark TEXT] [--key KEY]")
	}
	fen, err := callbill.ParseFen(*amount)
	if err != nil {
		return err
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	app, err := invoices(s).Apply(ctx, invoice.ApplyInput{Account: *acct, TitleID: *title, Type: callbill.InvoiceType(*typ),
		AmountFen: fen, Remark: *remark, Key: *key})
	if err != nil {
		return err
	}
	return a.printApplication(ctx, s.Location, app, *asJSON)
}

func (a *app) printApplication(ctx context.Context, location func(context.Context) (*time.Location, error), app *callbill.InvoiceApplication, asJSON bool) error {
	loc, err := location(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return a.printJSON(api.Application(app, loc))
	}
	if app.Replayed {
		fmt.Fprintf(a.stdout, "application %s: the same request was applied before, nothing changed\n", app.ID)
	}
	fmt.Fprintln(a.stdout, applicationLine(app, loc))
	return nil
}

func applicationLine(app *callbill.InvoiceApplication, loc *time.Location) string {
	line := fmt.Sprintf("%s  %-9s %s  %10s  %s  %s  %s", app.ID, app.State, callbill.InvoiceTypeName[app.Type], callbill.FormatFen(app.AmountFen),
		app.Account, app.Title.Name, app.CreatedAt.In(loc).Format("2006-01-02 15:04"))
	switch app.State {
	case callbill.InvoiceIssued:
		line += fmt.Sprintf("  发票号码 %s 开票日期 %s", app.InvoiceNo, app.InvoiceDate)
	case callbill.InvoiceRejected:
		line += "  驳回原因 " + app.Reason
	}
	return line
}

func (a *app) invoiceList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("invoice list", flag.ContinueOnError)
	acct := fs.String("account", "", "account UID (default: every account)")
	status := fs.String("status", "", "pending, issued, rejected or withdrawn")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("invoice list takes no arguments")
	}
	s, err := a.open(ctx)
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
	for i := range apps {
		fmt.Fprintln(a.stdout, applicationLine(&apps[i], loc))
	}
	return nil
}

// invoiceDecide withdraws (for the tenant), issues or rejects an application.
func (a *app) invoiceDecide(ctx context.Context, verb string, args []string) error {
	fs := flag.NewFlagSet("invoice "+verb, flag.ContinueOnError)
	acct := fs.String("account", "", "account UID (withdraw)")
	number := fs.String("number", "", "invoice number (issue)")
	date := fs.String("date", "", "invoice date YYYY-MM-DD (issue; default today)")
	reason := fs.String("reason", "", "why (reject)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usagef("invoice %s needs the application ID", verb)
	case verb == "withdraw" && *acct == "":
		return usagef("invoice withdraw needs --account UID and the application ID")
	case verb == "issue" && *number == "":
		return usagef("invoice issue needs the application ID and --number N [--date YYYY-MM-DD]")
	case verb == "reject" && *reason == "":
		return usagef("invoice reject needs the application ID and --reason TEXT")
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	var app *callbill.InvoiceApplication
	switch verb {
	case "withdraw":
		app, err = invoices(s).Withdraw(ctx, invoice.WithdrawInput{Account: *acct, ID: pos[0]})
	case "issue":
		if *date == "" {
			loc, err := s.Location(ctx)
			if err != nil {
				return err
			}
			*date = s.Now().In(loc).Format("2006-01-02")
		}
		app, err = invoices(s).Issue(ctx, invoice.IssueInput{ID: pos[0], Number: *number, Date: *date})
	case "reject":
		app, err = invoices(s).Reject(ctx, invoice.RejectInput{ID: pos[0], Reason: *reason})
	}
	if err != nil {
		return err
	}
	return a.printApplication(ctx, s.Location, app, *asJSON)
}

// invoices is the invoice workflow on the store.
func invoices(s *sqlstore.Store) *invoice.Service { return &invoice.Service{Store: s} }
