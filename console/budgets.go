package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/budget"
)

// Budgets and usage alerts (docs/budgets.md): the tenant's 预算 page —
// where each budget stands this cycle (actual, month-end forecast, share
// used, thresholds fired), the forms that set and remove them, the alerts
// — the overview's banner once a threshold fired in the cycle shown, and
// the operator's list of every account's budgets and alerts.

// budgetService is the budget workflow on the store, nil when the store
// keeps no budgets (then the pages are absent).
func (s *Server) budgetService() *budget.Service {
	if bs, ok := s.Store.(budget.Store); ok {
		return &budget.Service{Store: bs, Spend: s.bills(), Log: s.Log}
	}
	return nil
}

// Budgeting reports whether the store keeps budgets (the navigation).
func (v *view) Budgeting() bool { return v.s.budgetService() != nil }

type budgetsData struct {
	Cycle   string
	Table   table
	Alerts  table
	Set     budgetForm
	Trigger triggerForm
}

type budgetForm struct {
	Key        string
	Watch      []option
	Amount     string
	Thresholds string
}

type triggerForm struct {
	Key     string
	Item    []option
	Minutes string
}

// budgetScope names what a budget watches in the page's language.
func budgetScope(v *view, b *callbill.Budget) string {
	switch {
	case b.Measure == callbill.BudgetMinutes:
		return v.T("budget.scope_minutes") + " · " + v.ItemName(b.Item)
	}
	switch b.Scope {
	case callbill.BudgetItem:
		return v.T("budget.scope_item") + " · " + v.ItemName(b.Item)
	case callbill.BudgetInstance:
		return v.T("budget.scope_instance") + " · " + b.Instance
	}
	return v.T("budget.scope_total")
}

// budgetSize is a budget's amount, or its N minutes.
func budgetSize(v *view, b *callbill.Budget) cell {
	if b.Measure == callbill.BudgetMinutes {
		n := strconv.FormatInt(b.Minutes, 10)
		return code(n, fmt.Sprintf(v.T("budget.minutes_n"), n))
	}
	return moneyCell(callbill.FormatMoney(b.Amount))
}

// budgetValue is what a budget counts shown: yuan or minutes.
func budgetValue(v *view, m callbill.BudgetMeasure, s string) cell {
	if m == callbill.BudgetMinutes {
		return code(s, fmt.Sprintf(v.T("budget.minutes_n"), s))
	}
	return moneyCell(s)
}

// thresholdsText lists a budget's thresholds: "50% 80% 100%", or "> N
// minutes" for a usage trigger.
func thresholdsText(v *view, b *callbill.Budget) string {
	if b.Measure == callbill.BudgetMinutes {
		return fmt.Sprintf(v.T("budget.over_n"), b.Minutes)
	}
	ts := make([]string, len(b.Thresholds))
	for i, p := range b.Thresholds {
		ts[i] = strconv.Itoa(p) + "%"
	}
	return strings.Join(ts, " ")
}

