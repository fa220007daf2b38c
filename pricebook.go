package callbill

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// Tier is one band of a price: up to UpTo units (inclusive; 0 = no limit) at Price.
type Tier struct {
	UpTo  int64
	Price decimal.Decimal
}

// Price is an effective-dated price of an item in a mode. Most items have a
// single tier; CallCenterSoftware has graduated per-minute bands (payg) or
// volume seat tiers (subscription).
type Price struct {
	Item  Item
	Mode  Mode // "" = both modes
	From  time.Time
	Tiers []Tier
	Path  string
}

// Band returns the index of the tier that unit n (1-based) falls in.
func (p *Price) Band(n int64) int {
	for i, t := range p.Tiers {
		if t.UpTo == 0 || n <= t.UpTo {
			return i
		}
	}
	return len(p.Tiers) - 1
}

// Flat returns the price of a single-tier item.
func (p *Price) Flat() decimal.Decimal { return p.Tiers[0].Price }

// PriceBook answers "what did item cost in mode at time t". The built-in book
// (docs/rules.md, "Billing items and the price book": Alibaba's public 2021
// list) applies from the beginning of time;
// overrides replace an item's whole price from their From.
type PriceBook struct {
	prices map[priceKey][]Price // sorted by From
}

type priceKey struct {
	item Item
	mode Mode
}

func flat(item Item, mode Mode, price string) Price {
	return Price{Item: item, Mode: mode, Tiers: []Tier{{Price: MustDecimal(price)}}}
}

// BuiltinPrices is the built-in price book.
func BuiltinPrices() []Price {
	tiers := func(pairs ...any) []Tier {
		var ts []Tier
		for i := 0; i < len(pairs); i += 2 {
			ts = append(ts, Tier{UpTo: int64(pairs[i].(int)), Price: MustDecimal(pairs[i+1].(string))})
		}
		return ts
	}
	return []Price{
		{Item: ItemCallCenterSoftware, Mode: ModePayg, Tiers: tiers(
			200_000, "0.0499", 500_000, "0.0449", 1_000_000, "0.0405", 2_000_000, "0.0365",
			4_000_000, "0.0327", 10_000_000, "0.0295", 0, "0.0267")},
		{Item: ItemCallCenterSoftware, Mode: ModeSubscription, Tiers: tiers(99, "199", 299, "179", 0, "159")},
		flat(ItemFixedLineInbound, ModePayg, "0.03"),
		flat(ItemFixedLineInbound, ModeSubscription, "0"),
		flat(ItemFixedLineOutbound, ModePayg, "0.15"),
		flat(ItemFixedLineOutbound, ModeSubscription, "0.11"),
		flat(ItemInbound400, ModePayg, "0.20"),
		flat(ItemInbound400, ModeSubscription, "0.18"),
		flat(ItemRecordStorage, "", "0.148"),
		flat(ItemNumberRent, "", "35"),
		flat(ItemSipLine, "", "30000"),
	}
}

// NewPriceBook builds a book from the built-in prices plus overrides.
func NewPriceBook(overrides []Price) *PriceBook {
	b := &PriceBook{prices: map[priceKey][]Price{}}
	for _, p := range append(BuiltinPrices(), overrides...) {
		modes := []Mode{p.Mode}
		if p.Mode == "" {
			modes = []Mode{ModePayg, ModeSubscription}
		}
		for _, m := range modes {
			k := priceKey{p.Item, m}
			b.prices[k] = append(b.prices[k], p)
		}
	}
	for k := range b.prices {
		ps := b.prices[k]
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].From.Before(ps[j].From) })
	}
	return b
}

// At returns the price of item in mode in force at t. It answers EINVALID
// for a time before the book starts (the built-in prices apply from year 1)
// or an item it does not price, never nil: a bad date must not crash a close.
func (b *PriceBook) At(item Item, mode Mode, t time.Time) (*Price, error) {
	ps := b.prices[priceKey{item, mode}]
	for i := len(ps) - 1; i >= 0; i-- {
		if !ps[i].From.After(t) {
			return &ps[i], nil
		}
	}
	return nil, Errorf(EINVALID, "no price of %s (%s) is in force at %s", item, mode, t.UTC().Format(time.RFC3339))
}

