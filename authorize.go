package callbill

import (
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
)

// Decision answers "may this call be made now, and for how long?"
// (docs/authorization.md).
type Decision struct {
	Allow  bool
	Reason string // why not; empty when allowed
	// MaxSeconds is how long the call may last: whole minutes the account's
	// headroom pays for, at most the cap; 0 when denied.
	MaxSeconds int64
}

// AuthNumber is what authorization needs of a number.
type AuthNumber struct {
	Number    Number
	PaidUntil time.Time // rent paid until; zero = rent not tracked
}

// AuthInstance is what authorization needs of an instance.
type AuthInstance struct {
	Account string
	Mode    Mode
	Numbers map[string]*AuthNumber // by digits

	acct *AuthAccount // its account's, set by Prepare
}

// AuthAccount is what authorization keeps of an account besides its
// standing: what prices its calls and what its headroom is spent on.
type AuthAccount struct {
	Contract *Contract
	// Spend is the exact payable of the postpaid lines of every open cycle
	// (closing.Service.OpenSpend; the bill rounds it down, so the exact sum
	// is never less than what it charges).
	Spend decimal.Decimal
	// PlatformUsed is the account's platform minutes in the current cycle:
	// the next platform minute's band follows it.
	PlatformUsed int64
	Packages     []VoicePackage // voice packages with minutes left
	Reservations []Reservation  // held amounts; an expired one counts for nothing

	live atomic.Pointer[authLive]
}

// AuthSnapshot is the whole directory, every account's standing and what
// prices its calls, built by the store and the authorizer and swapped in
// whole, so that a question is answered from memory without locks. Call
// Prepare before sharing it between goroutines.
type AuthSnapshot struct {
	Instances map[string]*AuthInstance
	Standing  map[string]*Standing    // by account
	Accounts  map[string]*AuthAccount // by account; one with no entry has no spend, packages or reservations
	Book      *PriceBook
	Loc       *time.Location
	// Cap is the longest call authorization grants, in seconds; 0 means
	// DefaultMaxCallSeconds.
	Cap   int64
	Built time.Time // when it was read: calls are priced as of then

	prepared atomic.Bool
}

// authLive is what an account's answers are computed from, worked out once
// per change of the account (Prepare, Reprice) so that a question costs map
// look-ups and integer arithmetic. It never changes once published.
type authLive struct {
	stops   bool
	stopsAt time.Time // when the account is (or will be) stopped, if stops
	// base is the headroom before reservations, in units: cash + credit
	// line − outstanding − open spend + allowance, rounded down.
	base int64
	// expires holds the reservations' expiries (unix nanoseconds, in
	// order); held[i] is what reservations i… hold, in units (rounded up).
	expires []int64
	held    []int64
	prices  [2][numCallClasses]callPrice // by mode (payg, subscription) and call class
	horizon time.Time                    // when prices may change by time alone
}

// Prepare readies the snapshot for concurrent questions: every account's
// stop time, headroom and call prices as of Built.
func (s *AuthSnapshot) Prepare() {
	if s.Accounts == nil {
		s.Accounts = map[string]*AuthAccount{}
	}
	for uid := range s.Standing {
		if s.Accounts[uid] == nil {
			s.Accounts[uid] = &AuthAccount{}
		}
	}
	for _, inst := range s.Instances {
		a := s.Accounts[inst.Account]
		if a == nil {
			a = &AuthAccount{}
			s.Accounts[inst.Account] = a
		}
		inst.acct = a
	}
	for uid := range s.Accounts {
		s.Reprice(uid)
	}
	s.prepared.Store(true)
}

// Reprice works out an account's answers again from its AuthAccount and
// Standing (which its caller changed, one goroutine at a time) and publishes
// them; questions on other goroutines see the old or the new answers, never a
// mix. It returns when the account's prices may next change by time alone.
func (s *AuthSnapshot) Reprice(uid string) time.Time {
	a := s.Accounts[uid]
	if a == nil {
		return time.Time{}
	}
	if s.Book == nil {
		s.Book = NewPriceBook(nil)
	}
	if s.Loc == nil {
		s.Loc = time.UTC
	}
	l := &authLive{base: -maxUnits}
	if st := s.Standing[uid]; st != nil {
		avail := st.Available()
		if avail.LessThan(st.Allowance.Neg()) {
			since := st.BelowSince
			if since.IsZero() {
				since = s.Built
			}
			l.stops, l.stopsAt = true, since.AddDate(0, 0, st.GraceDays)
		}
		l.base = floorUnits(avail.Sub(a.Spend).Add(st.Allowance))
	}
	l.expires, l.held = holdings(a.Reservations)
	l.horizon = s.priceAll(uid, a, l)
	a.live.Store(l)
	return l.horizon
}

