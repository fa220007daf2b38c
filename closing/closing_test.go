package closing_test

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/shopspring/decimal"
)

// mem keeps bills in memory: the close rules run without a database.
type mem struct {
	now          time.Time
	clockReads   int
	billable     callbill.Cycle // billing.first_cycle
	closed       callbill.Cycle
	first        callbill.Cycle
	accts        map[string]*closing.Account
	purchases    map[callbill.Cycle]map[string][]callbill.Line
	bills        map[callbill.Cycle]map[string]closing.Frozen
	ledger       []callbill.LedgerEntry
	events       []callbill.Event
	cause        string
	usage        map[callbill.Cycle][]callbill.UsageRow // every account's usage rows, by cycle
	accountReads int
}

func (m *mem) UpdateClosing(ctx context.Context, fn func(tx closing.Tx, now time.Time) error) error {
	m.clockReads++
	return fn(m, m.now)
}

func (m *mem) ViewBills(ctx context.Context, fn func(tx closing.Tx, now time.Time) error) error {
	m.clockReads++
	return fn(m, m.now)
}

func (m *mem) Location(ctx context.Context) (*time.Location, error) { return time.UTC, nil }

func (m *mem) Window(ctx context.Context, now time.Time, loc *time.Location) (callbill.Window, error) {
	return callbill.NewWindow(m.billable, 0, now, loc), nil
}

func (m *mem) ClosedThrough(ctx context.Context) (callbill.Cycle, error) { return m.closed, nil }
func (m *mem) FirstActivity(ctx context.Context) (callbill.Cycle, error) { return m.first, nil }
func (m *mem) PriceBook(ctx context.Context) (*callbill.PriceBook, error) {
	return callbill.NewPriceBook(nil), nil
}

