package api

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/contract"
	"github.com/callbill/callbill/contractpdf"
)

// E-contracts (docs/rules.md, "E-contracts"; docs/invoices.md). A tenant reaches its own
// account's contracts under /api/v1/accounts/{uid}/contracts; another
// account's answer 404. The operator also lists every contract and voids
// formal ones. Times are in the invoices' location (Server.Invoices).

func (s *Server) contractRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/contracts", ScopeAccount, s.listContracts)
	s.handle(mux, "POST", "/api/v1/accounts/{uid}/contracts", ScopeAccount, s.createContract)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/contracts/{id}", ScopeAccount, s.getContract)
	s.handle(mux, "PUT", "/api/v1/accounts/{uid}/contracts/{id}/party", ScopeAccount, s.editContract)
	s.handle(mux, "POST", "/api/v1/accounts/{uid}/contracts/{id}/confirm", ScopeAccount, s.confirmContract)
	s.handle(mux, "POST", "/api/v1/accounts/{uid}/contracts/{id}/void", ScopeAccount, s.voidContract)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/contracts/{id}/pdf", ScopeAccount, s.contractPDF)
	s.handle(mux, "GET", "/api/v1/contracts", ScopeOperator, s.allContracts)
}

// ContractJSON is an e-contract.
type ContractJSON struct {
	ID           string                  `json:"id"`
	Account      string                  `json:"account"`
	Kind         string                  `json:"kind"`
	Title        string                  `json:"title"`
	Purchase     string                  `json:"purchase,omitempty"`
	From         string                  `json:"from,omitempty"`
	To           string                  `json:"to,omitempty"`
	Status       string                  `json:"status"`
	Customer     callbill.ContractParty  `json:"customer"`
	Provider     callbill.ContractParty  `json:"provider"`
	Items        []callbill.ContractItem `json:"items"`
	Original     string                  `json:"original"`
	Discount     string                  `json:"discount"`
	Payable      string                  `json:"payable"`
	PayableWords string                  `json:"payable_in_words"`
	CreatedAt    string                  `json:"created_at"`
	LapsesAt     string                  `json:"lapses_at,omitempty"`
	ConfirmedAt  string                  `json:"confirmed_at,omitempty"`
	EndedAt      string                  `json:"ended_at,omitempty"`
	VoidedBy     string                  `json:"voided_by,omitempty"`
	VoidReason   string                  `json:"void_reason,omitempty"`
	PDF          string                  `json:"pdf,omitempty"` // the download's path, once formal
	Replayed     bool                    `json:"replayed,omitempty"`
}

// Contract converts an e-contract to JSON.
func Contract(c *callbill.EContract, loc *time.Location) ContractJSON {
	out := ContractJSON{ID: c.ID, Account: c.Account, Kind: string(c.Kind), Title: c.Title(), Purchase: c.Purchase, Status: string(c.State),
		Customer: c.Customer, Provider: c.Provider, Items: c.Items, Original: callbill.FormatMoney(c.Original), Discount: callbill.FormatMoney(c.Discount),
		Payable: callbill.FormatMoney(c.Payable), PayableWords: "人民币" + contractpdf.AmountInWords(c.Payable), CreatedAt: rfc3339(c.CreatedAt, loc),
		ConfirmedAt: rfc3339(c.Confirmed, loc), EndedAt: rfc3339(c.Ended, loc), VoidedBy: c.VoidedBy, VoidReason: c.VoidReason,
		Replayed: c.Replayed}
	if out.Items == nil {
		out.Items = []callbill.ContractItem{}
	}
	if c.Kind == callbill.ContractService {
		out.From, out.To = c.From.String(), c.To.String()
	}
	if c.State == callbill.ContractDraft {
		out.LapsesAt = rfc3339(c.LapsesAt(), loc)
	}
	if c.State == callbill.ContractFormal {
		out.PDF = "/api/v1/accounts/" + c.Account + "/contracts/" + c.ID + "/pdf"
	}
	return out
}

