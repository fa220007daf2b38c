package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/budget"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/events"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/webhook"
)

// budgetWorld: an account whose outbound calls on a CCC fixed number cost
// 0.15 a minute (a 10-minute call is 1.50) and whose third-party number pays
// the platform fee of 0.0499 a minute; and a second account.
const budgetWorld = `
accounts:
  - uid: "3001"
    name: 预算甲
    instances:
      - id: bud-p
        mode: payg
        numbers:
          - {number: "0571301", kind: fixed, source: ccc}
          - {number: "0571302", kind: fixed, source: third_party}
      - id: bud-q
        mode: payg
        numbers:
          - {number: "0571303", kind: fixed, source: ccc}
  - uid: "3002"
    name: 预算乙
    instances:
      - id: bud-r
        mode: payg
        numbers:
          - {number: "0571304", kind: fixed, source: ccc}
`

// budgetNow is the stores' clock in these tests: 20 October 2026, noon in
// the billing time zone; a forecast multiplies the spend by 31/20.
var budgetNow = time.Date(2026, 10, 20, 12, 0, 0, 0, time.FixedZone("CST", 8*3600))

// outbound is a call of minutes on 0571301 (0.15 a minute) on day d of October.
func outbound(id string, d, minutes int) callbill.CDR {
	return call(id, "bud-p", callbill.Outbound, "0571301", fmt.Sprintf("2026-10-%02dT09:00:00+08:00", d), int64(minutes)*60)
}

func budgets(s *sqlstore.Store) *budget.Service {
	return &budget.Service{Store: s, Spend: &closing.Service{Store: s}}
}

func setBudget(t *testing.T, s *sqlstore.Store, in budget.SetInput) *budget.SetResult {
	t.Helper()
	res, err := budgets(s).Set(context.Background(), in)
	if err != nil {
		t.Fatalf("set budget: %v", err)
	}
	return res
}

func totalBudget(account, amount string, thresholds ...int) budget.SetInput {
	return budget.SetInput{Account: account, Scope: callbill.BudgetTotal, Measure: callbill.BudgetAmount,
		Amount: callbill.MustDecimal(amount), Thresholds: thresholds}
}

// importWith imports rows through an ingest.Service whose Committed hook is w's.
func importWith(t *testing.T, s *sqlstore.Store, w *budget.Watcher, rows ...callbill.CDR) *callbill.ImportReport {
	t.Helper()
	rep, err := (&ingest.Service{Store: s, Committed: w.Committed}).Import(context.Background(), ingest.Input{Source: &cdrs{rows: rows}})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return rep
}

