package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
)

// ApplyWorld upserts a world atomically (DESIGN §4.1). It returns
// callbill.Problems, each with its YAML path, when any part is invalid or
// refused; then nothing is applied.
func (s *Store) ApplyWorld(ctx context.Context, w *callbill.World) (*callbill.ApplyReport, error) {
	rep := &callbill.ApplyReport{}
	var problems callbill.Problems
	err := s.keyedTx(ctx, "an id of the file", func(tx *Tx) error {
		*rep = callbill.ApplyReport{} // a second run counts afresh
		var err error
		problems, err = s.applyWorld(ctx, tx, w, rep)
		if err != nil {
			return err
		}
		if len(problems) > 0 {
			return problems
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

func (s *Store) applyWorld(ctx context.Context, tx *Tx, w *callbill.World, rep *callbill.ApplyReport) (callbill.Problems, error) {
	var ps callbill.Problems
	if err := s.lockWriter(ctx, tx); err != nil {
		return nil, err
	}
	touched := map[string]bool{}
	for _, a := range w.Accounts {
		touched[a.UID] = true
	}
	for _, t := range w.TopUps {
		touched[t.Account] = true
	}
	for _, p := range w.Purchases {
		touched[p.Account] = true
	}
	uids := make([]string, 0, len(touched))
	for uid := range touched {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	if err := s.lockAccounts(ctx, tx, uids); err != nil {
		return nil, err
	}
	add := func(path, format string, args ...any) {
		ps = append(ps, callbill.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}

	// Billing time zone: fixed once anything is billed, since it decides cycles.
	_, curTZ, err := location(ctx, tx)
	if err != nil {
		return nil, err
	}
	if w.Timezone != "" && w.Timezone != curTZ {
		first, err := getMetaInt(ctx, tx, "first_cycle")
		if err != nil {
			return nil, err
		}
		if first != 0 {
			add("billing.timezone", "cannot change from %s to %s once calls, purchases or top-ups are stored", curTZ, w.Timezone)
		} else if err := setMeta(ctx, tx, "timezone", w.Timezone); err != nil {
			return nil, err
		}
	}
	loc, _, err := location(ctx, tx)
	if err != nil {
		return nil, err
	}
	window, err := s.applyWindow(ctx, tx, w, loc, add)
	if err != nil {
		return nil, err
	}

	for _, p := range w.Prices {
		_, err := tx.ExecContext(ctx, `INSERT INTO prices (item, mode, from_unix, tiers) VALUES (?, ?, ?, ?)
			ON CONFLICT (item, mode, from_unix) DO UPDATE SET tiers = excluded.tiers`,
			string(p.Item), string(p.Mode), p.From.Unix(), encodeTiers(p.Tiers))
		if err != nil {
			return nil, err
		}
		rep.Prices++
	}

	// Accounts, instances, numbers.
	stored, err := loadAccounts(ctx, tx, "")
	if err != nil {
		return nil, err
	}
	instOwner := map[string]string{}
	numberOwner := map[string]string{} // number → instance
	for _, a := range stored {
		for _, inst := range a.Instances {
			instOwner[inst.ID] = a.UID
			for _, n := range inst.Numbers {
				numberOwner[n.Number] = inst.ID
			}
		}
	}
	for ai, a := range w.Accounts {
		apath := w.AccountPaths[a.UID]
		if apath == "" {
			apath = fmt.Sprintf("accounts[%d]", ai)
		}
		cash := "0"
		if old := stored[a.UID]; old != nil {
			cash = old.Cash.String()
		}
		low := ""
		if a.LowBalanceAlert != nil {
			low = a.LowBalanceAlert.String()
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO accounts (uid, name, kind, credit_line, contract, retention, cash, allowance, grace_days, low_balance)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (uid) DO UPDATE SET name = excluded.name, kind = excluded.kind,
			credit_line = excluded.credit_line, contract = excluded.contract, retention = excluded.retention,
			allowance = excluded.allowance, grace_days = excluded.grace_days, low_balance = excluded.low_balance`,
			a.UID, a.Name, string(a.Kind), a.CreditLine.String(), encodeContract(a.Contract), a.RecordingRetentionMonths, cash,
			a.Allowance.String(), a.GraceDays, low)
		if err != nil {
			return nil, err
		}
		rep.Accounts++
		for ii, inst := range a.Instances {
			ipath := fmt.Sprintf("%s.instances[%d]", apath, ii)
			if owner, ok := instOwner[inst.ID]; ok && owner != a.UID {
				add(ipath+".id", "instance %s belongs to account %s", inst.ID, owner)
				continue
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO instances (account, id, mode) VALUES (?, ?, ?)
				ON CONFLICT (account, id) DO UPDATE SET mode = excluded.mode`, a.UID, inst.ID, string(inst.Mode))
			if err != nil {
				return nil, err
			}
			rep.Instances++
			for ni, n := range inst.Numbers {
				if owner, ok := numberOwner[n.Number]; ok && owner != inst.ID {
					add(fmt.Sprintf("%s.numbers[%d].number", ipath, ni), "number %s is registered on instance %s", n.Number, owner)
					continue
				}
				auto := 0
				if n.AutoRenew {
					auto = 1
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO numbers (account, instance, number, kind, source, tier, since, until, auto_renew)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
					ON CONFLICT (account, instance, number) DO UPDATE SET kind = excluded.kind, source = excluded.source,
					tier = excluded.tier, since = excluded.since, until = excluded.until, auto_renew = excluded.auto_renew`,
					a.UID, inst.ID, n.Number, string(n.Kind), string(n.Source), n.Tier, unixOrZero(n.Since), unixOrZero(n.Until), auto)
				if err != nil {
					return nil, err
				}
				rep.Numbers++
			}
		}
	}

	// Top-ups and purchases, in time order, top-ups first at equal times.
	accts, err := loadAccounts(ctx, tx, "")
	if err != nil {
		return nil, err
	}
	book, err := loadPriceBook(ctx, tx)
	if err != nil {
		return nil, err
	}
	closed, err := closedThrough(ctx, tx)
	if err != nil {
		return nil, err
	}
	type movement struct {
		at    time.Time
		topup *callbill.TopUp
		buy   *callbill.Purchase
	}
	var moves []movement
	for i := range w.TopUps {
		moves = append(moves, movement{at: w.TopUps[i].At, topup: &w.TopUps[i]})
	}
	for i := range w.Purchases {
		moves = append(moves, movement{at: w.Purchases[i].At, buy: &w.Purchases[i]})
	}
	sort.SliceStable(moves, func(i, j int) bool {
		if !moves[i].at.Equal(moves[j].at) {
			return moves[i].at.Before(moves[j].at)
		}
		return moves[i].topup != nil && moves[j].topup == nil
	})
	for _, m := range moves {
		if m.topup != nil {
			t := m.topup
			a := accts[t.Account]
			if a == nil {
				add(t.Path+".account", "account %s is neither in this file nor stored", t.Account)
				continue
			}
			hash := callbill.RequestHash("topup", t.Account, t.Amount.String(), strconv.FormatInt(t.At.Unix(), 10))
			dup, perr := checkApplied(ctx, tx, "topups", t.Account, t.ID, hash)
			if err := perr.err; err != nil {
				return nil, err
			}
			if perr.msg != "" {
				add(t.Path+".id", "%s", perr.msg)
				continue
			}
			if dup {
				rep.Skipped++
				continue
			}
			cycle := callbill.CycleOf(t.At, loc)
			if cycle <= closed {
				add(t.Path+".at", "top-up dated in %s, a closed cycle: a closed bill never changes", cycle)
				continue
			}
			if cycle < window.FirstCycle {
				add(t.Path+".at", "top-up dated in %s, before the first billable cycle %s (billing.first_cycle)", cycle, window.FirstCycle)
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO topups (account, id, amount, at, cycle, hash) VALUES (?, ?, ?, ?, ?, ?)`,
				t.Account, t.ID, t.Amount.String(), t.At.Unix(), int(cycle), hash); err != nil {
				return nil, err
			}
			if err := topUp(ctx, tx, a, t.Amount, t.At, cycle, "topup:"+t.ID, "topup:"+t.ID, hash); err != nil {
				return nil, err
			}
			if err := emitEvent(ctx, tx, t.Account, callbill.EventTopUpReceived, topUpEvent(a, t.Amount, t.At, "topup:"+t.ID, "world")); err != nil {
				return nil, err
			}
			if err := noteActivity(ctx, tx, cycle); err != nil {
				return nil, err
			}
			rep.TopUps++
			continue
		}
		p := m.buy
		a := accts[p.Account]
		if a == nil {
			add(p.Path+".account", "account %s is neither in this file nor stored", p.Account)
			continue
		}
		skipped, where, msg, err := buy(ctx, tx, a, p, loc, book, closed, window.FirstCycle)
		if err != nil {
			return nil, err
		}
		if msg != "" {
			add(p.Path+where, "%s", msg)
			continue
		}
		if skipped {
			rep.Skipped++
			continue
		}
		rep.Purchases++
	}
	if len(ps) == 0 {
		if err := s.refreshStanding(ctx, tx, uids, s.Now(), "world file applied"); err != nil {
			return nil, err
		}
		if err := bumpGen(ctx, tx); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// buy applies one purchase: checked against the account, idempotent by its
// id (the same id with the same content is skipped, with other content a
// problem), settled on its own and paid from cash. A problem comes back as
// a message and the path suffix it concerns ("", ".id", ".at").
func buy(ctx context.Context, tx *Tx, a *account, p *callbill.Purchase, loc *time.Location, book *callbill.PriceBook, closed, firstBillable callbill.Cycle) (skipped bool, where, problem string, err error) {
	mode, msg := resolvePurchase(p, a)
	if msg != "" {
		return false, "", msg, nil
	}
	hash := callbill.RequestHash("purchase", p.Account, string(p.Kind), string(p.PackageType), strconv.FormatInt(p.PackageMinutes, 10),
		p.Instance, p.Number, strconv.FormatInt(p.Count, 10), strconv.FormatInt(p.Months, 10),
		strconv.FormatInt(p.Years, 10), strconv.FormatInt(p.At.Unix(), 10))
	dup, perr := checkApplied(ctx, tx, "purchases", p.Account, p.ID, hash)
	if perr.err != nil {
		return false, "", "", perr.err
	}
	if perr.msg != "" {
		return false, ".id", perr.msg, nil
	}
	if dup {
		return true, "", "", nil
	}
	cycle := callbill.CycleOf(p.At, loc)
	if cycle <= closed {
		return false, ".at", fmt.Sprintf("purchase dated in %s, a closed cycle: a closed bill never changes", cycle), nil
	}
	if cycle < firstBillable {
		return false, ".at", fmt.Sprintf("purchase dated in %s, before the first billable cycle %s (billing.first_cycle)", cycle, firstBillable), nil
	}
	line, err := callbill.SettlePurchase(p, &a.Account, mode, book, loc)
	if err != nil {
		return false, "", callbill.ErrorMessage(err), nil
	}
	if a.Cash.LessThan(line.Payable) {
		return false, "", fmt.Sprintf("cash balance %s is less than the purchase's payable %s: top up first (purchases are paid from cash, not credit)",
			callbill.FormatMoney(a.Cash), callbill.FormatMoney(line.Payable)), nil
	}
	if err := insertPurchase(ctx, tx, p, cycle, hash, &line); err != nil {
		return false, "", "", err
	}
	if p.Kind == callbill.PurchaseVoicePackage {
		until := callbill.AddMonthsClamped(p.At, callbill.PackageValidityMonths, loc)
		if _, err := tx.ExecContext(ctx, `INSERT INTO packages (account, id, type, minutes, remaining, from_unix, until_unix)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, p.Account, p.ID, string(p.PackageType), p.PackageMinutes, p.PackageMinutes,
			p.At.Unix(), until.Unix()); err != nil {
			return false, "", "", err
		}
	}
	if err := post(ctx, tx, a, &callbill.LedgerEntry{At: p.At, Kind: callbill.LedgerPurchase, Amount: line.Payable.Neg(),
		Cycle: cycle, Ref: "purchase:" + p.ID, Key: "purchase:" + p.ID}, hash); err != nil {
		return false, "", "", err
	}
	if p.Kind == callbill.PurchaseNumberRent {
		if err := extendRent(ctx, tx, a.UID, p, loc); err != nil {
			return false, "", "", err
		}
	}
	return false, "", "", noteActivity(ctx, tx, cycle)
}

// Purchase makes one purchase now (or at p.At when set), under the account's
// lock: its id is its idempotency key. Returns whether it was applied before,
// EREFUSED when cash is short or the purchase is not allowed, ENOTFOUND for
// an unknown account.
func (s *Store) Purchase(ctx context.Context, p callbill.Purchase) (bool, error) {
	skipped := false
	asked := p
	err := s.keyedTx(ctx, fmt.Sprintf("purchase id %q", p.ID), func(tx *Tx) error {
		p = asked // a second run starts from the request, not from what the first filled in
		if err := s.lockWriter(ctx, tx); err != nil {
			return err
		}
		if err := s.lockAccounts(ctx, tx, []string{p.Account}); err != nil {
			return err
		}
		a, err := loadAccount(ctx, tx, p.Account)
		if err != nil {
			return err
		}
		loc, _, err := location(ctx, tx)
		if err != nil {
			return err
		}
		book, err := loadPriceBook(ctx, tx)
		if err != nil {
			return err
		}
		closed, err := closedThrough(ctx, tx)
		if err != nil {
			return err
		}
		window, err := billingWindow(ctx, tx, s.Now(), loc)
		if err != nil {
			return err
		}
		if p.At.IsZero() {
			// Made now; a retry of the same id keeps the time of the first.
			var at int64
			err := tx.QueryRowContext(ctx, `SELECT at FROM purchases WHERE account = ? AND id = ?`, p.Account, p.ID).Scan(&at)
			switch {
			case err == nil:
				p.At = time.Unix(at, 0)
			case errors.Is(err, sql.ErrNoRows):
				p.At = s.Now()
			default:
				return err
			}
		}
		var msg string
		skipped, _, msg, err = buy(ctx, tx, a, &p, loc, book, closed, window.FirstCycle)
		if err != nil {
			return err
		}
		if msg != "" {
			return callbill.Errorf(callbill.EREFUSED, "purchase %s: %s", p.ID, msg)
		}
		if skipped {
			return nil
		}
		return s.refreshStanding(ctx, tx, []string{p.Account}, s.Now(), "purchase "+p.ID)
	})
	return skipped, err
}

// resolvePurchase checks a purchase against the account's instances and
// numbers and fills in the instance a number rent belongs to. It returns the
// mode whose prices apply and a problem message, if any.
func resolvePurchase(p *callbill.Purchase, a *account) (callbill.Mode, string) {
	findInst := func(id string) *callbill.Instance {
		for i := range a.Instances {
			if a.Instances[i].ID == id {
				return &a.Instances[i]
			}
		}
		return nil
	}
	switch p.Kind {
	case callbill.PurchaseVoicePackage:
		if strings.ContainsAny(p.ID, ";,:") {
			return "", "a voice package's id must not contain ';', ',' or ':'"
		}
		return callbill.ModePayg, ""
	case callbill.PurchaseSeats, callbill.PurchaseSipLine:
		inst := findInst(p.Instance)
		if inst == nil {
			return "", fmt.Sprintf("instance %s is not an instance of account %s", p.Instance, a.UID)
		}
		if p.Kind == callbill.PurchaseSeats && inst.Mode != callbill.ModeSubscription {
			return "", fmt.Sprintf("seats are bought for subscription instances; %s is pay-as-you-go", inst.ID)
		}
		return inst.Mode, ""
	case callbill.PurchaseNumberRent:
		for _, inst := range a.Instances {
			for _, n := range inst.Numbers {
				if n.Number != p.Number {
					continue
				}
				if n.Kind != callbill.NumberFixed || n.Source != callbill.SourceCCC {
					return "", fmt.Sprintf("number %s is not a CCC fixed-line number: only those pay rent", p.Number)
				}
				p.Instance = inst.ID
				return inst.Mode, ""
			}
		}
		return "", fmt.Sprintf("number %s is not registered on any instance of account %s", p.Number, a.UID)
	}
	return "", fmt.Sprintf("unknown purchase kind %q", p.Kind)
}

type appliedErr struct {
	msg string
	err error
}

// checkApplied tells whether the account applied an id before: with the
// same content it is a duplicate to skip, with other content a problem. Ids
// are each account's own: another account's use of one is none of this
// account's business.
func checkApplied(ctx context.Context, tx *Tx, table, acct, id, hash string) (bool, appliedErr) {
	var old string
	err := tx.QueryRowContext(ctx, `SELECT hash FROM `+table+` WHERE account = ? AND id = ?`, acct, id).Scan(&old)
	if errors.Is(err, sql.ErrNoRows) {
		return false, appliedErr{}
	}
	if err != nil {
		return false, appliedErr{err: err}
	}
	if old != hash {
		return false, appliedErr{msg: fmt.Sprintf("id %s was applied before with different content", id)}
	}
	return true, appliedErr{}
}

func insertPurchase(ctx context.Context, tx *Tx, p *callbill.Purchase, cycle callbill.Cycle, hash string, l *callbill.Line) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO purchases (account, id, at, cycle, hash, product_detail, instance, item, number,
		unit_price, price_unit, usage, usage_unit, exact_original, exact_discount, exact_payable, original, discount, payable)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.Account, p.ID, p.At.Unix(), int(cycle), hash, string(l.ProductDetail), l.Instance, string(l.Item), l.Number,
		callbill.FormatPrice(l.UnitPrice), l.PriceUnit, l.Usage.String(), l.UsageUnit, l.ExactOriginal.String(), l.ExactDiscount.String(),
		l.ExactPayable.String(), l.Original.String(), l.Discount.String(), l.Payable.String())
	return err
}

// applyWindow stores the world file's billing.first_cycle and
// billing.max_call_seconds and returns the window in force after them. The
// first billable cycle cannot move past a cycle that already holds calls,
// purchases or top-ups: they would sit in cycles that are never closed.
func (s *Store) applyWindow(ctx context.Context, tx *Tx, w *callbill.World, loc *time.Location, add func(path, format string, args ...any)) (callbill.Window, error) {
	if w.FirstCycle != 0 {
		first, err := getMetaInt(ctx, tx, "first_cycle")
		if err != nil {
			return callbill.Window{}, err
		}
		if first != 0 && callbill.Cycle(first) < w.FirstCycle {
			add("billing.first_cycle", "calls, purchases or top-ups are stored from %s on; the first billable cycle cannot be later than that",
				callbill.Cycle(first))
		} else if err := setMeta(ctx, tx, "billable_from", strconv.Itoa(int(w.FirstCycle))); err != nil {
			return callbill.Window{}, err
		}
	}
	if w.MaxCallSeconds != 0 {
		if err := setMeta(ctx, tx, "max_call_seconds", strconv.FormatInt(w.MaxCallSeconds, 10)); err != nil {
			return callbill.Window{}, err
		}
	}
	return billingWindow(ctx, tx, s.Now(), loc)
}
