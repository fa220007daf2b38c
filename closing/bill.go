package closing

import (
	"context"
	"slices"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// BillInput names a bill: an account's, of a cycle, with its postpaid
// lines per day when Daily is set.
type BillInput struct {
	Account string
	Cycle   callbill.Cycle
	Daily   bool
	// Version, when set, is the store's change counter as the caller read
	// it: an open cycle's bill may then reuse, from Service.Frames, what it
	// showed besides its calls at that version (see Frames).
	Version string
}

// Validate says what is wrong with the input.
func (in *BillInput) Validate() error {
	if in.Cycle < 0 {
		return callbill.Errorf(callbill.EINVALID, "a bill's cycle must be a month (YYYY-MM)")
	}
	return nil
}

// Bill returns an account's bill for a cycle: the frozen bill of a closed
// cycle or the live preview of an open one (an estimate: nothing paid or
// owed on its postpaid lines). Daily splits each postpaid line over its days
// (callbill.SplitDays), so that the days add up to the month's lines and
// totals exactly. Returns ENOTFOUND for an unknown account, EINVALID for a
// cycle no bill can exist in.
func (s *Service) Bill(ctx context.Context, in BillInput) (*callbill.Bill, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var bill *callbill.Bill
	err := s.Store.ViewBills(ctx, func(tx Tx, now time.Time) error {
		var err error
		bill, err = view(ctx, tx, now, in, s.Frames)
		return err
	})
	return bill, err
}

func view(ctx context.Context, tx Tx, now time.Time, in BillInput, frames *Frames) (*callbill.Bill, error) {
	uid, c := in.Account, in.Cycle
	f := frames.get(uid, c, in.Version)
	if f == nil {
		var err error
		if f, err = readFrame(ctx, tx, uid, c, in.Daily); err != nil {
			return nil, err
		}
		if c > f.closed {
			frames.put(uid, c, in.Version, f)
		}
	}
	loc := f.loc
	if err := checkView(ctx, tx, now, loc, c, f.closed); err != nil {
		return nil, err
	}
	status := callbill.BillStatusOpen
	var lines, days []callbill.Line
	total, roundDown, paid := decimal.Zero, decimal.Zero, decimal.Zero
	if c <= f.closed {
		status = callbill.BillStatusClosed
		fz, err := tx.ClosedBill(ctx, uid, c)
		if err != nil {
			return nil, err
		}
		total, roundDown, paid = fz.Total, fz.RoundDown, fz.Paid
		if lines, err = tx.ClosedLines(ctx, uid, c); err != nil {
			return nil, err
		}
	}
	if status == callbill.BillStatusOpen || in.Daily {
		// A closed cycle's aggregates never change after its close (late
		// calls go to the open cycle), so its days split the frozen lines.
		inputs, err := tx.PostpaidInputs(ctx, InputsQuery{Cycle: c, Accounts: []*callbill.Account{f.account}, Daily: in.Daily})
		if err != nil {
			return nil, err
		}
		input := inputs[uid]
		input.Loc, input.Book = loc, f.book
		if in.Daily {
			if days, err = callbill.PostpaidLines(input); err != nil {
				return nil, err
			}
			input = input.Monthly()
		}
		if status == callbill.BillStatusOpen {
			if lines, err = callbill.PostpaidLines(input); err != nil {
				return nil, err
			}
			total, roundDown = callbill.RoundPostpaid(lines)
		}
	}
	bill := callbill.AssembleBill(uid, c, status, lines, roundDown, total, paid, f.purchases)
	if in.Daily {
		for i := range bill.Lines {
			if bill.Lines[i].IsPurchase() {
				bill.Lines[i].Day = bill.Lines[i].PurchaseAt.In(loc).Day()
			}
		}
		bill.Lines = callbill.SplitDays(bill.Lines, days, c.Days())
	}
	bill.Adjustments = slices.Clone(f.adjustments)
	return bill, nil
}

// readFrame reads what a bill shows besides its calls.
func readFrame(ctx context.Context, tx Tx, uid string, c callbill.Cycle, daily bool) (*frame, error) {
	f := &frame{}
	var err error
	if f.account, err = tx.Account(ctx, uid); err != nil {
		return nil, err
	}
	if f.loc, err = tx.Location(ctx); err != nil {
		return nil, err
	}
	if f.closed, err = tx.ClosedThrough(ctx); err != nil {
		return nil, err
	}
	if f.purchases, err = tx.Purchases(ctx, uid, c, f.loc); err != nil {
		return nil, err
	}
	if c > f.closed || daily {
		if f.book, err = tx.PriceBook(ctx); err != nil {
			return nil, err
		}
	}
	if f.adjustments, err = tx.Adjustments(ctx, uid, c); err != nil {
		return nil, err
	}
	return f, nil
}
