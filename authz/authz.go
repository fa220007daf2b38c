// Package authz is call authorization with a duration, and reservations
// (docs/authorization.md): how long a call may last given the account's
// headroom and the call's price per minute (the rule is the root package's
// AuthSnapshot), the reservations that hold a started call's price until its
// CDR arrives, and keeping a node's snapshot current. The rules live here
// and in the root package; Store persists inside one transaction and
// decides nothing.
package authz

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/shopspring/decimal"
)

// Store is what the service reads and writes (sqlstore.Store).
type Store interface {
	closing.Store
	// AuthSnapshot reads the directory, every account's standing, contract
	// and voice packages with minutes left, the price book, the billing
	// time zone and the world's billing.max_call_seconds (as Cap), built
	// at the store's now and not prepared.
	AuthSnapshot(ctx context.Context) (*callbill.AuthSnapshot, error)
	// Changes returns a counter that moves whenever the directory, the
	// world or money change.
	Changes(ctx context.Context) (string, error)
	// SpendVersions returns what every account's open spend is memoized by.
	SpendVersions(ctx context.Context) (*SpendVersions, error)
	// LiveReservations returns every reservation not expired at now.
	LiveReservations(ctx context.Context, now time.Time) ([]callbill.Reservation, error)
	// Packages returns the voice packages with minutes left of accounts,
	// by account.
	Packages(ctx context.Context, accounts []string) (map[string][]callbill.VoicePackage, error)
	// UpdateReservations runs fn in one transaction holding the writer lock
	// and account's lock (the lock an import takes for the account's
	// calls), with the transaction's one clock reading.
	UpdateReservations(ctx context.Context, account string, fn func(tx Tx, now time.Time) error) error
	// ViewReservations runs fn in a read-only transaction.
	ViewReservations(ctx context.Context, fn func(tx Tx, now time.Time) error) error
	// DeleteExpiredReservations deletes the reservations expired at now
	// and returns how many.
	DeleteExpiredReservations(ctx context.Context, now time.Time) (int64, error)
}

// Tx is what the service reads and writes inside a transaction.
type Tx interface {
	// Closing is the transaction as closing reads it (the open spend).
	Closing() closing.Tx
	// InstanceAccount returns the account of an instance. Returns
	// ENOTFOUND for an unknown instance.
	InstanceAccount(ctx context.Context, instance string) (string, error)
	// AccountSnapshot reads what AuthSnapshot reads, of one account only,
	// built at now.
	AccountSnapshot(ctx context.Context, account string, now time.Time) (*callbill.AuthSnapshot, error)
	// SpendVersion returns what the account's open spend is memoized by:
	// SpendVersions.World + "|" + its SpendVersions.Calls.
	SpendVersion(ctx context.Context, account string) (string, error)
	// Reservation returns the reservation of a call, expired or not; nil
	// when there is none.
	Reservation(ctx context.Context, instance, contactID string) (*callbill.Reservation, error)
	// Reservations returns the account's reservations not expired at now.
	Reservations(ctx context.Context, account string, now time.Time) ([]callbill.Reservation, error)
	// CallStored tells whether the call's CDR was imported.
	CallStored(ctx context.Context, instance, contactID string) (bool, error)
	// InsertReservation stores r.
	InsertReservation(ctx context.Context, r *callbill.Reservation) error
	// DeleteReservation deletes the reservation of a call and tells whether
	// there was one.
	DeleteReservation(ctx context.Context, instance, contactID string) (bool, error)
}

// SpendVersions is what the accounts' open spends are memoized by: an
// account's spend stays the same until its calls in the open cycles, the
// world (prices, contracts, numbers) or the closed cycles change, or a new
// cycle begins (which the service adds).
type SpendVersions struct {
	World string            // moves with a world apply or a close
	Calls map[string]string // per account: its calls versions in the open cycles
}

// Service authorizes calls and takes and releases reservations.
type Service struct {
	Store Store
	// Cap is the longest call authorization grants, in seconds; 0, or more
	// than the world's billing.max_call_seconds (a longer call's CDR is
	// rejected), means that.
	Cap int64
	// Node names this node in the reservations it takes.
	Node string

	mu   sync.Mutex
	memo map[string]spendMemo // by account
}

// spendMemo is an account's open spend as of its key.
type spendMemo struct {
	key      string
	spend    decimal.Decimal
	platform int64
}

