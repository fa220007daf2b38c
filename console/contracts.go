package console

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/contractpdf"
)

type contractsData struct {
	Table       table
	Purchases   []option
	From, To    []option
	PurchaseKey string
	ServiceKey  string
}

// contracts is 合同: the account's e-contracts (a formal one downloads as
// a PDF) and the forms that draft one — for a purchase without a live
// contract, or a service contract for a period of closed cycles.
func (s *Server) contracts(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	v.Nav = "contracts"
	cs, err := s.contractService().List(ctx, contract.ListInput{Account: v.UID})
	if err != nil {
		return err
	}
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	t := table{ID: "contracts-table", Empty: v.T("empty.contracts"), Cols: []col{
		{Key: "id", Label: v.T("col.job")}, {Key: "title", Label: v.T("con.title"), Wrap: true}, {Key: "subject", Label: v.T("con.subject")},
		{Key: "payable", Label: v.T("col.payable"), Num: true}, {Key: "state", Label: v.T("col.status")},
		{Key: "created_at", Label: v.T("col.created")}, {Key: "confirmed", Label: v.T("con.confirmed")}, {Key: "pdf", Label: v.T("col.action")}}}
	for _, c := range cs {
		action := cell{Text: v.T("con.open"), V: "open", Href: v.A("contracts/" + url.PathEscape(c.ID))}
		if c.State == callbill.ContractFormal {
			action = cell{Text: v.T("con.pdf"), V: "pdf", Href: v.A("contracts/" + url.PathEscape(c.ID) + "/pdf")}
		}
		t.Rows = append(t.Rows, []cell{link(c.ID, v.A("contracts/"+url.PathEscape(c.ID))), code(string(c.Kind), c.Title()),
			txt(subject(&c)), code(callbill.FormatMoney(c.Payable), Money(c.Payable)), code(string(c.State), v.T("constate."+string(c.State))),
			code(c.CreatedAt.In(loc).Format(time.RFC3339), dateTime(c.CreatedAt, loc)), txt(dateTime(c.Confirmed, loc)), action})
	}
	d := contractsData{Table: t, PurchaseKey: newToken(), ServiceKey: newToken()}
	if d.Purchases, err = s.openPurchases(ctx, v, cs, loc); err != nil {
		return err
	}
	closed, err := s.closedCycles(ctx, v.UID, loc)
	if err != nil {
		return err
	}
	if n := len(closed); n > 0 {
		from := v.prefill("service", "from", closed[n-1].String())
		to := v.prefill("service", "to", closed[n-1].String())
		for i := n - 1; i >= 0; i-- {
			c := closed[i].String()
			d.From = append(d.From, option{c, c, c == from})
			d.To = append(d.To, option{c, c, c == to})
		}
	}
	var forms []string
	if len(d.Purchases) > 0 {
		forms = append(forms, "purchase")
	}
	if len(d.From) > 0 {
		forms = append(forms, "service")
	}
	v.shown(forms...)
	return s.render(w, r, v, "contracts", d)
}

// subject is what a contract covers: its purchase or its period.
func subject(c *callbill.EContract) string {
	if c.Kind == callbill.ContractService {
		return c.From.String() + " ~ " + c.To.String()
	}
	return c.Purchase
}