// budgets is 预算: the account's budgets in the current cycle, the forms,
// and the alerts fired.
func (s *Server) budgets(w http.ResponseWriter, r *http.Request, v *view) error {
	bs := s.budgetService()
	ctx := r.Context()
	v.Nav = "budgets"
	sts, cycle, err := bs.Statuses(ctx, v.UID)
	if err != nil {
		return err
	}
	alerts, err := bs.Alerts(ctx, budget.AlertsInput{Account: v.UID, Limit: 100})
	if err != nil {
		return err
	}
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	d := budgetsData{Cycle: cycle.String()}
	d.Table = table{ID: "budgets-table", CSRF: v.CSRF(), Key: newToken(), Empty: v.T("empty.budgets"), Cols: []col{
		{Key: "scope", Label: v.T("budget.col_scope"), Wrap: true}, {Key: "amount", Label: v.T("budget.col_amount"), Num: true},
		{Key: "thresholds", Label: v.T("budget.col_thresholds")}, {Key: "actual", Label: v.T("budget.col_actual"), Num: true},
		{Key: "forecast", Label: v.T("budget.col_forecast"), Num: true}, {Key: "used_percent", Label: v.T("budget.col_used"), Num: true},
		{Key: "alerts", Label: v.T("budget.col_fired"), Wrap: true}, {Key: "action", Label: v.T("col.action")}}}
	for i := range sts {
		st := &sts[i]
		b := &st.Budget
		m := b.Measure
		var fired []string
		for _, a := range st.Alerts {
			what := strconv.Itoa(a.Threshold) + "%"
			if m == callbill.BudgetMinutes {
				what = v.T("budget.exceeded")
			}
			fired = append(fired, what+" "+a.At.In(loc).Format("01-02 15:04"))
		}
		used := st.Used.StringFixed(1)
		usedCell := code(used, used+"%")
		if len(st.Reached) > 0 {
			usedCell.Title = v.T("budget.reached")
		}
		d.Table.Rows = append(d.Table.Rows, []cell{code(string(b.Scope)+":"+string(b.Item)+b.Instance, budgetScope(v, b)), budgetSize(v, b),
			txt(thresholdsText(v, b)), budgetValue(v, m, budget.FormatAmount(m, st.Actual)), budgetValue(v, m, budget.FormatAmount(m, st.Forecast)),
			usedCell, code(strconv.Itoa(len(st.Alerts)), strings.Join(fired, "，")),
			{Text: v.T("delete"), V: b.ID, Post: true, Href: v.A("budgets/" + url.PathEscape(b.ID) + "/remove")}})
	}
	d.Alerts = alertsTable(v, "budget-alerts-table", alerts, loc, false)
	watch := v.prefill("set", "watch", "total")
	d.Set = budgetForm{Key: newToken(), Amount: v.prefill("set", "amount", ""), Thresholds: v.prefill("set", "thresholds", "50,80,100"),
		Watch: []option{{"total", v.T("budget.scope_total"), watch == "total"}}}
	for _, it := range budget.AmountItems {
		val := "item:" + string(it)
		d.Set.Watch = append(d.Set.Watch, option{val, v.T("budget.scope_item") + " · " + v.ItemName(it), watch == val})
	}
	for _, in := range v.Account.Instances {
		val := "instance:" + in.ID
		d.Set.Watch = append(d.Set.Watch, option{val, v.T("budget.scope_instance") + " · " + in.ID, watch == val})
	}
	item := v.prefill("trigger", "item", string(callbill.ItemFixedLineOutbound))
	d.Trigger = triggerForm{Key: newToken(), Minutes: v.prefill("trigger", "minutes", "")}
	for _, it := range budget.MinuteItems {
		d.Trigger.Item = append(d.Trigger.Item, option{string(it), v.ItemName(it), item == string(it)})
	}
	v.shown("set", "trigger")
	return s.render(w, r, v, "budgets", d)
}

// alertsTable lists alerts, newest first; with accounts, the account too.
func alertsTable(v *view, id string, alerts []callbill.BudgetAlert, loc *time.Location, accounts bool) table {
	t := table{ID: id, Empty: v.T("empty.budget_alerts")}
	if accounts {
		t.Cols = append(t.Cols, col{Key: "account", Label: v.T("col.uid")})
	}
	t.Cols = append(t.Cols, col{Key: "at", Label: v.T("col.time")}, col{Key: "cycle", Label: v.T("filter.cycle")},
		col{Key: "scope", Label: v.T("budget.col_scope"), Wrap: true}, col{Key: "threshold", Label: v.T("budget.col_threshold"), Num: true},
		col{Key: "level", Label: v.T("budget.col_level"), Num: true}, col{Key: "actual", Label: v.T("budget.col_actual_then"), Num: true},
		col{Key: "forecast", Label: v.T("budget.col_forecast"), Num: true})
	for i := range alerts {
		a := &alerts[i]
		m := a.Budget.Measure
		th := code(strconv.Itoa(a.Threshold), strconv.Itoa(a.Threshold)+"%")
		if m == callbill.BudgetMinutes {
			th = code(strconv.Itoa(a.Threshold), v.T("budget.exceeded"))
		}
		var row []cell
		if accounts {
			row = append(row, link(a.Budget.Account, "/console/a/"+url.PathEscape(a.Budget.Account)+"/budgets"))
		}
		row = append(row, code(a.At.UTC().Format(time.RFC3339), dateTime(a.At, loc)), txt(a.Cycle.String()), txt(budgetScope(v, &a.Budget)), th,
			budgetValue(v, m, budget.FormatLevel(m, a.Level)), budgetValue(v, m, budget.FormatAmount(m, a.Actual)),
			budgetValue(v, m, budget.FormatAmount(m, a.Forecast)))
		t.Rows = append(t.Rows, row)
	}
	return t
}