// capFor is the cap in force given the world's billing.max_call_seconds.
func (s *Service) capFor(world int64) int64 {
	if world <= 0 {
		world = callbill.DefaultMaxCallSeconds
	}
	if s.Cap > 0 && s.Cap < world {
		return s.Cap
	}
	return world
}

// memoKey is an account's spend key: its versions and the current cycle.
func memoKey(version string, current callbill.Cycle) string {
	return version + "|" + strconv.Itoa(int(current))
}

// cached returns the account's memoized spend if its key is key.
func (s *Service) cached(uid, key string) (spendMemo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.memo[uid]
	return m, ok && m.key == key
}

// remember memoizes an account's spend.
func (s *Service) remember(uid string, m spendMemo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.memo == nil {
		s.memo = map[string]spendMemo{}
	}
	s.memo[uid] = m
}

// spendOf is what authorization reads of an account's open spend: the exact
// payable of every open cycle's lines (the bill rounds their sum down, so
// this is never less than what it will charge) and the platform minutes
// used in the current cycle (the next band follows them).
func spendOf(key string, spends []*callbill.Spend, current callbill.Cycle) spendMemo {
	m := spendMemo{key: key, spend: decimal.Zero}
	for _, sp := range spends {
		for i := range sp.Lines {
			m.spend = m.spend.Add(sp.Lines[i].ExactPayable)
		}
		if sp.Cycle == current {
			m.platform = sp.Minutes(callbill.ItemCallCenterSoftware)
		}
	}
	return m
}

// accountSnapshot reads one account fresh inside tx, its spend memoized by
// its versions, and prepares it.
func (s *Service) accountSnapshot(ctx context.Context, tx Tx, account string, now time.Time) (*callbill.AuthSnapshot, error) {
	snap, err := tx.AccountSnapshot(ctx, account, now)
	if err != nil {
		return nil, err
	}
	snap.Cap = s.capFor(snap.Cap)
	version, err := tx.SpendVersion(ctx, account)
	if err != nil {
		return nil, err
	}
	current := callbill.CycleOf(now, snap.Loc)
	key := memoKey(version, current)
	m, ok := s.cached(account, key)
	if !ok {
		spends, err := closing.OpenSpendIn(ctx, tx.Closing(), now, []string{account})
		if err != nil {
			return nil, err
		}
		m = spendOf(key, spends[account], current)
		s.remember(account, m)
	}
	resv, err := tx.Reservations(ctx, account, now)
	if err != nil {
		return nil, err
	}
	a := snap.Accounts[account]
	if a == nil {
		a = &callbill.AuthAccount{}
		snap.Accounts[account] = a
	}
	a.Spend, a.PlatformUsed, a.Reservations = m.spend, m.platform, resv
	snap.Prepare()
	return snap, nil
}

// AuthorizeInput is a call to authorize.
type AuthorizeInput struct {
	Instance  string
	Number    string
	Direction callbill.Direction
}

// Authorize answers one question from the store as it is now (the command
// line's authorize; a server answers from its Live snapshot instead).
func (s *Service) Authorize(ctx context.Context, in AuthorizeInput) (callbill.Decision, error) {
	var d callbill.Decision
	if !in.Direction.Valid() {
		return d, callbill.Errorf(callbill.EINVALID, "the direction is inbound or outbound, not %q", in.Direction)
	}
	err := s.Store.ViewReservations(ctx, func(tx Tx, now time.Time) error {
		account, err := tx.InstanceAccount(ctx, in.Instance)
		if callbill.ErrorCode(err) == callbill.ENOTFOUND {
			d = (&callbill.AuthSnapshot{}).Authorize(in.Instance, callbill.Digits(in.Number), in.Direction, now)
			return nil
		}
		if err != nil {
			return err
		}
		snap, err := s.accountSnapshot(ctx, tx, account, now)
		if err != nil {
			return err
		}
		d = snap.Authorize(in.Instance, callbill.Digits(in.Number), in.Direction, now)
		return nil
	})
	return d, err
}

