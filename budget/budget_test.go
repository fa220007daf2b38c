package budget

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// memStore is an in-memory Store: the rules run against it as against the
// SQL store (whose own tests are sqlstore/budgets_test.go).
type memStore struct {
	mu      sync.Mutex
	now     time.Time
	closed  callbill.Cycle
	gen     int64
	calls   map[string]int64
	budgets []callbill.Budget
	alerts  []callbill.BudgetAlert
	marks   map[string]Mark
	events  []callbill.Event
	version int64
	seq     int
	// hooks for tests
	beforeRecord func(m *memStore) // runs as RecordAlerts begins
	failRecord   error
}

func newMem() *memStore {
	return &memStore{now: time.Date(2026, 10, 20, 12, 0, 0, 0, loc), calls: map[string]int64{}, marks: map[string]Mark{}}
}

var loc = time.FixedZone("CST", 8*3600)

func (m *memStore) UpdateBudgets(ctx context.Context, account string, fn func(tx Tx, now time.Time) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if account != "1" && account != "2" {
		return callbill.Errorf(callbill.ENOTFOUND, "account %s not found", account)
	}
	saved := slices.Clone(m.budgets)
	if err := fn(memTx{m}, m.now); err != nil {
		m.budgets = saved
		return err
	}
	return nil
}

func (m *memStore) RecordAlerts(ctx context.Context, fn func(tx Tx, now time.Time) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.beforeRecord != nil {
		m.beforeRecord(m)
	}
	if m.failRecord != nil {
		return m.failRecord
	}
	alerts, events, marks := slices.Clone(m.alerts), slices.Clone(m.events), map[string]Mark{}
	for k, v := range m.marks {
		marks[k] = v
	}
	if err := fn(memTx{m}, m.now); err != nil {
		m.alerts, m.events, m.marks = alerts, events, marks
		return err
	}
	return nil
}

func (m *memStore) ViewBudgets(ctx context.Context, fn func(tx Tx, now time.Time) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fn(memTx{m}, m.now)
}

func (m *memStore) BudgetsVersion(ctx context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.version, nil
}

type memTx struct{ m *memStore }

func (t memTx) Location(ctx context.Context) (*time.Location, error)      { return loc, nil }
func (t memTx) ClosedThrough(ctx context.Context) (callbill.Cycle, error) { return t.m.closed, nil }
func (t memTx) Account(ctx context.Context, uid string) (*callbill.Account, error) {
	if uid != "1" && uid != "2" {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "account %s not found", uid)
	}
	return &callbill.Account{UID: uid, Instances: []callbill.Instance{{ID: "inst-" + uid}}}, nil
}
func (t memTx) Budgets(ctx context.Context, accounts []string) ([]callbill.Budget, error) {
	var out []callbill.Budget
	for _, b := range t.m.budgets {
		if b.RemovedAt.IsZero() && slices.Contains(accounts, b.Account) {
			out = append(out, b)
		}
	}
	return out, nil
}
func (t memTx) AllBudgets(ctx context.Context) ([]callbill.Budget, error) {
	var out []callbill.Budget
	for _, b := range t.m.budgets {
		if b.RemovedAt.IsZero() {
			out = append(out, b)
		}
	}
	return out, nil
}
func (t memTx) InsertBudget(ctx context.Context, b *callbill.Budget) error {
	t.m.seq++
	b.ID = fmt.Sprint("b", t.m.seq)
	t.m.budgets = append(t.m.budgets, *b)
	t.m.version++
	delete(t.m.marks, b.Account)
	return nil
}
func (t memTx) RemoveBudget(ctx context.Context, account, id string, at time.Time) error {
	for i := range t.m.budgets {
		if b := &t.m.budgets[i]; b.ID == id && b.Account == account && b.RemovedAt.IsZero() {
			b.RemovedAt = at
			t.m.version++
			delete(t.m.marks, account)
			return nil
		}
	}
	return callbill.Errorf(callbill.ENOTFOUND, "budget %s not found", id)
}
func (t memTx) Alerts(ctx context.Context, q AlertsQuery) ([]callbill.BudgetAlert, error) {
	var out []callbill.BudgetAlert
	for _, a := range t.m.alerts {
		if (q.AllAccounts || slices.Contains(q.Accounts, a.Budget.Account)) && (q.Cycle == 0 || a.Cycle == q.Cycle) && a.Cycle >= q.FromCycle {
			out = append(out, a)
		}
	}
	return out, nil
}
func (t memTx) InsertAlert(ctx context.Context, a *callbill.BudgetAlert) (bool, error) {
	for _, x := range t.m.alerts {
		if x.Budget.ID == a.Budget.ID && x.Cycle == a.Cycle && x.Threshold == a.Threshold {
			return false, nil
		}
	}
	t.m.alerts = append(t.m.alerts, *a)
	return true, nil
}
func (t memTx) Emit(ctx context.Context, events []callbill.Event, now time.Time) error {
	t.m.events = append(t.m.events, events...)
	return nil
}
func (t memTx) Generation(ctx context.Context) (int64, error) { return t.m.gen, nil }
func (t memTx) CallVersions(ctx context.Context, accounts []string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, a := range accounts {
		if n := t.m.calls[a]; n != 0 {
			out[a] = n
		}
	}
	return out, nil
}
func (t memTx) Marks(ctx context.Context, accounts []string) (map[string]Mark, error) {
	out := map[string]Mark{}
	for _, a := range accounts {
		if m, ok := t.m.marks[a]; ok {
			out[a] = m
		}
	}
	return out, nil
}
func (t memTx) SetMarks(ctx context.Context, marks map[string]Mark) error {
	for a, m := range marks {
		t.m.marks[a] = m
	}
	return nil
}

