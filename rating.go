package callbill

import (
	"sort"
	"time"
)

// CDR is a call detail record after decoding and normalization (docs/rules.md, "CDR input"):
// direction lower-cased, numbers on digits only, times in whole epoch seconds.
// Its fields are exactly what rating reads, so two CDRs with the same identity
// and equal fields are duplicates, with different fields a conflict.
type CDR struct {
	ContactID        string
	InstanceID       string
	Direction        Direction
	Caller           string
	Callee           string
	Start            int64 // epoch seconds
	End              int64 // epoch seconds
	RecordingSeconds int64
	RecordingBytes   int64
}

// SameContent reports whether two CDRs of one identity say the same thing.
func (c *CDR) SameContent(o *CDR) bool { return *c == *o }

// Seconds is the call's duration in whole seconds.
func (c *CDR) Seconds() int64 { return c.End - c.Start }

// CallMinutes is every started minute: ceil(seconds/60), 0 for 0 seconds.
func CallMinutes(seconds int64) int64 { return (seconds + 59) / 60 }

// StoredBytes is the recording size a call adds to storage (docs/rules.md, "Recording storage").
func (c *CDR) StoredBytes() int64 {
	if c.RecordingBytes > 0 {
		return c.RecordingBytes
	}
	return c.RecordingSeconds * 16000
}

// BandUse is the part of a call's platform minutes that fell in one band.
type BandUse struct {
	Band    int // 1-based
	Minutes int64
	Micro   int64 // unit price in millionths of a yuan
}

// PackageUse is the part of a call's telecom minutes a voice package covered.
type PackageUse struct {
	PackageID string
	Minutes   int64
}

// Call is a rated call: the CDR plus everything rating decided, stored with
// the call so that nothing needs rating twice (docs/architecture.md, "The path of a CDR").
type Call struct {
	CDR
	Account      string
	Number       string // the service number
	Mode         Mode
	NumberKind   NumberKind
	NumberSource NumberSource
	Minutes      int64
	StartCycle   Cycle // the cycle it started in (recording retention counts from it)
	Cycle        Cycle // the cycle it is billed in
	Day          int   // day of month it is shown on in daily views
	Late         bool  // started in a closed cycle, billed in the earliest open one

	Item           Item  // telecom item, "" when none
	ItemMicro      int64 // telecom unit price
	ItemPriceFrom  int64 // effective time of that price (orders lines)
	TelecomMinutes int64
	CoveredMinutes int64
	Packages       []PackageUse

	PlatformMinutes   int64
	PlatformPriceFrom int64
	Bands             []BandUse

	ChargeMicro int64 // exact list-price charge of the call, before contract discounts
	Seq         int64 // ingest sequence
}

// SIPMinutes is the usage export's SIP column: the call's minutes on own lines.
func (c *Call) SIPMinutes() int64 {
	if c.NumberSource == SourceOwn {
		return c.Minutes
	}
	return 0
}

// InstanceInfo is what rating needs of an instance.
type InstanceInfo struct {
	ID      string
	Account string
	Mode    Mode
	Numbers map[string]*Number // by digits
}

// AccountCycle identifies an account's cycle.
type AccountCycle struct {
	Account string
	Cycle   Cycle
}

// Rater rates calls against the directory, the price book and the per-account
// state of the batch (platform minutes used per cycle, voice packages). Its
// user loads the state of the accounts a batch touches (Load), rates, and
// takes what the batch changed (Changes) to write back.
type Rater struct {
	Loc           *time.Location
	Window        Window // which calls are billable at all
	Book          *PriceBook
	ClosedThrough Cycle // last closed cycle, 0 when none
	Instances     map[string]*InstanceInfo

	platformUsed  map[AccountCycle]int64
	packages      map[string][]*VoicePackage // per account, in deduction order
	dirtyPackages map[string]*VoicePackage
	dirtyCycles   map[AccountCycle]bool
}

// NewRater returns a rater with empty state; the billing time zone is the
// window's.
func NewRater(window Window, book *PriceBook, closedThrough Cycle, instances map[string]*InstanceInfo) *Rater {
	r := &Rater{Loc: window.Loc, Window: window, Book: book, ClosedThrough: closedThrough, Instances: instances}
	r.forget()
	return r
}

