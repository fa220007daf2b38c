package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/callbill/callbill"
)

// Undoing an import (docs/imports.md): its calls leave the open cycles, and
// every call of the same accounts stored after it is rated again, in the
// order it was rated, on the state the removal leaves — so that bands and
// voice-package minutes fall as if the import had never been made. A
// closed bill never changes: an import with a call in a closed cycle is
// refused whole, and so is one whose removal would change how a call of a
// closed cycle was rated.

// ImportStore is what listing and undoing imports needs of the store.
type ImportStore interface {
	// Imports lists import records, newest first, as q says.
	Imports(ctx context.Context, q callbill.ImportQuery) ([]callbill.ImportRecord, error)
	// Import returns one record. Returns ENOTFOUND if there is none.
	Import(ctx context.Context, id int64) (*callbill.ImportRecord, error)
	// UndoImport runs fn in a transaction that waits for a close in
	// progress and keeps one from starting, and commits it if fn returns
	// nil. Returns an error matching ErrRetry if the database aborted it to
	// resolve a conflict with another writer.
	UndoImport(ctx context.Context, fn func(tx UndoTx) error) error
}

// UndoTx is what an undo reads and writes inside its transaction.
type UndoTx interface {
	// Import returns the import's record; with lock set, no batch of it
	// commits until the transaction ends. Returns ENOTFOUND if none.
	Import(ctx context.Context, id int64, lock bool) (*callbill.ImportRecord, error)
	// ImportAccounts says where the import's stored calls are, per account.
	ImportAccounts(ctx context.Context, id int64) (map[string]*ImportShare, error)
	// LockAccounts locks the accounts (sorted) until the transaction ends.
	LockAccounts(ctx context.Context, accounts []string) error
	// Rater returns a rater of the world as it is, with empty state.
	Rater(ctx context.Context) (*callbill.Rater, error)
	// Packages returns every voice package of the accounts, used up or not.
	Packages(ctx context.Context, accounts []string) ([]*callbill.VoicePackage, error)
	// PlatformUsed returns the accounts' platform minutes used per cycle
	// after closed.
	PlatformUsed(ctx context.Context, accounts []string, closed callbill.Cycle) (map[callbill.AccountCycle]int64, error)
	// Calls calls fn with the account's calls of sequence from and later,
	// every cycle, in sequence order, one stored block at a time; mine[i]
	// says whether calls[i] is the import id's. With write set, each block
	// is then stored again without the import's calls (their identities
	// freed) and, when fn returns true, with the others as fn left them.
	Calls(ctx context.Context, account string, from, id int64, write bool, fn func(calls []callbill.Call, mine []bool) (bool, error)) error
	// FinishUndo writes the rest: aggregates, rating state, calls versions,
	// the earliest cycle holding activity, and the import's record.
	FinishUndo(ctx context.Context, u *UndoChanges) error
}

// ImportShare is where one account's calls of an import are.
type ImportShare struct {
	First  int64                    // the sequence of the first
	Cycles map[callbill.Cycle]int64 // how many each billed cycle holds
}

// UndoChanges is what an undo changes besides the calls themselves.
type UndoChanges struct {
	Import int64
	By     string
	Report callbill.UndoReport
	// Agg and Rec are added to the aggregates (negative: taken out); a
	// usage row left with no call and a recording row left with no byte go.
	Agg map[callbill.AggKey]*callbill.AggValue
	Rec map[callbill.RecKey]int64
	// PlatformUsed and Packages are the rating state as it is now, where
	// it changed.
	PlatformUsed map[callbill.AccountCycle]int64
	Packages     []callbill.VoicePackage
	// Touched are the (account, cycle)s whose calls changed: their calls
	// version moves, so that live bills are computed again.
	Touched []callbill.AccountCycle
	// Removed are the billed cycles the import's calls left: the earliest
	// cycle holding activity may have moved.
	Removed []callbill.Cycle
}

// Imports lists and undoes imports.
type Imports struct {
	Store ImportStore
}

