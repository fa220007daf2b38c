package ledger

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
)

// Books is the ledger inside one transaction, with what dating and pricing
// a movement needs: a world file's top-ups and purchases and a purchase
// request go through it.
type Books struct {
	Tx            Tx
	Loc           *time.Location
	PriceBook     *callbill.PriceBook
	Closed        callbill.Cycle // the last closed cycle
	FirstBillable callbill.Cycle
}

// OpenBooks reads what Books needs at now.
func OpenBooks(ctx context.Context, tx Tx, now time.Time) (*Books, error) {
	b := &Books{Tx: tx}
	var err error
	if b.Loc, err = tx.Location(ctx); err != nil {
		return nil, err
	}
	if b.PriceBook, err = tx.PriceBook(ctx); err != nil {
		return nil, err
	}
	if b.Closed, err = tx.ClosedThrough(ctx); err != nil {
		return nil, err
	}
	w, err := tx.Window(ctx, now, b.Loc)
	b.FirstBillable = w.FirstCycle
	return b, err
}

// Outcome is what applying a dated movement came to: applied, skipped as
// applied before, or refused with a problem about the field Where names
// ("" for the whole movement, ".id", ".at", ".seats.instance", …).
type Outcome struct {
	Skipped        bool
	Where, Problem string
	// Short is set when cash alone refused it: whether cash suffices
	// depends on every movement before it.
	Short bool
}

func refused(where, format string, args ...any) Outcome {
	return Outcome{Where: where, Problem: fmt.Sprintf(format, args...)}
}

// admit decides on a movement id with hash, dated at, that the account
// applied before with hash prev ("" when none): with the same content it
// is skipped, with other content refused (ids are each account's own), and
// so is one dated in a closed cycle or before the first billable one. It
// returns the movement's cycle and whether that decided it.
func (b *Books) admit(what, id, prev, hash string, at time.Time) (callbill.Cycle, Outcome, bool) {
	switch prev {
	case "":
	case hash:
		return 0, Outcome{Skipped: true}, true
	default:
		return 0, refused(".id", "id %s was applied before with different content; an applied %s never changes: give this one a new id, or write it as it was applied", id, what), true
	}
	cycle := callbill.CycleOf(at, b.Loc)
	if cycle <= b.Closed {
		return 0, refused(".at", "%s dated in %s, a closed cycle: a closed bill never changes; date it in %s or later", what, cycle, b.Closed+1), true
	}
	if cycle < b.FirstBillable {
		return 0, refused(".at", "%s dated in %s, before the first billable cycle %s (billing.first_cycle); date it in %s or later, or set billing.first_cycle earlier",
			what, cycle, b.FirstBillable, b.FirstBillable), true
	}
	return cycle, Outcome{}, false
}

// TopUp applies a world file's top-up t to a: idempotent by its id, cash
// in at t.At, then arrears settled.
func (b *Books) TopUp(ctx context.Context, a *Account, t *callbill.TopUp) (Outcome, error) {
	hash := callbill.RequestHash("topup", t.Account, t.Amount.String(), strconv.FormatInt(t.At.Unix(), 10))
	prev, err := b.Tx.TopUpApplied(ctx, t.Account, t.ID)
	if err != nil {
		return Outcome{}, err
	}
	cycle, o, done := b.admit("top-up", t.ID, prev, hash, t.At)
	if done {
		return o, nil
	}
	if err := b.Tx.InsertTopUp(ctx, t, cycle, hash); err != nil {
		return Outcome{}, err
	}
	key := "topup:" + t.ID
	if err := post(ctx, b.Tx, a, &callbill.LedgerEntry{At: t.At, Kind: callbill.LedgerTopUp, Amount: t.Amount, Cycle: cycle, Ref: key, Key: key}, hash); err != nil {
		return Outcome{}, err
	}
	if err := settle(ctx, b.Tx, a, t.At); err != nil {
		return Outcome{}, err
	}
	if err := b.Tx.Emit(ctx, a.UID, callbill.EventTopUpReceived, callbill.NewTopUpEvent(a.UID, t.Amount, a.Cash, t.At, key, "world")); err != nil {
		return Outcome{}, err
	}
	return Outcome{}, b.Tx.NoteActivity(ctx, cycle)
}