func (m *mem) Accounts(ctx context.Context) ([]closing.Account, error) {
	var out []closing.Account
	for _, a := range m.accts {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out, nil
}

func (m *mem) CountAccounts(ctx context.Context) (int, error) { return len(m.accts), nil }

func (m *mem) Account(ctx context.Context, uid string) (*callbill.Account, error) {
	m.accountReads++
	if a, ok := m.accts[uid]; ok {
		return &a.Account, nil
	}
	return nil, callbill.Errorf(callbill.ENOTFOUND, "account %s not found", uid)
}

func (m *mem) PostpaidInputs(ctx context.Context, q closing.InputsQuery) (map[string]*callbill.PostpaidInput, error) {
	out := map[string]*callbill.PostpaidInput{}
	for _, a := range q.Accounts {
		out[a.UID] = &callbill.PostpaidInput{Account: a, Cycle: q.Cycle, Daily: q.Daily, Minutes400: map[string]int64{}, RecordingBytes: map[string]int64{},
			Usage: m.usage[q.Cycle]}
	}
	return out, nil
}

func (m *mem) Purchases(ctx context.Context, account string, c callbill.Cycle, loc *time.Location) ([]callbill.Line, error) {
	return append([]callbill.Line(nil), m.purchases[c][account]...), nil
}

func (m *mem) AllPurchases(ctx context.Context, c callbill.Cycle, loc *time.Location) (map[string][]callbill.Line, error) {
	out := map[string][]callbill.Line{}
	for uid, ls := range m.purchases[c] {
		out[uid] = append([]callbill.Line(nil), ls...)
	}
	return out, nil
}

func (m *mem) ClosedBill(ctx context.Context, account string, c callbill.Cycle) (*closing.Frozen, error) {
	f, ok := m.bills[c][account]
	if !ok {
		return &closing.Frozen{Account: account, Total: decimal.Zero, RoundDown: decimal.Zero, Paid: decimal.Zero}, nil
	}
	f.Lines = nil
	return &f, nil
}

func (m *mem) ClosedLines(ctx context.Context, account string, c callbill.Cycle) ([]callbill.Line, error) {
	return m.bills[c][account].Lines, nil
}

func (m *mem) Adjustments(ctx context.Context, account string, c callbill.Cycle) ([]callbill.LedgerEntry, error) {
	return nil, nil
}

func (m *mem) Post(ctx context.Context, e *callbill.LedgerEntry) error {
	a := m.accts[e.Account]
	a.Cash = a.Cash.Add(e.Amount)
	m.ledger = append(m.ledger, *e)
	return nil
}

func (m *mem) InsertBills(ctx context.Context, c callbill.Cycle, bills []closing.Frozen, now time.Time) error {
	if m.bills[c] == nil {
		m.bills[c] = map[string]closing.Frozen{}
	}
	for _, b := range bills {
		m.bills[c][b.Account] = b
	}
	return nil
}

func (m *mem) Emit(ctx context.Context, events []callbill.Event, now time.Time) error {
	m.events = append(m.events, events...)
	return nil
}

func (m *mem) CloseThrough(ctx context.Context, c callbill.Cycle, now time.Time, cause string) error {
	m.closed, m.cause = c, cause
	return nil
}

var (
	sep = callbill.NewCycle(2026, time.September)
	oct = callbill.NewCycle(2026, time.October)
	nov = callbill.NewCycle(2026, time.November)
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// account is a payg account with one CCC 400 number, which owes the
// monthly minimum every cycle it has no calls.
func account(uid, cash string) *closing.Account {
	n := callbill.Number{Number: "400800" + uid, Instance: "i-" + uid, Kind: callbill.Number400, Source: callbill.SourceCCC, Tier: "普通"}
	return &closing.Account{Account: callbill.Account{UID: uid, Instances: []callbill.Instance{
		{ID: "i-" + uid, Account: uid, Mode: callbill.ModePayg, Numbers: []callbill.Number{n}}}}, Cash: dec(cash)}
}

func fixture() (*mem, *closing.Service) {
	m := &mem{now: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC), billable: sep, first: sep,
		accts:     map[string]*closing.Account{"1001": account("1001", "100.00"), "1002": account("1002", "0")},
		purchases: map[callbill.Cycle]map[string][]callbill.Line{},
		bills:     map[callbill.Cycle]map[string]closing.Frozen{}}
	return m, &closing.Service{Store: m}
}

func code(err error) string { return callbill.ErrorCode(err) }

func TestCloseRefusesCyclesThatCannotClose(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	if _, err := s.Close(ctx, closing.CloseInput{Cycle: nov}); code(err) != callbill.EREFUSED {
		t.Errorf("an open cycle: %v", err)
	}
	if _, err := s.Close(ctx, closing.CloseInput{Cycle: sep - 1}); code(err) != callbill.EINVALID {
		t.Errorf("before the first billable cycle: %v", err)
	}
	if _, err := s.Close(ctx, closing.CloseInput{Cycle: -1}); code(err) != callbill.EINVALID {
		t.Errorf("a negative cycle: %v", err)
	}
	// Once later cycles are closed, an earlier one before the first
	// billable cycle is still "nothing there", not "already closed".
	m.closed = oct
	if _, err := s.Close(ctx, closing.CloseInput{Cycle: sep - 2}); code(err) != callbill.EINVALID {
		t.Errorf("before the first billable cycle, later ones closed: %v", err)
	}
	if len(m.ledger) != 0 || len(m.events) != 0 {
		t.Errorf("a refused close wrote: %v %v", m.ledger, m.events)
	}
}

// TestCloseRefusesWithoutAccounts: a deployment without accounts cannot
// be closed (nothing would be billed, and a closed cycle never reopens);
// the message says why, and nothing changes.
func TestCloseRefusesWithoutAccounts(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	m.accts = map[string]*closing.Account{}
	_, err := s.Close(ctx, closing.CloseInput{Cycle: oct})
	if code(err) != callbill.EREFUSED || !strings.Contains(err.Error(), "there are no accounts") || !strings.Contains(err.Error(), "irreversible") {
		t.Fatalf("close without accounts: %v", err)
	}
	if m.closed != 0 || len(m.bills) != 0 || len(m.events) != 0 {
		t.Errorf("a refused close changed the state: closed %s, bills %v", m.closed, m.bills)
	}
	p, err := s.NextAutoClose(ctx)
	if err != nil || p.Accounts != 0 {
		t.Errorf("plan %+v, %v", p, err)
	}
}

// TestCloseReportsCyclesWithoutCalls: the report names the cycles closed in
// which no account had a call.
func TestCloseReportsCyclesWithoutCalls(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	m.usage = map[callbill.Cycle][]callbill.UsageRow{sep: {{PD: callbill.PDPostpaid, Instance: "i-1001", Item: callbill.ItemFixedLineInbound,
		Micro: 30000, Usage: 3}}}
	rep, err := s.Close(ctx, closing.CloseInput{Cycle: oct})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Closed) != 2 || len(rep.WithoutCalls) != 1 || rep.WithoutCalls[0] != oct {
		t.Errorf("report %+v: want 2026-10 without calls", rep)
	}
}