// openPurchases lists the account's purchases that have no live (draft or
// formal) contract, newest first, each described by its bill line. The
// purchases are the ledger's purchase entries.
func (s *Server) openPurchases(ctx context.Context, v *view, cs []callbill.EContract, loc *time.Location) ([]option, error) {
	live := map[string]bool{}
	for _, c := range cs {
		if c.Kind == callbill.ContractPurchase && (c.State == callbill.ContractDraft || c.State == callbill.ContractFormal) {
			live[c.Purchase] = true
		}
	}
	entries, err := s.Store.Ledger(ctx, v.UID)
	if err != nil {
		return nil, err
	}
	var ps []callbill.LedgerEntry
	var cycles []callbill.Cycle
	for _, e := range entries {
		id, ok := strings.CutPrefix(e.Ref, "purchase:")
		if e.Kind != callbill.LedgerPurchase || !ok || live[id] {
			continue
		}
		ps = append(ps, e)
		if !slices.Contains(cycles, e.Cycle) {
			cycles = append(cycles, e.Cycle)
		}
	}
	desc := map[string]string{}
	for _, c := range cycles {
		b, err := s.bills().Bill(ctx, closing.BillInput{Account: v.UID, Cycle: c})
		if err != nil {
			return nil, err
		}
		for _, l := range b.Lines {
			if l.IsPurchase() {
				d := v.ItemName(l.Item)
				if l.Number != "" {
					d += " " + l.Number
				} else if l.Instance != "" {
					d += " " + l.Instance
				}
				desc[l.PurchaseID] = d
			}
		}
	}
	chosen := v.prefill("purchase", "purchase", "")
	var out []option
	for i := len(ps) - 1; i >= 0; i-- {
		e := ps[i]
		id := strings.TrimPrefix(e.Ref, "purchase:")
		label := id + " · " + e.At.In(loc).Format("2006-01-02")
		if d := desc[id]; d != "" {
			label += " · " + d
		}
		label += " · " + Money(e.Amount.Neg())
		out = append(out, option{id, label, id == chosen})
	}
	return out, nil
}

// closedCycles lists the account's cycles (those with anything in them)
// that are closed, oldest first. Cycles close in order, so they are the
// ones up to the newest closed one.
func (s *Server) closedCycles(ctx context.Context, uid string, loc *time.Location) ([]callbill.Cycle, error) {
	have, err := s.Store.BillCycles(ctx, uid)
	if err != nil {
		return nil, err
	}
	current := callbill.CycleOf(s.Now(), loc)
	for i := len(have) - 1; i >= 0; i-- {
		if have[i] > current {
			continue
		}
		b, err := s.bills().Bill(ctx, closing.BillInput{Account: uid, Cycle: have[i]})
		if err != nil {
			return nil, err
		}
		if b.Status == callbill.BillStatusClosed {
			return have[:i+1], nil
		}
	}
	return nil, nil
}

// createContract drafts a contract: for a purchase, or for the postpaid
// usage of closed cycles from..to. The form's key is the contract's
// idempotency key. The draft opens, for its details to be checked and
// confirmed.
func (s *Server) createContract(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.submit(w, r, v, func() (outcome, error) {
		kind := r.PostFormValue("kind")
		out := outcome{To: v.A("contracts"), For: kind, Form: fields(r, "purchase", "from", "to")}
		req := callbill.ContractRequest{Account: v.UID, Key: "console:" + r.PostFormValue("key")}
		switch kind {
		case "purchase":
			if req.Purchase = strings.TrimSpace(out.Form["purchase"]); req.Purchase == "" {
				return out, v.errf(callbill.EINVALID, "con.choose_purchase")
			}
		case "service":
			from, err1 := callbill.ParseCycle(out.Form["from"])
			to, err2 := callbill.ParseCycle(out.Form["to"])
			if err1 != nil || err2 != nil {
				return out, v.errf(callbill.EINVALID, "con.choose_period")
			}
			req.From, req.To = from, to
		default:
			out.For = ""
			return out, v.errf(callbill.EINVALID, "con.choose_period")
		}
		c, err := s.contractService().Create(r.Context(), req)
		if err != nil {
			return out, err
		}
		out.To = v.A("contracts/" + url.PathEscape(c.ID))
		if c.Replayed {
			out.OK = fmt.Sprintf(v.T("con.created_before"), c.ID)
		} else {
			s.Log.Info("console drafted a contract", "account", v.UID, "id", c.ID, "kind", string(c.Kind))
			out.OK = fmt.Sprintf(v.T("con.created"), c.ID)
		}
		return out, nil
	})
}