// List returns import records, newest first.
func (s *Imports) List(ctx context.Context, q callbill.ImportQuery) ([]callbill.ImportRecord, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return s.Store.Imports(ctx, q)
}

// UndoInput names the import to undo and who undoes it.
type UndoInput struct {
	ID int64
	By string // cli:user@host, api:operator-key, console:NAME
}

// Validate reports what is wrong with the input.
func (in *UndoInput) Validate() error {
	if in.ID <= 0 {
		return callbill.Errorf(callbill.EINVALID, "an undo names an import (imp-N)")
	}
	in.By = callbill.Truncate(in.By, callbill.MaxImportActor)
	return nil
}

// errGrew says a running import stored calls of another account between
// the undo's first look and its lock: look again.
var errGrew = errors.New("the import reached more accounts meanwhile")

// Undo removes an import's calls from the open cycles and rates the calls
// stored after them again, in one transaction under the accounts' locks;
// a close waits for it, and so does an import of those accounts. Undoing an
// undone import changes nothing and answers its record (Undo.Already set).
func (s *Imports) Undo(ctx context.Context, in UndoInput) (*callbill.ImportRecord, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	for tries := 0; ; tries++ {
		var rec *callbill.ImportRecord
		err := s.Store.UndoImport(ctx, func(tx UndoTx) error {
			var err error
			rec, err = undo(ctx, tx, in)
			return err
		})
		if (errors.Is(err, errGrew) || errors.Is(err, ErrRetry)) && tries < 5 {
			continue
		}
		if errors.Is(err, errGrew) {
			return nil, callbill.Errorf(callbill.EUNAVAILABLE, "import %s is still storing calls of more accounts; undo it again when it ends", callbill.ImportID(in.ID))
		}
		return rec, err
	}
}

// already answers an undo of an undone import.
func already(rec *callbill.ImportRecord) *callbill.ImportRecord {
	if rec.Undo == nil {
		rec.Undo = &callbill.UndoReport{}
	}
	rec.Undo.Already = true
	return rec
}

