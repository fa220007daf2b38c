package world

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/callbill/callbill"
)

// problem is a callbill.Problem with the position of the node it is about,
// so that the problems can be returned in document order.
type problem struct {
	line, col int
	late      bool // sorts after everything else at line:col
	callbill.Problem
}

// parser collects problems while walking the document.
type parser struct {
	probs []problem
}

func (p *parser) add(n *yaml.Node, path, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	p.probs = append(p.probs, problem{line, col, false, callbill.Problem{Path: path, Message: fmt.Sprintf(format, args...)}})
}

// addAfter adds a problem about a mapping as a whole (a missing field, fields
// that do not go together); it sorts after the problems of the mapping's
// fields.
func (p *parser) addAfter(n *yaml.Node, path, format string, args ...any) {
	line, col := end(n)
	p.probs = append(p.probs, problem{line, col, true, callbill.Problem{Path: path, Message: fmt.Sprintf(format, args...)}})
}

// end returns the position of the last node inside n.
func end(n *yaml.Node) (line, col int) {
	if n == nil {
		return 0, 0
	}
	for n.Kind != yaml.AliasNode && len(n.Content) > 0 {
		n = n.Content[len(n.Content)-1]
	}
	return n.Line, n.Column
}

// problems returns the collected problems in document order (stable for
// problems about the same node).
func (p *parser) problems() callbill.Problems {
	sort.SliceStable(p.probs, func(i, j int) bool {
		a, b := p.probs[i], p.probs[j]
		if a.line != b.line {
			return a.line < b.line
		}
		if a.col != b.col {
			return a.col < b.col
		}
		return !a.late && b.late
	})
	var out callbill.Problems
	for _, q := range p.probs {
		out = append(out, q.Problem)
	}
	return out
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// obj is a YAML mapping being read: its known fields by name, with nulls
// dropped (a null field is an absent field).
type obj struct {
	p    *parser
	node *yaml.Node
	path string
	vals map[string]*yaml.Node
}

// mapping reads n (at path) as a mapping whose keys must be among known. A
// null n gives an empty obj with ok = false and no problem; a non-mapping gives
// a problem and ok = false. Unknown and duplicate keys are problems.
func (p *parser) mapping(n *yaml.Node, path string, known ...string) (o *obj, ok bool) {
	n = resolve(n)
	o = &obj{p: p, node: n, path: path, vals: map[string]*yaml.Node{}}
	if isNull(n) {
		return o, false
	}
	if n.Kind != yaml.MappingNode {
		p.add(n, path, "must be a mapping (key: value, …), not %s", kindName(n))
		return o, false
	}
	explicit := map[string]bool{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			p.add(k, path, "keys must be plain names, not %s", kindName(k))
			continue
		}
		name := k.Value
		kp := join(path, name)
		if explicit[name] {
			p.add(k, kp, "duplicate field")
			continue
		}
		explicit[name] = true
		if !contains(known, name) {
			p.add(k, kp, "%s", unknownField(name, known))
			continue
		}
		if !isNull(v) {
			o.vals[name] = resolve(v)
		}
	}
	// Merge keys (<<: *anchor) supply the fields not given explicitly.
	for _, m := range merges {
		m = resolve(m)
		var srcs []*yaml.Node
		switch m.Kind {
		case yaml.MappingNode:
			srcs = []*yaml.Node{m}
		case yaml.SequenceNode:
			for _, s := range m.Content {
				srcs = append(srcs, resolve(s))
			}
		}
		for _, s := range srcs {
			if s.Kind != yaml.MappingNode {
				p.add(s, path, "<< must merge a mapping, not %s", kindName(s))
				continue
			}
			sub, _ := p.mapping(s, path, known...)
			for name, v := range sub.vals {
				if !explicit[name] {
					explicit[name] = true
					o.vals[name] = v
				}
			}
		}
	}
	return o, true
}

// mapEntry is one entry of a free-keyed mapping (such as contract items).
type mapEntry struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node
	keyPath string
}

// entries reads n as a mapping with free keys, in document order. Duplicate
// keys are problems.
func (p *parser) entries(n *yaml.Node, path string) []mapEntry {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.add(n, path, "must be a mapping (key: value, …), not %s", kindName(n))
		return nil
	}
	seen := map[string]bool{}
	var out []mapEntry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			p.add(k, path, "keys must be plain names, not %s", kindName(k))
			continue
		}
		kp := join(path, k.Value)
		if seen[k.Value] {
			p.add(k, kp, "duplicate key")
			continue
		}
		seen[k.Value] = true
		out = append(out, mapEntry{key: k.Value, keyNode: k, val: resolve(v), keyPath: kp})
	}
	return out
}