// TestNextAutoClose: the automatic close closes the oldest ended cycle not
// closed, due at 12:00 on the 2nd of the month after it, taking earlier
// open cycles with it; once it is closed, the current cycle is next.
func TestNextAutoClose(t *testing.T) {
	ctx := context.Background()
	m, s := fixture() // now 2026-11-03, activity from 2026-09, nothing closed
	p, err := s.NextAutoClose(ctx)
	if err != nil {
		t.Fatal(err)
	}
	due := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	if p.Cycle != oct || p.From != sep || !p.At.Equal(due) || p.Accounts != 2 || len(p.Cycles()) != 2 {
		t.Errorf("plan %+v, want 2026-09..2026-10 due %v", p, due)
	}
	m.closed = oct
	if p, _ = s.NextAutoClose(ctx); p.Cycle != nov || p.From != nov || !p.At.Equal(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("after the close: %+v", p)
	}
	// A first billable cycle in the future is the first that can close.
	m.closed, m.billable = 0, nov+2
	if p, _ = s.NextAutoClose(ctx); p.Cycle != nov+2 || p.From != nov+2 {
		t.Errorf("first billable cycle later: %+v", p)
	}
}

func TestCloseCatchesUpOnceWithOneClockReading(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	m.first = sep - 3 // activity before the first billable cycle: never closed
	rep, err := s.Close(ctx, closing.CloseInput{Cycle: oct})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Closed) != 2 || rep.Closed[0] != sep || rep.Closed[1] != oct || rep.AlreadyClosed || m.closed != oct {
		t.Fatalf("report %+v, closed through %s", rep, m.closed)
	}
	if m.clockReads != 1 || m.cause != "bill 2026-10 closed" {
		t.Errorf("clock read %d times; standing cause %q", m.clockReads, m.cause)
	}
	again, err := s.Close(ctx, closing.CloseInput{Cycle: sep})
	if err != nil || !again.AlreadyClosed || len(again.Closed) != 0 {
		t.Errorf("closing again: %+v, %v", again, err)
	}
}

func TestCloseDeductsCashAndEmitsTheBillsTotals(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	m.accts["1001"].Cash = dec("500.00")
	m.purchases[oct] = map[string][]callbill.Line{"1002": {{PurchaseID: "P1", ProductDetail: callbill.PDVoicePackage,
		SubscriptionType: callbill.SubscriptionTypeSubscription, Original: dec("100.00"), Discount: dec("10.00"), Payable: dec("90.00")}}}
	if _, err := s.Close(ctx, closing.CloseInput{Cycle: oct}); err != nil {
		t.Fatal(err)
	}
	sepBill, octBill := m.bills[sep]["1001"], m.bills[oct]["1001"]
	if !sepBill.Total.IsPositive() || len(sepBill.Lines) != 1 || sepBill.Lines[0].Item != callbill.ItemInbound400Minimum {
		t.Fatalf("September's bill %+v", sepBill)
	}
	// 1001 pays September in full, October as far as its cash goes.
	wantOct := decimal.Min(dec("500.00").Sub(sepBill.Total), octBill.Total)
	if !sepBill.Paid.Equal(sepBill.Total) || !octBill.Paid.Equal(wantOct) {
		t.Errorf("paid %s of %s, %s of %s", sepBill.Paid, sepBill.Total, octBill.Paid, octBill.Total)
	}
	if len(m.ledger) != 2 || m.ledger[0].Kind != callbill.LedgerDeduct || m.ledger[1].Ref != "bill:2026-10" ||
		!m.ledger[1].Amount.Equal(wantOct.Neg()) {
		t.Errorf("ledger %+v", m.ledger)
	}
	if b := m.bills[oct]["1002"]; !b.Paid.IsZero() {
		t.Errorf("1002 has no cash but paid %s", b.Paid)
	}
	// Every account's bill.closed event has its bill view's totals,
	// purchases included.
	if len(m.events) != 4 {
		t.Fatalf("%d events", len(m.events))
	}
	for _, e := range m.events {
		d := e.Data.(callbill.BillClosedEvent)
		c, _ := callbill.ParseCycle(d.Cycle)
		b, err := s.Bill(ctx, closing.BillInput{Account: e.Account, Cycle: c})
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind != callbill.EventBillClosed || d.Totals != b.Totals.JSON() || b.Status != callbill.BillStatusClosed {
			t.Errorf("%s %s: event %+v, bill %+v", e.Account, d.Cycle, d.Totals, b.Totals.JSON())
		}
	}
	last := m.events[3].Data.(callbill.BillClosedEvent)
	if last.Account != "1002" || last.Cycle != "2026-10" || last.Totals.Paid != "90.00" {
		t.Errorf("1002's October: %+v", last)
	}
}