type contractData struct {
	C         *callbill.EContract
	Subject   string
	State     string
	Created   string
	LapsesAt  string
	Confirmed string
	Ended     string
	VoidedBy  string
	Customer  []fact
	Provider  []fact
	Items     table
	Draft     bool
	Formal    bool
	Operator  bool // the operator may void a formal contract
	// NoProvider: the operator has not set the provider side (乙方) yet,
	// so a draft cannot be confirmed.
	NoProvider bool
	Party      partyForm
	Key        string
	PDF        string
}

type fact struct{ Key, Label, Value string }

type partyForm struct {
	Address, Contact, Phone, Email, TaxID, Bank, BankAccount string
}

func partyFacts(v *view, p *callbill.ContractParty) []fact {
	return []fact{{"name", v.T("party.name"), p.Name}, {"address", v.T("party.address"), p.Address},
		{"contact", v.T("party.contact"), p.Contact}, {"phone", v.T("party.phone"), p.Phone}, {"email", v.T("party.email"), p.Email},
		{"tax_id", v.T("ititle.tax_id"), p.TaxID}, {"bank", v.T("ititle.bank"), p.Bank}, {"bank_account", v.T("ititle.bank_account"), p.BankAccount}}
}

// providerFacts is the provider side (乙方): the operator's block, or,
// while none is set, a neutral "to be configured" in its place (a draft;
// or a contract of an earlier version that carries the old placeholder).
func providerFacts(v *view, p *callbill.ContractParty) []fact {
	if !p.Configured() {
		return []fact{{"name", v.T("party.name"), v.T("con.provider_unset")}}
	}
	return partyFacts(v, p)
}

// contract shows one of the account's contracts: its facts, both parties,
// its items; a draft's customer details can be edited, and the draft
// confirmed or voided; a formal one downloads as a PDF (and the operator
// may void it).
func (s *Server) contract(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	v.Nav = "contracts"
	c, err := s.contractService().Get(ctx, v.UID, r.PathValue("id"))
	if err != nil {
		return err
	}
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	v.Title = c.Title() + " " + c.ID // the document's own (Chinese) name
	if v.lang == "en" {
		v.Title = "Contract " + c.ID
	}
	d := contractData{C: c, Subject: subject(c), State: v.T("constate." + string(c.State)), Created: dateTime(c.CreatedAt, loc),
		Confirmed: dateTime(c.Confirmed, loc), Ended: dateTime(c.Ended, loc), Customer: partyFacts(v, &c.Customer),
		Provider: providerFacts(v, &c.Provider), Draft: c.State == callbill.ContractDraft, Formal: c.State == callbill.ContractFormal,
		Operator: v.Sess.Operator, Key: newToken()}
	d.NoProvider = d.Draft && !c.Provider.Configured()
	if c.VoidedBy != "" {
		d.VoidedBy = v.T("voidedby." + c.VoidedBy)
	}
	if d.Draft {
		d.LapsesAt = dateTime(c.LapsesAt(), loc)
	}
	if d.Formal {
		d.PDF = v.A("contracts/" + url.PathEscape(c.ID) + "/pdf")
	}
	pf := func(name, def string) string { return v.prefill("party", name, def) }
	cu := c.Customer
	d.Party = partyForm{Address: pf("address", cu.Address), Contact: pf("contact", cu.Contact), Phone: pf("phone", cu.Phone),
		Email: pf("email", cu.Email), TaxID: pf("tax_id", cu.TaxID), Bank: pf("bank", cu.Bank), BankAccount: pf("bank_account", cu.BankAccount)}
	d.Items = table{ID: "items-table", Empty: v.T("empty.items"), Cols: []col{
		{Key: "cycle", Label: v.T("label.cycle")}, {Key: "description", Label: v.T("con.item"), Wrap: true},
		{Key: "usage", Label: v.T("col.usage"), Num: true}, {Key: "usage_unit", Label: v.T("col.usage_unit")},
		{Key: "unit_price", Label: v.T("col.unit_price"), Num: true}, {Key: "price_unit", Label: v.T("col.price_unit")},
		{Key: "original", Label: v.T("col.original"), Num: true}, {Key: "discount", Label: v.T("col.discount"), Num: true},
		{Key: "payable", Label: v.T("col.payable"), Num: true}}}
	for _, it := range c.Items {
		d.Items.Rows = append(d.Items.Rows, []cell{txt(it.Cycle), txt(it.Description), code(it.Usage, groupString(it.Usage)), code(it.UsageUnit, v.Unit(it.UsageUnit)),
			txt(it.UnitPrice), code(it.PriceUnit, v.Unit(it.PriceUnit)), moneyCell(it.Original), moneyCell(it.Discount), moneyCell(it.Payable)})
	}
	d.Items.Foot = []cell{txt(v.T("total")), txt(""), txt(""), txt(""), txt(""), txt(""),
		moneyCell(callbill.FormatMoney(c.Original)), moneyCell(callbill.FormatMoney(c.Discount)), moneyCell(callbill.FormatMoney(c.Payable))}
	switch {
	case d.Draft:
		v.shown("party")
	case d.Formal && d.Operator:
		v.shown("void")
	default:
		v.shown()
	}
	return s.render(w, r, v, "contract", d)
}

