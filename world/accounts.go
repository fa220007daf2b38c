package world

import (
	"strings"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/callbill/callbill"
)

type refs struct {
	uids      map[string]string // uid → path of the account
	instances map[string]string // instance id → path
	numbers   map[string]string // digits → path
}

func (p *parser) accounts(w *callbill.World, top *obj) {
	r := refs{uids: map[string]string{}, instances: map[string]string{}, numbers: map[string]string{}}
	for i, n := range p.list(top.vals["accounts"], "accounts") {
		path := index("accounts", i)
		o, ok := p.entry(n, path, "uid", "name", "kind", "credit_line", "contract", "recording_retention_months", "instances",
			"allowance", "grace_days", "low_balance_alert")
		if !ok {
			continue
		}
		start := p.count
		a := callbill.Account{
			Kind:                     callbill.AccountEnterprise,
			CreditLine:               decimal.Zero,
			RecordingRetentionMonths: callbill.DefaultRetentionMonths,
		}
		a.Path = path
		p.mark(path, o.node)
		p.mark(o.at("uid"), o.vals["uid"])
		if uid, ok := o.uid("uid"); ok {
			if first, dup := r.uids[uid]; dup {
				p.add(o.vals["uid"], o.at("uid"), "duplicate uid %s; the account is already declared at %s", uid, first)
			} else {
				r.uids[uid] = path
			}
			a.UID = uid
		}
		a.Name, _ = o.text("name", true, "the account's name", maxNameLen)
		if k, ok := o.enum("kind", false, string(callbill.AccountEnterprise), string(callbill.AccountIndividual)); ok {
			a.Kind = callbill.AccountKind(k)
		}
		if d, ok := o.money("credit_line", false, callbill.ParseAmount); ok {
			a.CreditLine = d
		}
		if m, ok := o.integer("recording_retention_months", false, 1, 120); ok {
			a.RecordingRetentionMonths = int(m)
		}
		a.Allowance = decimal.Zero
		if d, ok := o.money("allowance", false, callbill.ParseAmount); ok {
			a.Allowance = d
		}
		if g, ok := o.integer("grace_days", false, 0, 365); ok {
			a.GraceDays = int(g)
		}
		if d, ok := o.money("low_balance_alert", false, callbill.ParseAmount); ok {
			a.LowBalanceAlert = &d
		}
		a.Contract = p.contract(o)
		// Instances and numbers keep their places even with problems, so
		// that their paths are their indexes (an account with a problem is
		// never applied, only checked).
		for j, in := range p.list(o.vals["instances"], o.at("instances")) {
			a.Instances = append(a.Instances, p.instance(in, index(o.at("instances"), j), a.UID, &r))
		}
		if p.count == start {
			w.Accounts = append(w.Accounts, a)
		} else {
			w.Unread.Accounts = append(w.Unread.Accounts, a)
		}
	}
}

func (p *parser) contract(a *obj) *callbill.Contract {
	o, ok := p.mapping(a.vals["contract"], a.at("contract"), "discount", "items", "from", "to")
	if !ok {
		return nil
	}
	c := &callbill.Contract{Discount: decimal.NewFromInt(1)}
	if d, ok := o.rate("discount", false); ok {
		c.Discount = d
	}
	all := itemNames(callbill.Items)
	for _, e := range p.entries(o.vals["items"], o.at("items")) {
		if !contains(all, e.key) {
			p.add(e.keyNode, e.keyPath, "not a billing item; use one of %s", strings.Join(all, ", "))
			continue
		}
		if c.Items == nil {
			c.Items = map[callbill.Item]decimal.Decimal{}
		}
		item := &obj{p: p, node: e.keyNode, path: o.at("items"), vals: map[string]*yaml.Node{}}
		if !isNull(e.val) {
			item.vals[e.key] = e.val
		}
		if r, ok := item.rate(e.key, true); ok {
			c.Items[callbill.Item(e.key)] = r
		}
	}
	from, fromOK := o.cycle("from")
	to, toOK := o.cycle("to")
	if fromOK && toOK && to < from {
		p.add(o.vals["to"], o.at("to"), "must not be before from (%s), got %s", from, to)
	}
	c.From, c.To = from, to
	return c
}

