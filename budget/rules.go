package budget

import (
	"fmt"
	"slices"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// Bounds on what a tenant may set.
const (
	MaxBudgets      = 50            // budgets and usage triggers in force per account
	MaxThresholds   = 10            // thresholds per budget
	MaxThresholdPct = 1000          // a threshold is 1 … 1000 % of the budget
	MaxMinutes      = 1_000_000_000 // a usage trigger's N
)

// DefaultThresholds are an amount budget's thresholds when none are given.
var DefaultThresholds = []int{50, 80, 100}

// AmountItems are the items an amount budget may watch: the postpaid items
// of the live bill. Purchases (seats, rent, packages, SIP lines) are paid
// when made and are never postpaid spend.
var AmountItems = []callbill.Item{callbill.ItemCallCenterSoftware, callbill.ItemFixedLineInbound, callbill.ItemFixedLineOutbound,
	callbill.ItemInbound400, callbill.ItemInbound400Minimum, callbill.ItemRecordStorage}

// MinuteItems are the items a usage trigger may count: those billed in
// minutes (the platform fee's minutes and the telecom items').
var MinuteItems = []callbill.Item{callbill.ItemCallCenterSoftware, callbill.ItemFixedLineInbound, callbill.ItemFixedLineOutbound,
	callbill.ItemInbound400}

// level is what threshold pct of b stands for: yuan (exact; 33.33 × 50 %
// is 16.665) or minutes.
func level(b *callbill.Budget, pct int) decimal.Decimal {
	if b.Measure == callbill.BudgetMinutes {
		return decimal.NewFromInt(b.Minutes)
	}
	return b.Amount.Mul(decimal.NewFromInt(int64(pct))).Div(decimal.NewFromInt(100))
}

// reached reports whether actual crosses threshold pct of b. An amount
// threshold is crossed when the spend reaches it (≥: 100 % means the
// budget is used up); a usage trigger when the minutes exceed N (>), as
// "minutes exceeding N" says.
func reached(b *callbill.Budget, pct int, actual decimal.Decimal) bool {
	if b.Measure == callbill.BudgetMinutes {
		return actual.GreaterThan(level(b, pct))
	}
	return actual.GreaterThanOrEqual(level(b, pct))
}

// Reached returns the thresholds of b that actual crosses, ascending.
func Reached(b *callbill.Budget, actual decimal.Decimal) []int {
	var out []int
	for _, pct := range b.Thresholds {
		if reached(b, pct, actual) {
			out = append(out, pct)
		}
	}
	return out
}

// Actual is what b counts in sp (nil: no spend in the cycle): the payable
// of its scope in yuan, or its item's minutes (those voice packages covered
// included: they are minutes used).
func Actual(b *callbill.Budget, sp *callbill.Spend) decimal.Decimal {
	if sp == nil {
		return decimal.Zero
	}
	switch {
	case b.Measure == callbill.BudgetMinutes:
		return decimal.NewFromInt(sp.Minutes(b.Item))
	case b.Scope == callbill.BudgetItem:
		return sp.ByItem()[b.Item]
	case b.Scope == callbill.BudgetInstance:
		return sp.ByInstance()[b.Instance]
	default:
		return sp.Payable
	}
}

// Forecast is the month-end forecast of a cycle's spend (or minutes) so far
// at now: actual ÷ the days of the cycle begun by now × the days of the
// cycle — the daily average so far, carried to the month's end. Today
// counts as a day begun, so a forecast never explodes at 00:01; a cycle
// that has ended forecasts what it holds. Yuan are rounded half-up to the
// fen, minutes to the minute.
func Forecast(measure callbill.BudgetMeasure, actual decimal.Decimal, c callbill.Cycle, now time.Time, loc *time.Location) decimal.Decimal {
	places := int32(callbill.AmountPlaces)
	if measure == callbill.BudgetMinutes {
		places = 0
	}
	begun := c.Days()
	if now.Before(c.End(loc)) && !now.Before(c.Start(loc)) {
		begun = now.In(loc).Day()
	}
	return actual.Mul(decimal.NewFromInt(int64(c.Days()))).DivRound(decimal.NewFromInt(int64(begun)), places)
}

// UsedPercent is actual as a percentage of b, to one decimal (half-up).
func UsedPercent(b *callbill.Budget, actual decimal.Decimal) decimal.Decimal {
	whole := b.Amount
	if b.Measure == callbill.BudgetMinutes {
		whole = decimal.NewFromInt(b.Minutes)
	}
	if !whole.IsPositive() {
		return decimal.Zero
	}
	return actual.Mul(decimal.NewFromInt(100)).DivRound(whole, 1)
}

// FormatLevel prints a threshold's level: minutes whole, yuan exactly with
// at least two decimals (50 % of 0.01 is 0.005, never shown as 0.01).
func FormatLevel(measure callbill.BudgetMeasure, d decimal.Decimal) string {
	if measure == callbill.BudgetMinutes {
		return d.String()
	}
	return callbill.FormatRoundDown(d)
}

// FormatAmount prints what a budget counts: minutes whole, yuan with two
// decimals.
func FormatAmount(measure callbill.BudgetMeasure, d decimal.Decimal) string {
	if measure == callbill.BudgetMinutes {
		return d.String()
	}
	return callbill.FormatMoney(d)
}

// checkThresholds returns thresholds sorted, or what is wrong with them.
func checkThresholds(ts []int) ([]int, error) {
	if len(ts) == 0 {
		return slices.Clone(DefaultThresholds), nil
	}
	if len(ts) > MaxThresholds {
		return nil, callbill.Errorf(callbill.EINVALID, "at most %d thresholds per budget, not %d", MaxThresholds, len(ts))
	}
	out := slices.Clone(ts)
	slices.Sort(out)
	for i, pct := range out {
		if pct < 1 || pct > MaxThresholdPct {
			return nil, callbill.Errorf(callbill.EINVALID, "threshold %d%% is outside 1 … %d %%", pct, MaxThresholdPct)
		}
		if i > 0 && out[i-1] == pct {
			return nil, callbill.Errorf(callbill.EINVALID, "threshold %d%% is given twice", pct)
		}
	}
	return out, nil
}

// itemList names items for a message.
func itemList(items []callbill.Item) string {
	s := ""
	for i, it := range items {
		if i > 0 {
			s += ", "
		}
		s += string(it)
	}
	return s
}

// describe names a budget for messages and logs: "total", "item
// FixedLineOutbound", "instance ccc-1", "minutes of FixedLineOutbound".
func describe(b *callbill.Budget) string {
	switch {
	case b.Measure == callbill.BudgetMinutes:
		return fmt.Sprintf("usage trigger on %s minutes", b.Item)
	case b.Scope == callbill.BudgetItem:
		return fmt.Sprintf("budget on item %s", b.Item)
	case b.Scope == callbill.BudgetInstance:
		return fmt.Sprintf("budget on instance %s", b.Instance)
	default:
		return "budget on the total"
	}
}
