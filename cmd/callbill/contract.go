package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/contractpdf"
	"github.com/callbill/callbill/internal/atomicfile"
	"github.com/callbill/callbill/sqlstore"
)

// contract: e-contracts (DESIGN §3.12). The CLI acts as the operator: it
// may void formal contracts.
func (a *app) contract(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("contract needs a subcommand: create, list, show, edit, confirm, void, pdf or provider")
	}
	switch args[0] {
	case "create", "edit":
		return a.contractWrite(ctx, args[0], args[1:])
	case "list":
		return a.contractList(ctx, args[1:])
	case "show", "confirm", "void", "pdf":
		return a.contractOne(ctx, args[0], args[1:])
	case "provider":
		return a.contractProvider(ctx, args[1:])
	}
	return usagef("unknown contract subcommand %q", args[0])
}

// partyFlags declares the flags of a contract party.
func partyFlags(fs *flag.FlagSet, name bool) func() callbill.ContractParty {
	var p callbill.ContractParty
	if name {
		fs.StringVar(&p.Name, "name", "", "name")
	}
	fs.StringVar(&p.Address, "address", "", "address")
	fs.StringVar(&p.Contact, "contact", "", "contact person")
	fs.StringVar(&p.Phone, "phone", "", "phone")
	fs.StringVar(&p.Email, "email", "", "e-mail")
	fs.StringVar(&p.TaxID, "tax-id", "", "unified social credit code")
	fs.StringVar(&p.Bank, "bank", "", "bank")
	fs.StringVar(&p.BankAccount, "bank-account", "", "bank account number")
	return func() callbill.ContractParty { return p }
}

func (a *app) contractWrite(ctx context.Context, verb string, args []string) error {
	fs := flag.NewFlagSet("contract "+verb, flag.ContinueOnError)
	acct := fs.String("account", "", "account UID")
	purchase := fs.String("purchase", "", "create: the purchase id")
	from := fs.String("from", "", "create: first cycle YYYY-MM of a service contract")
	to := fs.String("to", "", "create: last cycle YYYY-MM")
	key := fs.String("key", "", "create: idempotency key")
	asJSON := fs.Bool("json", false, "print JSON")
	party := partyFlags(fs, false)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *acct == "" || (verb == "create" && len(pos) > 0) || (verb == "edit" && len(pos) != 1) {
		if verb == "edit" {
			return usagef("contract edit needs --account UID, the contract ID and the customer's details (--address, --contact, --phone, --email, --tax-id, --bank, --bank-account)")
		}
		return usagef("contract create needs --account UID and --purchase ID or --from YYYY-MM --to YYYY-MM")
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	var c *callbill.EContract
	if verb == "edit" {
		c, err = (&contract.Service{Store: s}).Edit(ctx, *acct, pos[0], party())
	} else {
		req := callbill.ContractRequest{Account: *acct, Purchase: *purchase, Key: *key}
		p := party()
		req.Customer = &p
		for _, x := range []struct {
			s   string
			dst *callbill.Cycle
		}{{*from, &req.From}, {*to, &req.To}} {
			if x.s != "" {
				if *x.dst, err = callbill.ParseCycle(x.s); err != nil {
					return err
				}
			}
		}
		c, err = (&contract.Service{Store: s}).Create(ctx, req)
	}
	if err != nil {
		return err
	}
	return a.printContract(ctx, s, c, *asJSON)
}

func (a *app) printContract(ctx context.Context, s *sqlstore.Store, c *callbill.EContract, asJSON bool) error {
	loc, err := s.Location(ctx)
	if err != nil {
		return err
	}
	j := api.Contract(c, loc)
	if asJSON {
		return a.printJSON(j)
	}
	w := a.stdout
	fmt.Fprintln(w, contractLine(c, &j))
	fmt.Fprintf(w, "  甲方 %s  %s %s %s\n", c.Customer.Name, c.Customer.Address, c.Customer.Contact, c.Customer.Phone)
	fmt.Fprintf(w, "  乙方 %s  %s\n", c.Provider.Name, c.Provider.Address)
	for _, it := range c.Items {
		fmt.Fprintf(w, "  %s  %s  %s %s  原价 %s 优惠 %s 应付 %s\n", it.Cycle, it.Description, it.Usage, it.UsageUnit, it.Original, it.Discount, it.Payable)
	}
	fmt.Fprintf(w, "  合计 原价 %s 优惠 %s 应付 %s（%s）\n", j.Original, j.Discount, j.Payable, j.PayableWords)
	switch {
	case j.LapsesAt != "":
		fmt.Fprintf(w, "  草稿，%s 前未确认则失效\n", j.LapsesAt)
	case c.State == callbill.ContractVoid:
		fmt.Fprintf(w, "  已作废（%s）%s\n", c.VoidedBy, c.VoidReason)
	}
	return nil
}

func contractLine(c *callbill.EContract, j *api.ContractJSON) string {
	what := "purchase " + c.Purchase
	if c.Kind == callbill.ContractService {
		what = "cycles " + j.From + ".." + j.To
	}
	return fmt.Sprintf("%s  %-6s %s  %s  %s  %s", c.ID, c.State, c.Account, c.Title(), what, j.Payable)
}

func (a *app) contractList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("contract list", flag.ContinueOnError)
	acct := fs.String("account", "", "account UID (default: every account)")
	status := fs.String("status", "", "draft, formal, void or lapsed")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("contract list takes no arguments")
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	cs, err := (&contract.Service{Store: s}).List(ctx, contract.ListInput{Account: *acct, AllAccounts: *acct == "", State: callbill.ContractState(*status)})
	if err != nil {
		return err
	}
	loc, err := s.Location(ctx)
	if err != nil {
		return err
	}
	out := []api.ContractJSON{}
	for i := range cs {
		out = append(out, api.Contract(&cs[i], loc))
	}
	if *asJSON {
		return a.printJSON(out)
	}
	for i := range cs {
		fmt.Fprintln(a.stdout, contractLine(&cs[i], &out[i]))
	}
	return nil
}