func TestBillViews(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	if _, err := s.Bill(ctx, closing.BillInput{Account: "1009", Cycle: oct}); code(err) != callbill.ENOTFOUND {
		t.Errorf("an unknown account: %v", err)
	}
	if _, err := s.Bill(ctx, closing.BillInput{Account: "1001", Cycle: nov + 2}); code(err) != callbill.EINVALID {
		t.Errorf("far ahead: %v", err)
	}
	open, err := s.Bill(ctx, closing.BillInput{Account: "1001", Cycle: nov})
	if err != nil || open.Status != callbill.BillStatusOpen || len(open.Lines) != 1 || !open.Totals.Paid.IsZero() {
		t.Fatalf("the open bill: %+v, %v", open, err)
	}
	// A closed bill shows its frozen lines; its daily view splits the
	// usage afresh but keeps the frozen totals.
	m.closed = oct
	m.bills[oct] = map[string]closing.Frozen{"1001": {Account: "1001", Total: dec("5.00"), RoundDown: dec("0.004"), Paid: dec("2.00"),
		Lines: []callbill.Line{{ProductDetail: callbill.PDPostpaid, Item: callbill.ItemInbound400Minimum, Original: dec("5.00"),
			Discount: decimal.Zero, Payable: dec("5.00")}}}}
	b, err := s.Bill(ctx, closing.BillInput{Account: "1001", Cycle: oct})
	if err != nil || b.Status != callbill.BillStatusClosed || b.Totals.JSON().Payable != "5.00" || b.Totals.JSON().Paid != "2.00" ||
		b.Totals.JSON().RoundDown != "0.004" {
		t.Fatalf("the closed bill: %+v, %v", b, err)
	}
	daily, err := s.Bill(ctx, closing.BillInput{Account: "1001", Cycle: oct, Daily: true})
	if err != nil || daily.Lines[0].Day != 31 || !daily.PostpaidPayable.Equal(dec("5.00")) {
		t.Fatalf("the daily view: %+v, %v", daily, err)
	}
}

