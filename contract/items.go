package contract

import (
	"context"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// Describe names a contract line: product detail and item, and the number
// or instance when there is one.
func Describe(pd callbill.ProductDetail, item callbill.Item, instance, number string) string {
	d := callbill.ProductDetailName[pd] + " " + callbill.ItemName[item]
	if number != "" {
		return d + " " + number
	}
	if instance != "" {
		return d + " " + instance
	}
	return d
}

// purchaseItems fills a purchase contract's line: the purchase as billed.
// One live contract per purchase.
func purchaseItems(ctx context.Context, tx Tx, c *callbill.EContract) error {
	p, err := tx.Purchase(ctx, c.Account, c.Purchase)
	if err != nil {
		return err
	}
	live, err := tx.LiveContracts(ctx, c.Account, c.Purchase, 0, 0)
	if err != nil {
		return err
	}
	if len(live) > 0 {
		return callbill.Errorf(callbill.ECONFLICT, "purchase %s already has contract %s (%s): one contract per purchase", c.Purchase, live[0].ID, live[0].State)
	}
	c.Original, c.Discount, c.Payable = p.Original, p.Discount, p.Payable
	c.Items = []callbill.ContractItem{{Cycle: p.Cycle.String(), ProductDetail: string(p.ProductDetail), Item: string(p.Item),
		Description: Describe(p.ProductDetail, p.Item, p.Instance, p.Number), Usage: p.Usage.String(), UsageUnit: p.UsageUnit,
		UnitPrice: p.UnitPrice, PriceUnit: p.PriceUnit, Original: callbill.FormatMoney(c.Original), Discount: callbill.FormatMoney(c.Discount),
		Payable: callbill.FormatMoney(c.Payable)}}
	return nil
}

// serviceItems fills a service contract's lines: the closed bills' postpaid
// lines of the period, summed per cycle, product detail and billing item. A
// cycle's usage is under one live contract at a time.
func serviceItems(ctx context.Context, tx Tx, c *callbill.EContract) error {
	closed, err := tx.ClosedThrough(ctx)
	if err != nil {
		return err
	}
	if c.To > closed {
		if closed == 0 {
			return callbill.Errorf(callbill.EREFUSED, "cycle %s is not closed yet: a service contract covers closed bills (none is closed)", c.To)
		}
		return callbill.Errorf(callbill.EREFUSED, "cycle %s is not closed yet: a service contract covers closed bills (closed through %s)", c.To, closed)
	}
	live, err := tx.LiveContracts(ctx, c.Account, "", c.From, c.To)
	if err != nil {
		return err
	}
	if len(live) > 0 {
		return callbill.Errorf(callbill.ECONFLICT, "contract %s already covers %s..%s: a cycle's usage is under one contract at a time",
			live[0].ID, live[0].From, live[0].To)
	}
	lines, err := tx.PostpaidLines(ctx, c.Account, c.From, c.To)
	if err != nil {
		return err
	}
	type group struct {
		item                       callbill.ContractItem
		usage, orig, disc, payable decimal.Decimal
		mixed                      bool
	}
	type key struct {
		cycle callbill.Cycle
		pd    callbill.ProductDetail
		item  callbill.Item
	}
	var order []key
	groups := map[key]*group{}
	c.Original, c.Discount, c.Payable = decimal.Zero, decimal.Zero, decimal.Zero
	for _, l := range lines {
		k := key{l.Cycle, l.ProductDetail, l.Item}
		g := groups[k]
		if g == nil {
			g = &group{item: callbill.ContractItem{Cycle: l.Cycle.String(), ProductDetail: string(l.ProductDetail), Item: string(l.Item),
				Description: Describe(l.ProductDetail, l.Item, "", ""), UsageUnit: l.UsageUnit, UnitPrice: l.UnitPrice, PriceUnit: l.PriceUnit}}
			groups[k] = g
			order = append(order, k)
		}
		if g.item.UnitPrice != l.UnitPrice || g.item.PriceUnit != l.PriceUnit || g.item.UsageUnit != l.UsageUnit {
			g.mixed = true
		}
		g.usage = g.usage.Add(l.Usage)
		g.orig, g.disc, g.payable = g.orig.Add(l.Original), g.disc.Add(l.Discount), g.payable.Add(l.Payable)
	}
	for _, k := range order {
		g := groups[k]
		if g.payable.IsZero() && g.orig.IsZero() {
			continue
		}
		it := g.item
		it.Usage = g.usage.String()
		if g.mixed {
			it.UnitPrice, it.PriceUnit = "", "" // several bands or prices: the amounts say it
		}
		it.Original, it.Discount, it.Payable = callbill.FormatMoney(g.orig), callbill.FormatMoney(g.disc), callbill.FormatMoney(g.payable)
		c.Items = append(c.Items, it)
		c.Original, c.Discount, c.Payable = c.Original.Add(g.orig), c.Discount.Add(g.disc), c.Payable.Add(g.payable)
	}
	if len(c.Items) == 0 {
		return callbill.Errorf(callbill.EREFUSED, "account %s has no postpaid charges in %s..%s: nothing to contract", c.Account, c.From, c.To)
	}
	return nil
}
