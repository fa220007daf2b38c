package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ledger"
)

// MoneyStore is what the money routes need (sqlstore.Store).
type MoneyStore interface {
	ledger.Store
	Status(ctx context.Context, uid string) (*callbill.AccountStatus, error)
	Ledger(ctx context.Context, uid string) ([]callbill.LedgerEntry, error)
	Location(ctx context.Context) (*time.Location, error)
}

// EntryJSON is a ledger entry.
type EntryJSON struct {
	Seq      int64  `json:"seq"`
	At       string `json:"at"`
	Kind     string `json:"kind"`
	Amount   string `json:"amount"`
	Balance  string `json:"balance"`
	Ref      string `json:"ref"`
	Key      string `json:"key,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Corrects string `json:"corrects,omitempty"`
	Replayed bool   `json:"replayed,omitempty"`
	Cash     string `json:"cash,omitempty"` // the account's cash after the request (settlements included)
}

func entryJSON(e *callbill.LedgerEntry, loc *time.Location) EntryJSON {
	return EntryJSON{Seq: e.Seq, At: e.At.In(loc).Format(time.RFC3339), Kind: string(e.Kind), Amount: callbill.FormatMoney(e.Amount),
		Balance: callbill.FormatMoney(e.Balance), Ref: e.Ref, Key: e.Key, Reason: e.Reason, Corrects: e.Corrects}
}

func (s *Server) moneyRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET", "/api/v1/accounts/{uid}", ScopeAccount, s.account)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/ledger", ScopeAccount, s.ledger)
	s.handle(mux, "POST", "/api/v1/accounts/{uid}/topups", ScopeOperator, s.topUp)
	s.handle(mux, "POST", "/api/v1/accounts/{uid}/adjustments", ScopeOperator, s.adjust)
	s.handle(mux, "GET", "/api/v1/authorize", ScopeOperator, s.authorize)
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) error {
	st, err := s.Money.Status(r.Context(), r.PathValue("uid"))
	if err != nil {
		return err
	}
	loc, err := s.Money.Location(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, Account(st, loc))
}

func (s *Server) ledger(w http.ResponseWriter, r *http.Request) error {
	entries, err := s.Money.Ledger(r.Context(), r.PathValue("uid"))
	if err != nil {
		return err
	}
	loc, err := s.Money.Location(r.Context())
	if err != nil {
		return err
	}
	out := []EntryJSON{}
	for i := range entries {
		out = append(out, entryJSON(&entries[i], loc))
	}
	return writeJSON(w, http.StatusOK, out)
}

// idempotencyKey is the request's Idempotency-Key header, required on every
// request that moves money.
func idempotencyKey(r *http.Request) (string, error) {
	k := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if k == "" {
		return "", callbill.Errorf(callbill.EINVALID, "requests that move money need an Idempotency-Key header")
	}
	return k, nil
}

func (s *Server) moneyReply(w http.ResponseWriter, r *http.Request, res *callbill.MoneyResult) error {
	loc, err := s.Money.Location(r.Context())
	if err != nil {
		return err
	}
	j := entryJSON(res.Entry, loc)
	j.Replayed, j.Cash = res.Replayed, callbill.FormatMoney(res.Cash)
	code := http.StatusCreated
	if res.Replayed {
		code = http.StatusOK
	}
	return writeJSON(w, code, j)
}

func (s *Server) topUp(w http.ResponseWriter, r *http.Request) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var body struct{ Amount string }
	if err := json.NewDecoder(s.jsonBody(w, r)).Decode(&body); err != nil {
		return callbill.Errorf(callbill.EINVALID, "the body must be JSON {\"amount\": \"100.00\"}: %v", err)
	}
	amount, err := callbill.ParseAmount(body.Amount)
	if err != nil {
		return err
	}
	res, err := s.Ledger.TopUp(r.Context(), ledger.TopUpInput{Account: r.PathValue("uid"), Amount: amount, Key: key})
	if err != nil {
		return err
	}
	return s.moneyReply(w, r, res)
}

func (s *Server) adjust(w http.ResponseWriter, r *http.Request) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var body struct{ Amount, Reason, Corrects string }
	if err := json.NewDecoder(s.jsonBody(w, r)).Decode(&body); err != nil {
		return callbill.Errorf(callbill.EINVALID, "the body must be JSON {\"amount\": \"-10.00\", \"reason\": …, \"corrects\": …}: %v", err)
	}
	amount, err := callbill.ParseSignedAmount(body.Amount)
	if err != nil {
		return err
	}
	res, err := s.Ledger.Adjust(r.Context(), ledger.AdjustInput{Account: r.PathValue("uid"), Amount: amount, Reason: body.Reason,
		Corrects: body.Corrects, Key: key})
	if err != nil {
		return err
	}
	return s.moneyReply(w, r, res)
}

// authorize answers the call platform: may this call start now, and for
// how long?
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	dir := callbill.Direction(strings.ToLower(q.Get("direction")))
	if q.Get("instance") == "" || q.Get("number") == "" || !dir.Valid() {
		return callbill.Errorf(callbill.EINVALID, "authorize needs instance, number and direction (inbound or outbound)")
	}
	if s.Authorize == nil {
		return callbill.Errorf(callbill.EINTERNAL, "call authorization is not running on this node")
	}
	d := s.Authorize(q.Get("instance"), q.Get("number"), dir)
	return writeJSON(w, http.StatusOK, map[string]any{"allow": d.Allow, "reason": d.Reason, "max_seconds": d.MaxSeconds})
}