// SetPackages installs an account's packages, sorted in deduction order:
// earliest expiry, then earliest purchase, then purchase id (docs/rules.md, "Voice packages").
func (r *Rater) SetPackages(account string, ps []*VoicePackage) {
	SortPackages(ps)
	r.packages[account] = ps
}

// SortPackages orders packages for deduction.
func SortPackages(ps []*VoicePackage) {
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if !a.Until.Equal(b.Until) {
			return a.Until.Before(b.Until)
		}
		if !a.From.Equal(b.From) {
			return a.From.Before(b.From)
		}
		return a.ID < b.ID
	})
}

// Reasons a CDR is rejected by rating.
const (
	ReasonUnknownInstance = "unknown instance"
	ReasonUnknownNumber   = "unknown service number"
	ReasonNotInService    = "number not in service"
	ReasonOutbound400     = "a 400 number cannot call out"
	ReasonNegative        = "negative duration"
)

// TelecomItem returns the telecom item of a call on a CCC number.
func TelecomItem(kind NumberKind, dir Direction) Item {
	switch {
	case kind == Number400:
		return ItemInbound400
	case dir == Inbound:
		return ItemFixedLineInbound
	default:
		return ItemFixedLineOutbound
	}
}

// Lookup finds the call's instance and service number and checks that they
// may carry it; it changes no state. Returns EINVALID with the reason.
func (r *Rater) Lookup(c *CDR) (*InstanceInfo, *Number, error) {
	inst := r.Instances[c.InstanceID]
	if inst == nil {
		return nil, nil, Errorf(EINVALID, "%s %q", ReasonUnknownInstance, c.InstanceID)
	}
	svc := c.Callee
	if c.Direction == Outbound {
		svc = c.Caller
	}
	num := inst.Numbers[svc]
	if num == nil {
		return nil, nil, Errorf(EINVALID, "%s %q on instance %s", ReasonUnknownNumber, svc, inst.ID)
	}
	if num.Kind == Number400 && c.Direction == Outbound {
		return nil, nil, Errorf(EINVALID, "%s (%s)", ReasonOutbound400, svc)
	}
	// The window first: a start outside it (an epoch of the wrong digit
	// count, say) is the reason, whatever the end.
	if err := r.Window.CheckCall(c); err != nil {
		return nil, nil, err
	}
	if c.End < c.Start {
		return nil, nil, Errorf(EINVALID, "%s (%d s)", ReasonNegative, c.End-c.Start)
	}
	if !num.InService(time.Unix(c.Start, 0)) {
		return nil, nil, Errorf(EINVALID, "%s %s at %s", ReasonNotInService, svc,
			time.Unix(c.Start, 0).In(r.Loc).Format(time.RFC3339))
	}
	return inst, num, nil
}

// Rate rates one call, consuming platform bands and voice-package minutes of
// the account in the order calls are rated. A rejected call changes nothing.
func (r *Rater) Rate(c *CDR) (Call, error) {
	inst, num, err := r.Lookup(c)
	if err != nil {
		return Call{}, err
	}
	return r.RateFound(c, inst, num)
}

// RateFound is Rate for a call Lookup accepted, given what it found: a
// pipeline that screens rows first looks each one up once.
func (r *Rater) RateFound(c *CDR, inst *InstanceInfo, num *Number) (Call, error) {
	start := time.Unix(c.Start, 0)
	local := start.In(r.Loc)
	call := Call{CDR: *c, Account: inst.Account, Number: num.Number, Mode: inst.Mode,
		NumberKind: num.Kind, NumberSource: num.Source, Minutes: CallMinutes(c.End - c.Start),
		Cycle: NewCycle(local.Year(), local.Month()), Day: local.Day()}
	call.StartCycle = call.Cycle
	if call.Cycle <= r.ClosedThrough {
		call.Cycle, call.Day, call.Late = r.ClosedThrough+1, 1, true
	}

	if num.Source == SourceCCC {
		call.Item = TelecomItem(num.Kind, c.Direction)
		p, err := r.Book.At(call.Item, inst.Mode, start)
		if err != nil {
			return Call{}, err
		}
		call.ItemMicro, call.ItemPriceFrom = Micro(p.Flat()), p.From.Unix()
		call.TelecomMinutes = call.Minutes
		if call.ItemMicro > 0 && call.Minutes > 0 {
			r.cover(&call, start)
		}
		call.ChargeMicro += (call.TelecomMinutes - call.CoveredMinutes) * call.ItemMicro
	} else if inst.Mode == ModePayg && call.Minutes > 0 {
		// Third-party and own numbers pay the platform fee on payg instances;
		// on CCC numbers it is waived, and seats cover it on subscription ones.
		call.PlatformMinutes = call.Minutes
		p, err := r.Book.At(ItemCallCenterSoftware, ModePayg, start)
		if err != nil {
			return Call{}, err
		}
		call.PlatformPriceFrom = p.From.Unix()
		key := AccountCycle{inst.Account, call.Cycle}
		used := r.platformUsed[key]
		call.Bands = AllocateBands(p, used, call.Minutes)
		r.platformUsed[key] = used + call.Minutes
		r.dirtyCycles[key] = true
		for _, b := range call.Bands {
			call.ChargeMicro += b.Minutes * b.Micro
		}
	}
	return call, nil
}