func undo(ctx context.Context, tx UndoTx, in UndoInput) (*callbill.ImportRecord, error) {
	rec, err := tx.Import(ctx, in.ID, false)
	if err != nil {
		return nil, err
	}
	if rec.Status == callbill.ImportUndone {
		return already(rec), nil
	}
	shares, err := tx.ImportAccounts(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	accounts := make([]string, 0, len(shares))
	for a := range shares {
		accounts = append(accounts, a)
	}
	sort.Strings(accounts)
	if err := tx.LockAccounts(ctx, accounts); err != nil {
		return nil, err
	}
	// Under the accounts' locks, and the record's: what a running import
	// committed before is all there is of it.
	if rec, err = tx.Import(ctx, in.ID, true); err != nil {
		return nil, err
	}
	if rec.Status == callbill.ImportUndone {
		return already(rec), nil
	}
	if shares, err = tx.ImportAccounts(ctx, in.ID); err != nil {
		return nil, err
	}
	for a := range shares {
		if !slices.Contains(accounts, a) {
			return nil, errGrew
		}
	}
	r, err := tx.Rater(ctx)
	if err != nil {
		return nil, err
	}
	if err := refuseClosed(rec, shares, r.ClosedThrough); err != nil {
		return nil, err
	}
	pkgs, err := tx.Packages(ctx, accounts)
	if err != nil {
		return nil, err
	}
	used, err := tx.PlatformUsed(ctx, accounts, r.ClosedThrough)
	if err != nil {
		return nil, err
	}
	u := &undoer{tx: tx, r: r, id: in.ID, ch: &UndoChanges{Import: in.ID, By: in.By,
		Agg: map[callbill.AggKey]*callbill.AggValue{}, Rec: map[callbill.RecKey]int64{}, PlatformUsed: map[callbill.AccountCycle]int64{}},
		touched: map[callbill.AccountCycle]bool{}, removed: map[callbill.Cycle]bool{}}
	byAcct := map[string][]*callbill.VoicePackage{}
	for _, p := range pkgs {
		byAcct[p.Account] = append(byAcct[p.Account], p)
	}
	for _, a := range accounts {
		if shares[a] == nil {
			continue
		}
		if err := u.account(ctx, a, shares[a].First, byAcct[a], used); err != nil {
			return nil, err
		}
	}
	ch := u.ch
	ch.Report.Accounts, ch.Report.Touched = accounts[:min(len(accounts), callbill.MaxUndoAccounts)], len(accounts)
	for k := range u.touched {
		ch.Touched = append(ch.Touched, k)
		if !slices.Contains(ch.Report.Cycles, k.Cycle) {
			ch.Report.Cycles = append(ch.Report.Cycles, k.Cycle)
		}
	}
	sort.Slice(ch.Touched, func(i, j int) bool {
		x, y := ch.Touched[i], ch.Touched[j]
		return x.Account < y.Account || (x.Account == y.Account && x.Cycle < y.Cycle)
	})
	slices.Sort(ch.Report.Cycles)
	for c := range u.removed {
		ch.Removed = append(ch.Removed, c)
	}
	slices.Sort(ch.Removed)
	if err := tx.FinishUndo(ctx, ch); err != nil {
		return nil, err
	}
	return tx.Import(ctx, in.ID, false)
}

// refuseClosed refuses an import with calls billed in closed cycles: their
// bills never change, so the import cannot be taken out of them.
func refuseClosed(rec *callbill.ImportRecord, shares map[string]*ImportShare, closed callbill.Cycle) error {
	var n int64
	var cycles []callbill.Cycle
	for _, sh := range shares {
		for c, k := range sh.Cycles {
			if c <= closed {
				n += k
				if !slices.Contains(cycles, c) {
					cycles = append(cycles, c)
				}
			}
		}
	}
	if n == 0 {
		return nil
	}
	slices.Sort(cycles)
	return &callbill.Error{Code: callbill.EREFUSED,
		Message: fmt.Sprintf("import %s cannot be undone: %d of its calls are billed in closed cycles (%s), and a closed bill never changes; "+
			"nothing was changed. Correct those bills with an adjustment", callbill.ImportID(rec.ID), n, cycleList(cycles)),
		Hint: "callbill adjust --account UID --amount -AMOUNT --reason TEXT --key KEY --corrects bill:YYYY-MM"}
}

func cycleList(cs []callbill.Cycle) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.String()
	}
	return strings.Join(s, ", ")
}

// undoer carries one undo across accounts.
type undoer struct {
	tx      UndoTx
	r       *callbill.Rater
	id      int64
	ch      *UndoChanges
	touched map[callbill.AccountCycle]bool
	removed map[callbill.Cycle]bool
}