// Horizon returns when the prices of some account may next change by time
// alone (a price version, a voice package starting or ending, the next
// cycle): the snapshot is to be priced again from then.
func (s *AuthSnapshot) Horizon() time.Time {
	var h time.Time
	for _, a := range s.Accounts {
		if l := a.live.Load(); l != nil && !l.horizon.IsZero() && (h.IsZero() || l.horizon.Before(h)) {
			h = l.horizon
		}
	}
	return h
}

// NumberReleaseDays is how long an expired number is kept (stopped) before
// it is released.
const NumberReleaseDays = 7

// Authorize decides whether a call may start now on instance with the
// service number, in direction, and for how long (docs/rules.md, "Call
// authorization"; docs/authorization.md). It reads only memory and
// allocates nothing when it allows.
func (s *AuthSnapshot) Authorize(instance, number string, dir Direction, now time.Time) Decision {
	inst := s.Instances[instance]
	if inst == nil {
		return Decision{Reason: "unknown instance " + instance}
	}
	n := inst.Numbers[number]
	if n == nil {
		return Decision{Reason: "number " + number + " is not registered on instance " + instance}
	}
	if n.Number.Kind == Number400 && dir == Outbound {
		return Decision{Reason: ReasonOutbound400}
	}
	if !n.Number.InService(now) {
		return Decision{Reason: ReasonNotInService}
	}
	if !n.PaidUntil.IsZero() && !now.Before(n.PaidUntil) {
		if !now.Before(n.PaidUntil.AddDate(0, 0, NumberReleaseDays)) {
			return Decision{Reason: "number " + number + " was released: its rent expired on " + n.PaidUntil.Format(time.DateOnly)}
		}
		return Decision{Reason: "number " + number + " is stopped: its rent expired on " + n.PaidUntil.Format(time.DateOnly) + "; renew it within 7 days"}
	}
	if !s.prepared.Load() {
		s.Prepare()
	}
	capSec := s.capSeconds()
	if inst.Mode != ModePayg {
		// Seats keep working whatever the money (docs/rules.md, "Account states").
		return Decision{Allow: true, MaxSeconds: capSec}
	}
	l := inst.acct.live.Load()
	if l.stops && !now.Before(l.stopsAt) {
		return Decision{Reason: "account " + inst.Account + " is stopped for arrears: pay-as-you-go calls are refused until available is back to 0"}
	}
	p := &l.prices[modeIndex(inst.Mode)][callClass(&n.Number, dir)]
	if p.reason != "" {
		return Decision{Reason: p.reason}
	}
	headroom := l.headroom(now)
	minutes := p.affordable(headroom, capMinutes(capSec))
	if minutes == 0 {
		return Decision{Reason: "account " + inst.Account + " cannot pay for one minute of this call: its headroom (available + allowance − the open cycles' spend − reservations) is " +
			FormatExact(fromUnits(headroom).RoundDown(4)) + " yuan, the first minute costs " + FormatExact(fromUnits(p.segs[0].cost))}
	}
	return Decision{Allow: true, MaxSeconds: min(minutes*60, capSec)}
}

// capSeconds is the cap in force.
func (s *AuthSnapshot) capSeconds() int64 {
	if s.Cap > 0 {
		return s.Cap
	}
	return DefaultMaxCallSeconds
}

// capMinutes is how many started minutes a call of capSec seconds bills.
func capMinutes(capSec int64) int64 { return CallMinutes(capSec) }

// headroom is what the account may still spend at now, in units:
// reservations that expired by now no longer hold anything.
func (l *authLive) headroom(now time.Time) int64 {
	t := now.UnixNano()
	lo, hi := 0, len(l.expires)
	for lo < hi { // the first reservation still live at now
		m := int(uint(lo+hi) >> 1)
		if l.expires[m] <= t {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(l.held) {
		return l.base
	}
	return max(l.base-l.held[lo], -maxUnits)
}