// memSpend is an open spend per account: October's payable, minutes and
// lines; it counts its reads.
type memSpend struct {
	mu    sync.Mutex
	spend map[string][]*callbill.Spend
	reads int
	fail  error
}

func (s *memSpend) OpenSpend(ctx context.Context, accounts []string) (map[string][]*callbill.Spend, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.fail != nil {
		return nil, s.fail
	}
	out := map[string][]*callbill.Spend{}
	for _, a := range accounts {
		out[a] = s.spend[a]
	}
	return out, nil
}

// set gives account a spend in cycle c: lines of (item, instance, payable, minutes).
func (s *memSpend) set(account string, c callbill.Cycle, lines ...callbill.Line) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spend == nil {
		s.spend = map[string][]*callbill.Spend{}
	}
	sp := &callbill.Spend{Account: account, Cycle: c, Payable: decimal.Zero, Lines: lines}
	for _, l := range lines {
		sp.Payable = sp.Payable.Add(l.Payable)
	}
	var rest []*callbill.Spend
	for _, x := range s.spend[account] {
		if x.Cycle != c {
			rest = append(rest, x)
		}
	}
	s.spend[account] = append(rest, sp)
}

func line(item callbill.Item, inst, payable string, minutes int64) callbill.Line {
	return callbill.Line{Item: item, Instance: inst, Payable: callbill.MustDecimal(payable), Usage: decimal.NewFromInt(minutes),
		Covered: decimal.Zero, UsageUnit: callbill.UsageUnit(item, false)}
}

var oct = callbill.NewCycle(2026, 10)

func dec(s string) decimal.Decimal { return callbill.MustDecimal(s) }

func TestSetInputRules(t *testing.T) {
	ok := SetInput{Account: "1", Scope: callbill.BudgetTotal, Measure: callbill.BudgetAmount, Amount: dec("100.00")}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		in   func(in *SetInput)
		want string
	}{
		{func(in *SetInput) { in.Account = "" }, "needs an account"},
		{func(in *SetInput) { in.Scope = "day" }, `scope "day"`},
		{func(in *SetInput) { in.Item = callbill.ItemFixedLineOutbound }, "names no item"},
		{func(in *SetInput) { in.Scope, in.Item = callbill.BudgetItem, callbill.ItemNumberRent }, "purchases are paid when made"},
		{func(in *SetInput) { in.Scope, in.Item = callbill.BudgetItem, "" }, "postpaid item"},
		{func(in *SetInput) { in.Scope = callbill.BudgetInstance }, "names the instance"},
		{func(in *SetInput) { in.Amount = dec("0") }, "more than 0.00"},
		{func(in *SetInput) { in.Amount = dec("0.001") }, "whole fen"},
		{func(in *SetInput) { in.Amount = dec("1000000000.01") }, "at most 1000000000.00"},
		{func(in *SetInput) { in.Thresholds = []int{0} }, "outside 1 … 1000"},
		{func(in *SetInput) { in.Thresholds = []int{1001} }, "outside 1 … 1000"},
		{func(in *SetInput) { in.Thresholds = []int{50, 50} }, "given twice"},
		{func(in *SetInput) { in.Thresholds = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11} }, "at most 10 thresholds"},
		{func(in *SetInput) { in.Minutes = 5 }, "not minutes"},
		{func(in *SetInput) { in.Measure = "calls" }, `measure "calls"`},
		{func(in *SetInput) { in.Measure, in.Amount = callbill.BudgetMinutes, decimal.Zero }, "counts the minutes of one item"},
		{func(in *SetInput) {
			in.Measure, in.Scope, in.Item, in.Amount, in.Minutes = callbill.BudgetMinutes, callbill.BudgetItem, callbill.ItemRecordStorage, decimal.Zero, 5
		}, "billed in minutes"},
		{func(in *SetInput) {
			in.Measure, in.Scope, in.Item, in.Amount = callbill.BudgetMinutes, callbill.BudgetItem, callbill.ItemFixedLineOutbound, decimal.Zero
		}, "minutes must be 1"},
		{func(in *SetInput) {
			in.Measure, in.Scope, in.Item, in.Minutes, in.Thresholds = callbill.BudgetMinutes, callbill.BudgetItem, callbill.ItemFixedLineOutbound, 5, []int{50}
		}, "no amount or thresholds"},
	}
	for i, c := range bad {
		in := ok
		c.in(&in)
		err := in.Validate()
		if callbill.ErrorCode(err) != callbill.EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d: %v, want %q", i, err, c.want)
		}
	}
}

