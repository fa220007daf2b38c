package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/invoice"
)

// Invoices (docs/rules.md, "Invoices"; docs/invoices.md). A tenant reaches its own
// account's titles and applications under /api/v1/accounts/{uid}/…;
// another account's answer 404. The operator also has the queue of pending
// applications and issues or rejects them.

func (s *Server) invoiceRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/invoice-titles", ScopeAccount, s.listTitles)
	s.handle(mux, "POST", "/api/v1/accounts/{uid}/invoice-titles", ScopeAccount, s.saveTitle)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/invoice-titles/{id}", ScopeAccount, s.getTitle)
	s.handle(mux, "PUT", "/api/v1/accounts/{uid}/invoice-titles/{id}", ScopeAccount, s.saveTitle)
	s.handle(mux, "DELETE", "/api/v1/accounts/{uid}/invoice-titles/{id}", ScopeAccount, s.deleteTitle)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/invoiceable", ScopeAccount, s.invoiceable)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/invoices", ScopeAccount, s.listInvoices)
	s.handle(mux, "POST", "/api/v1/accounts/{uid}/invoices", ScopeAccount, s.applyInvoice)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/invoices/{id}", ScopeAccount, s.getInvoice)
	s.handle(mux, "POST", "/api/v1/accounts/{uid}/invoices/{id}/withdraw", ScopeAccount, s.withdrawInvoice)
	s.handle(mux, "GET", "/api/v1/invoices", ScopeOperator, s.invoiceQueue)
	s.handle(mux, "POST", "/api/v1/invoices/{id}/issue", ScopeOperator, s.issueInvoice)
	s.handle(mux, "POST", "/api/v1/invoices/{id}/reject", ScopeOperator, s.rejectInvoice)
}

// decodeBody reads a JSON body into v; an empty body leaves v as it is.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any, shape string) error {
	dec := json.NewDecoder(s.jsonBody(w, r))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return callbill.Errorf(callbill.EINVALID, "the body must be JSON %s: %v", shape, err)
	}
	return nil
}

// TitleJSON is an invoice title (发票抬头).
type TitleJSON struct {
	ID          string `json:"id,omitempty"`
	Account     string `json:"account,omitempty"`
	Kind        string `json:"kind"`
	Type        string `json:"type"`
	TypeName    string `json:"type_name,omitempty"`
	Name        string `json:"name"`
	TaxID       string `json:"tax_id,omitempty"`
	Bank        string `json:"bank,omitempty"`
	BankAccount string `json:"bank_account,omitempty"`
	Address     string `json:"address,omitempty"`
	Phone       string `json:"phone,omitempty"`
	CreatedAt   string `json:"created_at,omitempty"`
	UpdatedAt   string `json:"updated_at,omitempty"`
}

// Title converts a title to JSON.
func Title(t *callbill.InvoiceTitle, loc *time.Location) TitleJSON {
	return TitleJSON{ID: t.ID, Account: t.Account, Kind: string(t.Kind), Type: string(t.Type), TypeName: callbill.InvoiceTypeName[t.Type],
		Name: t.Name, TaxID: t.TaxID, Bank: t.Bank, BankAccount: t.BankAccount, Address: t.Address, Phone: t.Phone,
		CreatedAt: rfc3339(t.CreatedAt, loc), UpdatedAt: rfc3339(t.UpdatedAt, loc)}
}

