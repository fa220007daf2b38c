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

// thresholdsOnce checks that every threshold of want fired exactly once for
// the account's total budget in October, each as one budget.threshold event.
func thresholdsOnce(t *testing.T, s *sqlstore.Store, account string, want []int) {
	t.Helper()
	as, err := budgets(s).Alerts(context.Background(), budget.AlertsInput{Account: account, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]int{}
	for _, a := range as {
		seen[a.Threshold]++
	}
	for _, pct := range want {
		if seen[pct] != 1 {
			t.Errorf("threshold %d%% fired %d times", pct, seen[pct])
		}
	}
	if len(as) != len(want) {
		t.Errorf("%d alerts, want %d: %v", len(as), len(want), seen)
	}
	var n int
	if err := s.DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM webhook_events WHERE kind = 'budget.threshold'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Errorf("%d budget.threshold events, want %d", n, len(want))
	}
}

// racingImports has several goroutines import calls of one account at
// once, each through its own store of stores (a node) and its own watcher
// running as serve runs it, then waits for the watchers and runs a pass.
func racingImports(t *testing.T, stores []*sqlstore.Store, workers, callsEach int) int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watchers := make([]*budget.Watcher, len(stores))
	var fired sync.Map
	for i, s := range stores {
		watchers[i] = budget.NewWatcher(budgets(s), nil)
		w := watchers[i]
		w.OnFired = func(n int) {
			v, _ := fired.LoadOrStore(i, new(int64))
			*v.(*int64) += int64(n)
		}
		go w.Run(ctx)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*callsEach)
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, w := stores[g%len(stores)], watchers[g%len(stores)]
			svc := &ingest.Service{Store: s, Committed: w.Committed}
			for k := 0; k < callsEach; k++ {
				c := outbound(fmt.Sprintf("g%d-%d", g, k), 1+k%19, 1)
				if _, err := svc.Import(ctx, ingest.Input{Source: &cdrs{rows: []callbill.CDR{c}}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("import: %v", err)
	}
	for _, w := range watchers {
		if err := w.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if w.Failures() != 0 {
			t.Errorf("%d evaluations failed", w.Failures())
		}
	}
	var atImport int64
	fired.Range(func(_, v any) bool { atImport += *v.(*int64); return true })
	// A pass after the imports finds nothing left to fire.
	for _, s := range stores {
		rep, err := budgets(s).Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Fired) != 0 {
			t.Errorf("the pass fired %d alerts that import time missed", len(rep.Fired))
		}
	}
	return atImport
}

var tenThresholds = []int{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}

// TestBudgetThresholdsFireOnceUnderConcurrentImports: four importers of one
// account at once, each with its watcher: every threshold fires exactly
// once, at import time, and the pass after finds nothing missed.
func TestBudgetThresholdsFireOnceUnderConcurrentImports(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		s.MasterKey = testMasterKey
		s.Now = func() time.Time { return budgetNow }
		mustApply(t, s, budgetWorld)
		addWebhook(t, s, "3001", callbill.EventBudgetThreshold)
		setBudget(t, s, totalBudget("3001", "3.00", tenThresholds...))
		// 4 × 8 one-minute calls: 4.80 of a 3.00 budget.
		if n := racingImports(t, []*sqlstore.Store{s}, 4, 8); n != 10 {
			t.Errorf("%d alerts fired at import time, want 10", n)
		}
		thresholdsOnce(t, s, "3001", tenThresholds)
	})
}

// TestBudgetThresholdsFireOnceAcrossNodes: two stores on one database (two
// nodes), two importers each, one account: every threshold once.
func TestBudgetThresholdsFireOnceAcrossNodes(t *testing.T) {
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			d := dsn(t)
			var stores []*sqlstore.Store
			for i := 0; i < 2; i++ {
				s, err := sqlstore.Open(context.Background(), d)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				s.MasterKey = testMasterKey
				s.Now = func() time.Time { return budgetNow }
				stores = append(stores, s)
			}
			mustApply(t, stores[0], budgetWorld)
			addWebhook(t, stores[0], "3001", callbill.EventBudgetThreshold)
			setBudget(t, stores[1], totalBudget("3001", "3.00", tenThresholds...))
			if n := racingImports(t, stores, 4, 8); n != 10 {
				t.Errorf("%d alerts fired at import time, want 10", n)
			}
			thresholdsOnce(t, stores[0], "3001", tenThresholds)
		})
	}
}