// TestCrossingAndForecast: an amount threshold is crossed when the spend
// reaches it, a usage trigger when the minutes exceed N; the forecast is
// the daily average of the days begun carried to the cycle's end.
func TestCrossingAndForecast(t *testing.T) {
	b := &callbill.Budget{Measure: callbill.BudgetAmount, Amount: dec("33.33"), Thresholds: []int{50, 100}}
	if got := FormatLevel(b.Measure, level(b, 50)); got != "16.665" {
		t.Errorf("level of 50%% of 33.33: %s", got)
	}
	for _, c := range []struct {
		actual string
		want   string
	}{{"16.66", "[]"}, {"16.67", "[50]"}, {"33.32", "[50]"}, {"33.33", "[50 100]"}} {
		if got := fmt.Sprint(Reached(b, dec(c.actual))); got != c.want {
			t.Errorf("%s of 33.33: %s, want %s", c.actual, got, c.want)
		}
	}
	u := &callbill.Budget{Measure: callbill.BudgetMinutes, Minutes: 100, Thresholds: []int{callbill.UsageTriggerThreshold}}
	if len(Reached(u, dec("100"))) != 0 || len(Reached(u, dec("101"))) != 1 {
		t.Error("a usage trigger fires above N, not at N")
	}
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	for _, c := range []struct {
		measure callbill.BudgetMeasure
		actual  string
		now     string
		want    string
	}{
		{callbill.BudgetAmount, "10.00", "2026-10-01T00:05:00+08:00", "310.00"}, // day 1 begun
		{callbill.BudgetAmount, "10.00", "2026-09-30T23:59:59+08:00", "10.00"},  // before the cycle: what it holds
		{callbill.BudgetAmount, "12.34", "2026-10-20T12:00:00+08:00", "19.13"},  // 12.34 × 31 / 20 = 19.127
		{callbill.BudgetAmount, "12.34", "2026-10-31T23:59:59+08:00", "12.34"},  // the last day
		{callbill.BudgetAmount, "12.34", "2026-11-01T00:00:00+08:00", "12.34"},  // ended, not closed
		{callbill.BudgetAmount, "12.34", "2026-10-19T23:00:00+07:00", "19.13"},  // the billing time zone's day (the 20th)
		{callbill.BudgetMinutes, "11", "2026-10-20T12:00:00+08:00", "17"},       // 17.05 minutes
	} {
		if got := Forecast(c.measure, dec(c.actual), oct, at(c.now), loc).String(); got != c.want && got != strings.TrimSuffix(c.want, ".00") {
			t.Errorf("forecast of %s at %s: %s, want %s", c.actual, c.now, got, c.want)
		}
	}
	if got := FormatAmount(callbill.BudgetAmount, Forecast(callbill.BudgetAmount, dec("10.00"), oct, at("2026-10-01T00:05:00+08:00"), loc)); got != "310.00" {
		t.Errorf("formatted forecast %s", got)
	}
}

