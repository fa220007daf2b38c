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
	Key   string // the forms' idempotency key (fresh with every page)
	Cols  []col
	Rows  [][]cell
	Foot  []cell // the totals row; nil when none
	Empty string // shown when there are no rows
	// Cards lays the rows out as cards on a phone (each cell under its
	// column's name, the payable first, the totals row on top) instead of
	// a table that scrolls sideways.
	Cards bool
}

type col struct {
	Key   string // the field the column shows (the API's JSON name where there is one)
	Label string
	Num   bool // sorts and aligns as a number
	Wrap  bool // long text that may wrap
	Wide  bool // long text that may wrap, given more room
	Break bool // short text that may wrap after a slash or hyphen (a unit: "yuan/seat/month"; "Pay-as-you-go")
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
	if c.Wide {
		cl = append(cl, "wide")
	}
	if c.Break {
		cl = append(cl, "brk")
	}
	if c.Stick > 0 {
		cl = append(cl, "stick-r"+strconv.Itoa(c.Stick))
	}
	return strings.Join(cl, " ")
}

type cell struct {
	Text  string
	V     string // raw value
	Title string // a tooltip, when set
	Sub   string // a second line under the text (an account's name under its UID)
	Href  string // a link, when set
	Post  bool   // Href is a form action (a button posting the session's token)
	Forms []rowForm
}

// rowForm is a small form inside a cell (the operator's issue and reject,
// a void with its reason): it posts the table's token and key, its fields
// and a button. Its action must stay inside the console.
type rowForm struct {
	Action string
	ID     string // the form's data-id (what it acts on)
	Name   string // the form's class, for tests and styles
	Fields []formField
	Button string
	Danger bool
}

type formField struct {
	Name, Label, Value, Type, Placeholder string
	Required                              bool
	Max                                   int // maxlength, 0 = none
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
	labels := make([]string, len(t.Cols))
	if t.Cards {
		for i, c := range t.Cols {
			labels[i] = ` data-l="` + esc(c.Label) + `"`
		}
	}
	id := esc(t.ID)
	b.WriteString(`<div class="table-wrap" tabindex="0" role="region" aria-label="` + id + `">` + "\n")
	cardsClass := ""
	if t.Cards {
		cardsClass = " stack-cards"
	}
	b.WriteString(`<table id="` + id + `" class="data sortable` + cardsClass + `">` + "\n<thead><tr>")
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
		b.WriteString(`<td data-k="` + esc(t.Cols[i].Key) + `" data-v="` + esc(c.V) + `"` + classes[i] + labels[i])
		if c.Title != "" {
			b.WriteString(` title="` + esc(c.Title) + `"`)
		}
		b.WriteString(`>`)
		switch {
		case t.Cols[i].Break && c.Href == "" && len(c.Forms) == 0 && !c.Post:
			// A break opportunity after each slash or hyphen: a unit
			// wraps there rather than widening its column.
			b.WriteString(strings.NewReplacer("/", "/<wbr>", "-", "-<wbr>").Replace(esc(c.Text)))
		case c.Href != "" && !strings.HasPrefix(c.Href, "/console/"):
			b.WriteString(esc(c.Text))
		case len(c.Forms) > 0:
			for i := range c.Forms {
				if strings.HasPrefix(c.Forms[i].Action, "/console/") {
					t.formHTML(&b, &c.Forms[i])
				}
			}
		case c.Post:
			b.WriteString(`<form method="post" action="` + esc(c.Href) + `" class="inline"><input type="hidden" name="csrf" value="` +
				esc(t.CSRF) + `">`)
			if t.Key != "" {
				b.WriteString(`<input type="hidden" name="key" value="` + esc(t.Key) + `">`)
			}
			b.WriteString(`<button type="submit" class="link danger">` + esc(c.Text) + `</button></form>`)
		case c.Href != "":
			b.WriteString(`<a href="` + esc(c.Href) + `">` + esc(c.Text) + `</a>`)
		default:
			b.WriteString(esc(c.Text))
		}
		if c.Sub != "" {
			b.WriteString(` <span class="sub">` + esc(c.Sub) + `</span>`)
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

// formHTML writes a cell's form, every text and attribute escaped.
func (t table) formHTML(b *strings.Builder, f *rowForm) {
	esc := html.EscapeString
	b.WriteString(`<form method="post" action="` + esc(f.Action) + `" class="row-form ` + esc(f.Name) + `" data-id="` + esc(f.ID) + `">`)
	b.WriteString(`<input type="hidden" name="csrf" value="` + esc(t.CSRF) + `">`)
	if t.Key != "" {
		b.WriteString(`<input type="hidden" name="key" value="` + esc(t.Key) + `">`)
	}
	for _, fd := range f.Fields {
		typ := fd.Type
		if typ == "" {
			typ = "text"
		}
		b.WriteString(`<input type="` + esc(typ) + `" name="` + esc(fd.Name) + `" aria-label="` + esc(fd.Label) + `" title="` + esc(fd.Label) + `"`)
		if fd.Value != "" {
			b.WriteString(` value="` + esc(fd.Value) + `"`)
		}
		if fd.Placeholder != "" {
			b.WriteString(` placeholder="` + esc(fd.Placeholder) + `"`)
		}
		if fd.Max > 0 {
			b.WriteString(` maxlength="` + strconv.Itoa(fd.Max) + `"`)
		}
		if fd.Required {
			b.WriteString(` required`)
		}
		b.WriteString(`>`)
	}
	cl := "small"
	if f.Danger {
		cl += " danger"
	}
	b.WriteString(`<button type="submit" class="` + cl + `">` + esc(f.Button) + `</button></form>`)
}