// TestBudgetSetAfterTheSpendFiresOnce: a budget set below the spend so far
// fires the thresholds already crossed when it is set, once each; setting
// it again as it is changes nothing; setting other thresholds replaces it
// with a new budget whose thresholds fire afresh; a removed budget fires
// nothing more.
func TestBudgetSetAfterTheSpendFiresOnce(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		s.Now = func() time.Time { return budgetNow }
		mustApply(t, s, budgetWorld)
		importCalls(t, s, callbill.ImportOptions{}, outbound("a1", 1, 10), outbound("a2", 2, 7)) // 2.55
		first := setBudget(t, s, totalBudget("3001", "3.00"))
		if got := fmt.Sprint(first.Budget.Thresholds); got != "[50 80 100]" {
			t.Fatalf("default thresholds %s", got)
		}
		if len(first.Fired) != 2 || first.Fired[0].Threshold != 50 || first.Fired[1].Threshold != 80 {
			t.Fatalf("fired when set: %+v", first.Fired)
		}
		again := setBudget(t, s, totalBudget("3001", "3.00", 100, 80, 50))
		if !again.Same || again.Budget.ID != first.Budget.ID || len(again.Fired) != 0 {
			t.Fatalf("set again: %+v", again)
		}
		if rep, err := budgets(s).Pass(ctx); err != nil || len(rep.Fired) != 0 {
			t.Fatalf("pass: %+v %v", rep, err)
		}
		want := strings.Join([]string{"total 2026-10 50% level 1.50 actual 2.55 forecast 3.95",
			"total 2026-10 80% level 2.40 actual 2.55 forecast 3.95"}, "\n")
		if got := alertList(t, s, "3001"); got != want {
			t.Fatalf("alerts:\n%s\nwant\n%s", got, want)
		}
		other := setBudget(t, s, totalBudget("3001", "3.00", 85, 50))
		if other.Replaced == nil || other.Replaced.ID != first.Budget.ID || other.Budget.ID == first.Budget.ID ||
			len(other.Fired) != 2 || other.Fired[0].Threshold != 50 || other.Fired[1].Threshold != 85 {
			t.Fatalf("replaced: %+v", other)
		}
		list, err := budgets(s).List(ctx, budget.ListInput{Account: "3001"})
		if err != nil || len(list) != 1 || list[0].ID != other.Budget.ID {
			t.Fatalf("in force: %+v %v", list, err)
		}
		if _, err := budgets(s).Remove(ctx, budget.RemoveInput{Account: "3001", ID: other.Budget.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := budgets(s).Remove(ctx, budget.RemoveInput{Account: "3001", ID: other.Budget.ID}); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Fatalf("removed twice: %v", err)
		}
		w := budget.NewWatcher(budgets(s), nil)
		importWith(t, s, w, outbound("a3", 3, 10)) // 4.05: past 100 % of a removed budget
		flush(t, w)
		if as, _ := budgets(s).Alerts(ctx, budget.AlertsInput{Account: "3001"}); len(as) != 4 {
			t.Fatalf("alerts after the removal: %d", len(as))
		}
	})
}

// TestBudgetClosedCycleNeverEvaluated: October's calls crossed the budget
// while nothing evaluated it; once October is closed, no pass fires for it.
// A late October call imported after the close is billed in November and
// fires November's thresholds.
func TestBudgetClosedCycleNeverEvaluated(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		clk := &clock{now: budgetNow}
		s.Now = clk.Now
		mustApply(t, s, budgetWorld)
		setBudget(t, s, totalBudget("3001", "3.00"))
		importCalls(t, s, callbill.ImportOptions{}, outbound("o1", 1, 30)) // 4.50, not evaluated
		clk.Add(14 * 24 * time.Hour)                                       // 3 November
		closeCycle(t, s, "2026-10")
		w := budget.NewWatcher(budgets(s), nil)
		flush(t, w)
		if got := alertList(t, s, "3001"); got != "" {
			t.Fatalf("a closed cycle fired:\n%s", got)
		}
		importWith(t, s, w, outbound("o2", 5, 20)) // late: billed in November, 3.00
		flush(t, w)
		want := strings.Join([]string{"total 2026-11 100% level 3.00 actual 3.00 forecast 30.00",
			"total 2026-11 50% level 1.50 actual 3.00 forecast 30.00",
			"total 2026-11 80% level 2.40 actual 3.00 forecast 30.00"}, "\n")
		if got := alertList(t, s, "3001"); got != want {
			t.Fatalf("alerts:\n%s\nwant\n%s", got, want)
		}
	})
}

