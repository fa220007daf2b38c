// Package provision applies a world file (docs/rules.md, "World files"): billing settings,
// prices, accounts with their instances and numbers, then top-ups and
// purchases replayed in time order through the ledger's rules. A file is
// applied whole or not at all: every problem found, each with its YAML
// path and line, refuses it, in one report ordered by line. A file with
// problems of form is still checked against the store (what its top-ups and
// purchases name, who owns its instances and numbers, its billing settings)
// before it is refused, so that the first report lists those too. The rules
// live here; Store persists inside one transaction and decides nothing.
package provision

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ledger"
)

// Store opens the transaction a world file is applied in.
type Store interface {
	// UpdateWorld runs fn in one transaction holding the writer lock and
	// the locks of accounts, with the transaction's one clock reading.
	// When a write of fn meets a unique violation (a concurrent apply took
	// an id of the file), fn runs once more in a new transaction; a second
	// violation is ECONFLICT naming what.
	UpdateWorld(ctx context.Context, accounts []string, what string, fn func(tx Tx, now time.Time) error) error
}

// Tx is what applying reads and writes inside the transaction, beside the
// ledger's own.
type Tx interface {
	ledger.Tx
	// Timezone returns the billing time zone's name.
	Timezone(ctx context.Context) (string, error)
	// FirstActivity returns the first cycle holding calls, purchases or
	// top-ups, 0 when there is none.
	FirstActivity(ctx context.Context) (callbill.Cycle, error)
	// SetTimezone sets the billing time zone.
	SetTimezone(ctx context.Context, tz string) error
	// SetFirstBillable sets billing.first_cycle.
	SetFirstBillable(ctx context.Context, c callbill.Cycle) error
	// SetMaxCallSeconds sets billing.max_call_seconds.
	SetMaxCallSeconds(ctx context.Context, seconds int64) error
	// UpsertPrice stores a price override, replacing one of the same item,
	// mode and start.
	UpsertPrice(ctx context.Context, p *callbill.Price) error
	// UpsertAccount stores an account's settings; a new one starts with no
	// cash, a stored one keeps its cash.
	UpsertAccount(ctx context.Context, a *callbill.Account) error
	// UpsertInstance stores an instance of account.
	UpsertInstance(ctx context.Context, account string, inst *callbill.Instance) error
	// UpsertNumber stores a number of the account's instance.
	UpsertNumber(ctx context.Context, account, instance string, n *callbill.Number) error
	// WorldChanged moves the counter authorization and caches watch.
	WorldChanged(ctx context.Context) error
}

// Service applies world files.
type Service struct {
	Store Store
}

// ApplyInput is a world file, parsed and checked for form. A World with
// problems (World.Problems) is checked against the store and refused.
type ApplyInput struct {
	World *callbill.World
}

// Validate says what is wrong with the input.
func (in *ApplyInput) Validate() error {
	if in.World == nil {
		return callbill.Errorf(callbill.EINVALID, "no world to apply")
	}
	return nil
}

// Apply upserts a world atomically. It returns callbill.Problems, those of
// the world's form with those found against the store, each with its YAML
// path and line, ordered by line, when any part is invalid or refused; then
// nothing is applied.
func (s *Service) Apply(ctx context.Context, in ApplyInput) (*callbill.ApplyReport, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	w := in.World
	rep := &callbill.ApplyReport{}
	err := s.Store.UpdateWorld(ctx, touched(w), "an id of the file", func(tx Tx, now time.Time) error {
		*rep = callbill.ApplyReport{} // a second run counts afresh
		a := &apply{tx: tx, w: w, rep: rep, check: len(w.Problems) > 0,
			refusedInst: map[*callbill.Instance]bool{}, refusedNum: map[*callbill.Number]bool{}, refused: map[string]bool{}}
		if err := a.run(ctx, now); err != nil {
			return err
		}
		if probs := callbill.MergeProblems(w.Problems, a.problems); len(probs) > 0 {
			return probs
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// touched lists, sorted, the accounts a world file writes to.
func touched(w *callbill.World) []string {
	set := map[string]bool{}
	for _, a := range w.Accounts {
		set[a.UID] = true
	}
	for _, t := range w.TopUps {
		set[t.Account] = true
	}
	for _, p := range w.Purchases {
		set[p.Account] = true
	}
	uids := make([]string, 0, len(set))
	for uid := range set {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	return uids
}

// Movement is a world file's top-up or purchase.
type Movement struct {
	At       time.Time
	TopUp    *callbill.TopUp
	Purchase *callbill.Purchase
}

// ReplayOrder orders a world file's top-ups and purchases as they are
// applied: by time, top-ups first at equal times (so that a purchase can
// spend the cash that came in at the same moment), else in file order.
func ReplayOrder(w *callbill.World) []Movement {
	moves := make([]Movement, 0, len(w.TopUps)+len(w.Purchases))
	for i := range w.TopUps {
		moves = append(moves, Movement{At: w.TopUps[i].At, TopUp: &w.TopUps[i]})
	}
	for i := range w.Purchases {
		moves = append(moves, Movement{At: w.Purchases[i].At, Purchase: &w.Purchases[i]})
	}
	sort.SliceStable(moves, func(i, j int) bool {
		if !moves[i].At.Equal(moves[j].At) {
			return moves[i].At.Before(moves[j].At)
		}
		return moves[i].TopUp != nil && moves[j].TopUp == nil
	})
	return moves
}

// apply is one run of Apply.
type apply struct {
	tx       Tx
	w        *callbill.World
	rep      *callbill.ApplyReport
	problems callbill.Problems
	// check is set for a world with problems of form: checked, never applied.
	check bool
	// What the store refuses: instances and numbers that would move, and
	// top-ups and purchases (by path) that name what is not there.
	refusedInst map[*callbill.Instance]bool
	refusedNum  map[*callbill.Number]bool
	refused     map[string]bool
}

// add adds a problem at path, located in the file.
func (a *apply) add(path, format string, args ...any) {
	p := callbill.Problem{Path: path, Message: fmt.Sprintf(format, args...)}
	a.w.Locate(&p)
	a.problems = append(a.problems, p)
}