// TestActualPerScope: the total, an item, an instance, an item's minutes
// (those packages covered included).
func TestActualPerScope(t *testing.T) {
	l1 := line(callbill.ItemFixedLineOutbound, "i1", "3.00", 20)
	l1.Covered = decimal.NewFromInt(5)
	sp := &callbill.Spend{Cycle: oct, Payable: dec("4.50"), Lines: []callbill.Line{l1, line(callbill.ItemFixedLineInbound, "i2", "1.50", 50)}}
	for _, c := range []struct {
		b    callbill.Budget
		want string
	}{
		{callbill.Budget{Scope: callbill.BudgetTotal, Measure: callbill.BudgetAmount}, "4.5"},
		{callbill.Budget{Scope: callbill.BudgetItem, Item: callbill.ItemFixedLineInbound, Measure: callbill.BudgetAmount}, "1.5"},
		{callbill.Budget{Scope: callbill.BudgetInstance, Instance: "i1", Measure: callbill.BudgetAmount}, "3"},
		{callbill.Budget{Scope: callbill.BudgetItem, Item: callbill.ItemFixedLineOutbound, Measure: callbill.BudgetMinutes}, "25"},
		{callbill.Budget{Scope: callbill.BudgetItem, Item: callbill.ItemInbound400, Measure: callbill.BudgetMinutes}, "0"},
	} {
		if got := Actual(&c.b, sp).String(); got != c.want {
			t.Errorf("%s: %s, want %s", describe(&c.b), got, c.want)
		}
	}
	if !Actual(&callbill.Budget{Scope: callbill.BudgetTotal}, nil).IsZero() {
		t.Error("no spend is 0")
	}
}

func service(m *memStore, sp *memSpend) *Service { return &Service{Store: m, Spend: sp} }

// TestSetBounds: an instance of another account and the 51st budget are
// refused; the same budget again is the same one.
func TestSetBounds(t *testing.T) {
	ctx := context.Background()
	m, sp := newMem(), &memSpend{}
	svc := service(m, sp)
	if _, err := svc.Set(ctx, SetInput{Account: "1", Scope: callbill.BudgetInstance, Instance: "inst-2", Measure: callbill.BudgetAmount, Amount: dec("1")}); callbill.ErrorCode(err) != callbill.EINVALID {
		t.Errorf("another account's instance: %v", err)
	}
	if _, err := svc.Set(ctx, SetInput{Account: "9", Scope: callbill.BudgetTotal, Measure: callbill.BudgetAmount, Amount: dec("1")}); callbill.ErrorCode(err) != callbill.ENOTFOUND {
		t.Errorf("unknown account: %v", err)
	}
	for i := 0; i < MaxBudgets; i++ {
		m.budgets = append(m.budgets, callbill.Budget{ID: fmt.Sprint("x", i), Account: "1", Scope: callbill.BudgetInstance, Instance: fmt.Sprint("i", i),
			Measure: callbill.BudgetAmount, Amount: dec("1"), Thresholds: []int{100}})
	}
	_, err := svc.Set(ctx, SetInput{Account: "1", Scope: callbill.BudgetTotal, Measure: callbill.BudgetAmount, Amount: dec("1")})
	if callbill.ErrorCode(err) != callbill.EREFUSED || !strings.Contains(err.Error(), "remove one first") {
		t.Errorf("budget %d: %v", MaxBudgets+1, err)
	}
	// Replacing one of the 50 is fine.
	m.budgets[0].Instance = "inst-1"
	res, err := svc.Set(ctx, SetInput{Account: "1", Scope: callbill.BudgetInstance, Instance: "inst-1", Measure: callbill.BudgetAmount, Amount: dec("2")})
	if err != nil || res.Replaced == nil || res.Replaced.ID != "x0" {
		t.Errorf("replacing the budget of inst-1: %+v %v", res, err)
	}
}

// TestACycleClosedMeanwhileIsNotFired: the spend was read while October was
// open; a close committed before the alerts are written: nothing fires.
// A budget removed meanwhile fires nothing either.
func TestACycleClosedMeanwhileIsNotFired(t *testing.T) {
	ctx := context.Background()
	m, sp := newMem(), &memSpend{}
	svc := service(m, sp)
	if _, err := svc.Set(ctx, SetInput{Account: "1", Scope: callbill.BudgetTotal, Measure: callbill.BudgetAmount, Amount: dec("10")}); err != nil {
		t.Fatal(err)
	}
	sp.set("1", oct, line(callbill.ItemFixedLineOutbound, "inst-1", "20.00", 100))
	m.calls["1"] = 1
	m.beforeRecord = func(m *memStore) { m.closed = oct }
	rep, err := svc.Evaluate(ctx, []string{"1"})
	if err != nil || len(rep.Fired) != 0 || len(m.alerts) != 0 || len(m.events) != 0 {
		t.Fatalf("closed meanwhile: %+v %v", rep, err)
	}
	m.closed = 0
	m.beforeRecord = func(m *memStore) { m.budgets[0].RemovedAt = m.now }
	m.calls["1"] = 2
	if rep, err := svc.Evaluate(ctx, []string{"1"}); err != nil || len(rep.Fired) != 0 {
		t.Fatalf("removed meanwhile: %+v %v", rep, err)
	}
	m.beforeRecord = nil
}