// setBudget sets an amount budget from the page's form: what it watches
// (the total, an item, an instance), the amount in yuan and the
// thresholds in percent.
func (s *Server) setBudget(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.submit(w, r, v, func() (outcome, error) {
		out := outcome{To: v.A("budgets"), For: "set", Form: fields(r, "watch", "amount", "thresholds")}
		f := out.Form
		in := budget.SetInput{Account: v.UID, Scope: callbill.BudgetTotal, Measure: callbill.BudgetAmount}
		kind, target, _ := strings.Cut(f["watch"], ":")
		switch kind {
		case "total":
		case "item":
			in.Scope, in.Item = callbill.BudgetItem, callbill.Item(target)
		case "instance":
			in.Scope, in.Instance = callbill.BudgetInstance, target
		default:
			return out, v.errf(callbill.EINVALID, "budget.choose_scope")
		}
		amount, err := callbill.ParseAmount(strings.NewReplacer(" ", "", ",", "", "，", "", "¥", "", "￥", "").Replace(strings.TrimSpace(f["amount"])))
		if err != nil {
			return out, err
		}
		in.Amount = amount
		if in.Thresholds, err = parsePercents(v, f["thresholds"]); err != nil {
			return out, err
		}
		return s.budgetSet(r.Context(), v, in, out)
	})
}

// setTrigger sets a usage trigger: an item and N minutes.
func (s *Server) setTrigger(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.submit(w, r, v, func() (outcome, error) {
		out := outcome{To: v.A("budgets"), For: "trigger", Form: fields(r, "item", "minutes")}
		n, err := strconv.ParseInt(strings.TrimSpace(strings.ReplaceAll(out.Form["minutes"], ",", "")), 10, 64)
		if err != nil {
			return out, v.errf(callbill.EINVALID, "budget.minutes_format")
		}
		return s.budgetSet(r.Context(), v, budget.SetInput{Account: v.UID, Scope: callbill.BudgetItem, Item: callbill.Item(out.Form["item"]),
			Measure: callbill.BudgetMinutes, Minutes: n}, out)
	})
}

// budgetSet sets in and says what happened, the thresholds fired at once
// included.
func (s *Server) budgetSet(ctx context.Context, v *view, in budget.SetInput, out outcome) (outcome, error) {
	res, err := s.budgetService().Set(ctx, in)
	if err != nil {
		return out, err
	}
	b := res.Budget
	switch {
	case res.Same:
		out.OK = v.T("budget.same")
	default:
		s.Log.Info("console set a budget", "account", v.UID, "id", b.ID)
		out.OK = fmt.Sprintf(v.T("budget.set_ok"), budgetScope(v, b))
	}
	if len(res.Fired) > 0 {
		if v.lang == "en" {
			out.OK += " "
		}
		out.OK += fmt.Sprintf(v.T("budget.fired_now"), len(res.Fired))
	}
	return out, nil
}

// removeBudget removes one of the account's budgets.
func (s *Server) removeBudget(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.submit(w, r, v, func() (outcome, error) {
		out := outcome{To: v.A("budgets")}
		b, err := s.budgetService().Remove(r.Context(), budget.RemoveInput{Account: v.UID, ID: r.PathValue("id")})
		if err != nil {
			return out, err
		}
		out.OK = fmt.Sprintf(v.T("budget.removed"), budgetScope(v, b))
		return out, nil
	})
}

// parsePercents reads "50,80,100" (or "50% 80% 100%", or with Chinese
// commas); empty is the default thresholds.
func parsePercents(v *view, s string) ([]int, error) {
	s = strings.NewReplacer("，", ",", "、", ",", " ", ",", "%", "", "％", "").Replace(s)
	var out []int
	for _, p := range strings.Split(s, ",") {
		if p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || len(p) > 4 {
			return nil, v.errf(callbill.EINVALID, "budget.thresholds_format")
		}
		out = append(out, n)
	}
	return out, nil
}