// TestLiveBillFramesFollowTheVersion: with Frames, an open cycle's bill
// reads its frame (account, purchases, …) once per store version and its
// aggregates every time, so new calls show at once and a purchase shows
// when the version moves; a closed cycle's bill and a bill asked without a
// version read everything.
func TestLiveBillFramesFollowTheVersion(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	s.Frames = &closing.Frames{}
	bill := func(c callbill.Cycle, version string) *callbill.Bill {
		t.Helper()
		b, err := s.Bill(ctx, closing.BillInput{Account: "1001", Cycle: c, Version: version})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	m.usage = map[callbill.Cycle][]callbill.UsageRow{nov: {{PD: callbill.PDPostpaid, Instance: "i-1001", Item: callbill.ItemFixedLineInbound,
		Micro: 30000, Usage: 3}}}
	first := bill(nov, "v1")
	if m.accountReads != 1 {
		t.Fatalf("the first bill read the account %d times", m.accountReads)
	}
	m.usage[nov] = append(m.usage[nov], callbill.UsageRow{PD: callbill.PDPostpaid, Instance: "i-1001", Item: callbill.ItemFixedLineInbound,
		Micro: 30000, Usage: 5})
	more := bill(nov, "v1")
	if m.accountReads != 1 {
		t.Errorf("the frame was read again at the same version: %d reads", m.accountReads)
	}
	if !more.Totals.Original.GreaterThan(first.Totals.Original) {
		t.Errorf("new calls did not show: %s then %s", first.Totals.Original, more.Totals.Original)
	}
	m.purchases[nov] = map[string][]callbill.Line{"1001": {{PurchaseID: "P1", ProductDetail: callbill.PDVoicePackage,
		SubscriptionType: callbill.SubscriptionTypeSubscription, Original: dec("100.00"), Discount: dec("10.00"), Payable: dec("90.00")}}}
	if b := bill(nov, "v1"); len(b.Lines) != len(more.Lines) {
		t.Errorf("a purchase showed before the version moved: %d lines, %d before", len(b.Lines), len(more.Lines))
	}
	withPurchase := bill(nov, "v2")
	if m.accountReads != 2 || len(withPurchase.Lines) != len(more.Lines)+1 {
		t.Errorf("at a new version: %d account reads, %d lines (want 2, %d)", m.accountReads, len(withPurchase.Lines), len(more.Lines)+1)
	}
	// A bill shares nothing it could change with the frame.
	withPurchase.Lines[0].Original = dec("999")
	withPurchase.Adjustments = append(withPurchase.Adjustments, callbill.LedgerEntry{})
	if again := bill(nov, "v2"); again.Lines[0].Original.Equal(dec("999")) || len(again.Adjustments) != 0 {
		t.Errorf("a bill changed the frame: %+v", again)
	}
	reads := m.accountReads
	bill(nov, "")
	bill(nov, "")
	m.closed = oct
	m.bills[oct] = map[string]closing.Frozen{"1001": {Account: "1001", Total: dec("5.00")}}
	bill(oct, "v2")
	bill(oct, "v2")
	if m.accountReads != reads+4 {
		t.Errorf("bills without a version or of a closed cycle read the account %d times, want 4", m.accountReads-reads)
	}
}

// TestCloseTellsItsOutcome: every close, whatever it comes to, is told to
// Observe once with its outcome: closed, already closed, refused (the
// request or the state forbids it) or failed (the store failed it).
func TestCloseTellsItsOutcome(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	var got []string
	s.Observe = func(outcome string, took time.Duration) {
		if took < 0 {
			t.Errorf("%s took %v", outcome, took)
		}
		got = append(got, outcome)
	}
	s.Close(ctx, closing.CloseInput{Cycle: oct})
	s.Close(ctx, closing.CloseInput{Cycle: oct})
	s.Close(ctx, closing.CloseInput{Cycle: nov})                           // not ended
	s.Close(ctx, closing.CloseInput{Cycle: -1})                            // not a cycle
	failing := &closing.Service{Store: brokenStore{m}, Observe: s.Observe} // the store fails
	if _, err := failing.Close(ctx, closing.CloseInput{Cycle: nov + 1}); err == nil {
		t.Fatal("a failing store closed")
	}
	want := []string{closing.CloseClosed, closing.CloseAlreadyClosed, closing.CloseRefused, closing.CloseRefused, closing.CloseFailed}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	for _, o := range got {
		if !slices.Contains(closing.CloseOutcomes, o) {
			t.Errorf("outcome %q is not in CloseOutcomes", o)
		}
	}
}

// brokenStore fails every transaction as a database would.
type brokenStore struct{ *mem }

func (brokenStore) UpdateClosing(ctx context.Context, fn func(tx closing.Tx, now time.Time) error) error {
	return errors.New("database is locked")
}

// TestPlanAutoCloseDueSince: the plan read from a Backlog's close state is
// NextAutoClose's; DueSince is when the oldest open cycle became due (so an
// alert on it fires for a close missed months ago too), zero without
// accounts.
func TestPlanAutoCloseDueSince(t *testing.T) {
	ctx := context.Background()
	m, s := fixture() // now 2026-11-03, activity from 2026-09, nothing closed
	want, err := s.NextAutoClose(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := callbill.CloseState{Closed: m.closed, FirstActivity: m.first, Window: callbill.NewWindow(m.billable, 0, m.now, time.UTC),
		Loc: time.UTC, Accounts: 1}
	p := closing.PlanAutoClose(m.now, st)
	if p.Cycle != want.Cycle || p.From != want.From || !p.At.Equal(want.At) {
		t.Errorf("plan %+v, NextAutoClose %+v", p, want)
	}
	if due := time.Date(2026, 10, 2, 12, 0, 0, 0, time.UTC); !p.DueSince().Equal(due) {
		t.Errorf("due since %v, want %v (2026-09's close)", p.DueSince(), due)
	}
	st.Closed = sep
	if p := closing.PlanAutoClose(m.now, st); !p.DueSince().Equal(p.At) || p.From != oct {
		t.Errorf("one open cycle: due since %v, at %v", p.DueSince(), p.At)
	}
	st.Accounts = 0
	if p := closing.PlanAutoClose(m.now, st); !p.DueSince().IsZero() {
		t.Errorf("without accounts: due since %v", p.DueSince())
	}
}