// editContract replaces a draft's customer details (the name is always
// the account's).
func (s *Server) editContract(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.submit(w, r, v, func() (outcome, error) {
		id := r.PathValue("id")
		out := outcome{To: v.A("contracts/" + url.PathEscape(id)), For: "party",
			Form: fields(r, "address", "contact", "phone", "email", "tax_id", "bank", "bank_account")}
		f := out.Form
		c, err := s.contractService().Edit(r.Context(), v.UID, id, callbill.ContractParty{Address: f["address"], Contact: f["contact"],
			Phone: f["phone"], Email: f["email"], TaxID: f["tax_id"], Bank: f["bank"], BankAccount: f["bank_account"]})
		if err != nil {
			return out, err
		}
		out.OK = fmt.Sprintf(v.T("con.edited"), c.ID)
		return out, nil
	})
}

// confirmContract makes a draft formal.
func (s *Server) confirmContract(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.submit(w, r, v, func() (outcome, error) {
		id := r.PathValue("id")
		out := outcome{To: v.A("contracts/" + url.PathEscape(id))}
		c, err := s.contractService().Confirm(r.Context(), v.UID, id)
		if err != nil {
			return out, err
		}
		if c.Replayed {
			out.OK = fmt.Sprintf(v.T("con.confirmed_before"), c.ID)
		} else {
			s.Log.Info("console confirmed a contract", "account", v.UID, "id", c.ID)
			out.OK = fmt.Sprintf(v.T("con.confirmed_done"), c.ID)
		}
		return out, nil
	})
}

// voidContract voids a draft (a tenant) or any contract (the operator, a
// formal one with a reason).
func (s *Server) voidContract(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.submit(w, r, v, func() (outcome, error) {
		id := r.PathValue("id")
		out := outcome{To: v.A("contracts/" + url.PathEscape(id)), For: "void", Form: fields(r, "reason")}
		c, err := s.contractService().Void(r.Context(), contract.VoidInput{Account: v.UID, ID: id, Reason: out.Form["reason"], Operator: v.Sess.Operator})
		if err != nil {
			return out, err
		}
		s.Log.Info("console voided a contract", "account", v.UID, "id", c.ID, "operator", v.Sess.Operator)
		out.OK = fmt.Sprintf(v.T("con.voided"), c.ID)
		return out, nil
	})
}

// contractPDF sends a formal contract of the account as a PDF.
func (s *Server) contractPDF(w http.ResponseWriter, r *http.Request, v *view) error {
	c, err := s.contractService().Get(r.Context(), v.UID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.State != callbill.ContractFormal {
		return v.errf(callbill.ECONFLICT, "err.contract_pdf", c.ID, v.T("constate."+string(c.State)))
	}
	loc, err := s.Store.Location(r.Context())
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := contractpdf.Write(&buf, c, loc, s.CJKFont); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="contract-`+c.ID+`.pdf"`)
	_, err = w.Write(buf.Bytes())
	return err
}