// instance reads an instance; what has a problem is left empty.
func (p *parser) instance(n *yaml.Node, path, uid string, r *refs) callbill.Instance {
	in := callbill.Instance{Account: uid}
	o, ok := p.entry(n, path, "id", "mode", "numbers")
	if !ok {
		return in
	}
	p.mark(path, o.node)
	p.mark(o.at("id"), o.vals["id"])
	if id, ok := o.id("id", true); ok {
		if first, dup := r.instances[id]; dup {
			p.add(o.vals["id"], o.at("id"), "duplicate instance id %s; already declared at %s", id, first)
		} else {
			r.instances[id] = path
		}
		in.ID = id
	}
	mode, _ := o.enum("mode", true, string(callbill.ModePayg), string(callbill.ModeSubscription))
	in.Mode = callbill.Mode(mode)
	for j, nn := range p.list(o.vals["numbers"], o.at("numbers")) {
		in.Numbers = append(in.Numbers, p.number(nn, index(o.at("numbers"), j), in.ID, r))
	}
	return in
}

// number reads a number; what has a problem is left empty.
func (p *parser) number(n *yaml.Node, path, instance string, r *refs) callbill.Number {
	num := callbill.Number{Instance: instance}
	o, ok := p.entry(n, path, "number", "kind", "source", "tier", "since", "until", "auto_renew")
	if !ok {
		return num
	}
	p.mark(path, o.node)
	p.mark(o.at("number"), o.vals["number"])
	if d, ok := o.phone("number"); ok {
		if first, dup := r.numbers[d]; dup {
			p.add(o.vals["number"], o.at("number"), "number %s is already declared at %s; a number belongs to one instance", d, first)
		} else {
			r.numbers[d] = path
		}
		num.Number = d
	}
	kind, kindOK := o.enum("kind", true, string(callbill.NumberFixed), string(callbill.Number400))
	num.Kind = callbill.NumberKind(kind)
	source, sourceOK := o.enum("source", true, string(callbill.SourceCCC), string(callbill.SourceThirdParty), string(callbill.SourceOwn))
	num.Source = callbill.NumberSource(source)

	tiers := tierNames()
	needsTier := num.Kind == callbill.Number400 && num.Source == callbill.SourceCCC
	switch {
	case kindOK && sourceOK && needsTier:
		if t, ok := o.scalar("tier", true, "a CCC 400 number needs its tier, one of "+strings.Join(tiers, ", ")); ok {
			if !contains(tiers, t) {
				p.add(o.vals["tier"], o.at("tier"), "must be one of %s, not %s", strings.Join(tiers, ", "), quote(t))
			} else {
				num.Tier = t
			}
		}
	case kindOK && sourceOK && o.has("tier"):
		p.add(o.vals["tier"], o.at("tier"), "only a CCC 400 number (kind 400, source ccc) has a tier; remove it")
	}

	since, sinceOK := o.time("since", false)
	until, untilOK := o.time("until", false)
	if sinceOK && untilOK && !since.Before(until) {
		p.add(o.vals["until"], o.at("until"), "must be after since (%s)", short(o.vals["since"].Value))
	}
	num.Since, num.Until = since, until
	if v, ok := o.enum("auto_renew", false, "true", "false"); ok {
		num.AutoRenew = v == "true"
		if num.AutoRenew && (num.Kind != callbill.NumberFixed || num.Source != callbill.SourceCCC) {
			p.add(o.vals["auto_renew"], o.at("auto_renew"), "only CCC fixed-line numbers pay rent, so only they renew it; remove auto_renew")
		}
	}
	return num
}
