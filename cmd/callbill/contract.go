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

// The contract commands: e-contracts (docs/rules.md, "E-contracts"). The CLI acts as the
// operator: it may void formal contracts.

// partyFlags declares the flags of a contract party.
func partyFlags(fs *flag.FlagSet, name bool) func() callbill.ContractParty {
	var p callbill.ContractParty
	if name {
		fs.StringVar(&p.Name, "name", "", "the party's `NAME`")
	}
	fs.StringVar(&p.Address, "address", "", "the `ADDRESS`")
	fs.StringVar(&p.Contact, "contact", "", "the contact person's `NAME`")
	fs.StringVar(&p.Phone, "phone", "", "the `PHONE`")
	fs.StringVar(&p.Email, "email", "", "the e-mail `ADDRESS`")
	fs.StringVar(&p.TaxID, "tax-id", "", "the unified social credit code (`ID`)")
	fs.StringVar(&p.Bank, "bank", "", "the `BANK`")
	fs.StringVar(&p.BankAccount, "bank-account", "", "the bank account number `N`")
	return func() callbill.ContractParty { return p }
}

func (a *app) contractCreate(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account's `UID`")
	purchase := fs.String("purchase", "", "a purchase contract for the purchase `ID`")
	from := fs.String("from", "", "a service contract from the closed cycle `YYYY-MM`")
	to := fs.String("to", "", "… to the closed cycle `YYYY-MM`")
	key := fs.String("key", "", "idempotency `KEY`")
	asJSON := fs.Bool("json", false, "print JSON")
	party := partyFlags(fs, false)
	return func(ctx context.Context, pos []string) error {
		if *acct == "" || len(pos) > 0 {
			return usagef("contract create needs --account UID and --purchase ID or --from YYYY-MM --to YYYY-MM")
		}
		req := callbill.ContractRequest{Account: *acct, Purchase: *purchase, Key: *key}
		p := party()
		req.Customer = &p
		for _, x := range []struct {
			s   string
			dst *callbill.Cycle
		}{{*from, &req.From}, {*to, &req.To}} {
			if x.s != "" {
				c, err := callbill.ParseCycle(x.s)
				if err != nil {
					return usagef("%s", errorText(err))
				}
				*x.dst = c
			}
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		c, err := (&contract.Service{Store: s}).Create(ctx, req)
		if err != nil {
			return err
		}
		return a.printContract(ctx, s, c, *asJSON)
	}
}

func (a *app) contractEdit(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account's `UID`")
	asJSON := fs.Bool("json", false, "print JSON")
	party := partyFlags(fs, false)
	return func(ctx context.Context, pos []string) error {
		if *acct == "" || len(pos) != 1 {
			return usagef("contract edit needs --account UID, the contract ID and the customer's details")
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		c, err := (&contract.Service{Store: s}).Edit(ctx, *acct, pos[0], party())
		if err != nil {
			return err
		}
		return a.printContract(ctx, s, c, *asJSON)
	}
}

// printContract prints one contract: JSON, or its parties, items (a
// table) and totals.
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
	fmt.Fprintf(w, "合同 %s  %s  账户 %s  %s  %s  应付 %s\n", c.ID, zh(callbill.ContractStateLabel, c.State), c.Account, c.Title(), contractSubject(c, &j), j.Payable)
	fmt.Fprintf(w, "甲方 %s  %s %s %s\n", c.Customer.Name, c.Customer.Address, c.Customer.Contact, c.Customer.Phone)
	if c.Provider.Configured() {
		fmt.Fprintf(w, "乙方 %s  %s\n", c.Provider.Name, c.Provider.Address)
	} else {
		fmt.Fprintln(w, "乙方 （待运营方配置：callbill contract provider --name … 设置后才能确认）")
	}
	t := newTable(left("账期"), left("项目"), right("用量"), left("单位"), right("原价"), right("优惠金额"), right("应付金额"))
	for _, it := range c.Items {
		t.row(it.Cycle, it.Description, it.Usage, it.UsageUnit, it.Original, it.Discount, it.Payable)
	}
	t.rule()
	t.row("合计", "", "", "", j.Original, j.Discount, j.Payable)
	if err := t.write(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "应付金额（大写）%s\n", j.PayableWords)
	switch {
	case j.LapsesAt != "":
		fmt.Fprintf(w, "草稿，%s 前未确认则失效\n", j.LapsesAt)
	case c.State == callbill.ContractVoid:
		fmt.Fprintf(w, "已作废（%s）%s\n", c.VoidedBy, c.VoidReason)
	}
	return nil
}

// contractSubject is what a contract covers: its purchase or its cycles.
func contractSubject(c *callbill.EContract, j *api.ContractJSON) string {
	if c.Kind == callbill.ContractService {
		return "账期 " + j.From + " 至 " + j.To
	}
	return "订单 " + c.Purchase
}

func (a *app) contractList(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account's `UID` (default: every account)")
	status := fs.String("status", "", "only contracts in a state: `draft|formal|void|lapsed`")
	asJSON := fs.Bool("json", false, "print JSON (codes, not labels)")
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return usagef("contract list takes no arguments")
		}
		s, err := a.open(ctx, sqlstore.Read)
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
		t := newTable(left("合同ID"), left("状态"), left("账户"), left("合同"), left("订单/期间"), right("应付金额"))
		for i := range cs {
			t.row(cs[i].ID, zh(callbill.ContractStateLabel, cs[i].State), cs[i].Account, cs[i].Title(), contractSubject(&cs[i], &out[i]), out[i].Payable)
		}
		return t.write(a.stdout)
	}
}

