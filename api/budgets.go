package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/budget"
)

// Budgets and usage alerts (docs/budgets.md). A tenant reaches its own
// account's budgets and alerts under /api/v1/accounts/{uid}/…; the
// operator also lists every account's.

func (s *Server) budgetRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/budgets", ScopeAccount, s.listBudgets)
	s.handle(mux, "POST", "/api/v1/accounts/{uid}/budgets", ScopeAccount, s.setBudget)
	s.handle(mux, "DELETE", "/api/v1/accounts/{uid}/budgets/{id}", ScopeAccount, s.removeBudget)
	s.handle(mux, "GET", "/api/v1/accounts/{uid}/budget-alerts", ScopeAccount, s.accountBudgetAlerts)
	s.handle(mux, "GET", "/api/v1/budgets", ScopeOperator, s.allBudgets)
	s.handle(mux, "GET", "/api/v1/budget-alerts", ScopeOperator, s.allBudgetAlerts)
}

// BudgetJSON is a budget or usage trigger.
type BudgetJSON struct {
	ID         string `json:"id"`
	Account    string `json:"account"`
	Scope      string `json:"scope"`
	Item       string `json:"item,omitempty"`
	Instance   string `json:"instance,omitempty"`
	Measure    string `json:"measure"`
	Amount     string `json:"amount,omitempty"`  // yuan (measure amount)
	Minutes    int64  `json:"minutes,omitempty"` // N (measure minutes): fires above it
	Thresholds []int  `json:"thresholds"`
	From       string `json:"from"` // the first cycle it watches
	CreatedAt  string `json:"created_at"`
	RemovedAt  string `json:"removed_at,omitempty"`
}

// ToBudgetJSON converts a budget to JSON.
func ToBudgetJSON(b *callbill.Budget) BudgetJSON {
	out := BudgetJSON{ID: b.ID, Account: b.Account, Scope: string(b.Scope), Item: string(b.Item), Instance: b.Instance,
		Measure: string(b.Measure), Minutes: b.Minutes, Thresholds: b.Thresholds, From: b.From.String(),
		CreatedAt: b.CreatedAt.UTC().Format(time.RFC3339)}
	if b.Measure == callbill.BudgetAmount {
		out.Amount = callbill.FormatMoney(b.Amount)
	}
	if out.Thresholds == nil {
		out.Thresholds = []int{}
	}
	if !b.RemovedAt.IsZero() {
		out.RemovedAt = b.RemovedAt.UTC().Format(time.RFC3339)
	}
	return out
}

// AlertJSON is a threshold of a budget crossed in a cycle.
type AlertJSON struct {
	Account   string     `json:"account"`
	Cycle     string     `json:"cycle"`
	Threshold int        `json:"threshold"`
	Level     string     `json:"level"`
	Actual    string     `json:"actual"`
	Forecast  string     `json:"forecast"`
	At        string     `json:"at"`
	Budget    BudgetJSON `json:"budget"`
}

// ToAlertJSON converts an alert to JSON.
func ToAlertJSON(a *callbill.BudgetAlert) AlertJSON {
	m := a.Budget.Measure
	return AlertJSON{Account: a.Budget.Account, Cycle: a.Cycle.String(), Threshold: a.Threshold, Level: budget.FormatLevel(m, a.Level),
		Actual: budget.FormatAmount(m, a.Actual), Forecast: budget.FormatAmount(m, a.Forecast), At: a.At.UTC().Format(time.RFC3339),
		Budget: ToBudgetJSON(&a.Budget)}
}

// BudgetStatusJSON is where a budget stands in the current cycle.
type BudgetStatusJSON struct {
	BudgetJSON
	Cycle    string      `json:"cycle"`
	Actual   string      `json:"actual"`
	Forecast string      `json:"forecast"`
	Used     string      `json:"used_percent"`
	Reached  []int       `json:"reached"`
	Alerts   []AlertJSON `json:"alerts"`
}

// ToBudgetStatusJSON converts a status to JSON.
func ToBudgetStatusJSON(st *budget.Status) BudgetStatusJSON {
	m := st.Budget.Measure
	out := BudgetStatusJSON{BudgetJSON: ToBudgetJSON(&st.Budget), Cycle: st.Cycle.String(), Actual: budget.FormatAmount(m, st.Actual),
		Forecast: budget.FormatAmount(m, st.Forecast), Used: st.Used.StringFixed(1), Reached: st.Reached, Alerts: []AlertJSON{}}
	if out.Reached == nil {
		out.Reached = []int{}
	}
	for i := range st.Alerts {
		out.Alerts = append(out.Alerts, ToAlertJSON(&st.Alerts[i]))
	}
	return out
}

// BudgetRequest is the body that sets a budget.
type BudgetRequest struct {
	Scope      string `json:"scope"`
	Item       string `json:"item"`
	Instance   string `json:"instance"`
	Measure    string `json:"measure"` // amount (default) or minutes
	Amount     string `json:"amount"`
	Minutes    int64  `json:"minutes"`
	Thresholds []int  `json:"thresholds"`
}

