package world

import "gopkg.in/yaml.v3"

// The alias budget. yaml.v3 decodes a document into a tree of yaml.Node
// without expanding aliases (an alias node points at its anchor), and its
// own guard against alias fan-out ("excessive aliasing") only runs when
// decoding into Go values, which Parse never does. The parser, though, reads
// an alias as a copy of its anchor: nested aliases of 150 copies each turn
// 2.7 KB into millions of nodes (and as many problems). So before the walk,
// checkAliases expands the document the way the parser would, counting every
// node reached through an alias, and refuses the file once the count passes
// the budget: max(minAliasBudget, aliasRatio × the nodes as written). That
// bounds the parser's work to about eleven times the file as written, and
// still leaves room for anchors reused a few times.
const (
	minAliasBudget = 10_000
	aliasRatio     = 10
)

// maxPathParts bounds the path of an alias in a problem: past it the path
// is cut (a path that deep is no world file anyway).
const maxPathParts = 32

// pathPart is one step of the path to a node, linked to its parent so that
// paths are built only for a problem.
type pathPart struct {
	parent *pathPart
	key    string
	index  int // a list index, or -1 for a mapping key
}

func (p *pathPart) String() string {
	var parts []*pathPart
	for q := p; q != nil; q = q.parent {
		parts = append(parts, q)
	}
	cut := len(parts) > maxPathParts
	if cut {
		parts = parts[len(parts)-maxPathParts:]
	}
	path := ""
	for i := len(parts) - 1; i >= 0; i-- {
		if q := parts[i]; q.index < 0 {
			path = join(path, q.key)
		} else {
			path = index(path, q.index)
		}
	}
	if cut {
		path += "…"
	}
	return path
}

// written counts the nodes of the document as written, aliases as one.
func written(root *yaml.Node) int {
	count := 0
	stack := []*yaml.Node{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		count++
		stack = append(stack, n.Content...)
	}
	return count
}

// checkAliases walks root with its aliases expanded and reports, as one
// problem at the path of the outermost alias being followed, an alias that
// contains itself or an expansion beyond the budget. It stops at the first
// problem: ok is false then and the document must not be walked.
func (p *parser) checkAliases(root *yaml.Node) (ok bool) {
	budget := max(minAliasBudget, aliasRatio*written(root))
	type step struct {
		n     *yaml.Node
		at    *pathPart  // the path of n
		alias *pathPart  // the outermost alias n was reached through, or nil
		merge bool       // n is the value of a merge key (<<)
		leave *yaml.Node // set on the step that ends the expansion of this anchor
	}
	// An explicit stack, since expanded aliases can nest deeper than the
	// written document; pushed in reverse, so that the walk is in document
	// order and the first alias past the budget is the one reported.
	stack := []step{{n: root}}
	open := map[*yaml.Node]bool{} // anchors being expanded
	through := 0                  // nodes reached through aliases
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if s.leave != nil {
			delete(open, s.leave)
			continue
		}
		n := s.n
		// An anchor is open while its node is walked, written or through
		// an alias, so that an alias inside it is caught where it is written.
		if n.Anchor != "" && n.Kind != yaml.AliasNode && !open[n] {
			open[n] = true
			stack = append(stack, step{leave: n})
		}
		if s.alias != nil {
			through++
			if through > budget {
				p.add(n, s.alias.String(), "aliases expand to more than %d nodes; write the file out without nested aliases", budget)
				return false
			}
		}
		switch n.Kind {
		case yaml.AliasNode:
			if n.Alias == nil {
				continue
			}
			if open[n.Alias] {
				p.add(n, s.at.String(), "alias *%s refers to a node that contains it; a world file cannot be recursive", short(n.Value))
				return false
			}
			outer := s.alias
			if outer == nil {
				outer = s.at
			}
			stack = append(stack, step{n: n.Alias, at: s.at, alias: outer, merge: s.merge})
		case yaml.MappingNode:
			for i := len(n.Content) - len(n.Content)%2 - 2; i >= 0; i -= 2 {
				k, v := n.Content[i], n.Content[i+1]
				// A value's path names its key; keys, and what a merge key
				// merges, are reported at the mapping's path, as the parser
				// does.
				at, merge := s.at, false
				if rk := resolve(k); rk.Kind == yaml.ScalarNode {
					if rk.ShortTag() == "!!merge" {
						merge = true
					} else {
						at = &pathPart{parent: s.at, key: rk.Value, index: -1}
					}
				}
				stack = append(stack, step{n: v, at: at, alias: s.alias, merge: merge}, step{n: k, at: s.at, alias: s.alias})
			}
		default:
			for i := len(n.Content) - 1; i >= 0; i-- {
				at := s.at
				if n.Kind == yaml.SequenceNode && !s.merge {
					at = &pathPart{parent: s.at, index: i}
				}
				stack = append(stack, step{n: n.Content[i], at: at, alias: s.alias, merge: s.merge && n.Kind == yaml.SequenceNode})
			}
		}
	}
	return true
}