// contractOne shows, confirms, voids or writes the PDF of one contract.
func (a *app) contractOne(ctx context.Context, verb string, args []string) error {
	fs := flag.NewFlagSet("contract "+verb, flag.ContinueOnError)
	acct := fs.String("account", "", "account UID")
	reason := fs.String("reason", "", "void: why (needed for a formal contract)")
	out := fs.String("o", "", "pdf: the file to write (default contract-ID.pdf)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *acct == "" || len(pos) != 1 {
		return usagef("contract %s needs --account UID and the contract ID", verb)
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	var c *callbill.EContract
	contracts := &contract.Service{Store: s}
	switch verb {
	case "show", "pdf":
		c, err = contracts.Get(ctx, *acct, pos[0])
	case "confirm":
		c, err = contracts.Confirm(ctx, *acct, pos[0])
	case "void": // the CLI acts as the operator
		c, err = contracts.Void(ctx, contract.VoidInput{Account: *acct, ID: pos[0], Reason: *reason, Operator: true})
	}
	if err != nil {
		return err
	}
	if verb != "pdf" {
		return a.printContract(ctx, s, c, *asJSON)
	}
	loc, err := s.Location(ctx)
	if err != nil {
		return err
	}
	path := *out
	if path == "" {
		path = "contract-" + c.ID + ".pdf"
	}
	if err := atomicfile.Write(path, func(w io.Writer) error { return contractpdf.Write(w, c, loc, contractpdf.FontPath()) }); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %s\n", path)
	return nil
}

// contractProvider shows or sets the provider side (乙方) of contracts.
func (a *app) contractProvider(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("contract provider", flag.ContinueOnError)
	party := partyFlags(fs, true)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("contract provider takes only flags: --name … [--address …] [--tax-id …] [--bank …] [--bank-account …] [--phone …] [--contact …] [--email …]")
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name != "json" })
	if set {
		if err := s.SetContractProvider(ctx, party()); err != nil {
			return err
		}
	}
	p, err := (&contract.Service{Store: s}).Provider(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(p)
	}
	fmt.Fprintf(a.stdout, "乙方 %s\n  地址 %s\n  统一社会信用代码 %s\n  开户银行 %s %s\n  电话 %s  联系人 %s  邮箱 %s\n",
		p.Name, p.Address, p.TaxID, p.Bank, p.BankAccount, p.Phone, p.Contact, p.Email)
	return nil
}
