package callbill

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// What one more call of an account costs per started minute, as the bill
// would charge it (docs/authorization.md): priced by the rater itself
// (RateFound on a call of the cap's length), so that there is one price
// rule. Amounts here are integers of 10⁻¹⁰ yuan ("units"): a unit price has
// 6 decimals and a contract rate 4, so a minute's payable is exact in them.

// unitPlaces is the decimals of a unit.
const unitPlaces = 10

// maxUnits bounds a headroom and what reservations hold: 400,000,000 yuan,
// so that a headroom less what is held stays inside int64 in units. A
// larger headroom counts as this much, which still pays for the longest
// call (31 days) at any price up to 8,900 yuan a minute: beyond that the
// answer errs on the safe side.
const maxUnits = 4_000_000_000_000_000_000

// floorUnits is d in units, rounded down (a headroom is never overstated).
func floorUnits(d decimal.Decimal) int64 {
	u := d.Shift(unitPlaces).Floor()
	switch {
	case u.GreaterThan(decimal.NewFromInt(maxUnits)):
		return maxUnits
	case u.LessThan(decimal.NewFromInt(-maxUnits)):
		return -maxUnits
	}
	return u.IntPart()
}

// ceilUnits is d in units, rounded up (what is held is never understated).
func ceilUnits(d decimal.Decimal) int64 {
	u := d.Shift(unitPlaces).Ceil()
	switch {
	case u.GreaterThan(decimal.NewFromInt(maxUnits)):
		return maxUnits
	case u.IsNegative():
		return 0
	}
	return u.IntPart()
}

// fromUnits is an amount of units as yuan.
func fromUnits(u int64) decimal.Decimal { return decimal.New(u, -unitPlaces) }

// Call classes: what prices a call's minutes. A CCC number's call pays its
// telecom item (the platform fee is waived on it); any other number's pays
// the platform fee (docs/rules.md, "What a call is charged").
const (
	classFixedInbound = iota
	classFixedOutbound
	classInbound400
	classPlatform
	numCallClasses
)

// callClass is the class of a call on n in dir.
func callClass(n *Number, dir Direction) int {
	if n.Source != SourceCCC {
		return classPlatform
	}
	switch TelecomItem(n.Kind, dir) {
	case ItemInbound400:
		return classInbound400
	case ItemFixedLineInbound:
		return classFixedInbound
	}
	return classFixedOutbound
}

// modeIndex indexes prices by mode.
func modeIndex(m Mode) int {
	if m == ModeSubscription {
		return 1
	}
	return 0
}

// minuteSeg is a run of a call's minutes at one price: minutes voice
// packages cover (cost 0), telecom minutes at the item's price, or platform
// minutes in one band.
type minuteSeg struct {
	minutes int64
	cost    int64 // per minute, units, after the contract discount
}

// callPrice is a call's minutes from its first, in order, up to the cap.
type callPrice struct {
	segs   []minuteSeg
	reason string // why the call cannot be priced (no price in force); empty when it can
}

// affordable returns the most whole minutes, up to limit, that headroom pays
// for, walking the segments in order: a free segment is taken whole, a
// priced one as far as the headroom goes.
func (p *callPrice) affordable(headroom, limit int64) int64 {
	var m int64
	for _, s := range p.segs {
		if m >= limit {
			break
		}
		n := min(s.minutes, limit-m)
		if s.cost > 0 {
			if headroom < s.cost {
				return m
			}
			if k := headroom / s.cost; k < n {
				return m + k
			}
			headroom -= n * s.cost
		}
		m += n
	}
	return min(m, limit)
}

// cost returns what the first minutes of the call cost, in units (at most
// maxUnits).
func (p *callPrice) cost(minutes int64) int64 {
	var sum int64
	for _, s := range p.segs {
		if minutes <= 0 {
			break
		}
		n := min(s.minutes, minutes)
		if s.cost > 0 && n > (maxUnits-sum)/s.cost {
			return maxUnits
		}
		sum += n * s.cost
		minutes -= n
	}
	return sum
}

