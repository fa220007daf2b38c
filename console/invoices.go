package console

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/invoice"
)

// contractService is the e-contract workflow on the store, nil when the
// store keeps no contracts.
func (s *Server) contractService() *contract.Service {
	if cs, ok := s.Store.(contract.Store); ok {
		return &contract.Service{Store: cs}
	}
	return nil
}

// invoiceService is the invoice workflow on the store, nil when the store
// keeps no invoices: then the 发票 and 合同 pages are placeholders and the
// operator's invoice queue and contracts are absent.
func (s *Server) invoiceService() *invoice.Service {
	if is, ok := s.Store.(invoice.Store); ok {
		return &invoice.Service{Store: is}
	}
	return nil
}

type invoicesData struct {
	Cards  []card
	Owed   bool
	Table  table // the applications
	Titles table
	Apply  applyForm
	Title  titleForm
}

type applyForm struct {
	Key         string
	Titles      []option
	Type        []option
	Amount      string // yuan
	Remark      string
	Invoiceable string // yuan
}

type titleForm struct {
	Key                                            string
	Kind, Type                                     []option
	Name, TaxID, Bank, BankAccount, Address, Phone string
}

// invoices is 发票: what the account may still invoice, applying for an
// invoice, the applications (a pending one can be withdrawn) and the
// invoice titles (发票抬头), with a form to add one.
func (s *Server) invoices(w http.ResponseWriter, r *http.Request, v *view) error {
	is := s.invoiceService()
	ctx := r.Context()
	v.Nav = "invoices"
	inv, err := is.Invoiceable(ctx, v.UID)
	if err != nil {
		return err
	}
	apps, err := is.List(ctx, invoice.ListInput{Account: v.UID})
	if err != nil {
		return err
	}
	titles, err := is.Titles(ctx, v.UID)
	if err != nil {
		return err
	}
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	fen := func(id, label string, n int64, warn bool) card {
		return card{ID: id, Label: label, Text: MoneyString(callbill.FormatFen(n)), V: callbill.FormatFen(n), Warn: warn}
	}
	d := invoicesData{Owed: inv.OwedFen > 0, Cards: []card{
		fen("invoiceable", v.T("inv.invoiceable"), inv.InvoiceableFen, false),
		fen("paid", v.T("inv.paid"), inv.PaidFen, false),
		fen("issued", v.T("inv.issued"), inv.IssuedFen, false),
		fen("pending", v.T("inv.pending"), inv.PendingFen, false),
		fen("owed", v.T("acct.outstanding"), inv.OwedFen, inv.OwedFen > 0),
	}}
	d.Table = table{ID: "invoices-table", CSRF: v.CSRF(), Key: newToken(), Empty: v.T("empty.invoices"), Cols: []col{
		{Key: "id", Label: v.T("col.job")}, {Key: "created_at", Label: v.T("col.created")},
		{Key: "title", Label: v.T("inv.title"), Wrap: true}, {Key: "type", Label: v.T("col.package_type")},
		{Key: "amount", Label: v.T("col.amount"), Num: true}, {Key: "state", Label: v.T("col.status")},
		{Key: "invoice_no", Label: v.T("inv.number")}, {Key: "invoice_date", Label: v.T("inv.date")},
		{Key: "reason", Label: v.T("col.reason"), Wrap: true}, {Key: "action", Label: v.T("col.action")}}}
	for _, a := range apps {
		action := cell{}
		if a.State == callbill.InvoicePending {
			action = cell{Text: v.T("inv.withdraw"), V: "withdraw", Post: true, Href: v.A("invoices/" + url.PathEscape(a.ID) + "/withdraw")}
		}
		note := a.Reason
		if note == "" {
			note = a.Remark
		}
		d.Table.Rows = append(d.Table.Rows, []cell{txt(a.ID), code(a.CreatedAt.In(loc).Format(time.RFC3339), dateTime(a.CreatedAt, loc)),
			txt(a.Title.Name), code(string(a.Type), v.T("invtype."+string(a.Type))),
			code(callbill.FormatFen(a.AmountFen), MoneyString(callbill.FormatFen(a.AmountFen))),
			code(string(a.State), v.T("invstate."+string(a.State))), txt(a.InvoiceNo), txt(a.InvoiceDate), txt(note), action})
	}
	d.Titles = table{ID: "titles-table", CSRF: v.CSRF(), Key: newToken(), Empty: v.T("empty.titles"), Cols: []col{
		{Key: "name", Label: v.T("ititle.name"), Wrap: true}, {Key: "kind", Label: v.T("ititle.kind")},
		{Key: "type", Label: v.T("ititle.type")}, {Key: "tax_id", Label: v.T("ititle.tax_id")},
		{Key: "bank", Label: v.T("ititle.bank"), Wrap: true}, {Key: "bank_account", Label: v.T("ititle.bank_account")},
		{Key: "address", Label: v.T("ititle.address"), Wrap: true}, {Key: "phone", Label: v.T("ititle.phone")},
		{Key: "action", Label: v.T("col.action")}}}
	invoiceable := callbill.FormatFen(inv.InvoiceableFen)
	if inv.InvoiceableFen <= 0 {
		invoiceable = ""
	}
	d.Apply = applyForm{Key: newToken(), Invoiceable: callbill.FormatFen(inv.InvoiceableFen),
		Type: options(v.prefill("apply", "type", ""), "", v.T("inv.type_of_title"), "general", v.T("invtype.general"),
			"special", v.T("invtype.special")),
		Amount: v.prefill("apply", "amount", invoiceable), Remark: v.prefill("apply", "remark", "")}
	chosen := v.prefill("apply", "title", "")
	for i, t := range titles {
		d.Titles.Rows = append(d.Titles.Rows, []cell{txt(t.Name), code(string(t.Kind), v.T("titlekind."+string(t.Kind))),
			code(string(t.Type), v.T("invtype."+string(t.Type))), txt(t.TaxID), txt(t.Bank), txt(t.BankAccount), txt(t.Address), txt(t.Phone),
			{Text: v.T("delete"), V: "delete", Post: true, Href: v.A("invoices/titles/" + url.PathEscape(t.ID) + "/delete")}})
		label := t.Name + " · " + v.T("invtype."+string(t.Type))
		if t.TaxID != "" {
			label += " · " + t.TaxID
		}
		// The newest title is chosen unless the form said otherwise.
		d.Apply.Titles = append(d.Apply.Titles, option{t.ID, label, t.ID == chosen || chosen == "" && i == len(titles)-1})
	}
	kind := string(callbill.TitleCompany)
	if v.Account.Kind == callbill.AccountIndividual {
		kind = string(callbill.TitlePerson)
	}
	pf := func(name string) string { return v.prefill("title", name, "") }
	d.Title = titleForm{Key: newToken(),
		Kind: options(v.prefill("title", "kind", kind), "company", v.T("titlekind.company"), "person", v.T("titlekind.person")),
		Type: options(v.prefill("title", "type", "general"), "general", v.T("invtype.general"), "special", v.T("invtype.special")),
		Name: pf("name"), TaxID: pf("tax_id"), Bank: pf("bank"), BankAccount: pf("bank_account"), Address: pf("address"), Phone: pf("phone")}
	apply := ""
	if len(titles) > 0 {
		apply = "apply"
	}
	v.shown(apply, "title")
	return s.render(w, r, v, "invoices", d)
}

