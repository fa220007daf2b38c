package console

import (
	"fmt"
	"sort"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// Charts are inline SVG drawn here: bars carry their values as text and a
// <title>, and the two series (postpaid usage, prepaid purchases) differ in
// pattern — solid against hatched — so they read without colour. Each chart
// has its numbers as a table too.

type chart struct {
	ID     string
	Title  string
	W, H   int
	Bars   []chartBar
	Grid   []gridLine
	Legend bool
	Empty  bool
	// Clipped says some bars are taller than the scale and cut at its top.
	Clipped bool
	// Texts in the page's language.
	LegendSolid, LegendHatched, DataLabel, LabelAnchor, Note string
	Table                                                    table // the same numbers, for screen readers and printing
}

type chartBar struct {
	Segs             []chartSeg
	Label            string // under the bar (daily) or before it (by item)
	LX, LY           string
	Value            string // the bar's total
	VX, VY           string
	Rotate           bool     // the value is written upwards (narrow bars)
	Cut              []string // paths of the break mark of a bar cut at the top
	Title            string
	X, Y, Width, Hgt string // the whole bar (for the focus outline)
}

type chartSeg struct {
	X, Y, W, H string
	Hatched    bool
}

type gridLine struct {
	Y, X1, X2, LX string
	Label         string
}

func (c *chart) setTexts(lang string) {
	c.LegendSolid, c.LegendHatched = translate(lang, "legend.postpaid"), translate(lang, "legend.purchase")
	c.DataLabel = translate(lang, "chart.data")
	if c.Clipped {
		c.Note = translate(lang, "chart.clipped")
	}
	c.Table.Empty = translate(lang, "chart.empty")
}

// textWidth estimates the width of a text in an SVG: a CJK character is
// about as wide as the font is high, a Latin one a little over half.
func textWidth(s string, size float64) float64 {
	w := 0.0
	for _, r := range s {
		if r >= 0x2E80 {
			w += size
		} else {
			w += size * 0.6
		}
	}
	return w
}

func f1(x float64) string { return fmt.Sprintf("%.1f", x) }

// The daily chart's legend ends at legendBottom (its swatches are 14 high
// from y 6); a bar's amount keeps labelGap below it.
const legendBottom, labelGap = 22.0, 6.0

// labelWidth is how far a bar's amount (10 px, written upwards) reaches:
// textWidth's estimate, with room for a wider font and the ▲ mark.
func labelWidth(s string) float64 {
	w := 0.0
	for _, r := range s {
		switch {
		case r == '▲':
			w += 10
		case r >= 0x2E80:
			w += 10
		default:
			w += 10 * 0.62
		}
	}
	return w + 2
}

// niceMax rounds a chart's maximum up to 1, 2 or 5 times a power of ten.
func niceMax(m float64) float64 {
	if m <= 0 {
		return 1
	}
	p := 1.0
	for p*10 <= m {
		p *= 10
	}
	for p > m {
		p /= 10
	}
	for _, k := range []float64{1, 2, 2.5, 5, 10} {
		if k*p >= m {
			return k * p
		}
	}
	return 10 * p
}

// axisMoney shows an axis amount without fen.
func axisMoney(x float64) string {
	return groupYuan(decimal.NewFromFloat(x).StringFixed(0))
}

// dailyChart draws the payable of each day of the cycle: postpaid usage
// solid, purchases hatched, stacked.
// chartTitle is a chart's title key: an open cycle's payable is an
// estimate, and its titles say so.
func chartTitle(key string, b *callbill.Bill) string {
	if b.Status == callbill.BillStatusOpen {
		return key + "_open"
	}
	return key
}

func dailyChart(b *callbill.Bill, lang string) chart {
	days := b.Cycle.Days()
	post := make([]decimal.Decimal, days+1)
	pre := make([]decimal.Decimal, days+1)
	for _, l := range b.Lines {
		if l.Day < 1 || l.Day > days {
			continue
		}
		if l.IsPurchase() {
			pre[l.Day] = pre[l.Day].Add(l.Payable)
		} else {
			post[l.Day] = post[l.Day].Add(l.Payable)
		}
	}
	c := chart{ID: "chart-daily", Title: translate(lang, chartTitle("chart.daily", b)), W: 760, Legend: true, LabelAnchor: "middle"}
	c.Table = table{ID: "chart-daily-data", Cols: []col{{Key: "date", Label: translate(lang, "col.date")},
		{Key: "postpaid", Label: translate(lang, "legend.postpaid"), Num: true}, {Key: "purchase", Label: translate(lang, "legend.purchase"), Num: true},
		{Key: "payable", Label: translate(lang, "col.payable"), Num: true}}}
	maxV, maxPost := 0.0, 0.0
	for d := 1; d <= days; d++ {
		t, _ := post[d].Add(pre[d]).Float64()
		p, _ := post[d].Float64()
		maxV, maxPost = max(maxV, t), max(maxPost, p)
	}
	c.Empty = maxV == 0
	top := niceMax(maxV)
	// A day of purchases can dwarf a month of usage: then the scale follows
	// the usage, and taller bars are cut at the top, marked, and labelled
	// with their whole amount.
	if maxPost > 0 && maxV > 4*maxPost {
		top = niceMax(maxPost * 1.5)
		c.Clipped = true
	}
	const left, right, bottom, plotH = 64.0, 8.0, 28.0, 226.0
	plotW := float64(c.W) - left - right
	// Each bar's amount is written upwards from just above it (a cut bar's
	// from the top of the plot): the space above the plot grows until the
	// tallest of them ends below the legend.
	topPad := 46.0
	for d := 1; d <= days; d++ {
		total := post[d].Add(pre[d])
		if total.IsZero() {
			continue
		}
		v, _ := total.Float64()
		label := Money(total)
		if v > top {
			label = "▲ " + label
		}
		above := plotH - plotH*min(v, top)/top // from the plot's top down to the bar's
		topPad = max(topPad, legendBottom+labelGap+4+labelWidth(label)-above)
	}
	topPad = float64(int(topPad + 0.999))
	c.H = int(topPad + plotH + bottom)
	base := topPad + plotH
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		y := base - plotH*float64(i)/4
		c.Grid = append(c.Grid, gridLine{Y: f1(y), X1: f1(left), X2: f1(left + plotW), LX: f1(left - 6), Label: axisMoney(v)})
	}
	slot := plotW / float64(days)
	bw := slot * 0.72
	for d := 1; d <= days; d++ {
		x := left + slot*float64(d-1) + (slot-bw)/2
		pv, _ := post[d].Float64()
		uv, _ := pre[d].Float64()
		ph, uh := plotH*min(pv, top)/top, plotH*min(uv, max(top-pv, 0))/top
		cut := pv+uv > top
		total := post[d].Add(pre[d])
		date := fmt.Sprintf("%s-%02d", b.Cycle, d)
		bar := chartBar{Label: fmt.Sprint(d), LX: f1(x + bw/2), LY: f1(base + 14), X: f1(x), Width: f1(bw),
			Y: f1(base - ph - uh), Hgt: f1(ph + uh),
			Title: date + " " + translate(lang, "col.payable") + " " + Money(total)}
		if ph > 0 {
			bar.Segs = append(bar.Segs, chartSeg{X: f1(x), Y: f1(base - ph), W: f1(bw), H: f1(ph)})
		}
		if uh > 0 {
			bar.Segs = append(bar.Segs, chartSeg{X: f1(x), Y: f1(base - ph - uh), W: f1(bw), H: f1(uh), Hatched: true})
		}
		if !total.IsZero() {
			bar.Value, bar.Rotate = Money(total), true
			bar.VX, bar.VY = f1(x+bw/2+3), f1(base-ph-uh-4)
		}
		if cut {
			// Two slanted strokes across the bar's top say it goes on.
			y := base - plotH + 8
			bar.Cut = []string{fmt.Sprintf("M%s %s L%s %s", f1(x-2), f1(y+3), f1(x+bw+2), f1(y-3)),
				fmt.Sprintf("M%s %s L%s %s", f1(x-2), f1(y+9), f1(x+bw+2), f1(y+3))}
			bar.VY = f1(base - plotH - 4)
			bar.Value = "▲ " + bar.Value
		}
		c.Bars = append(c.Bars, bar)
		c.Table.Rows = append(c.Table.Rows, []cell{txt(date), code(callbill.FormatMoney(post[d]), Money(post[d])),
			code(callbill.FormatMoney(pre[d]), Money(pre[d])), code(callbill.FormatMoney(total), Money(total))})
	}
	c.setTexts(lang)
	return c
}

