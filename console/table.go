package console

import (
	"html"
	"html/template"
	"strconv"
	"strings"
)

// table is a data table as the templates show it: every cell carries its
// raw value (data-v) beside its text, which the column sorting reads, and
// which tests compare with the API's.
type table struct {
	ID    string
	CSRF  string // for the cells that post
	Cols  []col
	Rows  [][]cell
	Foot  []cell // the totals row; nil when none
	Empty string // shown when there are no rows
}

type col struct {
	Key   string // the field the column shows (the API's JSON name where there is one)
	Label string
	Num   bool // sorts and aligns as a number
	Wrap  bool // long text that may wrap
	Stick int  // kept in view at the right edge while the table scrolls: 1 = last column, 2 = the one before
}

// Class is the column's CSS classes.
func (c col) Class() string {
	var cl []string
	if c.Num {
		cl = append(cl, "num")
	}
	if c.Wrap {
		cl = append(cl, "wrap")
	}
	if c.Stick > 0 {
		cl = append(cl, "stick-r"+strconv.Itoa(c.Stick))
	}
	return strings.Join(cl, " ")
}

type cell struct {
	Text string
	V    string // raw value
	Href string // a link, when set
	Post bool   // Href is a form action (a button posting the session's token)
}

func txt(s string) cell        { return cell{Text: s, V: s} }
func code(v, s string) cell    { return cell{Text: s, V: v} }
func link(s, href string) cell { return cell{Text: s, V: s, Href: href} }

// HTML renders the table. It is written here rather than as a template:
// html/template's reflection costs about 50 µs a row, and the operator's
// account list has a thousand. Every text and attribute is escaped; a link
// must stay inside the console.
func (t table) HTML() template.HTML {
	var b strings.Builder
	b.Grow(256 + len(t.Rows)*len(t.Cols)*64)
	esc := html.EscapeString
	classes := make([]string, len(t.Cols))
	for i, c := range t.Cols {
		if cl := c.Class(); cl != "" {
			classes[i] = ` class="` + cl + `"`
		}
	}
	id := esc(t.ID)
	b.WriteString(`<div class="table-wrap" tabindex="0" role="region" aria-label="` + id + `">` + "\n")
	b.WriteString(`<table id="` + id + `" class="data sortable">` + "\n<thead><tr>")
	for i, c := range t.Cols {
		b.WriteString(`<th scope="col" data-k="` + esc(c.Key) + `"` + classes[i])
		if c.Num {
			b.WriteString(` data-type="num"`)
		}
		b.WriteString(`>` + esc(c.Label) + `</th>`)
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	cellHTML := func(i int, c cell) {
		if i >= len(t.Cols) {
			return
		}
		b.WriteString(`<td data-k="` + esc(t.Cols[i].Key) + `" data-v="` + esc(c.V) + `"` + classes[i] + `>`)
		switch {
		case c.Href != "" && !strings.HasPrefix(c.Href, "/console/"):
			b.WriteString(esc(c.Text))
		case c.Post:
			b.WriteString(`<form method="post" action="` + esc(c.Href) + `" class="inline"><input type="hidden" name="csrf" value="` +
				esc(t.CSRF) + `"><button type="submit" class="link danger">` + esc(c.Text) + `</button></form>`)
		case c.Href != "":
			b.WriteString(`<a href="` + esc(c.Href) + `">` + esc(c.Text) + `</a>`)
		default:
			b.WriteString(esc(c.Text))
		}
		b.WriteString(`</td>`)
	}
	for _, r := range t.Rows {
		b.WriteString(`<tr>`)
		for i, c := range r {
			cellHTML(i, c)
		}
		b.WriteString("</tr>\n")
	}
	if len(t.Rows) == 0 {
		b.WriteString(`<tr class="empty"><td colspan="` + strconv.Itoa(len(t.Cols)) + `">` + esc(t.Empty) + "</td></tr>\n")
	}
	b.WriteString(`</tbody>`)
	if t.Foot != nil {
		b.WriteString("\n<tfoot><tr class=\"totals\">")
		for i, c := range t.Foot {
			cellHTML(i, c)
		}
		b.WriteString(`</tr></tfoot>`)
	}
	b.WriteString("\n</table>\n</div>")
	return template.HTML(b.String())
}
