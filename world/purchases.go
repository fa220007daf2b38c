package world

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
)

func (p *parser) topups(w *callbill.World, top *obj) {
	seen := map[string]string{}
	for i, n := range p.list(top.vals["topups"], "topups") {
		path := index("topups", i)
		o, ok := p.entry(n, path, "id", "account", "amount", "at")
		if !ok {
			continue
		}
		start := p.count
		t := callbill.TopUp{Path: path}
		p.markFields(path, o, "id", "account", "amount", "at")
		if id, ok := o.id("id", true); ok {
			if first, dup := seen[id]; dup {
				p.add(o.vals["id"], o.at("id"), "duplicate top-up id %s; already used at %s", id, first)
			} else {
				seen[id] = path
			}
			t.ID = id
		}
		t.Account, _ = o.uid("account")
		if d, ok := o.money("amount", true, callbill.ParseAmount); ok {
			if !d.IsPositive() {
				p.add(o.vals["amount"], o.at("amount"), "must be more than 0")
			}
			t.Amount = d
		}
		t.At, _ = o.time("at", true)
		p.notBeforeFirstCycle(w, o, t.At)
		if p.count == start {
			w.TopUps = append(w.TopUps, t)
		} else {
			w.Unread.TopUps = append(w.Unread.TopUps, t)
		}
	}
}

// earliestZone is the zone in which a month starts first (UTC+14): an
// instant before the month there is before it in every zone.
var earliestZone = time.FixedZone("UTC+14", 14*3600)

// notBeforeFirstCycle reports an `at` before billing.first_cycle of the same
// file. The cycle starts in the file's time zone; without one the stored zone
// applies, which only the store knows, so then only an instant before the
// cycle in every zone is reported here and the store checks the rest.
func (p *parser) notBeforeFirstCycle(w *callbill.World, o *obj, at time.Time) {
	if w.FirstCycle == 0 || at.IsZero() {
		return
	}
	if p.loc != nil {
		if start := w.FirstCycle.Start(p.loc); at.Before(start) {
			p.add(o.vals["at"], o.at("at"), "is before billing.first_cycle %s: the cycle starts %s (%s)",
				w.FirstCycle, start.Format(time.RFC3339), w.Timezone)
		}
		return
	}
	if start := w.FirstCycle.Start(earliestZone); at.Before(start) {
		p.add(o.vals["at"], o.at("at"), "is before billing.first_cycle %s: it is before %s in every time zone",
			w.FirstCycle, start.Format(time.DateOnly))
	}
}

var purchaseKinds = []string{
	string(callbill.PurchaseVoicePackage), string(callbill.PurchaseSeats),
	string(callbill.PurchaseNumberRent), string(callbill.PurchaseSipLine),
}

func (p *parser) purchases(w *callbill.World, top *obj) {
	seen := map[string]string{}
	for i, n := range p.list(top.vals["purchases"], "purchases") {
		path := index("purchases", i)
		o, ok := p.entry(n, path, append([]string{"id", "account", "at"}, purchaseKinds...)...)
		if !ok {
			continue
		}
		start := p.count
		pu := callbill.Purchase{Path: path}
		p.markFields(path, o, append([]string{"id", "account", "at"}, purchaseKinds...)...)
		if id, ok := o.id("id", true); ok {
			if first, dup := seen[id]; dup {
				p.add(o.vals["id"], o.at("id"), "duplicate purchase id %s; already used at %s", id, first)
			} else {
				seen[id] = path
			}
			pu.ID = id
		}
		pu.Account, _ = o.uid("account")
		pu.At, _ = o.time("at", true)
		p.notBeforeFirstCycle(w, o, pu.At)

		var kinds []string
		for _, k := range purchaseKinds {
			if o.has(k) {
				kinds = append(kinds, k)
			}
		}
		switch len(kinds) {
		case 0:
			p.addAfter(o.node, path, "needs what it buys: one of %s", strings.Join(purchaseKinds, ", "))
		case 1:
		default:
			p.add(o.vals[kinds[1]], o.at(kinds[1]), "a purchase buys one thing: give only one of %s (found %s)",
				strings.Join(purchaseKinds, ", "), strings.Join(kinds, " and "))
		}
		for _, k := range kinds {
			pu.Kind = callbill.PurchaseKind(k)
			p.purchaseItem(o, k, &pu)
		}
		if len(kinds) > 1 {
			pu.Kind = "" // which one is meant is not known
		}
		if p.count == start {
			w.Purchases = append(w.Purchases, pu)
		} else {
			w.Unread.Purchases = append(w.Unread.Purchases, pu)
		}
	}
}

func (p *parser) purchaseItem(parent *obj, kind string, pu *callbill.Purchase) {
	path := parent.at(kind)
	switch callbill.PurchaseKind(kind) {
	case callbill.PurchaseVoicePackage:
		o, ok := p.mapping(parent.vals[kind], path, "type", "minutes")
		if !ok {
			return
		}
		types := []string{string(callbill.PackageFixedInbound), string(callbill.PackageFixedOutbound), string(callbill.PackageInbound400)}
		typ, typOK := o.enum("type", true, types...)
		pu.PackageType = callbill.PackageType(typ)
		if !o.has("minutes") && typOK {
			p.addAfter(o.node, o.at("minutes"), "required: one of %s for %s", packageSizes(pu.PackageType), typ)
			return
		}
		m, ok := o.integer("minutes", true, 1, math.MaxInt64)
		if ok && typOK {
			if _, known := callbill.PackagePrices[pu.PackageType][m]; !known {
				p.add(o.vals["minutes"], o.at("minutes"), "must be one of %s for %s, not %d", packageSizes(pu.PackageType), typ, m)
			}
		}
		pu.PackageMinutes = m
	case callbill.PurchaseSeats:
		o, ok := p.mapping(parent.vals[kind], path, "instance", "count", "months")
		if !ok {
			return
		}
		p.markFields(path, o, "instance")
		pu.Instance, _ = o.id("instance", true)
		pu.Count, _ = o.integer("count", true, 1, maxQuantity)
		pu.Months, _ = o.integer("months", true, 1, maxQuantity)
	case callbill.PurchaseNumberRent:
		o, ok := p.mapping(parent.vals[kind], path, "number", "months")
		if !ok {
			return
		}
		p.markFields(path, o, "number")
		pu.Number, _ = o.phone("number")
		pu.Months, _ = o.integer("months", true, 1, maxQuantity)
	case callbill.PurchaseSipLine:
		o, ok := p.mapping(parent.vals[kind], path, "instance", "lines", "years")
		if !ok {
			return
		}
		p.markFields(path, o, "instance")
		pu.Instance, _ = o.id("instance", true)
		pu.Count, _ = o.integer("lines", true, 1, maxQuantity)
		pu.Years, _ = o.integer("years", true, 1, maxQuantity)
	}
}

// markFields records where the entry at path and its fields keys are.
func (p *parser) markFields(path string, o *obj, keys ...string) {
	p.mark(path, o.node)
	for _, k := range keys {
		p.mark(o.at(k), o.vals[k])
	}
}

// packageSizes lists the sizes of a package type, smallest first.
func packageSizes(t callbill.PackageType) string {
	var sizes []int64
	for m := range callbill.PackagePrices[t] {
		sizes = append(sizes, m)
	}
	sort.Slice(sizes, func(i, j int) bool { return sizes[i] < sizes[j] })
	out := make([]string, len(sizes))
	for i, m := range sizes {
		out[i] = strconv.FormatInt(m, 10)
	}
	return strings.Join(out, ", ")
}