// list reads n as a sequence; null is an empty list.
func (p *parser) list(n *yaml.Node, path string) []*yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.add(n, path, "must be a list (- …), not %s", kindName(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = resolve(c)
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func unknownField(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(strings.ToLower(name), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return "unknown field; did you mean " + best + "?"
	}
	return "unknown field; known fields are " + strings.Join(known, ", ")
}

// distance is the Levenshtein distance of two strings.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// --- field readers -------------------------------------------------------

func (o *obj) has(key string) bool { return o.vals[key] != nil }

func (o *obj) at(key string) string { return join(o.path, key) }

func (o *obj) required(key, hint string) {
	if hint != "" {
		o.p.addAfter(o.node, o.at(key), "required: %s", hint)
		return
	}
	o.p.addAfter(o.node, o.at(key), "required")
}

// scalar returns the literal text of key's value. ok is false when the field
// is absent (reported if required) or not a single value (always reported).
func (o *obj) scalar(key string, required bool, hint string) (string, bool) {
	v := o.vals[key]
	if v == nil {
		if required {
			o.required(key, hint)
		}
		return "", false
	}
	if v.Kind != yaml.ScalarNode {
		o.p.add(v, o.at(key), "must be a single value, not %s", kindName(v))
		return "", false
	}
	s := strings.TrimSpace(v.Value)
	if s == "" {
		if required {
			o.required(key, hint)
		}
		return "", false
	}
	return s, true
}

// enum reads a value that must be one of choices.
func (o *obj) enum(key string, required bool, choices ...string) (string, bool) {
	hint := strings.Join(choices, " or ")
	if len(choices) > 2 {
		hint = "one of " + strings.Join(choices, ", ")
	}
	s, ok := o.scalar(key, required, hint)
	if !ok {
		return "", false
	}
	if !contains(choices, s) {
		o.p.add(o.vals[key], o.at(key), "must be %s, not %q", hint, s)
		return "", false
	}
	return s, true
}

var decimalRE = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)

// number text of a scalar: YAML integers may carry digit separators (1_000).
func numberText(v *yaml.Node, s string) string {
	if v.ShortTag() == "!!int" {
		s = strings.ReplaceAll(s, "_", "")
	}
	return s
}

// decimal reads a non-negative decimal with at most places decimals. YAML
// numbers are read from their literal text, so 0.15 stays exact.
func (o *obj) decimal(key string, required bool, places int32) (decimal.Decimal, bool) {
	s, ok := o.scalar(key, required, "")
	if !ok {
		return decimal.Decimal{}, false
	}
	v := o.vals[key]
	s = numberText(v, s)
	if !decimalRE.MatchString(s) {
		o.p.add(v, o.at(key), "must be a decimal number such as \"0.15\", not %q", s)
		return decimal.Decimal{}, false
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		o.p.add(v, o.at(key), "must be a decimal number such as \"0.15\", not %q", s)
		return decimal.Decimal{}, false
	}
	if d.IsNegative() {
		o.p.add(v, o.at(key), "must not be negative, got %s", s)
		return decimal.Decimal{}, false
	}
	if !d.Equal(d.Truncate(places)) {
		o.p.add(v, o.at(key), "must have at most %d decimals, got %s", places, s)
		return decimal.Decimal{}, false
	}
	return d, true
}

// integer reads a whole number in [lo, hi].
func (o *obj) integer(key string, required bool, lo, hi int64) (int64, bool) {
	s, ok := o.scalar(key, required, "")
	if !ok {
		return 0, false
	}
	v := o.vals[key]
	s = numberText(v, s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) && strings.HasPrefix(s, "-") {
			o.p.add(v, o.at(key), "must be at least %d, got %s", lo, s)
		} else if errors.Is(err, strconv.ErrRange) {
			o.p.add(v, o.at(key), "must be at most %d, got %s", hi, s)
		} else {
			o.p.add(v, o.at(key), "must be a whole number, not %q", s)
		}
		return 0, false
	}
	if n < lo {
		o.p.add(v, o.at(key), "must be at least %d, got %d", lo, n)
		return 0, false
	}
	if n > hi {
		o.p.add(v, o.at(key), "must be at most %d, got %d", hi, n)
		return 0, false
	}
	return n, true
}

const timeExample = "2026-10-01T08:00:00+08:00"

// time reads an RFC 3339 time with an offset (fractional seconds allowed).
func (o *obj) time(key string, required bool) (time.Time, bool) {
	s, ok := o.scalar(key, required, "an RFC 3339 time with an offset, e.g. "+timeExample)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		o.p.add(o.vals[key], o.at(key), "must be RFC 3339 with an offset, e.g. %s, not %q", timeExample, s)
		return time.Time{}, false
	}
	return t, true
}

// cycle reads a YYYY-MM billing cycle.
func (o *obj) cycle(key string) (callbill.Cycle, bool) {
	s, ok := o.scalar(key, false, "")
	if !ok {
		return 0, false
	}
	c, err := callbill.ParseCycle(s)
	if err != nil {
		o.p.add(o.vals[key], o.at(key), "must be a month YYYY-MM, e.g. 2026-01, not %q", s)
		return 0, false
	}
	return c, true
}
