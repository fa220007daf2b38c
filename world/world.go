// Package world parses and checks a world file (DESIGN §4.1) into a callbill.World.
//
// Parse checks the form of the file only: every value, every reference inside
// one list (unique ids, numbers, uids), but not what the file refers to
// outside itself (a top-up's or purchase's account, a purchase's instance or
// number may be declared in the store already); the store checks those.
package world

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/callbill/callbill"
)

// maxQuantity bounds seat counts, lines, months and years, so that products of
// quantities (seats × months) can never overflow.
const maxQuantity = 1_000_000_000

// Text bounds, in bytes: ids (uids, instance, top-up and purchase ids) and
// numbers as written, and account names.
const (
	maxIDLen   = 128
	maxNameLen = 256
)

var uidRE = regexp.MustCompile(`^[0-9]{1,32}$`)

// ParseFile reads and parses a world file. A read error is one Problem with
// an empty path.
func ParseFile(path string) (*callbill.World, callbill.Problems) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, callbill.Problems{{Message: "cannot read the world file: " + err.Error()}}
	}
	return Parse(data)
}

// Parse decodes a world file. It returns every problem it finds (not just the
// first), each with its YAML path such as `accounts[1].instances[0].mode` and
// a message a tenant can act on, in document order. When problems is
// non-empty the World is nil and must not be used. An empty file is a valid,
// empty world.
func Parse(data []byte) (*callbill.World, callbill.Problems) {
	w := &callbill.World{AccountPaths: map[string]string{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := decode(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			return w, nil
		}
		return nil, callbill.Problems{{Message: yamlError(err)}}
	}
	p := &parser{}
	// Aliases first: past the budget, nothing else is looked at.
	if !p.checkAliases(&doc) {
		return nil, p.problems()
	}
	for {
		var extra yaml.Node
		err := decode(dec, &extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, callbill.Problems{{Message: yamlError(err)}}
		}
		if len(extra.Content) > 0 && !isNull(extra.Content[0]) {
			p.add(&extra, "", "a world file holds one YAML document; remove everything after the second ---")
			break
		}
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return w, p.problems()
		}
		root = doc.Content[0]
	}
	root = resolve(root)
	if !isNull(root) && root.Kind != yaml.MappingNode {
		p.add(root, "", "a world file must be a mapping with the sections billing, prices, accounts, topups, purchases")
		return nil, p.problems()
	}
	top, _ := p.mapping(root, "", "billing", "prices", "accounts", "topups", "purchases")

	p.billing(w, top)
	p.prices(w, top)
	p.accounts(w, top)
	p.topups(w, top)
	p.purchases(w, top)

	if probs := p.problems(); len(probs) > 0 {
		return nil, probs
	}
	return w, nil
}

// decode reads the next document as a node tree. Decoding into yaml.Node
// builds the tree without expanding aliases (checkAliases bounds that). A
// panic inside yaml.v3 on hostile input becomes an error rather than the end
// of the process.
func decode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML reader failed on this input (%v)", r)
		}
	}()
	return dec.Decode(n)
}

// yamlError is a YAML syntax error as a message, bounded and valid UTF-8
// without NULs, as it may quote the input.
func yamlError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.ReplaceAll(strings.ToValidUTF8(cut(msg, 4*shortText), "\ufffd"), "\x00", `\0`)
	return "not valid YAML: " + msg
}

// entry reads one element of a list, which must be a mapping.
func (p *parser) entry(n *yaml.Node, path string, known ...string) (*obj, bool) {
	if isNull(n) {
		p.add(n, path, "empty entry; expected a mapping (key: value, …)")
		return nil, false
	}
	return p.mapping(n, path, known...)
}

// id reads an identifier: 1–128 bytes, no spaces or control characters.
func (o *obj) id(key string, required bool) (string, bool) {
	s, ok := o.text(key, required, "", maxIDLen)
	if !ok {
		return "", false
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		o.p.add(o.vals[key], o.at(key), "must be an id without spaces or control characters, not %s", quote(s))
		return "", false
	}
	return s, true
}

// uid reads an account UID: 1–32 digits.
func (o *obj) uid(key string) (string, bool) {
	s, ok := o.text(key, true, "the account's UID, e.g. \"1000000000000001\"", maxIDLen)
	if !ok {
		return "", false
	}
	if !uidRE.MatchString(s) {
		o.p.add(o.vals[key], o.at(key), "must be an account UID of 1 to 32 digits, not %s", quote(s))
		return "", false
	}
	return s, true
}

