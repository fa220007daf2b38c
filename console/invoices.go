package console

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/contractpdf"
)

// InvoiceStore is what the 发票 and 合同 pages read (sqlstore.Store). When
// the Store does not have it, the pages are placeholders. Applying for an
// invoice, and drafting, confirming or voiding a contract, are done through
// the API and the CLI for now (docs/invoices.md); these pages show them.
type InvoiceStore interface {
	Invoiceable(ctx context.Context, uid string) (*callbill.Invoiceable, error)
	InvoiceApplications(ctx context.Context, uid string, state callbill.InvoiceState) ([]callbill.InvoiceApplication, error)
	Contracts(ctx context.Context, uid string, state callbill.ContractState) ([]callbill.EContract, error)
	EContract(ctx context.Context, uid, id string) (*callbill.EContract, error)
}

func (s *Server) invoiceStore() InvoiceStore {
	is, _ := s.Store.(InvoiceStore)
	return is
}

type invoicesData struct {
	Cards []card
	Owed  bool
	Table table
}

// invoices is 发票: what the account may still invoice and its
// applications.
func (s *Server) invoices(w http.ResponseWriter, r *http.Request, v *view) error {
	is := s.invoiceStore()
	ctx := r.Context()
	v.Nav = "invoices"
	inv, err := is.Invoiceable(ctx, v.UID)
	if err != nil {
		return err
	}
	apps, err := is.InvoiceApplications(ctx, v.UID, "")
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
	d.Table = table{ID: "invoices-table", Empty: v.T("empty.invoices"), Cols: []col{
		{Key: "id", Label: v.T("col.job")}, {Key: "created_at", Label: v.T("col.created")},
		{Key: "title", Label: v.T("inv.title"), Wrap: true}, {Key: "type", Label: v.T("col.package_type")},
		{Key: "amount", Label: v.T("col.amount"), Num: true}, {Key: "state", Label: v.T("col.status")},
		{Key: "invoice_no", Label: v.T("inv.number")}, {Key: "invoice_date", Label: v.T("inv.date")}, {Key: "reason", Label: v.T("col.reason"), Wrap: true}}}
	for _, a := range apps {
		d.Table.Rows = append(d.Table.Rows, []cell{txt(a.ID), code(a.CreatedAt.In(loc).Format(time.RFC3339), dateTime(a.CreatedAt, loc)),
			txt(a.Title.Name), code(string(a.Type), v.T("invtype."+string(a.Type))),
			code(callbill.FormatFen(a.AmountFen), MoneyString(callbill.FormatFen(a.AmountFen))),
			code(string(a.State), v.T("invstate."+string(a.State))), txt(a.InvoiceNo), txt(a.InvoiceDate), txt(a.Reason)})
	}
	return s.render(w, r, v, "invoices", d)
}

type contractsData struct {
	Table table
}

// contracts is 合同: the account's e-contracts; a formal one downloads as
// a PDF.
func (s *Server) contracts(w http.ResponseWriter, r *http.Request, v *view) error {
	is := s.invoiceStore()
	ctx := r.Context()
	v.Nav = "contracts"
	cs, err := is.Contracts(ctx, v.UID, "")
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
		subject := c.Purchase
		if c.Kind == callbill.ContractService {
			subject = c.From.String() + " ~ " + c.To.String()
		}
		pdf := txt("")
		if c.State == callbill.ContractFormal {
			pdf = cell{Text: v.T("con.pdf"), V: "pdf", Href: v.A("contracts/" + url.PathEscape(c.ID) + "/pdf")}
		}
		t.Rows = append(t.Rows, []cell{txt(c.ID), code(string(c.Kind), c.Title()), txt(subject),
			code(c.Payable.StringFixed(2), Money(c.Payable)), code(string(c.State), v.T("constate."+string(c.State))),
			code(c.CreatedAt.In(loc).Format(time.RFC3339), dateTime(c.CreatedAt, loc)), txt(dateTime(c.Confirmed, loc)), pdf})
	}
	return s.render(w, r, v, "contracts", contractsData{Table: t})
}

// contractPDF sends a formal contract of the account as a PDF.
func (s *Server) contractPDF(w http.ResponseWriter, r *http.Request, v *view) error {
	c, err := s.invoiceStore().EContract(r.Context(), v.UID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.State != callbill.ContractFormal {
		return callbill.Errorf(callbill.ECONFLICT, "contract %s is %s: only a formal contract has a PDF", c.ID, c.State)
	}
	loc, err := s.Store.Location(r.Context())
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := contractpdf.Write(&buf, c, loc, contractpdf.FontPath()); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="contract-`+c.ID+`.pdf"`)
	_, err = w.Write(buf.Bytes())
	return err
}