// Input turns the request into the service's input for account.
func (b *BudgetRequest) Input(account string) (budget.SetInput, error) {
	in := budget.SetInput{Account: account, Scope: callbill.BudgetScope(b.Scope), Item: callbill.Item(b.Item), Instance: b.Instance,
		Measure: callbill.BudgetMeasure(b.Measure), Minutes: b.Minutes, Thresholds: b.Thresholds}
	if in.Measure == "" {
		in.Measure = callbill.BudgetAmount
	}
	if b.Amount != "" {
		d, err := callbill.ParseAmount(b.Amount)
		if err != nil {
			return in, err
		}
		in.Amount = d
	}
	return in, nil
}

// BudgetSetJSON is what setting a budget did.
type BudgetSetJSON struct {
	Budget    BudgetJSON  `json:"budget"`
	Unchanged bool        `json:"unchanged"`          // it was in force already as sent
	Replaced  string      `json:"replaced,omitempty"` // the id of the budget of the same scope it replaced
	Fired     []AlertJSON `json:"fired"`              // thresholds the spend so far had crossed, fired now
}

// ToBudgetSetJSON converts Set's result to JSON.
func ToBudgetSetJSON(res *budget.SetResult) BudgetSetJSON {
	out := BudgetSetJSON{Budget: ToBudgetJSON(res.Budget), Unchanged: res.Same, Fired: []AlertJSON{}}
	if res.Replaced != nil {
		out.Replaced = res.Replaced.ID
	}
	for i := range res.Fired {
		out.Fired = append(out.Fired, ToAlertJSON(&res.Fired[i]))
	}
	return out
}

func (s *Server) listBudgets(w http.ResponseWriter, r *http.Request) error {
	sts, c, err := s.Budgets.Statuses(r.Context(), r.PathValue("uid"))
	if err != nil {
		return err
	}
	out := struct {
		Cycle   string             `json:"cycle"`
		Budgets []BudgetStatusJSON `json:"budgets"`
	}{c.String(), []BudgetStatusJSON{}}
	for i := range sts {
		out.Budgets = append(out.Budgets, ToBudgetStatusJSON(&sts[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) setBudget(w http.ResponseWriter, r *http.Request) error {
	var body BudgetRequest
	if err := s.decodeBody(w, r, &body, `{"scope": "total|item|instance", "item": …, "instance": …, "measure": "amount|minutes", "amount": "1000.00", "minutes": …, "thresholds": [50, 80, 100]}`); err != nil {
		return err
	}
	in, err := body.Input(r.PathValue("uid"))
	if err != nil {
		return err
	}
	res, err := s.Budgets.Set(r.Context(), in)
	if err != nil {
		return err
	}
	code := http.StatusCreated
	if res.Same {
		code = http.StatusOK
	}
	return writeJSON(w, code, ToBudgetSetJSON(res))
}

func (s *Server) removeBudget(w http.ResponseWriter, r *http.Request) error {
	b, err := s.Budgets.Remove(r.Context(), budget.RemoveInput{Account: r.PathValue("uid"), ID: r.PathValue("id")})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ToBudgetJSON(b))
}

// alertsQuery reads ?cycle= and ?limit= of an alerts listing.
func alertsQuery(r *http.Request, in *budget.AlertsInput) error {
	q := r.URL.Query()
	if v := q.Get("cycle"); v != "" {
		c, err := callbill.ParseCycle(v)
		if err != nil {
			return err
		}
		in.Cycle = c
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return callbill.Errorf(callbill.EINVALID, "limit must be 1 … 1000")
		}
		in.Limit = n
	}
	return nil
}

func (s *Server) writeAlerts(w http.ResponseWriter, r *http.Request, in budget.AlertsInput) error {
	if err := alertsQuery(r, &in); err != nil {
		return err
	}
	as, err := s.Budgets.Alerts(r.Context(), in)
	if err != nil {
		return err
	}
	out := []AlertJSON{}
	for i := range as {
		out = append(out, ToAlertJSON(&as[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) accountBudgetAlerts(w http.ResponseWriter, r *http.Request) error {
	return s.writeAlerts(w, r, budget.AlertsInput{Account: r.PathValue("uid")})
}

func (s *Server) allBudgetAlerts(w http.ResponseWriter, r *http.Request) error {
	uid := r.URL.Query().Get("account")
	return s.writeAlerts(w, r, budget.AlertsInput{Account: uid, AllAccounts: uid == ""})
}

func (s *Server) allBudgets(w http.ResponseWriter, r *http.Request) error {
	uid := r.URL.Query().Get("account")
	bs, err := s.Budgets.List(r.Context(), budget.ListInput{Account: uid, AllAccounts: uid == ""})
	if err != nil {
		return err
	}
	out := []BudgetJSON{}
	for i := range bs {
		out = append(out, ToBudgetJSON(&bs[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}