// itemChart draws the payable of each billing item, largest first; an
// item bought in advance (seats, packages, rent, SIP lines) is hatched.
func itemChart(b *callbill.Bill, lang string) chart {
	type key struct {
		item     callbill.Item
		purchase bool
	}
	sums := map[key]decimal.Decimal{}
	var keys []key
	for _, l := range b.Lines {
		k := key{l.Item, l.IsPurchase()}
		if _, ok := sums[k]; !ok {
			keys = append(keys, k)
		}
		sums[k] = sums[k].Add(l.Payable)
	}
	sort.SliceStable(keys, func(i, j int) bool { return sums[keys[i]].GreaterThan(sums[keys[j]]) })
	const rowH, right, topPad = 30.0, 120.0, 30.0
	// The labels are right-aligned before the bars: leave room for the longest.
	left := 120.0
	for _, k := range keys {
		name := itemName(lang, k.item)
		if k.purchase {
			name += translate(lang, "chart.prepaid")
		}
		left = max(left, textWidth(name, 13)+16)
	}
	c := chart{ID: "chart-items", Title: translate(lang, chartTitle("chart.items", b)), W: 760, Legend: true, LabelAnchor: "end"}
	c.H = int(topPad + rowH*float64(max(len(keys), 1)) + 10)
	c.Table = table{ID: "chart-items-data", Cols: []col{{Key: "item", Label: translate(lang, "col.item")},
		{Key: "payable", Label: translate(lang, "col.payable"), Num: true}}}
	maxV := 0.0
	for _, k := range keys {
		v, _ := sums[k].Float64()
		maxV = max(maxV, v)
	}
	c.Empty = maxV == 0
	if maxV == 0 {
		maxV = 1
	}
	plotW := float64(c.W) - left - right
	for i, k := range keys {
		v, _ := sums[k].Float64()
		y := topPad + rowH*float64(i)
		w := plotW * v / maxV
		name := itemName(lang, k.item)
		if k.purchase {
			name += translate(lang, "chart.prepaid")
		}
		bar := chartBar{Label: name, LX: f1(left - 8), LY: f1(y + rowH/2 + 4), X: f1(left), Y: f1(y + 5), Width: f1(max(w, 1)), Hgt: f1(rowH - 10),
			Value: Money(sums[k]), VX: f1(left + w + 6), VY: f1(y + rowH/2 + 4), Title: name + " " + Money(sums[k])}
		bar.Segs = []chartSeg{{X: f1(left), Y: f1(y + 5), W: f1(max(w, 1)), H: f1(rowH - 10), Hatched: k.purchase}}
		c.Bars = append(c.Bars, bar)
		c.Table.Rows = append(c.Table.Rows, []cell{code(string(k.item), name), code(callbill.FormatMoney(sums[k]), Money(sums[k]))})
	}
	c.setTexts(lang)
	return c
}
