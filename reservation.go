package callbill

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Reservation holds what a started call will cost until its CDR is imported
// (the import batch that stores the call deletes it) or it expires, so that
// the account's concurrent calls together never get more than its headroom
// pays for (docs/authorization.md).
type Reservation struct {
	Instance  string
	ContactID string
	Account   string
	Number    string // the service number, digits only
	Direction Direction
	Amount    decimal.Decimal // exact: what the granted minutes cost as the bill would charge them
	Seconds   int64           // granted
	ExpiresAt time.Time
	CreatedAt time.Time
	Node      string // the node that took it
}

// ReservationMargin is how long after its granted seconds a reservation is
// kept for the CDR to arrive: the call platform posts a CDR when the call
// ends, usually within seconds; a CDR later than this finds the amount no
// longer held (and counts from then on in the spend).
const ReservationMargin = 10 * time.Minute

// MaxReservationsPerAccount bounds one account's live reservations: far
// above any call center's concurrent calls, low enough that an account's
// reservations read in a moment.
const MaxReservationsPerAccount = 100_000

// ReserveRequest asks to hold the price of a started call.
type ReserveRequest struct {
	Instance  string
	ContactID string
	Number    string
	Direction Direction
	// Seconds asked for; 0 means as long as authorization grants now.
	Seconds int64
	Node    string
}

// Normalize trims the request and keeps the number's digits.
func (r *ReserveRequest) Normalize() {
	r.Instance, r.ContactID = strings.TrimSpace(r.Instance), strings.TrimSpace(r.ContactID)
	r.Number = Digits(r.Number)
	r.Direction = Direction(strings.ToLower(string(r.Direction)))
}

// Validate says what is wrong with a (normalized) request; identities are
// bounded like a CDR's fields.
func (r *ReserveRequest) Validate() error {
	switch {
	case r.Instance == "" || r.ContactID == "":
		return Errorf(EINVALID, "a reservation needs the call's instance and contact id")
	case len(r.Instance) > 128 || len(r.ContactID) > 128 || !utf8.ValidString(r.ContactID) || !utf8.ValidString(r.Instance):
		return Errorf(EINVALID, "the instance and the contact id are at most 128 bytes of UTF-8")
	case r.Number == "" || len(r.Number) > 32:
		return Errorf(EINVALID, "a reservation needs the call's service number (at most 32 digits)")
	case !r.Direction.Valid():
		return Errorf(EINVALID, "a reservation needs the call's direction, inbound or outbound")
	case r.Seconds < 0 || r.Seconds > MaxCallSecondsLimit:
		return Errorf(EINVALID, "seconds must be between 0 (as long as authorized) and %d", MaxCallSecondsLimit)
	}
	return nil
}

// Reserve decides a reservation on a snapshot of the account read under its
// lock, with its live reservations: the call must be authorized now; it is
// granted the seconds asked for, or what authorization grants if that is
// less (as a credit-control server grants fewer units than requested), and
// holds what those minutes cost. Returns EREFUSED with the reason when the
// call is denied.
func (s *AuthSnapshot) Reserve(req ReserveRequest, now time.Time) (*Reservation, error) {
	d := s.Authorize(req.Instance, req.Number, req.Direction, now)
	if !d.Allow {
		return nil, Errorf(EREFUSED, "%s", d.Reason)
	}
	inst := s.Instances[req.Instance]
	seconds := d.MaxSeconds
	if req.Seconds > 0 && req.Seconds < seconds {
		seconds = req.Seconds
	}
	l := inst.acct.live.Load()
	p := &l.prices[modeIndex(inst.Mode)][callClass(&inst.Numbers[req.Number].Number, req.Direction)]
	if p.reason != "" {
		return nil, Errorf(EREFUSED, "%s", p.reason)
	}
	return &Reservation{Instance: req.Instance, ContactID: req.ContactID, Account: inst.Account, Number: req.Number,
		Direction: req.Direction, Amount: fromUnits(p.cost(CallMinutes(seconds))), Seconds: seconds,
		ExpiresAt: now.Add(time.Duration(seconds)*time.Second + ReservationMargin), CreatedAt: now, Node: req.Node}, nil
}

// Live reports whether the reservation still holds its amount at now.
func (r *Reservation) Live(now time.Time) bool { return now.Before(r.ExpiresAt) }
