package main

import (
	"io"
	"strings"

	"github.com/callbill/callbill"
	"github.com/mattn/go-runewidth"
)

// width measures text as a terminal shows it: an East Asian wide or
// full-width rune takes two columns. Ambiguous runes ("·", "—") count
// one whatever the locale, so that the output is the same everywhere.
var width = &runewidth.Condition{EastAsianWidth: false}

// column is a column of a table: its heading, and whether it is aligned
// right (amounts and counts, the heading too).
type column struct {
	head  string
	right bool
}

// table is every table the CLI prints: columns two spaces apart, padded by
// display width, amounts aligned right.
type table struct {
	cols  []column
	rows  [][]string
	rules map[int]bool // a rule is drawn before these rows
}

func newTable(cols ...column) *table { return &table{cols: cols, rules: map[int]bool{}} }

// left and right make columns.
func left(head string) column  { return column{head: head} }
func right(head string) column { return column{head: head, right: true} }

// row adds a row; missing cells are blank.
func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

// rule draws a line across the table before the next row (a totals row).
func (t *table) rule() { t.rules[len(t.rows)] = true }

// write prints the heading and the rows; trailing blanks are trimmed.
func (t *table) write(w io.Writer) error {
	widths := make([]int, len(t.cols))
	for i, c := range t.cols {
		widths[i] = width.StringWidth(c.head)
	}
	for _, r := range t.rows {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], width.StringWidth(c))
			}
		}
	}
	total := 2 * (len(widths) - 1)
	for _, n := range widths {
		total += n
	}
	var sb strings.Builder
	line := func(cells []string) {
		var lb strings.Builder
		for i := range t.cols {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			if i > 0 {
				lb.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-width.StringWidth(c))
			if t.cols[i].right {
				lb.WriteString(pad + c)
			} else {
				lb.WriteString(c + pad)
			}
		}
		sb.WriteString(strings.TrimRight(lb.String(), " "))
		sb.WriteByte('\n')
	}
	heads := make([]string, len(t.cols))
	for i, c := range t.cols {
		heads[i] = c.head
	}
	line(heads)
	for i, r := range t.rows {
		if t.rules[i] {
			sb.WriteString(strings.Repeat("-", total) + "\n")
		}
		line(r)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// zh is the Chinese label of a code, for tables with Chinese headings.
func zh[K ~string](m map[K]callbill.Label, code K) string { return callbill.LabelOf(m, code).Zh }
