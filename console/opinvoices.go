package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/invoice"
)

type opListData struct {
	Status   []option
	Accounts []option
	Table    table
	Count    int
	Amount   string // the listed applications' amount
}

// opBack is the list's filter (status, account) as a query string, for
// the row forms to come back to.
func opBack(q url.Values) string {
	out := url.Values{}
	for _, k := range []string{"status", "account"} {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "?" + out.Encode()
}

// accountChoices is the account filter: every account, with its name.
func (s *Server) accountChoices(r *http.Request, v *view, uid string) ([]option, map[string]string, error) {
	sts, err := s.Store.AccountStandings(r.Context())
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	out := []option{{"", v.T("all"), uid == ""}}
	for _, st := range sts {
		names[st.UID] = st.Name
		out = append(out, option{st.UID, st.UID + " " + st.Name, st.UID == uid})
	}
	return out, names, nil
}

// opInvoices is the operator's queue (发票审核): pending applications of
// every account, oldest first, each with a form to issue it (invoice
// number and date) and one to reject it (a reason); other states and one
// account on request.
func (s *Server) opInvoices(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	v.Nav = "op.invoices"
	q := r.URL.Query()
	status, uid := q.Get("status"), q.Get("account")
	if status == "" {
		status = string(callbill.InvoicePending)
	}
	state := callbill.InvoiceState(status)
	if status == "all" {
		state = ""
	} else if !callbill.ValidInvoiceState(state) {
		return v.errf(callbill.EINVALID, "err.inv_status", short(status))
	}
	apps, err := s.invoiceService().List(ctx, invoice.ListInput{Account: uid, AllAccounts: uid == "", State: state})
	if err != nil {
		return err
	}
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	d := opListData{Count: len(apps), Status: options(status, "pending", v.T("invstate.pending"), "issued", v.T("invstate.issued"),
		"rejected", v.T("invstate.rejected"), "withdrawn", v.T("invstate.withdrawn"), "all", v.T("all"))}
	var names map[string]string
	if d.Accounts, names, err = s.accountChoices(r, v, uid); err != nil {
		return err
	}
	back := opBack(q)
	today := s.Now().In(loc).Format("2006-01-02")
	// The queue (pending only) leaves out what a pending application does
	// not have yet, so that the forms fit beside it; other lists show the
	// outcome, and the forms only while a listed application is pending.
	queue := state == callbill.InvoicePending
	pending := slices.ContainsFunc(apps, func(a callbill.InvoiceApplication) bool { return a.State == callbill.InvoicePending })
	d.Table = table{ID: "queue-table", CSRF: v.CSRF(), Key: newToken(), Empty: v.T("empty.queue"), Cols: []col{
		{Key: "id", Label: v.T("col.job")}, {Key: "created_at", Label: v.T("col.created")}, {Key: "account", Label: v.T("col.uid")},
		{Key: "title", Label: v.T("inv.title"), Wide: true}, {Key: "type", Label: v.T("col.package_type")},
		{Key: "amount", Label: v.T("col.amount"), Num: true}}}
	if !queue {
		d.Table.Cols = append(d.Table.Cols, col{Key: "state", Label: v.T("col.status")}, col{Key: "invoice_no", Label: v.T("inv.number")},
			col{Key: "invoice_date", Label: v.T("inv.date")}, col{Key: "reason", Label: v.T("col.reason"), Wrap: true})
	}
	if pending {
		d.Table.Cols = append(d.Table.Cols, col{Key: "action", Label: v.T("col.action")})
	}
	var sum int64
	for _, a := range apps {
		sum += a.AmountFen
		row := []cell{txt(a.ID), code(a.CreatedAt.In(loc).Format(time.RFC3339), dateTime(a.CreatedAt, loc)),
			cell{Text: a.Account, Sub: names[a.Account], V: a.Account, Href: "/console/a/" + url.PathEscape(a.Account) + "/invoices"},
			code(a.Title.Name, titleText(v, &a.Title)), code(string(a.Type), v.T("invtype."+string(a.Type))),
			code(callbill.FormatFen(a.AmountFen), MoneyString(callbill.FormatFen(a.AmountFen)))}
		if !queue {
			row = append(row, code(string(a.State), v.T("invstate."+string(a.State))), txt(a.InvoiceNo), txt(a.InvoiceDate), txt(a.Reason))
		}
		if a.State == callbill.InvoicePending {
			base := "/console/op/invoices/" + url.PathEscape(a.ID)
			row = append(row, cell{V: "pending", Forms: []rowForm{
				{Action: base + "/issue" + back, ID: a.ID, Name: "issue", Button: v.T("op.inv.issue"),
					Fields: []formField{{Name: "invoice_no", Label: v.T("inv.number"), Placeholder: v.T("op.inv.number_hint"), Required: true, Max: 20},
						{Name: "invoice_date", Label: v.T("inv.date"), Type: "date", Value: today, Required: true}}},
				{Action: base + "/reject" + back, ID: a.ID, Name: "reject", Button: v.T("op.inv.reject"), Danger: true,
					Fields: []formField{{Name: "reason", Label: v.T("op.reason"), Placeholder: v.T("op.inv.reason_hint"), Required: true, Max: 500}}}}})
		}
		d.Table.Rows = append(d.Table.Rows, row)
	}
	d.Amount = MoneyString(callbill.FormatFen(sum))
	return s.render(w, r, v, "op_invoices", d)
}

// titleText is an application's title as the invoice needs it: the name,
// then the tax ID, bank and account, address and phone that it has.
func titleText(v *view, t *callbill.InvoiceTitle) string {
	parts := []string{t.Name}
	for _, p := range []string{t.TaxID, strings.TrimSpace(t.Bank + " " + t.BankAccount), strings.TrimSpace(t.Address + " " + t.Phone)} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " · ")
}

