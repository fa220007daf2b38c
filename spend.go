package callbill

import "github.com/shopspring/decimal"

// Spend is an account's postpaid spend so far in one open cycle: the open
// bill's estimated payable (the live bill's 预估应付) and the lines it sums.
// Authorization, budgets and the live bill read this one number; it moves
// with every import because the aggregates it is built from do
// (docs/rules.md, "Open cycle preview").
type Spend struct {
	Account string
	Cycle   Cycle
	Payable decimal.Decimal // rounded as the bill rounds it (RoundPostpaid)
	Lines   []Line          // the postpaid lines, rounded
}

// ByItem sums the payable by billing item.
func (s *Spend) ByItem() map[Item]decimal.Decimal {
	m := map[Item]decimal.Decimal{}
	for i := range s.Lines {
		l := &s.Lines[i]
		m[l.Item] = m[l.Item].Add(l.Payable)
	}
	return m
}

// ByInstance sums the payable by instance.
func (s *Spend) ByInstance() map[string]decimal.Decimal {
	m := map[string]decimal.Decimal{}
	for i := range s.Lines {
		l := &s.Lines[i]
		m[l.Instance] = m[l.Instance].Add(l.Payable)
	}
	return m
}

// Minutes returns the minutes of item used in the cycle, those voice
// packages covered included; 0 for items not counted in minutes.
func (s *Spend) Minutes(item Item) int64 {
	minute := UsageUnit(ItemFixedLineInbound, false)
	var n int64
	for i := range s.Lines {
		l := &s.Lines[i]
		if l.Item == item && l.UsageUnit == minute {
			n += l.Usage.Add(l.Covered).IntPart()
		}
	}
	return n
}