// addTitle adds an invoice title; the store checks it against the
// account's real-name identity and the rules of special invoices.
func (s *Server) addTitle(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.submit(w, r, v, func() (outcome, error) {
		out := outcome{To: v.A("invoices"), For: "title",
			Form: fields(r, "kind", "type", "name", "tax_id", "bank", "bank_account", "address", "phone")}
		f := out.Form
		t, err := s.invoiceService().SaveTitle(r.Context(), callbill.InvoiceTitle{Account: v.UID,
			Kind: callbill.TitleKind(f["kind"]), Type: callbill.InvoiceType(f["type"]), Name: f["name"], TaxID: f["tax_id"],
			Bank: f["bank"], BankAccount: f["bank_account"], Address: f["address"], Phone: f["phone"]})
		if err != nil {
			return out, err
		}
		s.Log.Info("console added an invoice title", "account", v.UID, "id", t.ID)
		out.OK = fmt.Sprintf(v.T("inv.title_added"), t.Name)
		return out, nil
	})
}

// deleteTitle deletes one of the account's titles (applications keep
// their copy).
func (s *Server) deleteTitle(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.submit(w, r, v, func() (outcome, error) {
		out := outcome{To: v.A("invoices")}
		is := s.invoiceService()
		t, err := is.Title(r.Context(), v.UID, r.PathValue("id"))
		if err != nil {
			return out, err
		}
		if err := is.DeleteTitle(r.Context(), v.UID, t.ID); err != nil {
			return out, err
		}
		out.OK = fmt.Sprintf(v.T("inv.title_deleted"), t.Name)
		return out, nil
	})
}

