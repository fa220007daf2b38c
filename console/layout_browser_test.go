package console_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/invoice"
	"github.com/chromedp/chromedp"
)

// box is an element's box as the browser lays it out.
type box struct {
	Key                      string
	Left, Right, Top, Bottom float64
	ScrollWidth, ClientWidth int
}

// layoutJS reads the boxes of the elements a selector finds.
func layoutJS(sel string) string {
	return `[...document.querySelectorAll(` + jsString(sel) + `)].map(e => { const r = e.getBoundingClientRect();
		return {key: e.dataset.k || e.id || e.className.baseVal || e.className || "", left: r.left, right: r.right, top: r.top, bottom: r.bottom,
			scrollwidth: e.scrollWidth, clientwidth: e.clientWidth}; })`
}

func (tb *tab) boxes(sel string) []box {
	tb.t.Helper()
	var out []box
	tb.eval(layoutJS(sel), &out)
	return out
}

// lang switches the page language and comes back to path.
func (tb *tab) lang(lang, path string) {
	tb.t.Helper()
	tb.open("/console/lang?to=" + lang + "&back=" + strings.ReplaceAll(path, "&", "%26"))
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// TestBrowserLayout measures the pages as Chromium lays them out, in
// Chinese and English: at 1280 px every column of the bill details fits
// its box (no column under the pinned amounts, no heading cut), as does the
// usage detail; English units are English; at 390 px the bill's payable is
// on the first screen and the page never scrolls sideways; the daily
// chart's amounts never run into its legend; the invoice queue's account
// stays in its column.
func TestBrowserLayout(t *testing.T) {
	f := newFixture(t, 4000)
	tb := newTab(t, f.srv.URL)
	ctx := context.Background()
	uid, cy := f.uid1, f.cycle.String()
	acct, err := f.store.Account(ctx, uid)
	if err != nil {
		t.Fatal(err)
	}
	title, err := f.invoices().SaveTitle(ctx, callbill.InvoiceTitle{Account: uid, Kind: callbill.TitleCompany, Type: callbill.InvoiceGeneral,
		Name: acct.Name, TaxID: "91350100M000100Y43"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.invoices().Apply(ctx, invoice.ApplyInput{Account: uid, TitleID: title.ID, AmountFen: 100, Key: "layout-1"}); err != nil {
		t.Fatal(err)
	}
	tb.login(map[string]string{"#op-key": operatorKey}, "#op-submit")
	a := "/console/a/" + uid + "/"
	units := map[string]bool{}
	for _, lang := range []string{"zh", "en"} {
		tb.do(chromedp.EmulateViewport(1280, 900))
		for _, q := range []string{"", "&period=day", "&by=instance&period=day"} {
			path := a + "bill?cycle=" + cy + q
			tb.lang(lang, path)
			wrap := tb.boxes("#bill-table")[0]
			region := tb.boxes(`.table-wrap[aria-label="bill-table"]`)[0]
			if region.ScrollWidth > region.ClientWidth+1 || wrap.Right > region.Right+1 {
				t.Errorf("%s %s: the bill table is %d px wide in a %d px box", lang, q, region.ScrollWidth, region.ClientWidth)
			}
			heads := tb.boxes("#bill-table thead th")
			for i, h := range heads {
				if h.ScrollWidth > h.ClientWidth+1 {
					t.Errorf("%s %s: heading %s is cut (%d of %d px)", lang, q, h.Key, h.ClientWidth, h.ScrollWidth)
				}
				if i > 0 && h.Left < heads[i-1].Right-1 {
					t.Errorf("%s %s: heading %s (from %.0f) lies over %s (to %.0f)", lang, q, h.Key, h.Left, heads[i-1].Key, heads[i-1].Right)
				}
			}
			if q == "" && len(heads) != 16 {
				t.Errorf("%s: %d columns", lang, len(heads))
			}
			for _, c := range tb.boxes("#bill-table tbody td") {
				if c.ScrollWidth > c.ClientWidth+1 {
					t.Errorf("%s %s: a %s cell overflows (%d in %d px)", lang, q, c.Key, c.ScrollWidth, c.ClientWidth)
				}
			}
			if q == "" {
				tb.shot("bill-" + lang)
				var cells []struct{ K, V, Text string }
				tb.eval(`[...document.querySelectorAll('#bill-table tbody td[data-k$="_unit"]')].map(td => ({k: td.dataset.k, v: td.dataset.v, text: td.textContent}))`, &cells)
				if len(cells) == 0 {
					t.Fatal("no units")
				}
				for _, c := range cells {
					if !hasHan(c.V) {
						t.Errorf("%s: the unit's value %q is not the API's", lang, c.V)
					}
					if lang == "en" && hasHan(c.Text) || lang == "zh" && c.Text != c.V {
						t.Errorf("%s: unit %q shown as %q", lang, c.V, c.Text)
					}
					units[lang+" "+c.Text] = true
				}
			}
		}
		for _, want := range []string{"en yuan/min", "en min", "en yuan/seat/month", "en seat-months", "zh 元/分钟"} {
			if strings.HasPrefix(want, lang) && !units[want] {
				t.Errorf("no unit %q among %v", want, units)
			}
		}

		// 用量明细: fits, no heading cut (a pinned column used to cover one).
		tb.lang(lang, a+"usage?cycle="+cy+"&size=20")
		region := tb.boxes(`.table-wrap[aria-label="usage-table"]`)[0]
		if region.ScrollWidth > region.ClientWidth+1 {
			t.Errorf("%s: the usage table is %d px wide in %d", lang, region.ScrollWidth, region.ClientWidth)
		}
		for _, h := range tb.boxes("#usage-table thead th") {
			if h.ScrollWidth > h.ClientWidth+1 {
				t.Errorf("%s: usage heading %s is cut", lang, h.Key)
			}
		}

		// The invoice queue: the account (UID, and its name under it) stays
		// left of the title.
		tb.lang(lang, "/console/op/invoices")
		acc, ttl := tb.boxes(`#queue-table tbody td[data-k="account"] a`), tb.boxes(`#queue-table tbody td[data-k="title"]`)
		if len(acc) != 1 || len(ttl) != 1 || acc[0].Right > ttl[0].Left {
			t.Errorf("%s: the queue's account %+v runs into the title %+v", lang, acc, ttl)
		}

		// The daily chart's amounts stay below its legend, at both widths.
		for _, w := range []int64{1280, 390} {
			if w == 390 {
				tb.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
			}
			tb.open(a + "overview?cycle=" + cy)
			legend := tb.boxes("#chart-daily .legend")
			values := tb.boxes("#chart-daily text.value")
			if len(legend) != 1 || len(values) == 0 {
				t.Fatalf("%s %d: legend %v, %d values", lang, w, legend, len(values))
			}
			clipped := false
			for _, v := range values {
				if v.Top < legend[0].Bottom {
					t.Errorf("%s %d px: an amount reaches %.1f, above the legend's bottom %.1f", lang, w, v.Top, legend[0].Bottom)
				}
			}
			var marks int
			tb.eval(`[...document.querySelectorAll("#chart-daily text.value")].filter(t => t.textContent.startsWith("▲")).length`, &marks)
			clipped = marks > 0
			if !clipped {
				t.Errorf("%s: the fixture's daily chart has no cut bar to check", lang)
			}
			tb.shot(fmt.Sprintf("overview-%s-%d", lang, w))
		}

		// At 390 px: the bill's payable is on the first screen (its totals
		// card on top), and the page never scrolls sideways.
		for _, q := range []string{"", "&period=day"} {
			tb.open(a + "bill?cycle=" + cy + q)
			var view struct{ W, H, Doc int }
			tb.eval(`({w: innerWidth, h: innerHeight, doc: document.documentElement.scrollWidth})`, &view)
			pay := tb.boxes(`#bill-table tfoot td[data-k="payable"]`)
			line := tb.boxes(`#bill-table tbody tr:first-child td[data-k="payable"]`)
			if len(pay) != 1 || pay[0].Bottom > float64(view.H) || pay[0].Right > float64(view.W) || len(line) != 1 || line[0].Right > float64(view.W) {
				t.Errorf("%s %s at 390 px: the payable %+v is not on the first screen (%dx%d)", lang, q, pay, view.W, view.H)
			}
			if view.Doc > 391 {
				t.Errorf("%s %s at 390 px: the page is %d px wide", lang, q, view.Doc)
			}
			var text string
			tb.eval(`getComputedStyle(document.querySelector('#bill-table tfoot td[data-k="payable"]'), "::before").content`, &text)
			if !strings.Contains(text, map[string]string{"zh": "应付金额", "en": "Payable"}[lang]) {
				t.Errorf("%s: the payable on a phone is not labelled: %q", lang, text)
			}
			if q == "" {
				tb.shot("bill-phone-" + lang)
			}
		}
	}
}
