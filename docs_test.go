package callbill_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The repository explains itself: a comment that points at a page of the
// repository names one that exists, and a section it names in quotes after
// the page — (docs/rules.md, "Call minutes") — is a heading of that page
// (docs/rules.md says so in its header). The specification is not cited by
// section number: the rule is in docs/rules.md, in words.

// mdRef is a path to a Markdown file, optionally followed by a quoted
// section: docs/rules.md, "Call minutes".
var mdRef = regexp.MustCompile(`((?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_-]+\.md)(?:,\s*"([^"]+)")?`)

// rfcSection is the one kind of section sign a comment may carry: a section
// of an RFC ("RFC 3339 §5.6").
var rfcSection = regexp.MustCompile(`RFC \d+ $`)

// TestCommentsCiteExistingDocs checks every comment of every Go file.
func TestCommentsCiteExistingDocs(t *testing.T) {
	headings := map[string]map[string]bool{} // page → its headings, read once
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, cg := range f.Comments {
			// One line of text, so that a section's name may wrap between
			// comment lines.
			text := strings.Join(strings.Fields(cg.Text()), " ")
			at := fset.Position(cg.Pos())
			for i := strings.Index(text, "§"); i >= 0; i = indexFrom(text, "§", i+1) {
				if !rfcSection.MatchString(text[:i]) {
					t.Errorf("%s: cites a section by number (%q); cite the rule by its heading: docs/rules.md, \"Heading\"", at, excerpt(text, i))
					break
				}
			}
			for _, m := range mdRef.FindAllStringSubmatchIndex(text, -1) {
				if m[0] > 0 && strings.ContainsRune("/:.-_", rune(text[m[0]-1])) {
					continue // part of a URL or a longer name
				}
				page := text[m[2]:m[3]]
				checked++
				hs, ok := headings[page]
				if !ok {
					hs = readHeadings(t, page)
					headings[page] = hs
				}
				if hs == nil {
					t.Errorf("%s: %s does not exist", at, page)
					continue
				}
				if m[4] >= 0 {
					if section := text[m[4]:m[5]]; !hs[section] {
						t.Errorf("%s: %s has no heading %q", at, page, section)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Errorf("only %d references to Markdown pages found; the walk missed the comments", checked)
	}
}

func indexFrom(s, sub string, from int) int {
	if i := strings.Index(s[from:], sub); i >= 0 {
		return from + i
	}
	return -1
}

func excerpt(s string, i int) string {
	return s[max(0, i-30):min(len(s), i+30)]
}

// readHeadings returns the headings of a Markdown page, nil when it does
// not exist.
func readHeadings(t *testing.T, page string) map[string]bool {
	t.Helper()
	lines, err := markdownLines(page)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	hs := map[string]bool{}
	for _, l := range lines {
		if h, ok := heading(l); ok {
			hs[h] = true
		}
	}
	return hs
}

// markdownLines returns a page's lines, those of fenced code blocks blank.
func markdownLines(page string) ([]string, error) {
	b, err := os.ReadFile(page)
	if err != nil {
		return nil, err
	}
	var out []string
	fenced := false
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			l = ""
		}
		if fenced {
			l = ""
		}
		out = append(out, l)
	}
	return out, nil
}

// heading returns the text of an ATX heading line ("## Call minutes").
func heading(line string) (string, bool) {
	n := len(line) - len(strings.TrimLeft(line, "#"))
	if n == 0 || n > 6 || !strings.HasPrefix(line[n:], " ") {
		return "", false
	}
	return strings.TrimSpace(line[n:]), true
}

// mdLink is a Markdown link's target.
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocLinksResolve checks the relative links of README.md and docs/:
// the page or folder exists and an anchor names one of its headings as
// GitHub makes them. docs/rules.md's contents reach every rule only if its
// links do.
func TestDocLinksResolve(t *testing.T) {
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, "README.md")
	anchors := map[string]map[string]bool{}
	links := 0
	for _, page := range pages {
		lines, err := markdownLines(page)
		if err != nil {
			t.Fatal(err)
		}
		for n, l := range lines {
			for _, m := range mdLink.FindAllStringSubmatch(inlineCodeless(l), -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				links++
				file, anchor, _ := strings.Cut(target, "#")
				dest := page
				if file != "" {
					dest = filepath.Join(filepath.Dir(page), file)
				}
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s:%d: link %s: %s does not exist", page, n+1, target, dest)
					continue
				}
				if anchor == "" {
					continue
				}
				if !strings.HasSuffix(dest, ".md") {
					t.Errorf("%s:%d: link %s: an anchor on a file that is not Markdown", page, n+1, target)
					continue
				}
				as, ok := anchors[dest]
				if !ok {
					as = slugs(t, dest)
					anchors[dest] = as
				}
				if !as[anchor] {
					t.Errorf("%s:%d: link %s: %s has no heading with the anchor #%s", page, n+1, target, dest, anchor)
				}
			}
		}
	}
	if links < 50 {
		t.Errorf("only %d relative links found in the docs", links)
	}
}

// inlineCodeless blanks inline code spans, which hold no links.
func inlineCodeless(l string) string {
	parts := strings.Split(l, "`")
	for i := 1; i < len(parts); i += 2 {
		parts[i] = strings.Repeat(" ", len(parts[i]))
	}
	return strings.Join(parts, "`")
}

// slugs returns the anchors GitHub gives a page's headings: the heading's
// text as shown (code marks, emphasis and link targets dropped) in lower
// case, without punctuation, spaces made hyphens; a repeated one gets -1,
// -2, ….
func slugs(t *testing.T, page string) map[string]bool {
	t.Helper()
	lines, err := markdownLines(page)
	if err != nil {
		t.Fatal(err)
	}
	linkText := regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	seen := map[string]int{}
	out := map[string]bool{}
	for _, l := range lines {
		h, ok := heading(l)
		if !ok {
			continue
		}
		h = linkText.ReplaceAllString(h, "$1")
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
				b.WriteRune(r)
			}
		}
		s := b.String()
		if k := seen[s]; k > 0 {
			out[s+"-"+strconv.Itoa(k)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}