// yuanRE is an amount as typed: yuan with at most two decimals.
var yuanRE = regexp.MustCompile(`^[0-9]{1,13}(\.[0-9]{1,2})?$`)

// parseYuan reads an amount in yuan ("1,234.5", "¥12") into fen.
func parseYuan(v *view, s string) (int64, error) {
	s = strings.NewReplacer(" ", "", ",", "", "，", "", "¥", "", "￥", "").Replace(strings.TrimSpace(s))
	if !yuanRE.MatchString(s) {
		return 0, v.errf(callbill.EINVALID, "inv.amount_format")
	}
	fen, err := callbill.ParseFen(s)
	if err != nil {
		return 0, v.errf(callbill.EINVALID, "inv.amount_positive")
	}
	return fen, nil
}

// applyInvoice applies for an invoice: a title of the account and an
// amount in yuan, sent to the store in fen. The form's key is the
// application's idempotency key. Arrears and amounts above the invoiceable
// one are refused by the store; the page says so.
func (s *Server) applyInvoice(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.submit(w, r, v, func() (outcome, error) {
		out := outcome{To: v.A("invoices"), For: "apply", Form: fields(r, "title", "amount", "type", "remark")}
		is := s.invoiceService()
		ctx := r.Context()
		titles, err := is.Titles(ctx, v.UID)
		if err != nil {
			return out, err
		}
		id := out.Form["title"]
		if !slices.ContainsFunc(titles, func(t callbill.InvoiceTitle) bool { return t.ID == id }) {
			return out, v.errf(callbill.EINVALID, "inv.choose_title")
		}
		fen, err := parseYuan(v, out.Form["amount"])
		if err != nil {
			return out, err
		}
		a, err := is.Apply(ctx, invoice.ApplyInput{Account: v.UID, TitleID: id, Type: callbill.InvoiceType(out.Form["type"]),
			AmountFen: fen, Remark: out.Form["remark"], Key: "console:" + r.PostFormValue("key")})
		if err != nil {
			return out, err
		}
		if a.Replayed {
			out.OK = fmt.Sprintf(v.T("inv.applied_before"), a.ID)
		} else {
			s.Log.Info("console applied for an invoice", "account", v.UID, "id", a.ID, "amount_fen", a.AmountFen)
			out.OK = fmt.Sprintf(v.T("inv.applied"), a.ID, MoneyString(callbill.FormatFen(a.AmountFen)))
		}
		return out, nil
	})
}

// withdrawInvoice withdraws one of the account's pending applications.
func (s *Server) withdrawInvoice(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.submit(w, r, v, func() (outcome, error) {
		out := outcome{To: v.A("invoices")}
		a, err := s.invoiceService().Withdraw(r.Context(), invoice.WithdrawInput{Account: v.UID, ID: r.PathValue("id")})
		if err != nil {
			return out, err
		}
		out.OK = fmt.Sprintf(v.T("inv.withdrawn"), a.ID, MoneyString(callbill.FormatFen(a.AmountFen)))
		return out, nil
	})
}