// opIssue records that an application's invoice was issued: its number
// (8 to 20 digits, never used before) and date.
func (s *Server) opIssue(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.submit(w, r, v, func() (outcome, error) {
		out := outcome{To: "/console/op/invoices" + opBack(r.URL.Query())}
		a, err := s.invoiceService().Issue(r.Context(), invoice.IssueInput{ID: r.PathValue("id"), Number: r.PostFormValue("invoice_no"), Date: r.PostFormValue("invoice_date")})
		if err != nil {
			return out, err
		}
		s.Log.Info("console issued an invoice", "id", a.ID, "account", a.Account, "number", a.InvoiceNo, "replayed", a.Replayed)
		out.OK = fmt.Sprintf(v.T("op.inv.issued"), a.InvoiceNo, a.InvoiceDate, a.ID, a.Account)
		return out, nil
	})
}

// opReject refuses an application with a reason the tenant sees.
func (s *Server) opReject(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.submit(w, r, v, func() (outcome, error) {
		out := outcome{To: "/console/op/invoices" + opBack(r.URL.Query())}
		a, err := s.invoiceService().Reject(r.Context(), invoice.RejectInput{ID: r.PathValue("id"), Reason: r.PostFormValue("reason")})
		if err != nil {
			return out, err
		}
		s.Log.Info("console rejected an invoice application", "id", a.ID, "account", a.Account)
		out.OK = fmt.Sprintf(v.T("op.inv.rejected"), a.ID, a.Account)
		return out, nil
	})
}

// opContracts lists every account's contracts (合同管理); a draft or a
// formal contract can be voided (a formal one with a reason).
func (s *Server) opContracts(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	v.Nav = "op.contracts"
	q := r.URL.Query()
	status, uid := q.Get("status"), q.Get("account")
	if status != "" && !callbill.ValidContractState(callbill.ContractState(status)) {
		return v.errf(callbill.EINVALID, "err.con_status", short(status))
	}
	cs, err := s.contractService().List(ctx, contract.ListInput{Account: uid, AllAccounts: uid == "", State: callbill.ContractState(status)})
	if err != nil {
		return err
	}
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	d := opListData{Count: len(cs), Status: options(status, "", v.T("all"), "draft", v.T("constate.draft"), "formal", v.T("constate.formal"),
		"void", v.T("constate.void"), "lapsed", v.T("constate.lapsed"))}
	if d.Accounts, _, err = s.accountChoices(r, v, uid); err != nil {
		return err
	}
	back := opBack(q)
	d.Table = table{ID: "op-contracts-table", CSRF: v.CSRF(), Key: newToken(), Empty: v.T("empty.contracts"), Cols: []col{
		{Key: "id", Label: v.T("col.job")}, {Key: "account", Label: v.T("col.uid")}, {Key: "customer", Label: v.T("con.customer"), Wrap: true},
		{Key: "title", Label: v.T("con.title"), Wrap: true}, {Key: "subject", Label: v.T("con.subject")},
		{Key: "payable", Label: v.T("col.payable"), Num: true}, {Key: "state", Label: v.T("col.status")},
		{Key: "confirmed", Label: v.T("con.confirmed")}, {Key: "reason", Label: v.T("col.reason"), Wrap: true},
		{Key: "pdf", Label: "PDF"}, {Key: "void", Label: v.T("con.void")}}}
	for _, c := range cs {
		page := "/console/a/" + url.PathEscape(c.Account) + "/contracts/" + url.PathEscape(c.ID)
		pdf, void := cell{}, cell{}
		if c.State == callbill.ContractFormal {
			pdf = cell{Text: v.T("download"), V: "pdf", Href: page + "/pdf"}
		}
		if c.State == callbill.ContractFormal || c.State == callbill.ContractDraft {
			void = cell{V: "void", Forms: []rowForm{{Action: "/console/op/contracts/" + url.PathEscape(c.ID) + "/void" + back, ID: c.ID,
				Name: "void", Button: v.T("con.void"), Danger: true,
				Fields: []formField{{Name: "reason", Label: v.T("op.reason"), Placeholder: v.T("op.reason"),
					Required: c.State == callbill.ContractFormal, Max: 500}}}}}
		}
		d.Table.Rows = append(d.Table.Rows, []cell{link(c.ID, page), link(c.Account, "/console/a/"+url.PathEscape(c.Account)+"/contracts"),
			txt(c.Customer.Name), code(string(c.Kind), c.Title()), txt(subject(&c)), code(callbill.FormatMoney(c.Payable), Money(c.Payable)),
			code(string(c.State), v.T("constate."+string(c.State))), txt(dateTime(c.Confirmed, loc)), txt(c.VoidReason), pdf, void})
	}
	return s.render(w, r, v, "op_contracts", d)
}

// opVoidContract voids any account's contract as the operator (a formal
// one needs a reason).
func (s *Server) opVoidContract(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.submit(w, r, v, func() (outcome, error) {
		out := outcome{To: "/console/op/contracts" + opBack(r.URL.Query())}
		c, err := s.contractService().Void(r.Context(), contract.VoidInput{ID: r.PathValue("id"), Reason: r.PostFormValue("reason"), Operator: true})
		if err != nil {
			return out, err
		}
		s.Log.Info("console voided a contract", "account", c.Account, "id", c.ID, "operator", true)
		out.OK = fmt.Sprintf(v.T("con.voided"), c.ID)
		return out, nil
	})
}