// TestWatcherCostsNothingWithoutBudgetsAndRetries: accounts without budgets
// never read a spend; a failed evaluation is counted and done again at the
// next import's round; the pass catches what no import brings back.
func TestWatcherCostsNothingWithoutBudgetsAndRetries(t *testing.T) {
	ctx := context.Background()
	m, sp := newMem(), &memSpend{}
	svc := service(m, sp)
	w := NewWatcher(svc, nil)
	w.Committed(ctx, []string{"1", "2"})
	if err := w.Flush(ctx); err != nil || sp.reads != 0 {
		t.Fatalf("no budgets: %d spend reads, %v", sp.reads, err)
	}
	if _, err := svc.Set(ctx, SetInput{Account: "1", Scope: callbill.BudgetTotal, Measure: callbill.BudgetAmount, Amount: dec("10"), Thresholds: []int{50, 100}}); err != nil {
		t.Fatal(err)
	}
	sp.set("1", oct, line(callbill.ItemFixedLineOutbound, "inst-1", "6.00", 40))
	m.calls["1"] = 1
	sp.reads = 0
	m.failRecord = errors.New("disk full")
	w.Committed(ctx, []string{"1"})
	if err := w.round(ctx); err == nil || w.Failures() != 1 {
		t.Fatalf("a failed round: %v, %d failures", err, w.Failures())
	}
	m.failRecord = nil
	w.Committed(ctx, []string{"2"}) // the next import, of another account
	if err := w.round(ctx); err != nil {
		t.Fatal(err)
	}
	if len(m.alerts) != 1 || m.alerts[0].Threshold != 50 || len(m.events) != 1 {
		t.Fatalf("retried at the next round: %+v", m.alerts)
	}
	// Nothing imported, yet the spend moved (a world apply): the pass.
	sp.set("1", oct, line(callbill.ItemFixedLineOutbound, "inst-1", "10.00", 66))
	if rep, err := svc.Pass(ctx); err != nil || len(rep.Fired) != 0 {
		t.Fatalf("nothing moved: %+v %v", rep, err)
	}
	m.gen++
	if rep, err := svc.Pass(ctx); err != nil || len(rep.Fired) != 1 || rep.Fired[0].Threshold != 100 {
		t.Fatalf("the pass after a world change: %+v %v", rep, err)
	}
	// A new cycle is a change too (the spend of the new one begins).
	reads := sp.reads
	m.now = m.now.AddDate(0, 1, 0)
	if _, err := svc.Pass(ctx); err != nil || sp.reads != reads+1 {
		t.Fatalf("a new cycle: %d reads, %v", sp.reads-reads, err)
	}
	if _, err := svc.Pass(ctx); err != nil || sp.reads != reads+1 {
		t.Fatalf("the same cycle again: %d reads, %v", sp.reads-reads, err)
	}
}

// TestABudgetWatchesFromItsCycle: a budget set in November ignores the
// October still open (its late calls), and a removed budget none.
func TestABudgetWatchesFromItsCycle(t *testing.T) {
	ctx := context.Background()
	m, sp := newMem(), &memSpend{}
	m.now = time.Date(2026, 11, 1, 9, 0, 0, 0, loc)
	svc := service(m, sp)
	sp.set("1", oct, line(callbill.ItemFixedLineOutbound, "inst-1", "50.00", 100))
	sp.set("1", oct+1, line(callbill.ItemFixedLineOutbound, "inst-1", "4.00", 10))
	res, err := svc.Set(ctx, SetInput{Account: "1", Scope: callbill.BudgetTotal, Measure: callbill.BudgetAmount, Amount: dec("10"), Thresholds: []int{20, 50}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Fired) != 1 || res.Fired[0].Cycle != oct+1 || res.Fired[0].Threshold != 20 {
		t.Fatalf("fired: %+v", res.Fired)
	}
	sts, c, err := svc.Statuses(ctx, "1")
	if err != nil || c != oct+1 || len(sts) != 1 {
		t.Fatalf("statuses: %+v %v", sts, err)
	}
	st := sts[0]
	// 4.00 on the 1st of a 30-day month: 120.00 forecast; 40 % used.
	if st.Actual.String() != "4" || FormatAmount(callbill.BudgetAmount, st.Forecast) != "120.00" || st.Used.String() != "40" ||
		fmt.Sprint(st.Reached) != "[20]" || len(st.Alerts) != 1 {
		t.Fatalf("status: %+v", st)
	}
}