// phone reads a phone number, keeping digits only.
func (o *obj) phone(key string) (string, bool) {
	s, ok := o.text(key, true, "a phone number, e.g. \"057188880001\"", maxIDLen)
	if !ok {
		return "", false
	}
	d := digits(s)
	if d == "" {
		o.p.add(o.vals[key], o.at(key), "must be a phone number with digits, e.g. \"057188880001\", not %s", quote(s))
		return "", false
	}
	return d, true
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// rate reads a discount rate: 0 < r ≤ 1 with at most 4 decimals.
func (o *obj) rate(key string, required bool) (decimal.Decimal, bool) {
	return o.money(key, required, callbill.ParseRate)
}

func itemNames(items []callbill.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = string(it)
	}
	return out
}

// tierNames lists the 400 tiers by their minimum, lowest first.
func tierNames() []string {
	var out []string
	for t := range callbill.Minimum400 {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		return callbill.Minimum400[out[i]].LessThan(callbill.Minimum400[out[j]])
	})
	return out
}

// --- billing -------------------------------------------------------------

// Bounds of billing.first_cycle: calls carry epoch seconds, so nothing is
// billable before 1970; four-digit years end at 9999.
var (
	minFirstCycle = callbill.NewCycle(1970, time.January)
	maxFirstCycle = callbill.NewCycle(9999, time.December)
)

func (p *parser) billing(w *callbill.World, top *obj) {
	b, ok := p.mapping(top.vals["billing"], "billing", "timezone", "first_cycle", "max_call_seconds")
	if !ok {
		return
	}
	p.timezone(w, b)
	if c, ok := b.cycle("first_cycle"); ok {
		if c < minFirstCycle || c > maxFirstCycle {
			p.add(b.vals["first_cycle"], b.at("first_cycle"), "must be a month from %s to %s, not %s", minFirstCycle, maxFirstCycle, c)
		} else {
			w.FirstCycle = c
		}
	}
	if n, ok := b.integer("max_call_seconds", false, 1, callbill.MaxCallSecondsLimit); ok {
		w.MaxCallSeconds = n
	}
}

func (p *parser) timezone(w *callbill.World, b *obj) {
	v := b.vals["timezone"]
	if v == nil {
		return
	}
	if v.Kind == yaml.ScalarNode && strings.TrimSpace(v.Value) == "" {
		p.add(v, b.at("timezone"), "must be a time zone name such as Asia/Shanghai, or left out")
		return
	}
	s, ok := b.scalar("timezone", false, "")
	if !ok {
		return
	}
	if s == "Local" {
		p.add(v, b.at("timezone"), "must name a time zone such as Asia/Shanghai; the machine's Local zone is not allowed")
		return
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		p.add(v, b.at("timezone"), "unknown time zone %s; use an IANA name such as Asia/Shanghai or UTC", quote(s))
		return
	}
	w.Timezone, p.loc = s, loc
}

// --- prices --------------------------------------------------------------

func (p *parser) prices(w *callbill.World, top *obj) {
	items := itemNames(callbill.PricedItems)
	seen := map[string]string{} // item|mode|from → path
	for i, n := range p.list(top.vals["prices"], "prices") {
		path := index("prices", i)
		o, ok := p.entry(n, path, "item", "mode", "price", "tiers", "from")
		if !ok {
			continue
		}
		start := p.count
		pr := callbill.Price{Path: path}
		item, itemOK := o.enum("item", true, items...)
		pr.Item = callbill.Item(item)
		mode, _ := o.enum("mode", false, string(callbill.ModePayg), string(callbill.ModeSubscription))
		pr.Mode = callbill.Mode(mode)
		pr.From, _ = o.time("from", false)

		hasPrice, hasTiers := o.has("price"), o.has("tiers")
		switch {
		case hasPrice && hasTiers:
			p.add(o.vals["tiers"], o.at("tiers"), "give either price or tiers, not both")
		case !hasPrice && !hasTiers:
			p.addAfter(o.node, path, "needs a price, or tiers for CallCenterSoftware")
		case hasPrice:
			if d, ok := o.money("price", true, callbill.ParsePrice); ok {
				pr.Tiers = []callbill.Tier{{Price: d}}
			}
		case hasTiers:
			if itemOK && pr.Item != callbill.ItemCallCenterSoftware {
				p.add(o.vals["tiers"], o.at("tiers"), "only CallCenterSoftware has tiers; give %s a single price", item)
				break
			}
			pr.Tiers = p.tiers(o)
		}

		if p.count > start {
			continue
		}
		key := fmt.Sprintf("%s|%s|%d", pr.Item, pr.Mode, pr.From.UnixNano())
		if first, dup := seen[key]; dup {
			p.addAfter(o.node, path, "duplicates %s: the same item, mode and from", first)
			continue
		}
		seen[key] = path
		w.Prices = append(w.Prices, pr)
	}
}