// budgetBanner is the overview's warning when a budget's threshold fired in
// the cycle shown: each budget's highest alert, nil when none.
func (s *Server) budgetBanner(ctx context.Context, v *view, c callbill.Cycle) ([]string, error) {
	bs := s.budgetService()
	if bs == nil {
		return nil, nil
	}
	alerts, err := bs.Alerts(ctx, budget.AlertsInput{Account: v.UID, Cycle: c, Limit: 1000})
	if err != nil {
		return nil, err
	}
	top := map[string]*callbill.BudgetAlert{}
	var order []string
	for i := range alerts {
		a := &alerts[i]
		if x, ok := top[a.Budget.ID]; !ok || a.Threshold > x.Threshold {
			if !ok {
				order = append(order, a.Budget.ID)
			}
			top[a.Budget.ID] = a
		}
	}
	var out []string
	for _, id := range order {
		a := top[id]
		m := a.Budget.Measure
		if m == callbill.BudgetMinutes {
			out = append(out, fmt.Sprintf(v.T("budget.banner_minutes"), budgetScope(v, &a.Budget), a.Budget.Minutes, budget.FormatAmount(m, a.Actual)))
			continue
		}
		out = append(out, fmt.Sprintf(v.T("budget.banner_amount"), budgetScope(v, &a.Budget), MoneyString(callbill.FormatMoney(a.Budget.Amount)),
			a.Threshold, MoneyString(budget.FormatAmount(m, a.Actual))))
	}
	return out, nil
}

type opBudgetsData struct {
	Account []option
	Budgets table
	Alerts  table
}

// opBudgets is the operator's 预算与提醒: every account's budgets in force
// and the alerts fired, newest first; ?account= narrows both.
func (s *Server) opBudgets(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	v.Nav = "op.budgets"
	bs := s.budgetService()
	uid := r.URL.Query().Get("account")
	list, err := bs.List(ctx, budget.ListInput{Account: uid, AllAccounts: uid == ""})
	if err != nil {
		return err
	}
	alerts, err := bs.Alerts(ctx, budget.AlertsInput{Account: uid, AllAccounts: uid == "", Limit: 200})
	if err != nil {
		return err
	}
	loc, err := s.Store.Location(ctx)
	if err != nil {
		return err
	}
	accts, err := s.Store.AccountStandings(ctx)
	if err != nil {
		return err
	}
	d := opBudgetsData{Account: []option{{"", v.T("all"), uid == ""}}}
	names := map[string]string{}
	for _, a := range accts {
		names[a.UID] = a.Name
		d.Account = append(d.Account, option{a.UID, a.UID + " " + a.Name, a.UID == uid})
	}
	d.Budgets = table{ID: "op-budgets-table", Empty: v.T("empty.budgets"), Cols: []col{
		{Key: "account", Label: v.T("col.uid")}, {Key: "scope", Label: v.T("budget.col_scope"), Wrap: true},
		{Key: "amount", Label: v.T("budget.col_amount"), Num: true}, {Key: "thresholds", Label: v.T("budget.col_thresholds")},
		{Key: "from", Label: v.T("budget.col_from")}, {Key: "created_at", Label: v.T("col.created")}}}
	for i := range list {
		b := &list[i]
		acct := link(b.Account, "/console/a/"+url.PathEscape(b.Account)+"/budgets")
		acct.Sub = names[b.Account]
		d.Budgets.Rows = append(d.Budgets.Rows, []cell{acct, txt(budgetScope(v, b)), budgetSize(v, b), txt(thresholdsText(v, b)),
			txt(b.From.String()), code(b.CreatedAt.UTC().Format(time.RFC3339), dateTime(b.CreatedAt, loc))})
	}
	d.Alerts = alertsTable(v, "op-budget-alerts-table", alerts, loc, true)
	for i := range d.Alerts.Rows {
		d.Alerts.Rows[i][0].Sub = names[alerts[i].Budget.Account]
	}
	return s.render(w, r, v, "op_budgets", d)
}