// Buy applies purchase p to a: checked against the account, idempotent by
// its id, priced on its own and paid from cash (not credit).
func (b *Books) Buy(ctx context.Context, a *Account, p *callbill.Purchase) (Outcome, error) {
	mode, inst, o := PurchaseTarget(p, &a.Account)
	if o.Problem != "" {
		return o, nil
	}
	p.Instance = inst
	hash := callbill.RequestHash("purchase", p.Account, string(p.Kind), string(p.PackageType), strconv.FormatInt(p.PackageMinutes, 10),
		p.Instance, p.Number, strconv.FormatInt(p.Count, 10), strconv.FormatInt(p.Months, 10),
		strconv.FormatInt(p.Years, 10), strconv.FormatInt(p.At.Unix(), 10))
	prev, _, err := b.Tx.PurchaseApplied(ctx, p.Account, p.ID)
	if err != nil {
		return Outcome{}, err
	}
	cycle, o, done := b.admit("purchase", p.ID, prev, hash, p.At)
	if done {
		return o, nil
	}
	line, err := callbill.SettlePurchase(p, &a.Account, mode, b.PriceBook, b.Loc)
	if err != nil {
		return Outcome{Problem: callbill.ErrorMessage(err)}, nil
	}
	if a.Cash.LessThan(line.Payable) {
		o := refused("", "cash balance %s is less than the purchase's payable %s: top up first (purchases are paid from cash, not credit)",
			callbill.FormatMoney(a.Cash), callbill.FormatMoney(line.Payable))
		o.Short = true
		return o, nil
	}
	if err := b.Tx.InsertPurchase(ctx, p, cycle, hash, &line); err != nil {
		return Outcome{}, err
	}
	if p.Kind == callbill.PurchaseVoicePackage {
		if err := b.Tx.InsertPackage(ctx, &callbill.VoicePackage{Account: p.Account, ID: p.ID, Type: p.PackageType, Minutes: p.PackageMinutes,
			Remaining: p.PackageMinutes, From: p.At, Until: callbill.AddMonthsClamped(p.At, callbill.PackageValidityMonths, b.Loc)}); err != nil {
			return Outcome{}, err
		}
	}
	if err := post(ctx, b.Tx, a, &callbill.LedgerEntry{At: p.At, Kind: callbill.LedgerPurchase, Amount: line.Payable.Neg(),
		Cycle: cycle, Ref: "purchase:" + p.ID, Key: "purchase:" + p.ID}, hash); err != nil {
		return Outcome{}, err
	}
	if p.Kind == callbill.PurchaseNumberRent {
		if err := b.extendRent(ctx, p); err != nil {
			return Outcome{}, err
		}
	}
	return Outcome{}, b.Tx.NoteActivity(ctx, cycle)
}

// extendRent moves a number's paid-until date by a rent purchase's months,
// from the purchase or from the end of what was paid, whichever is later.
func (b *Books) extendRent(ctx context.Context, p *callbill.Purchase) error {
	ref := NumberRef{Account: p.Account, Instance: p.Instance, Number: p.Number}
	until, err := b.Tx.PaidUntil(ctx, ref)
	if err != nil {
		return err
	}
	from := p.At
	if until.After(from) {
		from = until
	}
	return b.Tx.SetPaidUntil(ctx, ref, callbill.AddMonthsClamped(from, int(p.Months), b.Loc))
}

// PurchaseTarget checks what purchase p buys against account a's instances
// and numbers: a seat or SIP line names an instance of the account (seats a
// subscription one), a number rent a CCC fixed-line number on one of them,
// and a voice package's id keeps clear of the separators of the stored
// rating. It returns the mode whose prices apply and the instance the
// purchase is for (a number rent's is its number's instance), or a refusal
// naming the field. A field left empty (a world file's entry with a problem
// there, checked all the same) is not held against the purchase.
func PurchaseTarget(p *callbill.Purchase, a *callbill.Account) (callbill.Mode, string, Outcome) {
	switch p.Kind {
	case callbill.PurchaseVoicePackage:
		if strings.ContainsAny(p.ID, ";,:") {
			return "", "", refused(".id", "a voice package's id must not contain ';', ',' or ':'; choose another id")
		}
		return callbill.ModePayg, "", Outcome{}
	case callbill.PurchaseSeats, callbill.PurchaseSipLine:
		where := "." + string(p.Kind) + ".instance"
		if p.Instance == "" {
			return "", "", Outcome{}
		}
		for _, inst := range a.Instances {
			if inst.ID != p.Instance {
				continue
			}
			if p.Kind == callbill.PurchaseSeats && inst.Mode == callbill.ModePayg {
				return "", "", refused(where, "seats are bought for subscription instances; %s is pay-as-you-go (it pays per minute)", inst.ID)
			}
			return inst.Mode, inst.ID, Outcome{}
		}
		return "", "", refused(where, "instance %s is not an instance of account %s; name one of its instances, or declare this one under the account", p.Instance, a.UID)
	case callbill.PurchaseNumberRent:
		where := ".number_rent.number"
		if p.Number == "" {
			return "", "", Outcome{}
		}
		for _, inst := range a.Instances {
			for _, n := range inst.Numbers {
				if n.Number != p.Number {
					continue
				}
				if n.Kind != "" && n.Kind != callbill.NumberFixed || n.Source != "" && n.Source != callbill.SourceCCC {
					return "", "", refused(where, "number %s is not a CCC fixed-line number: only those pay rent", p.Number)
				}
				return inst.Mode, inst.ID, Outcome{}
			}
		}
		return "", "", refused(where, "number %s is not registered on any instance of account %s; name one of its numbers, or declare this one under one of its instances", p.Number, a.UID)
	}
	return "", "", refused("", "unknown purchase kind %q", p.Kind)
}