func (p *parser) tiers(o *obj) []callbill.Tier {
	tpath := o.at("tiers")
	list := p.list(o.vals["tiers"], tpath)
	if len(list) == 0 {
		if o.vals["tiers"].Kind == yaml.SequenceNode {
			p.add(o.vals["tiers"], tpath, "must list at least one tier")
		}
		return nil
	}
	var out []callbill.Tier
	prev := int64(0)
	for j, n := range list {
		t, ok := p.entry(n, index(tpath, j), "upto", "price")
		if !ok {
			continue
		}
		tier := callbill.Tier{}
		tier.Price, _ = t.money("price", true, callbill.ParsePrice)
		if j == len(list)-1 {
			if t.has("upto") {
				p.add(t.vals["upto"], t.at("upto"), "the last tier has no upto: it covers everything above the tier before")
			}
		} else if !t.has("upto") {
			p.addAfter(t.node, t.at("upto"), "required on every tier but the last")
		} else if up, ok := t.integer("upto", true, 1, math.MaxInt64); ok {
			if j > 0 && prev > 0 && up <= prev {
				p.add(t.vals["upto"], t.at("upto"), "must be more than the previous tier's upto (%d), got %d", prev, up)
			}
			tier.UpTo = up
			prev = up
		}
		out = append(out, tier)
	}
	return out
}

// --- accounts ------------------------------------------------------------

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
		if uid, ok := o.uid("uid"); ok {
			if first, dup := r.uids[uid]; dup {
				p.add(o.vals["uid"], o.at("uid"), "duplicate uid %s; the account is already declared at %s", uid, first)
			} else {
				r.uids[uid] = path
				w.AccountPaths[uid] = path
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
		for j, in := range p.list(o.vals["instances"], o.at("instances")) {
			if inst, ok := p.instance(in, index(o.at("instances"), j), a.UID, &r); ok {
				a.Instances = append(a.Instances, inst)
			}
		}
		if p.count == start {
			w.Accounts = append(w.Accounts, a)
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

func (p *parser) instance(n *yaml.Node, path, uid string, r *refs) (callbill.Instance, bool) {
	o, ok := p.entry(n, path, "id", "mode", "numbers")
	if !ok {
		return callbill.Instance{}, false
	}
	start := p.count
	in := callbill.Instance{Account: uid}
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
		if num, ok := p.number(nn, index(o.at("numbers"), j), in.ID, r); ok {
			in.Numbers = append(in.Numbers, num)
		}
	}
	return in, p.count == start
}

func (p *parser) number(n *yaml.Node, path, instance string, r *refs) (callbill.Number, bool) {
	o, ok := p.entry(n, path, "number", "kind", "source", "tier", "since", "until", "auto_renew")
	if !ok {
		return callbill.Number{}, false
	}
	start := p.count
	num := callbill.Number{Instance: instance}
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
			}
			num.Tier = t
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
			p.add(o.vals["auto_renew"], o.at("auto_renew"), "only CCC fixed-line numbers pay rent")
		}
	}
	return num, p.count == start
}

// --- top-ups -------------------------------------------------------------

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

// --- purchases -----------------------------------------------------------

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
		if p.count == start {
			w.Purchases = append(w.Purchases, pu)
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
		pu.Instance, _ = o.id("instance", true)
		pu.Count, _ = o.integer("count", true, 1, maxQuantity)
		pu.Months, _ = o.integer("months", true, 1, maxQuantity)
	case callbill.PurchaseNumberRent:
		o, ok := p.mapping(parent.vals[kind], path, "number", "months")
		if !ok {
			return
		}
		pu.Number, _ = o.phone("number")
		pu.Months, _ = o.integer("months", true, 1, maxQuantity)
	case callbill.PurchaseSipLine:
		o, ok := p.mapping(parent.vals[kind], path, "instance", "lines", "years")
		if !ok {
			return
		}
		pu.Instance, _ = o.id("instance", true)
		pu.Count, _ = o.integer("lines", true, 1, maxQuantity)
		pu.Years, _ = o.integer("years", true, 1, maxQuantity)
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