// Reserve holds the price of a started call (docs/authorization.md): under
// the account's lock, with its spend, reservations and packages read fresh,
// the call must be authorized, and it holds what the granted minutes cost.
// The same call again answers the reservation it holds (replayed); a
// reservation of a call whose CDR was imported is refused (ECONFLICT), as
// is one over MaxReservationsPerAccount (EREFUSED). Returns EREFUSED with
// the reason when the call is denied, ENOTFOUND for an unknown instance.
func (s *Service) Reserve(ctx context.Context, req callbill.ReserveRequest) (r *callbill.Reservation, replayed bool, err error) {
	req.Normalize()
	if req.Node == "" {
		req.Node = s.Node
	}
	if err := req.Validate(); err != nil {
		return nil, false, err
	}
	account, err := s.instanceAccount(ctx, req.Instance)
	if err != nil {
		return nil, false, err
	}
	err = s.Store.UpdateReservations(ctx, account, func(tx Tx, now time.Time) error {
		r, replayed = nil, false
		old, err := tx.Reservation(ctx, req.Instance, req.ContactID)
		if err != nil {
			return err
		}
		if old != nil && old.Live(now) {
			r, replayed = old, true
			return nil
		}
		stored, err := tx.CallStored(ctx, req.Instance, req.ContactID)
		if err != nil {
			return err
		}
		if stored {
			return callbill.Errorf(callbill.ECONFLICT, "the CDR of call %s on instance %s was imported already: it is billed, there is nothing to hold", req.ContactID, req.Instance)
		}
		snap, err := s.accountSnapshot(ctx, tx, account, now)
		if err != nil {
			return err
		}
		if n := len(snap.Accounts[account].Reservations); n >= callbill.MaxReservationsPerAccount {
			return callbill.Errorf(callbill.EREFUSED, "account %s holds %d reservations, the most it may", account, n)
		}
		if r, err = snap.Reserve(req, now); err != nil {
			return err
		}
		if old != nil { // expired: the call asks again
			if _, err := tx.DeleteReservation(ctx, req.Instance, req.ContactID); err != nil {
				return err
			}
		}
		return tx.InsertReservation(ctx, r)
	})
	if err != nil {
		return nil, false, err
	}
	return r, replayed, nil
}

// ReleaseInput names a call whose reservation is released.
type ReleaseInput struct {
	Instance  string
	ContactID string
}

// Release deletes a call's reservation (the call ended without a CDR to
// come, or the platform lets it go early) and tells whether there was one:
// releasing twice is harmless. Returns ENOTFOUND for an unknown instance.
func (s *Service) Release(ctx context.Context, in ReleaseInput) (bool, error) {
	if in.Instance == "" || in.ContactID == "" {
		return false, callbill.Errorf(callbill.EINVALID, "a release needs the call's instance and contact id")
	}
	account, err := s.instanceAccount(ctx, in.Instance)
	if err != nil {
		return false, err
	}
	var released bool
	err = s.Store.UpdateReservations(ctx, account, func(tx Tx, now time.Time) error {
		var err error
		released, err = tx.DeleteReservation(ctx, in.Instance, in.ContactID)
		return err
	})
	return released, err
}

// instanceAccount resolves the account whose lock a reservation takes.
func (s *Service) instanceAccount(ctx context.Context, instance string) (string, error) {
	var account string
	err := s.Store.ViewReservations(ctx, func(tx Tx, _ time.Time) error {
		var err error
		account, err = tx.InstanceAccount(ctx, instance)
		return err
	})
	return account, err
}

// Location returns the billing time zone, which times are shown in.
func (s *Service) Location(ctx context.Context) (*time.Location, error) {
	var loc *time.Location
	err := s.Store.ViewReservations(ctx, func(tx Tx, _ time.Time) error {
		var err error
		loc, err = tx.Closing().Location(ctx)
		return err
	})
	return loc, err
}

// ListInput asks for the live reservations of one account or of all.
type ListInput struct {
	Account     string
	AllAccounts bool
}

// Validate says what is wrong with the input.
func (in *ListInput) Validate() error { return callbill.CheckAccountScope(in.Account, in.AllAccounts) }

// List returns the live reservations, soonest expiry first.
func (s *Service) List(ctx context.Context, in ListInput) ([]callbill.Reservation, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out []callbill.Reservation
	err := s.Store.ViewReservations(ctx, func(tx Tx, now time.Time) error {
		var err error
		if in.AllAccounts {
			out, err = s.Store.LiveReservations(ctx, now)
		} else {
			out, err = tx.Reservations(ctx, in.Account, now)
		}
		return err
	})
	sortReservations(out)
	return out, err
}

// Sweep deletes the reservations that expired by the store's now (they
// count for nothing from their expiry on; this keeps the table small).
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	var now time.Time
	if err := s.Store.ViewReservations(ctx, func(_ Tx, t time.Time) error { now = t; return nil }); err != nil {
		return 0, err
	}
	return s.Store.DeleteExpiredReservations(ctx, now)
}