// AllocateBands splits minutes used+1 … used+n over the graduated tiers of p;
// a tier's UpTo is inclusive.
func AllocateBands(p *Price, used, n int64) []BandUse {
	var out []BandUse
	lo := used // minutes already consumed
	for i, t := range p.Tiers {
		if n == 0 {
			break
		}
		if t.UpTo != 0 && lo >= t.UpTo {
			continue
		}
		take := n
		if t.UpTo != 0 && lo+take > t.UpTo {
			take = t.UpTo - lo
		}
		out = append(out, BandUse{Band: i + 1, Minutes: take, Micro: Micro(t.Price)})
		lo += take
		n -= take
	}
	return out
}

// cover deducts the call's telecom minutes from the account's valid packages.
func (r *Rater) cover(call *Call, start time.Time) {
	need := call.TelecomMinutes
	for _, p := range r.packages[call.Account] {
		if need == 0 {
			break
		}
		if p.Remaining == 0 || PackageItem[p.Type] != call.Item || !p.ValidAt(start) {
			continue
		}
		take := min(need, p.Remaining)
		p.Remaining -= take
		need -= take
		call.CoveredMinutes += take
		call.Packages = append(call.Packages, PackageUse{PackageID: p.ID, Minutes: take})
		r.dirtyPackages[p.ID] = p
	}
}

// AggKey keys the running aggregates a rated call adds to (docs/architecture.md, "The path of a CDR"): per
// account, cycle, day and the bill-line key. Number is set only for 400
// inbound minutes, which the 400 monthly minimum needs per number.
type AggKey struct {
	Account   string
	Cycle     Cycle
	Day       int
	PD        ProductDetail
	Instance  string
	Item      Item
	Number    string
	Micro     int64 // unit price
	PriceFrom int64
	Band      int
}

// AggValue is what the aggregates sum.
type AggValue struct {
	Usage   int64 // charged units (minutes)
	Covered int64 // minutes covered by voice packages
	Calls   int64
}

// Aggregate adds a rated call to the aggregates.
func (c *Call) Aggregate(agg map[AggKey]*AggValue) {
	pd := UsageProductDetail(c.Mode)
	add := func(k AggKey, usage, covered int64) {
		v := agg[k]
		if v == nil {
			v = &AggValue{}
			agg[k] = v
		}
		v.Usage += usage
		v.Covered += covered
		v.Calls++
	}
	base := AggKey{Account: c.Account, Cycle: c.Cycle, Day: c.Day, PD: pd, Instance: c.InstanceID}
	if c.Item != "" {
		k := base
		k.Item, k.Micro, k.PriceFrom = c.Item, c.ItemMicro, c.ItemPriceFrom
		if c.Item == ItemInbound400 {
			k.Number = c.Number
		}
		add(k, c.TelecomMinutes-c.CoveredMinutes, c.CoveredMinutes)
	}
	for _, b := range c.Bands {
		k := base
		k.Item, k.Micro, k.PriceFrom, k.Band = ItemCallCenterSoftware, b.Micro, c.PlatformPriceFrom, b.Band
		add(k, b.Minutes, 0)
	}
}

// RecKey keys the recording-bytes aggregate: by the cycle the call started in,
// since retention counts from the recording's own month (docs/rules.md, "Recording storage").
type RecKey struct {
	Account    string
	StartCycle Cycle
	Instance   string
}
