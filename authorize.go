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
// without locks.
type AuthSnapshot struct {
	Instances map[string]*AuthInstance
	Standing  map[string]*Standing // by account
}

// NumberReleaseDays is how long an expired number is kept (stopped) before
// it is released.
const NumberReleaseDays = 7

// Authorize decides whether a call may start now on instance with the
// service number, in direction (DESIGN §3.1, §3.10). It reads only memory.
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
		if st := s.Standing[inst.Account]; st != nil {
			if state, _ := st.Next(now); state == StateStopped {
				return Decision{Reason: "account " + inst.Account + " is stopped for arrears: pay-as-you-go calls are refused until available is back to 0"}
			}
		}
	}
	return Decision{Allow: true}
}