func flush(t *testing.T, w *budget.Watcher) {
	t.Helper()
	if err := w.Flush(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// alertList is "budget-scope cycle threshold actual forecast" of every
// alert of the account, sorted.
func alertList(t *testing.T, s *sqlstore.Store, account string) string {
	t.Helper()
	as, err := budgets(s).Alerts(context.Background(), budget.AlertsInput{Account: account, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		what := string(a.Budget.Scope)
		if a.Budget.Measure == callbill.BudgetMinutes {
			what = "minutes"
		}
		out = append(out, fmt.Sprintf("%s %s %d%% level %s actual %s forecast %s", what, a.Cycle, a.Threshold,
			budget.FormatLevel(a.Budget.Measure, a.Level), budget.FormatAmount(a.Budget.Measure, a.Actual),
			budget.FormatAmount(a.Budget.Measure, a.Forecast)))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// budgetEvents returns the budget.threshold events written for the account.
func budgetEvents(t *testing.T, s *sqlstore.Store, endpoint string) []callbill.BudgetThresholdEvent {
	t.Helper()
	var out []callbill.BudgetThresholdEvent
	for _, d := range deliveries(t, s, endpoint) {
		if d.Kind != callbill.EventBudgetThreshold {
			continue
		}
		var e callbill.BudgetThresholdEvent
		if err := json.Unmarshal([]byte(d.Payload), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Budget+fmt.Sprint(out[i].Threshold) < out[j].Budget+fmt.Sprint(out[j].Threshold)
	})
	return out
}

// TestBudgetThresholdsFireOnceAtImport: a threshold reached exactly fires
// (1.50 of a 3.00 budget is its 50 %), once, with the level, the spend and
// the month-end forecast; a later import crossing 100 % fires that one only;
// importing the same calls again fires nothing; the usage trigger fires
// when the minutes exceed N, not when they reach it; an item budget watches
// its item only; the webhook carries each alert once.
func TestBudgetThresholdsFireOnceAtImport(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		s.MasterKey = testMasterKey
		s.Now = func() time.Time { return budgetNow }
		mustApply(t, s, budgetWorld)
		var mu sync.Mutex
		received := map[string]int{}
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			var e struct {
				ID   string `json:"id"`
				Kind string `json:"kind"`
			}
			json.Unmarshal(body, &e)
			mu.Lock()
			received[e.Kind+" "+e.ID]++
			mu.Unlock()
		}))
		defer srv.Close()
		hook, err := (&events.Service{Store: s}).Add(ctx, events.AddInput{URL: srv.URL, Account: "3001", Events: []string{callbill.EventBudgetThreshold}})
		if err != nil {
			t.Fatal(err)
		}
		total := setBudget(t, s, totalBudget("3001", "3.00", 100, 50)).Budget
		if got := fmt.Sprint(total.Thresholds); got != "[50 100]" || total.From != callbill.NewCycle(2026, 10) {
			t.Fatalf("budget as set: %+v", total)
		}
		trigger := setBudget(t, s, budget.SetInput{Account: "3001", Scope: callbill.BudgetItem, Item: callbill.ItemFixedLineOutbound,
			Measure: callbill.BudgetMinutes, Minutes: 10}).Budget
		platform := setBudget(t, s, budget.SetInput{Account: "3001", Scope: callbill.BudgetItem, Item: callbill.ItemCallCenterSoftware,
			Measure: callbill.BudgetAmount, Amount: callbill.MustDecimal("1.00")}).Budget
		w := budget.NewWatcher(budgets(s), nil)

		// 10 minutes: 1.50, exactly 50 % of 3.00; 10 minutes, not more than 10.
		importWith(t, s, w, outbound("c1", 1, 10))
		flush(t, w)
		if got, want := alertList(t, s, "3001"), "total 2026-10 50% level 1.50 actual 1.50 forecast 2.33"; got != want {
			t.Fatalf("after 1.50:\n%s\nwant\n%s", got, want)
		}
		// One minute more: 1.65, and 11 minutes exceed 10.
		importWith(t, s, w, outbound("c2", 2, 1))
		flush(t, w)
		want := strings.Join([]string{
			"minutes 2026-10 100% level 10 actual 11 forecast 17",
			"total 2026-10 50% level 1.50 actual 1.50 forecast 2.33"}, "\n")
		if got := alertList(t, s, "3001"); got != want {
			t.Fatalf("after 1.65:\n%s\nwant\n%s", got, want)
		}
		// 9 minutes more: 3.00, the whole budget; the same calls again change nothing.
		importWith(t, s, w, outbound("c3", 3, 9), outbound("c1", 1, 10))
		flush(t, w)
		importWith(t, s, w, outbound("c3", 3, 9), outbound("c2", 2, 1))
		flush(t, w)
		want = strings.Join([]string{
			"minutes 2026-10 100% level 10 actual 11 forecast 17",
			"total 2026-10 100% level 3.00 actual 3.00 forecast 4.65",
			"total 2026-10 50% level 1.50 actual 1.50 forecast 2.33"}, "\n")
		if got := alertList(t, s, "3001"); got != want {
			t.Fatalf("after 3.00:\n%s\nwant\n%s", got, want)
		}
		// The platform item's budget of 1.00 (0.0499 a minute): 10 minutes
		// are 0.49 on the bill, below 50 %; 11 are 0.54, past it.
		importWith(t, s, w, call("p1", "bud-p", callbill.Inbound, "0571302", "2026-10-04T09:00:00+08:00", 600))
		flush(t, w)
		if strings.Contains(alertList(t, s, "3001"), "item") {
			t.Fatalf("0.499 of the platform's 1.00 fired: %s", alertList(t, s, "3001"))
		}
		importWith(t, s, w, call("p2", "bud-p", callbill.Inbound, "0571302", "2026-10-05T09:00:00+08:00", 60))
		flush(t, w)
		if got := alertList(t, s, "3001"); !strings.Contains(got, "item 2026-10 50% level 0.50 actual 0.54 forecast 0.84") ||
			strings.Contains(got, "item 2026-10 80%") {
			t.Fatalf("platform budget:\n%s", got)
		}
		// The other account's calls are not this one's.
		importWith(t, s, w, call("r1", "bud-r", callbill.Outbound, "0571304", "2026-10-06T09:00:00+08:00", 6000))
		flush(t, w)
		if got := alertList(t, s, "3002"); got != "" {
			t.Fatalf("3002 has no budget: %s", got)
		}

		// Each alert is one event, delivered once, with its data.
		evs := budgetEvents(t, s, hook.ID)
		if len(evs) != 4 {
			t.Fatalf("%d budget.threshold events, want 4: %+v", len(evs), evs)
		}
		var got []string
		for _, e := range evs {
			got = append(got, fmt.Sprintf("%s %s %s %s %s %s %d amount %s level %s actual %s forecast %s", e.Account, e.Cycle, e.Scope, e.Item, e.Measure,
				map[string]string{total.ID: "total", trigger.ID: "trigger", platform.ID: "platform"}[e.Budget], e.Threshold, e.Amount, e.Level, e.Actual, e.Forecast))
		}
		sort.Strings(got)
		wantEv := []string{
			"3001 2026-10 item CallCenterSoftware amount platform 50 amount 1.00 level 0.50 actual 0.54 forecast 0.84",
			"3001 2026-10 item FixedLineOutbound minutes trigger 100 amount 10 level 10 actual 11 forecast 17",
			"3001 2026-10 total  amount total 100 amount 3.00 level 3.00 actual 3.00 forecast 4.65",
			"3001 2026-10 total  amount total 50 amount 3.00 level 1.50 actual 1.50 forecast 2.33",
		}
		if strings.Join(got, "\n") != strings.Join(wantEv, "\n") {
			t.Fatalf("events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantEv, "\n"))
		}
		d := &webhook.Deliverer{Store: s, Node: "n1"}
		for {
			n, err := d.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		if len(received) != 4 {
			t.Fatalf("received %v", received)
		}
		for k, n := range received {
			if n != 1 || !strings.HasPrefix(k, callbill.EventBudgetThreshold+" ") {
				t.Errorf("%s received %d times", k, n)
			}
		}
	})
}
