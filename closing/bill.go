package closing

import (
	"context"
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
}

// Validate says what is wrong with the input.
func (in *BillInput) Validate() error {
	if in.Cycle < 0 {
		return callbill.Errorf(callbill.EINVALID, "a bill's cycle must be a month (YYYY-MM)")
	}
	return nil
}

// Bill returns an account's bill for a cycle: the frozen bill of a closed
// cycle or the live preview of an open one. Daily splits the postpaid lines
// per day (Line.Day), rounded together so that the days add up to the
// cycle's total. Returns ENOTFOUND for an unknown account, EINVALID for a
// cycle no bill can exist in.
func (s *Service) Bill(ctx context.Context, in BillInput) (*callbill.Bill, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var bill *callbill.Bill
	err := s.Store.ViewBills(ctx, func(tx Tx, now time.Time) error {
		var err error
		bill, err = view(ctx, tx, now, in)
		return err
	})
	return bill, err
}

func view(ctx context.Context, tx Tx, now time.Time, in BillInput) (*callbill.Bill, error) {
	uid, c := in.Account, in.Cycle
	a, err := tx.Account(ctx, uid)
	if err != nil {
		return nil, err
	}
	loc, err := tx.Location(ctx)
	if err != nil {
		return nil, err
	}
	closed, err := tx.ClosedThrough(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkView(ctx, tx, now, loc, c, closed); err != nil {
		return nil, err
	}
	purchases, err := tx.Purchases(ctx, uid, c, loc)
	if err != nil {
		return nil, err
	}
	status := callbill.BillStatusOpen
	var lines []callbill.Line
	total, roundDown, paid := decimal.Zero, decimal.Zero, decimal.Zero
	if c <= closed {
		// The daily view of a closed cycle splits its usage afresh; the
		// totals stay the frozen ones.
		status = callbill.BillStatusClosed
		f, err := tx.ClosedBill(ctx, uid, c)
		if err != nil {
			return nil, err
		}
		total, roundDown, paid = f.Total, f.RoundDown, f.Paid
		if !in.Daily {
			if lines, err = tx.ClosedLines(ctx, uid, c); err != nil {
				return nil, err
			}
		}
	}
	if status == callbill.BillStatusOpen || in.Daily {
		book, err := tx.PriceBook(ctx)
		if err != nil {
			return nil, err
		}
		inputs, err := tx.PostpaidInputs(ctx, InputsQuery{Cycle: c, Accounts: []*callbill.Account{a}, Daily: in.Daily})
		if err != nil {
			return nil, err
		}
		inputs[uid].Loc, inputs[uid].Book = loc, book
		if lines, err = callbill.PostpaidLines(inputs[uid]); err != nil {
			return nil, err
		}
		t, rd := callbill.RoundPostpaid(lines)
		if status == callbill.BillStatusOpen {
			total, roundDown = t, rd
		}
	}
	if in.Daily {
		for i := range purchases {
			purchases[i].Day = purchases[i].PurchaseAt.In(loc).Day()
		}
	}
	bill := callbill.AssembleBill(uid, c, status, lines, roundDown, total, paid, purchases)
	bill.Adjustments, err = tx.Adjustments(ctx, uid, c)
	return bill, err
}
