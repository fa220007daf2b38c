package world

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/callbill/callbill"
)

// problem is a callbill.Problem with the position of the node it is about,
// so that the problems can be returned in document order.
type problem struct {
	late bool // sorts after everything else at its line and column
	seq  int  // order of adding: keeps the sort stable across compactions
	callbill.Problem
}

// maxProblems is how many problems Parse lists; one more problem says how
// many were left out.
const maxProblems = callbill.MaxProblems

// compactAt is when the kept problems are cut back to the first maxProblems.
// Problems do not arrive in document order (a mapping's missing fields are
// added after its fields, a duplicate is found where the original is long
// past, aliases and merge keys revisit earlier lines), so the first 100 to
// arrive are not the first 100 of the document. The alias budget bounds how
// many problems a file can cause, but only to about ten per written node, and
// a large file has millions of nodes: cutting back whenever compactAt are
// kept bounds memory for any input at O(n log compactAt) time, and gives the
// same first 100 as sorting them all.
const compactAt = 10 * maxProblems

// parser collects problems while walking the document.
type parser struct {
	probs []problem      // the earliest problems so far, at most compactAt
	count int            // every problem added, kept or not
	loc   *time.Location // billing.timezone of the file, nil when not given
	// pos locates the entries and the fields the store checks (World.Positions).
	pos map[string]callbill.Position
}

// add adds a problem about node n (its line and column).
func (p *parser) add(n *yaml.Node, path, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	p.keep(problem{Problem: callbill.Problem{Line: line, Column: col}}, path, format, args)
}

// addAfter adds a problem about a mapping as a whole (a missing field, fields
// that do not go together): it is at the line where the mapping starts, and
// sorts after the problems of the mapping's fields on that line.
func (p *parser) addAfter(n *yaml.Node, path, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	p.keep(problem{late: true, Problem: callbill.Problem{Line: line, Column: col}}, path, format, args)
}

func (p *parser) keep(q problem, path, format string, args []any) {
	q.seq = p.count
	p.count++
	q.Path, q.Message = path, fmt.Sprintf(format, args...)
	p.probs = append(p.probs, q)
	if len(p.probs) >= compactAt {
		p.compact()
	}
}

// compact sorts the kept problems into document order (by adding order for
// the same node) and drops all but the first maxProblems.
func (p *parser) compact() {
	sort.Slice(p.probs, func(i, j int) bool {
		a, b := p.probs[i], p.probs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.late != b.late {
			return !a.late
		}
		return a.seq < b.seq
	})
	if len(p.probs) > maxProblems {
		clear(p.probs[maxProblems:])
		p.probs = p.probs[:maxProblems]
	}
}

// mark records where path is in the file: the position of n.
func (p *parser) mark(path string, n *yaml.Node) {
	if n == nil {
		return
	}
	if p.pos == nil {
		p.pos = map[string]callbill.Position{}
	}
	p.pos[path] = callbill.Position{Line: n.Line, Column: n.Column}
}

// problems returns the first maxProblems problems in document order, and
// then one saying how many more there are.
func (p *parser) problems() callbill.Problems {
	p.compact()
	var out callbill.Problems
	for _, q := range p.probs {
		out = append(out, q.Problem)
	}
	if more := p.count - len(p.probs); more > 0 {
		out = append(out, callbill.MoreProblems(more))
	}
	return out
}

// shortText bounds how much of a value a message repeats: a message about a
// 60 KB scalar, aliased a thousand times, must not cost 60 MB.
const shortText = 64

// short cuts s to shortText bytes and marks the cut.
func short(s string) string { return cut(s, shortText) }

// cut cuts s to n bytes (on a character boundary) and marks the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// quote quotes a value for a message: escaped (so NULs and broken UTF-8
// never reach the answer) and cut short.
func quote(s string) string { return strconv.Quote(short(s)) }

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
		return quote(n.Value)
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
	key = pathKey(key)
	if path == "" {
		return key
	}
	return path + "." + key
}

// pathKey is a mapping key as it appears in a path: as written when it is
// printable text, quoted otherwise, so that a path never carries a NUL,
// broken UTF-8, a control character or a 60 KB key.
func pathKey(key string) string {
	if key != "" && len(key) <= shortText && utf8.ValidString(key) &&
		strings.IndexFunc(key, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return key
	}
	return quote(key)
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
		// The distance is at least the difference in length: skip the
		// quadratic comparison of a long key that cannot be a near miss.
		if len(name) > utf8.UTFMax*(len(k)+bestD) {
			continue
		}
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