// NextChange returns when the next price version of item in mode after t
// takes effect; zero when none does.
func (b *PriceBook) NextChange(item Item, mode Mode, t time.Time) time.Time {
	for _, p := range b.prices[priceKey{item, mode}] {
		if p.From.After(t) {
			return p.From
		}
	}
	return time.Time{}
}

// PricedItems are the items a world file may override.
var PricedItems = []Item{ItemCallCenterSoftware, ItemFixedLineInbound, ItemFixedLineOutbound,
	ItemInbound400, ItemRecordStorage, ItemNumberRent, ItemSipLine}

// PriceUnit is the unit of an item's unit price on a bill line.
func PriceUnit(item Item, mode Mode, purchase bool) string {
	switch item {
	case ItemCallCenterSoftware:
		if purchase {
			return "元/坐席/月"
		}
		return "元/分钟"
	case ItemFixedLineInbound, ItemFixedLineOutbound, ItemInbound400:
		return "元/分钟"
	case ItemInbound400Minimum, ItemNumberRent:
		return "元/号码/月"
	case ItemRecordStorage:
		return "元/GB/月"
	case ItemVoicePackage:
		return "元/个"
	case ItemSipLine:
		return "元/线路/年"
	}
	return ""
}

// UsageUnit is the unit of a line's usage.
func UsageUnit(item Item, purchase bool) string {
	switch item {
	case ItemCallCenterSoftware:
		if purchase {
			return "坐席·月"
		}
		return "分钟"
	case ItemFixedLineInbound, ItemFixedLineOutbound, ItemInbound400:
		return "分钟"
	case ItemInbound400Minimum, ItemNumberRent:
		return "号码·月"
	case ItemRecordStorage:
		return "GB"
	case ItemVoicePackage:
		return "个"
	case ItemSipLine:
		return "线路·年"
	}
	return ""
}

// PackageType is a voice package type (docs/rules.md, "Voice packages").
type PackageType string

const (
	PackageFixedInbound  PackageType = "fixed_inbound"
	PackageFixedOutbound PackageType = "fixed_outbound"
	PackageInbound400    PackageType = "inbound_400"
)

// PackageItem is the only item a package type covers.
var PackageItem = map[PackageType]Item{
	PackageFixedInbound:  ItemFixedLineInbound,
	PackageFixedOutbound: ItemFixedLineOutbound,
	PackageInbound400:    ItemInbound400,
}

// PackagePrices lists the sizes (minutes) and prices of voice packages.
var PackagePrices = map[PackageType]map[int64]decimal.Decimal{
	PackageFixedInbound: {10_000: MustDecimal("290"), 30_000: MustDecimal("840"), 50_000: MustDecimal("1350"),
		100_000: MustDecimal("2600"), 500_000: MustDecimal("12000"), 1_000_000: MustDecimal("23000")},
	PackageFixedOutbound: {10_000: MustDecimal("1450"), 30_000: MustDecimal("4260"), 50_000: MustDecimal("6900"),
		100_000: MustDecimal("13500"), 500_000: MustDecimal("64000"), 1_000_000: MustDecimal("125000")},
	PackageInbound400: {10_000: MustDecimal("1900"), 30_000: MustDecimal("5400"), 100_000: MustDecimal("17000"),
		300_000: MustDecimal("48000"), 1_000_000: MustDecimal("150000")},
}

// PackageValidity is how long a voice package is valid.
const PackageValidityMonths = 3

// VoicePackage is a purchased voice package and what is left of it.
type VoicePackage struct {
	ID        string // the purchase id
	Account   string
	Type      PackageType
	Minutes   int64
	Remaining int64
	From      time.Time // purchase time
	Until     time.Time // exclusive
	// SinceSeq is the first ingest sequence stored after the package was:
	// calls stored before it were rated without it, and rating them again
	// (undoing an import) must not give them its minutes. 0: any call.
	SinceSeq int64
}

// ValidAt reports whether the package may cover a call starting at t.
func (p *VoicePackage) ValidAt(t time.Time) bool { return !t.Before(p.From) && t.Before(p.Until) }
