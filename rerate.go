package callbill

import (
	"slices"
	"time"
)

// Rating stored calls again, for undoing an import (docs/imports.md): the
// calls stored after it are rated again, in the order they were rated, on
// the state its removal leaves, so that bands and voice-package minutes
// move as if it had never been imported.

// Rerate rates a stored call again on the rater's state and returns it as
// re-rated; the state moves as rating moves it. What rating decided from the
// world — the cycle it is billed in, the instance's mode, the number, the
// telecom item and its price — stays as stored; the platform minutes' bands
// and the voice-package minutes are taken again, the bands from the price
// book's tiers in force at the call's start. A call billed in a closed
// cycle keeps its bands (they belong to a closed bill); only its package
// minutes are taken again, so that the caller can tell whether it would
// now be rated otherwise.
func (r *Rater) Rerate(stored *Call) (Call, error) {
	c := *stored
	c.Packages, c.CoveredMinutes = nil, 0
	start := time.Unix(c.Start, 0)
	if c.Item != "" {
		if c.ItemMicro > 0 && c.Minutes > 0 {
			r.cover(&c, start)
		}
		c.ChargeMicro = (c.TelecomMinutes - c.CoveredMinutes) * c.ItemMicro
		return c, nil
	}
	if c.PlatformMinutes == 0 || c.Cycle <= r.ClosedThrough {
		c.Bands = slices.Clone(stored.Bands)
		return c, nil
	}
	p, err := r.Book.At(ItemCallCenterSoftware, ModePayg, start)
	if err != nil {
		return Call{}, err
	}
	key := AccountCycle{c.Account, c.Cycle}
	used := r.platformUsed[key]
	c.Bands = AllocateBands(p, used, c.PlatformMinutes)
	r.platformUsed[key] = used + c.PlatformMinutes
	r.dirtyCycles[key] = true
	if sameBands(c.Bands, stored.Bands) {
		// The same minutes in the same bands: keep the prices it was rated
		// at, whatever the book says now.
		c.Bands = slices.Clone(stored.Bands)
	} else {
		c.PlatformPriceFrom = p.From.Unix()
	}
	c.ChargeMicro = 0
	for _, b := range c.Bands {
		c.ChargeMicro += b.Minutes * b.Micro
	}
	return c, nil
}

// sameBands reports whether two allocations put the same minutes in the
// same bands.
func sameBands(a, b []BandUse) bool {
	return slices.EqualFunc(a, b, func(x, y BandUse) bool { return x.Band == y.Band && x.Minutes == y.Minutes })
}

// SameRating reports whether two ratings of one call charge the same and
// take the same bands and voice-package minutes.
func (c *Call) SameRating(o *Call) bool {
	return c.ChargeMicro == o.ChargeMicro && c.CoveredMinutes == o.CoveredMinutes &&
		slices.Equal(c.Bands, o.Bands) && slices.Equal(c.Packages, o.Packages)
}

// RestoreStored fills in what a stored call does not keep and its aggregates are
// keyed by (Aggregate, Deaggregate): the day it is shown on and the cycle
// it started in, from its start in the billing time zone, and the
// effective times of the prices it was rated at — the newest version of the
// price in force at or before its start whose price is the one it paid;
// when the book holds no such version any more (an override replaced it),
// the version in force at its start.
func (r *Rater) RestoreStored(c *Call) {
	start := time.Unix(c.Start, 0)
	local := start.In(r.Loc)
	c.StartCycle, c.Day = NewCycle(local.Year(), local.Month()), local.Day()
	if c.Late {
		c.Day = 1
	}
	b := r.Book
	if c.Item != "" {
		c.ItemPriceFrom = b.fromOf(c.Item, c.Mode, start, 1, c.ItemMicro)
	}
	if len(c.Bands) > 0 {
		c.PlatformPriceFrom = b.fromOf(ItemCallCenterSoftware, ModePayg, start, c.Bands[0].Band, c.Bands[0].Micro)
	}
}

func (b *PriceBook) fromOf(item Item, mode Mode, t time.Time, band int, micro int64) int64 {
	ps := b.prices[priceKey{item, mode}]
	for i := len(ps) - 1; i >= 0; i-- {
		p := &ps[i]
		if !p.From.After(t) && band >= 1 && band <= len(p.Tiers) && Micro(p.Tiers[band-1].Price) == micro {
			return p.From.Unix()
		}
	}
	if p, err := b.At(item, mode, t); err == nil {
		return p.From.Unix()
	}
	return 0
}

// Deaggregate takes a call back out of the aggregates: the opposite of
// Aggregate. Values may go negative; the caller adds the result to what is
// stored.
func (c *Call) Deaggregate(agg map[AggKey]*AggValue) {
	own := map[AggKey]*AggValue{}
	c.Aggregate(own)
	for k, v := range own {
		a := agg[k]
		if a == nil {
			a = &AggValue{}
			agg[k] = a
		}
		a.Usage -= v.Usage
		a.Covered -= v.Covered
		a.Calls -= v.Calls
	}
}
