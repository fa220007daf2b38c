// Package closing is closing cycles and viewing bills (docs/rules.md, "Closing a cycle"): which
// cycles a close reaches, the frozen postpaid lines, what cash pays toward
// them, the bill.closed events, and the bill of a closed or open cycle. The
// rules live here; Store persists inside one transaction and decides nothing.
package closing

import (
	"context"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// Store opens the transactions the service works in.
type Store interface {
	// UpdateClosing runs fn in one transaction that no other close or
	// writer runs beside, with the transaction's one clock reading.
	UpdateClosing(ctx context.Context, fn func(tx Tx, now time.Time) error) error
	// ViewBills runs fn in a read-only transaction, with its one clock
	// reading.
	ViewBills(ctx context.Context, fn func(tx Tx, now time.Time) error) error
}

// Tx is what the service reads and writes inside a transaction.
type Tx interface {
	// Location returns the billing time zone.
	Location(ctx context.Context) (*time.Location, error)
	// Window returns the plausibility window in force at now.
	Window(ctx context.Context, now time.Time, loc *time.Location) (callbill.Window, error)
	// ClosedThrough returns the last closed cycle, 0 when none is closed.
	ClosedThrough(ctx context.Context) (callbill.Cycle, error)
	// FirstActivity returns the earliest cycle holding any call, purchase
	// or top-up, 0 when none.
	FirstActivity(ctx context.Context) (callbill.Cycle, error)
	// PriceBook returns the price book.
	PriceBook(ctx context.Context) (*callbill.PriceBook, error)
	// Accounts returns every account with its cash, by uid.
	Accounts(ctx context.Context) ([]Account, error)
	// CountAccounts returns how many accounts there are.
	CountAccounts(ctx context.Context) (int, error)
	// Account returns one account. Returns ENOTFOUND if it does not exist.
	Account(ctx context.Context, uid string) (*callbill.Account, error)
	// PostpaidInputs returns the aggregates of q's accounts' cycle, by uid:
	// usage rows (per day when q.Daily), 400 minutes per number and the
	// recording bytes of each account's retention window. Loc and Book are
	// left for the caller.
	PostpaidInputs(ctx context.Context, q InputsQuery) (map[string]*callbill.PostpaidInput, error)
	// Purchases returns the purchase lines of an account's cycle c, in time
	// order.
	Purchases(ctx context.Context, account string, c callbill.Cycle, loc *time.Location) ([]callbill.Line, error)
	// AllPurchases returns the purchase lines of every account's cycle c
	// (only their amounts), by account, in time order.
	AllPurchases(ctx context.Context, c callbill.Cycle, loc *time.Location) (map[string][]callbill.Line, error)
	// ClosedBill returns an account's closed bill of c as frozen, without
	// its lines: its postpaid total, round-down and what was paid toward it
	// (zeros when the account had no bill).
	ClosedBill(ctx context.Context, account string, c callbill.Cycle) (*Frozen, error)
	// ClosedLines returns the postpaid lines of an account's closed bill of
	// c, in order.
	ClosedLines(ctx context.Context, account string, c callbill.Cycle) ([]callbill.Line, error)
	// Adjustments returns the adjustments made in an account's cycle c.
	Adjustments(ctx context.Context, account string, c callbill.Cycle) ([]callbill.LedgerEntry, error)
	// Post appends a ledger entry to e.Account's ledger and moves its cash.
	Post(ctx context.Context, e *callbill.LedgerEntry) error
	// InsertBills stores the closed bills of c with their lines, closed at now.
	InsertBills(ctx context.Context, c callbill.Cycle, bills []Frozen, now time.Time) error
	// Emit writes events and their deliveries, at now.
	Emit(ctx context.Context, events []callbill.Event, now time.Time) error
	// CloseThrough records c as the last closed cycle and every account's
	// standing after it as of now, cause naming why.
	CloseThrough(ctx context.Context, c callbill.Cycle, now time.Time, cause string) error
}

// InputsQuery asks for the postpaid aggregates of accounts' cycle.
type InputsQuery struct {
	Cycle    callbill.Cycle
	Accounts []*callbill.Account
	Daily    bool // usage per day (the daily view) instead of per cycle
}

// Account is an account and its cash.
type Account struct {
	callbill.Account
	Cash decimal.Decimal
}

// Frozen is an account's closed bill of a cycle: the postpaid lines as
// frozen, their total payable (rounded down), the dropped fraction and what
// the close paid toward it.
type Frozen struct {
	Account                string
	Lines                  []callbill.Line
	Total, RoundDown, Paid decimal.Decimal
}

// Service closes cycles and shows bills.
type Service struct {
	Store Store
	// Frames, when set, keeps live bills' frames across calls to Bill
	// (BillInput.Version).
	Frames *Frames
	// Observe, when set, is told each close's outcome (CloseOutcomes) and
	// how long it took: the metrics' close durations.
	Observe func(outcome string, took time.Duration)
}

// Outcomes of a close, as Observe is told them.
const (
	CloseClosed        = "closed"         // it closed one cycle or more
	CloseAlreadyClosed = "already_closed" // the cycle was closed already: nothing changed
	CloseRefused       = "refused"        // the request or the state forbids it (a cycle not ended, no accounts): nothing changed
	CloseFailed        = "failed"         // the store or a bug failed it: nothing changed, and it must be looked at
)

// CloseOutcomes lists every outcome of a close.
var CloseOutcomes = []string{CloseClosed, CloseAlreadyClosed, CloseRefused, CloseFailed}

// closeOutcome names what a close came to.
func closeOutcome(rep *callbill.CloseReport, err error) string {
	switch {
	case err == nil && rep.AlreadyClosed:
		return CloseAlreadyClosed
	case err == nil:
		return CloseClosed
	}
	switch callbill.ErrorCode(err) {
	case callbill.EINVALID, callbill.EREFUSED, callbill.ENOTFOUND, callbill.ECONFLICT:
		return CloseRefused
	}
	return CloseFailed
}

// CloseInput names the cycle to close.
type CloseInput struct {
	Cycle callbill.Cycle
}

// Validate says what is wrong with the input.
func (in *CloseInput) Validate() error {
	if in.Cycle < 0 {
		return callbill.Errorf(callbill.EINVALID, "the cycle to close must be a month (YYYY-MM)")
	}
	return nil
}

// Close closes in.Cycle and, oldest first, every earlier cycle not yet
// closed from the first cycle holding any activity (docs/rules.md, "Closing a cycle"). It is
// atomic and idempotent. Returns EREFUSED for a cycle that has not ended,
// EINVALID for one before the first billable cycle.
func (s *Service) Close(ctx context.Context, in CloseInput) (*callbill.CloseReport, error) {
	started := time.Now()
	rep, err := s.close(ctx, in)
	if s.Observe != nil {
		s.Observe(closeOutcome(rep, err), time.Since(started))
	}
	return rep, err
}

func (s *Service) close(ctx context.Context, in CloseInput) (*callbill.CloseReport, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	c := in.Cycle
	var rep *callbill.CloseReport
	err := s.Store.UpdateClosing(ctx, func(tx Tx, now time.Time) error {
		rep = &callbill.CloseReport{}
		closed, err := tx.ClosedThrough(ctx)
		if err != nil {
			return err
		}
		loc, err := tx.Location(ctx)
		if err != nil {
			return err
		}
		if c <= closed {
			// A cycle before the first billable one was never closed, even
			// when a later one was: say so rather than "already closed".
			if err := checkView(ctx, tx, now, loc, c, closed); err != nil {
				return err
			}
			rep.AlreadyClosed = true
			return nil
		}
		if now.Before(c.End(loc)) {
			return callbill.Errorf(callbill.EREFUSED, "cycle %s has not ended yet (it ends %s); its live preview is on the open bill",
				c, c.End(loc).Format(time.RFC3339))
		}
		window, err := tx.Window(ctx, now, loc)
		if err != nil {
			return err
		}
		if c < window.FirstCycle {
			return callbill.Errorf(callbill.EINVALID, "cycle %s is before the first billable cycle %s (billing.first_cycle): there is nothing to close",
				c, window.FirstCycle)
		}
		accts, err := tx.Accounts(ctx)
		if err != nil {
			return err
		}
		if len(accts) == 0 {
			return callbill.Errorf(callbill.EREFUSED, "there are no accounts: closing %s would bill no one, and closing is irreversible "+
				"(a purchase or top-up dated in a closed cycle is refused for good); apply the world file with the accounts first", c)
		}
		first, err := tx.FirstActivity(ctx)
		if err != nil {
			return err
		}
		start := reach(c, closed, first, window)
		book, err := tx.PriceBook(ctx)
		if err != nil {
			return err
		}
		for cy := start; cy <= c; cy++ {
			calls, err := closeAccounts(ctx, tx, accts, cy, loc, book, now)
			if err != nil {
				return err
			}
			rep.Closed = append(rep.Closed, cy)
			if !calls {
				rep.WithoutCalls = append(rep.WithoutCalls, cy)
			}
		}
		return tx.CloseThrough(ctx, c, now, "bill "+c.String()+" closed")
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// AutoClose is what the automatic close does next (docs/rules.md, "Closing a cycle").
type AutoClose struct {
	Cycle callbill.Cycle // the cycle it closes
	// From is the first cycle it closes: earlier open cycles close with
	// Cycle, oldest first (From == Cycle when there is none).
	From callbill.Cycle
	At   time.Time // when it is due: 12:00 on the 2nd of the next month
	// Accounts is how many accounts there are; with none nothing closes
	// (Close refuses).
	Accounts int
	Loc      *time.Location // the billing time zone
}

// Cycles lists the cycles the close closes, oldest first.
func (p *AutoClose) Cycles() []callbill.Cycle {
	var out []callbill.Cycle
	for c := p.From; c <= p.Cycle; c++ {
		out = append(out, c)
	}
	return out
}

// NextAutoClose tells what the automatic close does next, as of the
// store's clock (PlanAutoClose).
func (s *Service) NextAutoClose(ctx context.Context) (*AutoClose, error) {
	var p *AutoClose
	err := s.Store.ViewBills(ctx, func(tx Tx, now time.Time) error {
		var st callbill.CloseState
		var err error
		if st.Closed, err = tx.ClosedThrough(ctx); err != nil {
			return err
		}
		if st.Loc, err = tx.Location(ctx); err != nil {
			return err
		}
		if st.Window, err = tx.Window(ctx, now, st.Loc); err != nil {
			return err
		}
		if st.FirstActivity, err = tx.FirstActivity(ctx); err != nil {
			return err
		}
		if st.Accounts, err = tx.CountAccounts(ctx); err != nil {
			return err
		}
		p = PlanAutoClose(now, st)
		return nil
	})
	return p, err
}

// PlanAutoClose is what the automatic close does next as of now: close the
// oldest cycle that has ended and is not closed (it is due from its
// AutoCloseAt on, and may be due already), else the current one, with every
// earlier open cycle.
func PlanAutoClose(now time.Time, st callbill.CloseState) *AutoClose {
	c := max(callbill.CycleOf(now, st.Loc)-1, st.Closed+1, st.Window.FirstCycle)
	return &AutoClose{Cycle: c, From: reach(c, st.Closed, st.FirstActivity, st.Window), At: c.AutoCloseAt(st.Loc),
		Accounts: st.Accounts, Loc: st.Loc}
}

// DueSince is when the oldest cycle the close closes became due (12:00 on
// the 2nd after it): At, or earlier when earlier cycles are still open.
// Zero when nothing can close (there are no accounts).
func (p *AutoClose) DueSince() time.Time {
	if p.Accounts == 0 {
		return time.Time{}
	}
	return p.From.AutoCloseAt(p.Loc)
}

// reach is the first cycle a close of c closes: the one after the last
// closed, or with none closed the first holding any activity — never
// before the first billable cycle, whatever an older release let in.
func reach(c, closed, first callbill.Cycle, window callbill.Window) callbill.Cycle {
	start := c
	if closed != 0 {
		start = closed + 1
	} else if first != 0 && first < c {
		start = first
	}
	return max(start, window.FirstCycle)
}

// closeAccounts freezes every account's postpaid lines for cycle c and
// deducts each total payable from cash as far as it goes; the rest is
// outstanding. Each account's bill.closed event carries its closed bill's
// totals, the cycle's purchases (paid when made) included. It reports
// whether any account had a call billed in c.
func closeAccounts(ctx context.Context, tx Tx, accts []Account, c callbill.Cycle, loc *time.Location, book *callbill.PriceBook, now time.Time) (calls bool, err error) {
	ptrs := make([]*callbill.Account, len(accts))
	for i := range accts {
		ptrs[i] = &accts[i].Account
	}
	inputs, err := tx.PostpaidInputs(ctx, InputsQuery{Cycle: c, Accounts: ptrs})
	if err != nil {
		return false, err
	}
	purchases, err := tx.AllPurchases(ctx, c, loc)
	if err != nil {
		return false, err
	}
	bills := make([]Frozen, 0, len(accts))
	events := make([]callbill.Event, 0, len(accts))
	for i := range accts {
		a := &accts[i]
		in := inputs[a.UID]
		in.Loc, in.Book = loc, book
		calls = calls || len(in.Usage) > 0
		lines, err := callbill.PostpaidLines(in)
		if err != nil {
			return false, err
		}
		total, roundDown := callbill.RoundPostpaid(lines)
		paid := decimal.Zero
		if a.Cash.IsPositive() && total.IsPositive() {
			paid = decimal.Min(a.Cash, total)
			a.Cash = a.Cash.Sub(paid)
			if err := tx.Post(ctx, &callbill.LedgerEntry{Account: a.UID, At: now, Kind: callbill.LedgerDeduct, Amount: paid.Neg(), Cycle: c,
				Ref: "bill:" + c.String()}); err != nil {
				return false, err
			}
		}
		bills = append(bills, Frozen{Account: a.UID, Lines: lines, Total: total, RoundDown: roundDown, Paid: paid})
		b := callbill.AssembleBill(a.UID, c, callbill.BillStatusClosed, lines, roundDown, total, paid, purchases[a.UID])
		events = append(events, callbill.NewBillClosedEvent(b))
	}
	if err := tx.InsertBills(ctx, c, bills, now); err != nil {
		return false, err
	}
	return calls, tx.Emit(ctx, events, now)
}

// checkView refuses a bill view of a cycle no bill can exist in.
func checkView(ctx context.Context, tx Tx, now time.Time, loc *time.Location, c, closed callbill.Cycle) error {
	window, err := tx.Window(ctx, now, loc)
	if err != nil {
		return err
	}
	first, err := tx.FirstActivity(ctx)
	if err != nil {
		return err
	}
	return window.CheckView(c, first, closed)
}