// TestBudgetFiresWithinASecondOfTheImport: through the server's path — an
// ingest.Group whose commits the watcher's goroutine evaluates — the alert
// is stored within a second after the post that crossed it is answered.
func TestBudgetFiresWithinASecondOfTheImport(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s.Now = func() time.Time { return budgetNow }
		mustApply(t, s, budgetWorld)
		setBudget(t, s, totalBudget("3001", "3.00", 100))
		w := budget.NewWatcher(budgets(s), nil)
		go w.Run(ctx)
		g := (&ingest.Service{Store: s, Committed: w.Committed}).NewGroup(0)
		defer g.Close()
		for i := 0; i < 3; i++ { // 1.50 each: the second post crosses 3.00
			if _, err := g.Import(ctx, ingest.Input{Source: &cdrs{rows: []callbill.CDR{outbound(fmt.Sprint("s", i), 1+i, 10)}}}); err != nil {
				t.Fatal(err)
			}
			if i != 1 {
				continue
			}
			answered := time.Now()
			for {
				if alertList(t, s, "3001") != "" {
					break
				}
				if time.Since(answered) > time.Second {
					t.Fatalf("no alert a second after the import returned")
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Logf("alert stored %v after the import returned", time.Since(answered).Round(time.Millisecond))
		}
		if err := w.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		thresholdsOnce(t, s, "3001", []int{100})
	})
}

// TestBudgetOnAnInstance: an instance's budget counts that instance's
// lines only; an item's budget its item's, whatever the instance.
func TestBudgetOnAnInstance(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		s.Now = func() time.Time { return budgetNow }
		mustApply(t, s, budgetWorld)
		setBudget(t, s, budget.SetInput{Account: "3001", Scope: callbill.BudgetInstance, Instance: "bud-q", Measure: callbill.BudgetAmount,
			Amount: callbill.MustDecimal("0.20"), Thresholds: []int{50, 100}})
		setBudget(t, s, budget.SetInput{Account: "3001", Scope: callbill.BudgetItem, Item: callbill.ItemFixedLineOutbound, Measure: callbill.BudgetAmount,
			Amount: callbill.MustDecimal("2.00"), Thresholds: []int{100}})
		w := budget.NewWatcher(budgets(s), nil)
		importWith(t, s, w, outbound("p1", 1, 10)) // 1.50 on bud-p
		flush(t, w)
		if got := alertList(t, s, "3001"); got != "" {
			t.Fatalf("bud-p's calls fired: %s", got)
		}
		importWith(t, s, w, call("q1", "bud-q", callbill.Outbound, "0571303", "2026-10-02T09:00:00+08:00", 60)) // 0.15 on bud-q
		flush(t, w)
		if got, want := alertList(t, s, "3001"), "instance 2026-10 50% level 0.10 actual 0.15 forecast 0.23"; got != want {
			t.Fatalf("after 0.15 on bud-q:\n%s\nwant\n%s", got, want)
		}
		importWith(t, s, w, call("q2", "bud-q", callbill.Outbound, "0571303", "2026-10-03T09:00:00+08:00", 180)) // 0.60 on bud-q: 2.10 outbound in all
		flush(t, w)
		want := strings.Join([]string{
			"instance 2026-10 100% level 0.20 actual 0.60 forecast 0.93",
			"instance 2026-10 50% level 0.10 actual 0.15 forecast 0.23",
			"item 2026-10 100% level 2.00 actual 2.10 forecast 3.26"}, "\n")
		if got := alertList(t, s, "3001"); got != want {
			t.Fatalf("after 0.60 on bud-q:\n%s\nwant\n%s", got, want)
		}
	})
}