// priceAll prices every class of call of the account in each mode its
// instances have, as of s.Built, into l; it returns when these prices may
// next change by time alone: the next cycle, a price version taking effect,
// a voice package starting or ending.
func (s *AuthSnapshot) priceAll(uid string, a *AuthAccount, l *authLive) time.Time {
	loc, book, now := s.Loc, s.Book, s.Built
	cycle := CycleOf(now, loc)
	horizon := cycle.End(loc)
	soonest := func(t time.Time) {
		if t.After(now) && t.Before(horizon) {
			horizon = t
		}
	}
	for _, p := range a.Packages {
		soonest(p.From)
		soonest(p.Until)
	}
	capMin := capMinutes(s.capSeconds())
	// A call of the cap's length, started now, rated on the account's state:
	// its covered minutes, telecom minutes and bands are the segments.
	cdr := CDR{Start: now.Unix(), End: now.Unix() + capMin*60}
	probe := [numCallClasses]struct {
		num Number
		dir Direction
	}{
		classFixedInbound:  {Number{Kind: NumberFixed, Source: SourceCCC}, Inbound},
		classFixedOutbound: {Number{Kind: NumberFixed, Source: SourceCCC}, Outbound},
		classInbound400:    {Number{Kind: Number400, Source: SourceCCC}, Inbound},
		classPlatform:      {Number{Kind: NumberFixed, Source: SourceThirdParty}, Outbound},
	}
	for mi, mode := range []Mode{ModePayg, ModeSubscription} {
		r := NewRater(Window{Loc: loc}, book, cycle-1, nil)
		st := RaterState{PlatformUsed: map[AccountCycle]int64{{uid, cycle}: a.PlatformUsed}}
		for i := range a.Packages {
			cp := a.Packages[i]
			cp.Account = uid
			st.Packages = append(st.Packages, &cp)
		}
		r.Load(st)
		inst := &InstanceInfo{Account: uid, Mode: mode}
		for c := range probe {
			// Each class consumes only its own state (its item's packages,
			// or the platform minutes), so one rater serves them all.
			cdr.Direction = probe[c].dir
			call, err := r.RateFound(&cdr, inst, &probe[c].num)
			if err != nil {
				l.prices[mi][c] = callPrice{reason: ErrorMessage(err)}
				continue
			}
			l.prices[mi][c] = callPrice{segs: segments(&call, a.Contract, capMin)}
			if call.Item != "" {
				soonest(book.NextChange(call.Item, mode, now))
			} else if call.PlatformMinutes > 0 {
				soonest(book.NextChange(ItemCallCenterSoftware, mode, now))
			}
		}
	}
	return horizon
}

// segments turns a rated call into its minutes at their prices, each after
// the contract's rate in the call's cycle: covered minutes first (free),
// then the telecom minutes, or the platform minutes band by band; minutes
// that pay nothing fill the rest up to capMin.
func segments(call *Call, contract *Contract, capMin int64) []minuteSeg {
	var segs []minuteSeg
	var total int64
	add := func(minutes, micro int64, item Item) {
		if minutes <= 0 {
			return
		}
		cost := micro * rateUnits(contract.RateFor(item, call.Cycle))
		if n := len(segs); n > 0 && segs[n-1].cost == cost {
			segs[n-1].minutes += minutes
		} else {
			segs = append(segs, minuteSeg{minutes: minutes, cost: cost})
		}
		total += minutes
	}
	add(call.CoveredMinutes, 0, call.Item)
	if call.Item != "" {
		add(call.TelecomMinutes-call.CoveredMinutes, call.ItemMicro, call.Item)
	}
	for _, b := range call.Bands {
		add(b.Minutes, b.Micro, ItemCallCenterSoftware)
	}
	add(capMin-total, 0, "")
	return segs
}

// rateUnits is a contract rate in units of 10⁻⁴, rounded up (rates have at
// most 4 decimals, so this is exact).
func rateUnits(r decimal.Decimal) int64 { return r.Shift(RatePlaces).Ceil().IntPart() }

// holdings orders live reservations by expiry and sums what each suffix
// holds, in units rounded up.
func holdings(rs []Reservation) (expires, held []int64) {
	if len(rs) == 0 {
		return nil, nil
	}
	idx := make([]int, len(rs))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return rs[idx[a]].ExpiresAt.Before(rs[idx[b]].ExpiresAt) })
	expires, held = make([]int64, len(rs)), make([]int64, len(rs))
	var sum int64
	for k := len(idx) - 1; k >= 0; k-- {
		r := &rs[idx[k]]
		sum = min(sum+ceilUnits(r.Amount), maxUnits) // both ≤ maxUnits: no overflow
		expires[k], held[k] = r.ExpiresAt.UnixNano(), sum
	}
	return expires, held
}