func (s *Server) listTitles(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.Invoices.Titles(r.Context(), r.PathValue("uid"))
	if err != nil {
		return err
	}
	loc, err := s.Invoices.Location(r.Context())
	if err != nil {
		return err
	}
	out := []TitleJSON{}
	for i := range ts {
		out = append(out, Title(&ts[i], loc))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getTitle(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Invoices.Title(r.Context(), r.PathValue("uid"), r.PathValue("id"))
	if err != nil {
		return err
	}
	loc, err := s.Invoices.Location(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, Title(t, loc))
}

// saveTitle creates a title (POST) or replaces one (PUT …/{id}).
func (s *Server) saveTitle(w http.ResponseWriter, r *http.Request) error {
	var body TitleJSON
	if err := s.decodeBody(w, r, &body, `{"kind": "company", "type": "general", "name": …, "tax_id": …, "bank": …, "bank_account": …, "address": …, "phone": …}`); err != nil {
		return err
	}
	t := callbill.InvoiceTitle{ID: r.PathValue("id"), Account: r.PathValue("uid"), Kind: callbill.TitleKind(body.Kind),
		Type: callbill.InvoiceType(body.Type), Name: body.Name, TaxID: body.TaxID, Bank: body.Bank, BankAccount: body.BankAccount,
		Address: body.Address, Phone: body.Phone}
	if t.Type == "" {
		t.Type = callbill.InvoiceGeneral
	}
	saved, err := s.Invoices.SaveTitle(r.Context(), t)
	if err != nil {
		return err
	}
	loc, err := s.Invoices.Location(r.Context())
	if err != nil {
		return err
	}
	code := http.StatusOK
	if r.Method == http.MethodPost {
		code = http.StatusCreated
	}
	return writeJSON(w, code, Title(saved, loc))
}

func (s *Server) deleteTitle(w http.ResponseWriter, r *http.Request) error {
	if err := s.Invoices.DeleteTitle(r.Context(), r.PathValue("uid"), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// InvoiceableJSON is what an account may still invoice.
type InvoiceableJSON struct {
	Account        string `json:"account"`
	PaidFen        int64  `json:"paid_fen"`
	IssuedFen      int64  `json:"issued_fen"`
	PendingFen     int64  `json:"pending_fen"`
	InvoiceableFen int64  `json:"invoiceable_fen"`
	OwedFen        int64  `json:"owed_fen"`
	Invoiceable    string `json:"invoiceable"`
	Owed           string `json:"owed"`
}

// Invoiceable converts the invoiceable amount to JSON.
func Invoiceable(i *callbill.Invoiceable) InvoiceableJSON {
	return InvoiceableJSON{Account: i.Account, PaidFen: i.PaidFen, IssuedFen: i.IssuedFen, PendingFen: i.PendingFen,
		InvoiceableFen: i.InvoiceableFen, OwedFen: i.OwedFen, Invoiceable: callbill.FormatFen(i.InvoiceableFen), Owed: callbill.FormatFen(i.OwedFen)}
}

func (s *Server) invoiceable(w http.ResponseWriter, r *http.Request) error {
	inv, err := s.Invoices.Invoiceable(r.Context(), r.PathValue("uid"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, Invoiceable(inv))
}

// ApplicationJSON is an invoice application.
type ApplicationJSON struct {
	ID          string    `json:"id"`
	Account     string    `json:"account"`
	Title       TitleJSON `json:"title"`
	Type        string    `json:"type"`
	TypeName    string    `json:"type_name"`
	AmountFen   int64     `json:"amount_fen"`
	Amount      string    `json:"amount"`
	Remark      string    `json:"remark,omitempty"`
	Status      string    `json:"status"`
	CreatedAt   string    `json:"created_at"`
	InvoiceNo   string    `json:"invoice_no,omitempty"`
	InvoiceDate string    `json:"invoice_date,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	DecidedAt   string    `json:"decided_at,omitempty"`
	Replayed    bool      `json:"replayed,omitempty"`
}

// Application converts an application to JSON.
func Application(a *callbill.InvoiceApplication, loc *time.Location) ApplicationJSON {
	t := Title(&a.Title, loc)
	t.CreatedAt, t.UpdatedAt = "", ""
	return ApplicationJSON{ID: a.ID, Account: a.Account, Title: t, Type: string(a.Type), TypeName: callbill.InvoiceTypeName[a.Type],
		AmountFen: a.AmountFen, Amount: callbill.FormatFen(a.AmountFen), Remark: a.Remark, Status: string(a.State),
		CreatedAt: rfc3339(a.CreatedAt, loc), InvoiceNo: a.InvoiceNo, InvoiceDate: a.InvoiceDate, Reason: a.Reason,
		DecidedAt: rfc3339(a.DecidedAt, loc), Replayed: a.Replayed}
}

func (s *Server) applications(w http.ResponseWriter, r *http.Request, in invoice.ListInput) error {
	as, err := s.Invoices.List(r.Context(), in)
	if err != nil {
		return err
	}
	loc, err := s.Invoices.Location(r.Context())
	if err != nil {
		return err
	}
	out := []ApplicationJSON{}
	for i := range as {
		out = append(out, Application(&as[i], loc))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listInvoices(w http.ResponseWriter, r *http.Request) error {
	return s.applications(w, r, invoice.ListInput{Account: r.PathValue("uid"), State: callbill.InvoiceState(r.URL.Query().Get("status"))})
}

// invoiceQueue is the operator's list: pending applications of every
// account, oldest first, unless status (or "all") and account say otherwise.
func (s *Server) invoiceQueue(w http.ResponseWriter, r *http.Request) error {
	state := callbill.InvoiceState(r.URL.Query().Get("status"))
	switch state {
	case "":
		state = callbill.InvoicePending
	case "all":
		state = ""
	}
	uid := r.URL.Query().Get("account")
	return s.applications(w, r, invoice.ListInput{Account: uid, AllAccounts: uid == "", State: state})
}

func (s *Server) applicationReply(w http.ResponseWriter, r *http.Request, a *callbill.InvoiceApplication, code int) error {
	loc, err := s.Invoices.Location(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, code, Application(a, loc))
}

// applyInvoice applies for an invoice; an Idempotency-Key header makes a
// retried request one application.
func (s *Server) applyInvoice(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		TitleID   string `json:"title_id"`
		Type      string `json:"type"`
		AmountFen *int64 `json:"amount_fen"`
		Amount    string `json:"amount"`
		Remark    string `json:"remark"`
	}
	if err := s.decodeBody(w, r, &body, `{"title_id": …, "amount_fen": 1234, "type": "general"|"special", "remark": …}`); err != nil {
		return err
	}
	req := invoice.ApplyInput{Account: r.PathValue("uid"), TitleID: body.TitleID, Type: callbill.InvoiceType(body.Type),
		Remark: body.Remark, Key: strings.TrimSpace(r.Header.Get("Idempotency-Key"))}
	switch {
	case body.TitleID == "":
		return callbill.Errorf(callbill.EINVALID, "title_id is required")
	case body.AmountFen != nil && body.Amount != "":
		return callbill.Errorf(callbill.EINVALID, "give amount_fen (fen) or amount (yuan), not both")
	case body.AmountFen != nil:
		req.AmountFen = *body.AmountFen
	case body.Amount != "":
		fen, err := callbill.ParseFen(body.Amount)
		if err != nil {
			return err
		}
		req.AmountFen = fen
	default:
		return callbill.Errorf(callbill.EINVALID, "amount_fen is required (an integer number of fen)")
	}
	a, err := s.Invoices.Apply(r.Context(), req)
	if err != nil {
		return err
	}
	code := http.StatusCreated
	if a.Replayed {
		code = http.StatusOK
	}
	return s.applicationReply(w, r, a, code)
}

func (s *Server) getInvoice(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Invoices.Get(r.Context(), r.PathValue("uid"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.applicationReply(w, r, a, http.StatusOK)
}

func (s *Server) withdrawInvoice(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Invoices.Withdraw(r.Context(), invoice.WithdrawInput{Account: r.PathValue("uid"), ID: r.PathValue("id")})
	if err != nil {
		return err
	}
	return s.applicationReply(w, r, a, http.StatusOK)
}

func (s *Server) issueInvoice(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		InvoiceNo   string `json:"invoice_no"`
		InvoiceDate string `json:"invoice_date"`
	}
	if err := s.decodeBody(w, r, &body, `{"invoice_no": "12345678", "invoice_date": "YYYY-MM-DD"}`); err != nil {
		return err
	}
	a, err := s.Invoices.Issue(r.Context(), invoice.IssueInput{ID: r.PathValue("id"), Number: body.InvoiceNo, Date: body.InvoiceDate})
	if err != nil {
		return err
	}
	return s.applicationReply(w, r, a, http.StatusOK)
}

func (s *Server) rejectInvoice(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Reason string `json:"reason"`
	}
	if err := s.decodeBody(w, r, &body, `{"reason": …}`); err != nil {
		return err
	}
	a, err := s.Invoices.Reject(r.Context(), invoice.RejectInput{ID: r.PathValue("id"), Reason: body.Reason})
	if err != nil {
		return err
	}
	return s.applicationReply(w, r, a, http.StatusOK)
}