func (s *Server) contractsReply(w http.ResponseWriter, r *http.Request, in contract.ListInput) error {
	cs, err := s.Contracts.List(r.Context(), in)
	if err != nil {
		return err
	}
	loc, err := s.Invoices.Location(r.Context())
	if err != nil {
		return err
	}
	out := []ContractJSON{}
	for i := range cs {
		out = append(out, Contract(&cs[i], loc))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listContracts(w http.ResponseWriter, r *http.Request) error {
	return s.contractsReply(w, r, contract.ListInput{Account: r.PathValue("uid"), State: callbill.ContractState(r.URL.Query().Get("status"))})
}

func (s *Server) allContracts(w http.ResponseWriter, r *http.Request) error {
	uid := r.URL.Query().Get("account")
	return s.contractsReply(w, r, contract.ListInput{Account: uid, AllAccounts: uid == "", State: callbill.ContractState(r.URL.Query().Get("status"))})
}

func (s *Server) contractReply(w http.ResponseWriter, r *http.Request, c *callbill.EContract, code int) error {
	loc, err := s.Invoices.Location(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, code, Contract(c, loc))
}

// createContract asks for a draft: {"purchase": ID} or {"from": "YYYY-MM",
// "to": "YYYY-MM"}, with optional customer details; an Idempotency-Key
// header makes a retried request one contract.
func (s *Server) createContract(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Purchase string                  `json:"purchase"`
		From     string                  `json:"from"`
		To       string                  `json:"to"`
		Customer *callbill.ContractParty `json:"customer"`
	}
	if err := s.decodeBody(w, r, &body, `{"purchase": ID} or {"from": "YYYY-MM", "to": "YYYY-MM"}, with "customer": {…}`); err != nil {
		return err
	}
	req := callbill.ContractRequest{Account: r.PathValue("uid"), Purchase: body.Purchase, Customer: body.Customer,
		Key: strings.TrimSpace(r.Header.Get("Idempotency-Key"))}
	for _, c := range []struct {
		s   string
		dst *callbill.Cycle
	}{{body.From, &req.From}, {body.To, &req.To}} {
		if c.s == "" {
			continue
		}
		cy, err := callbill.ParseCycle(c.s)
		if err != nil {
			return err
		}
		*c.dst = cy
	}
	c, err := s.Contracts.Create(r.Context(), req)
	if err != nil {
		return err
	}
	code := http.StatusCreated
	if c.Replayed {
		code = http.StatusOK
	}
	return s.contractReply(w, r, c, code)
}

func (s *Server) getContract(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Contracts.Get(r.Context(), r.PathValue("uid"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.contractReply(w, r, c, http.StatusOK)
}

func (s *Server) editContract(w http.ResponseWriter, r *http.Request) error {
	var party callbill.ContractParty
	if err := s.decodeBody(w, r, &party, `{"address": …, "contact": …, "phone": …, "email": …, "tax_id": …, "bank": …, "bank_account": …}`); err != nil {
		return err
	}
	c, err := s.Contracts.Edit(r.Context(), r.PathValue("uid"), r.PathValue("id"), party)
	if err != nil {
		return err
	}
	return s.contractReply(w, r, c, http.StatusOK)
}

func (s *Server) confirmContract(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Contracts.Confirm(r.Context(), r.PathValue("uid"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.contractReply(w, r, c, http.StatusOK)
}

// voidContract voids a draft (the tenant or the operator) or a formal
// contract (the operator only, with a reason).
func (s *Server) voidContract(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Reason string `json:"reason"`
	}
	if err := s.decodeBody(w, r, &body, `{"reason": …}`); err != nil {
		return err
	}
	c, err := s.Contracts.Void(r.Context(), contract.VoidInput{Account: r.PathValue("uid"), ID: r.PathValue("id"), Reason: body.Reason,
		Operator: principal(r).Operator})
	if err != nil {
		return err
	}
	return s.contractReply(w, r, c, http.StatusOK)
}

// contractPDF sends a formal contract as a PDF.
func (s *Server) contractPDF(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Contracts.Get(r.Context(), r.PathValue("uid"), r.PathValue("id"))
	if err != nil {
		return err
	}
	loc, err := s.Invoices.Location(r.Context())
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
