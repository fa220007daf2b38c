package callbill

import "time"

// Decision answers "may this call be made now?".
type Decision struct {
	Allow  bool
	Reason string // why not; empty when allowed
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
}

// AuthSnapshot is the whole directory and every account's standing, built by
// the store and swapped in whole, so that a question is answered from memory
// without locks. Call Prepare before sharing it between goroutines.
type AuthSnapshot struct {
	Instances map[string]*AuthInstance
	Standing  map[string]*Standing // by account
	Built     time.Time            // when it was read

	stopsAt map[string]time.Time // when each account is (or will be) stopped; absent: not below its allowance
}

// Prepare readies the snapshot for concurrent questions.
func (s *AuthSnapshot) Prepare() { s.prepare() }

// prepare works out, once per snapshot, when each account stops, so that a
// question costs map look-ups and no decimal arithmetic.
func (s *AuthSnapshot) prepare() {
	s.stopsAt = make(map[string]time.Time, len(s.Standing))
	for uid, st := range s.Standing {
		avail := st.Available()
		if !avail.LessThan(st.Allowance.Neg()) {
			continue
		}
		since := st.BelowSince
		if since.IsZero() {
			since = s.Built
		}
		s.stopsAt[uid] = since.AddDate(0, 0, st.GraceDays)
	}
}

// NumberReleaseDays is how long an expired number is kept (stopped) before
// it is released.
const NumberReleaseDays = 7

// Authorize decides whether a call may start now on instance with the
// service number, in direction (docs/rules.md, "Call authorization"). It reads only memory.
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
	if inst.Mode == ModePayg {
		if s.stopsAt == nil {
			s.prepare()
		}
		if at, ok := s.stopsAt[inst.Account]; ok && !now.Before(at) {
			return Decision{Reason: "account " + inst.Account + " is stopped for arrears: pay-as-you-go calls are refused until available is back to 0"}
		}
	}
	return Decision{Allow: true}
}