// oneContract declares the flags every command on one contract has and
// runs fn on the contract the command line names.
func (a *app) oneContract(fs *flag.FlagSet, verb string, access sqlstore.Access, json bool,
	fn func(ctx context.Context, s *sqlstore.Store, svc *contract.Service, account, id string) (*callbill.EContract, error)) runner {
	acct := fs.String("account", "", "the account's `UID`")
	asJSON := new(bool)
	if json {
		asJSON = fs.Bool("json", false, "print JSON")
	}
	return func(ctx context.Context, pos []string) error {
		if *acct == "" || len(pos) != 1 {
			return usagef("contract %s needs --account UID and the contract ID", verb)
		}
		s, err := a.open(ctx, access)
		if err != nil {
			return err
		}
		defer s.Close()
		c, err := fn(ctx, s, &contract.Service{Store: s}, *acct, pos[0])
		if err != nil || c == nil {
			return err
		}
		return a.printContract(ctx, s, c, *asJSON)
	}
}

func (a *app) contractShow(fs *flag.FlagSet) runner {
	return a.oneContract(fs, "show", sqlstore.Read, true, func(ctx context.Context, _ *sqlstore.Store, svc *contract.Service, account, id string) (*callbill.EContract, error) {
		return svc.Get(ctx, account, id)
	})
}

func (a *app) contractConfirm(fs *flag.FlagSet) runner {
	return a.oneContract(fs, "confirm", sqlstore.Write, true, func(ctx context.Context, _ *sqlstore.Store, svc *contract.Service, account, id string) (*callbill.EContract, error) {
		return svc.Confirm(ctx, account, id)
	})
}

func (a *app) contractVoid(fs *flag.FlagSet) runner {
	reason := fs.String("reason", "", "why (`TEXT`), needed for a formal contract")
	return a.oneContract(fs, "void", sqlstore.Write, true, func(ctx context.Context, _ *sqlstore.Store, svc *contract.Service, account, id string) (*callbill.EContract, error) {
		// The CLI acts as the operator.
		return svc.Void(ctx, contract.VoidInput{Account: account, ID: id, Reason: *reason, Operator: true})
	})
}

func (a *app) contractPDF(fs *flag.FlagSet) runner {
	out := fs.String("o", "", "the `FILE` to write (default contract-ID.pdf)")
	return a.oneContract(fs, "pdf", sqlstore.Read, false, func(ctx context.Context, s *sqlstore.Store, svc *contract.Service, account, id string) (*callbill.EContract, error) {
		c, err := svc.Get(ctx, account, id)
		if err != nil {
			return nil, err
		}
		loc, err := s.Location(ctx)
		if err != nil {
			return nil, err
		}
		path := *out
		if path == "" {
			path = "contract-" + c.ID + ".pdf"
		}
		if err := atomicfile.Write(path, func(w io.Writer) error { return contractpdf.Write(w, c, loc, a.cfg.CJKFont.Value) }); err != nil {
			return nil, err
		}
		fmt.Fprintf(a.stdout, "wrote %s\n", path)
		return nil, nil
	})
}

// contractProvider shows or sets the provider side (乙方) of contracts.
func (a *app) contractProvider(fs *flag.FlagSet) runner {
	party := partyFlags(fs, true)
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return usagef("contract provider takes only flags")
		}
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name != "json" })
		access := sqlstore.Read
		if set {
			access = sqlstore.Write
		}
		s, err := a.open(ctx, access)
		if err != nil {
			return err
		}
		defer s.Close()
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
}