// account undoes the import for one account: its calls from first on are
// read once to give back what they took, then rated again in order.
func (u *undoer) account(ctx context.Context, account string, first int64, pkgs []*callbill.VoicePackage, used map[callbill.AccountCycle]int64) error {
	r, closed := u.r, u.r.ClosedThrough
	// What the import's calls and every later call took: the state just
	// before the import's first call is the state now with that given back.
	back := map[string]int64{}
	mineMinutes := map[callbill.Cycle]int64{}
	laterMinutes := map[callbill.Cycle]int64{}
	err := u.tx.Calls(ctx, account, first, u.id, false, func(calls []callbill.Call, mine []bool) (bool, error) {
		for i := range calls {
			c := &calls[i]
			for _, p := range c.Packages {
				back[p.PackageID] += p.Minutes
			}
			if c.Cycle > closed && len(c.Bands) > 0 {
				if mine[i] {
					mineMinutes[c.Cycle] += c.PlatformMinutes
				} else {
					laterMinutes[c.Cycle] += c.PlatformMinutes
				}
			}
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	stored := map[string]int64{}
	for _, p := range pkgs {
		stored[p.ID] = p.Remaining
		p.Remaining += back[p.ID]
		delete(back, p.ID)
		if p.Remaining > p.Minutes {
			return fmt.Errorf("voice package %s of %s: calls took %d minutes more than it has", p.ID, account, p.Remaining-p.Minutes)
		}
	}
	for id := range back {
		return fmt.Errorf("calls of %s took minutes of voice package %s, which it does not have", account, id)
	}
	// Platform minutes: the later calls keep theirs (only their bands
	// move), the import's are given back for good.
	st := callbill.RaterState{PlatformUsed: map[callbill.AccountCycle]int64{}}
	for k, n := range used {
		if k.Account != account {
			continue
		}
		st.PlatformUsed[k] = n - mineMinutes[k.Cycle] - laterMinutes[k.Cycle]
		if st.PlatformUsed[k] < 0 {
			return fmt.Errorf("account %s used %d platform minutes in %s, its calls hold more", account, n, k.Cycle)
		}
		if mineMinutes[k.Cycle] > 0 {
			u.ch.PlatformUsed[k] = n - mineMinutes[k.Cycle]
		}
	}
	for c, n := range mineMinutes {
		if _, ok := used[callbill.AccountCycle{Account: account, Cycle: c}]; !ok && n > 0 {
			return fmt.Errorf("account %s has no platform minutes used in %s, its calls hold %d", account, c, n)
		}
	}
	r.LoadAccounts([]string{account}, st)
	// Packages are offered to a call only once they were stored before it.
	slices.SortStableFunc(pkgs, func(a, b *callbill.VoicePackage) int { return cmp.Compare(a.SinceSeq, b.SinceSeq) })
	var avail []*callbill.VoicePackage
	next := 0

	var refused int64
	var refusedCycles []callbill.Cycle
	err = u.tx.Calls(ctx, account, first, u.id, true, func(calls []callbill.Call, mine []bool) (bool, error) {
		changed := false
		for i := range calls {
			c := &calls[i]
			r.RestoreStored(c)
			if mine[i] {
				c.Deaggregate(u.ch.Agg)
				if n := c.StoredBytes(); n > 0 {
					u.ch.Rec[callbill.RecKey{Account: c.Account, StartCycle: c.StartCycle, Instance: c.InstanceID}] -= n
				}
				u.ch.Report.Removed++
				u.touched[callbill.AccountCycle{Account: account, Cycle: c.Cycle}] = true
				u.removed[c.Cycle] = true
				continue
			}
			if next < len(pkgs) && pkgs[next].SinceSeq <= c.Seq {
				for next < len(pkgs) && pkgs[next].SinceSeq <= c.Seq {
					avail = append(avail, pkgs[next])
					next++
				}
				r.SetPackages(account, slices.Clone(avail))
			}
			again, err := r.Rerate(c)
			if err != nil {
				return false, err
			}
			if again.SameRating(c) {
				continue
			}
			if c.Cycle <= closed {
				refused++
				if !slices.Contains(refusedCycles, c.Cycle) {
					refusedCycles = append(refusedCycles, c.Cycle)
				}
				continue
			}
			c.Deaggregate(u.ch.Agg)
			again.Aggregate(u.ch.Agg)
			calls[i] = again
			changed = true
			u.ch.Report.Rerated++
			u.touched[callbill.AccountCycle{Account: account, Cycle: c.Cycle}] = true
		}
		return changed, nil
	})
	if err != nil {
		return err
	}
	if refused > 0 {
		slices.Sort(refusedCycles)
		return &callbill.Error{Code: callbill.EREFUSED,
			Message: fmt.Sprintf("import %s cannot be undone: without it, %d later calls of account %s billed in closed cycles (%s) would take "+
				"other voice-package minutes, and a closed bill never changes; nothing was changed. Correct those bills with an adjustment",
				callbill.ImportID(u.id), refused, account, cycleList(refusedCycles)),
			Hint: "callbill adjust --account " + account + " --amount -AMOUNT --reason TEXT --key KEY --corrects bill:YYYY-MM"}
	}
	for _, p := range pkgs {
		if p.Remaining != stored[p.ID] {
			u.ch.Packages = append(u.ch.Packages, *p)
		}
	}
	return nil
}
