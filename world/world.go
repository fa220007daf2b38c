// Package world parses and checks a world file (docs/rules.md, "World files") into a callbill.World.
//
// Parse checks the form of the file only: every value, every reference inside
// one list (unique ids, numbers, uids), but not what the file refers to
// outside itself (a top-up's or purchase's account, a purchase's instance or
// number may be declared in the store already); provision checks those, for
// a file with problems of form too, so that one report lists them all.
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
	"strings"
	"time"
	"unicode"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/internal/yamlsyntax"
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
	f, err := os.Open(path)
	if err != nil {
		return nil, callbill.Problems{{Message: "cannot read the world file: " + err.Error()}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, callbill.Problems{{Message: "cannot read the world file: " + err.Error()}}
	}
	if int64(len(data)) > maxFileBytes {
		return nil, callbill.Problems{{Message: fmt.Sprintf("the world file %s is larger than %d bytes, the most callbill reads; split it into several files applied one after the other",
			path, maxFileBytes)}}
	}
	return Parse(data)
}

// maxFileBytes bounds a world file read from disk, as the API's largest
// world_body limit bounds a posted one (a variable for the tests).
var maxFileBytes int64 = 1 << 30

// Parse decodes a world file. It returns every problem it finds (not just the
// first), each with its YAML path such as `accounts[1].instances[0].mode`,
// its line and column, and a message a tenant can act on, in document order.
// An empty file is a valid, empty world.
//
// When the file is YAML but has problems, the World is returned too, with
// them in World.Problems and the entries that have problems in World.Unread:
// provision.Apply checks what it names against the store, so that one report
// lists every problem, and applies nothing. When the file cannot be read as
// YAML (a syntax error stops the reader: nothing after it can be trusted) the
// World is nil.
func Parse(data []byte) (*callbill.World, callbill.Problems) {
	w := &callbill.World{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	// Decoding into yaml.Node builds the tree without expanding aliases
	// (checkAliases bounds that); a panic inside yaml.v3 on hostile input
	// becomes an error rather than the end of the process.
	var doc yaml.Node
	if err := yamlsyntax.Decode(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			return w, nil
		}
		return nil, callbill.Problems{yamlsyntax.Problem(dec, data, err)}
	}
	p := &parser{}
	// Aliases first: past the budget, nothing else is looked at.
	if !p.checkAliases(&doc) {
		return nil, p.problems()
	}
	for {
		var extra yaml.Node
		err := yamlsyntax.Decode(dec, &extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, callbill.Problems{yamlsyntax.Problem(dec, data, err)}
		}
		if len(extra.Content) > 0 && !isNull(extra.Content[0]) {
			p.add(&extra, "", "a world file holds one YAML document; remove everything after the second ---")
			break
		}
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return withProblems(w, p)
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
	w.Positions = p.pos
	return withProblems(w, p)
}

// withProblems returns w with the parser's problems, if any, in w.Problems.
func withProblems(w *callbill.World, p *parser) (*callbill.World, callbill.Problems) {
	if p.count == 0 {
		return w, nil
	}
	w.Problems = p.problems()
	return w, w.Problems
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
	p.markFields("billing", b, "timezone", "first_cycle", "max_call_seconds")
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

// --- top-ups -------------------------------------------------------------

// --- purchases -----------------------------------------------------------
