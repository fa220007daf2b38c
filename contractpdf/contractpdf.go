// Package contractpdf writes a formal e-contract (docs/invoices.md) as a PDF:
// both parties, the items and the amounts, in Chinese. The Chinese text is
// set in a CJK TrueType font: Droid Sans Fallback, embedded in the binary
// (font/, Apache-2.0; 2.1 MB compressed), so a bare machine writes PDFs;
// the cjk_font setting ($CALLBILL_CJK_FONT) names another .ttf instead. Only the glyphs used go
// into a PDF (the font is subset when the PDF is written). That font has no
// Latin glyphs, so ASCII text (numbers, amounts, ids) is set in the PDF's
// built-in Helvetica.
package contractpdf

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/callbill/callbill"
	"github.com/go-pdf/fpdf"
	"github.com/shopspring/decimal"
)

// Unconfigured stands for a provider side (乙方) the operator has not set.
const Unconfigured = "（待运营方配置）"

// FontEnv names the environment variable that sets a font file instead of
// the embedded one (the setting cjk_font, read by config).
const FontEnv = "CALLBILL_CJK_FONT"

//go:embed font/DroidSansFallbackFull.ttf.gz
var embeddedFont []byte

var fonts struct {
	sync.Mutex
	bytes map[string][]byte
}

// loadFont reads a font once per path; "" is the embedded font.
func loadFont(path string) ([]byte, error) {
	fonts.Lock()
	defer fonts.Unlock()
	if b, ok := fonts.bytes[path]; ok {
		return b, nil
	}
	var b []byte
	var err error
	if path == "" {
		b, err = gunzip(embeddedFont)
		if err != nil {
			return nil, err // a broken build, not the tenant's data
		}
	} else if b, err = os.ReadFile(path); err != nil {
		return nil, callbill.Errorf(callbill.EUNAVAILABLE,
			"contract PDFs cannot be written on this server now: the font file %s (the setting cjk_font, or $%s) cannot be read (%v); "+
				"the operator can fix or unset it (the built-in font is used then)",
			path, FontEnv, unwrapPathError(err))
	}
	if fonts.bytes == nil {
		fonts.bytes = map[string][]byte{}
	}
	fonts.bytes[path] = b
	return b, nil
}

func gunzip(b []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("the embedded font: %w", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("the embedded font: %w", err)
	}
	return out, nil
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

const (
	cjk   = "cjk"
	latin = "Helvetica"
	left  = 20.0 // mm
	width = 170.0
)

// doc is a page writer that switches fonts between Latin and CJK runs.
type doc struct {
	p    *fpdf.Fpdf
	tr   func(string) string // UTF-8 to the built-in font's encoding (cp1252)
	size float64
	y    float64
}

// run is a piece of text set in one font: Latin-1 in the built-in
// Helvetica (the CJK font has no Latin glyphs), the rest in the CJK font.
type run struct {
	text  string
	ascii bool
}

func runs(s string) []run {
	var out []run
	for _, r := range s {
		a := (r >= 0x20 && r < 0x7f) || (r >= 0xa0 && r <= 0xff)
		if n := len(out); n > 0 && out[n-1].ascii == a {
			out[n-1].text += string(r)
			continue
		}
		out = append(out, run{string(r), a})
	}
	return out
}

func (d *doc) font(ascii bool) {
	if ascii {
		d.p.SetFont(latin, "", d.size)
	} else {
		d.p.SetFont(cjk, "", d.size)
	}
}

func (d *doc) width(s string) float64 {
	w := 0.0
	for _, r := range runs(s) {
		d.font(r.ascii)
		w += d.p.GetStringWidth(d.encode(r))
	}
	return w
}

func (d *doc) encode(r run) string {
	if r.ascii {
		return d.tr(r.text)
	}
	return r.text
}

// text draws s with its baseline box at (x, y), h high.
func (d *doc) text(x, y, h float64, s string) {
	for _, r := range runs(s) {
		d.font(r.ascii)
		t := d.encode(r)
		w := d.p.GetStringWidth(t)
		d.p.SetXY(x, y)
		d.p.CellFormat(w, h, t, "", 0, "L", false, 0, "")
		x += w
	}
}

// wrap breaks s into lines no wider than w: between CJK characters, or at
// spaces between ASCII words (a word too long for a line is cut).
func (d *doc) wrap(s string, w float64) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		var tokens []string
		for i := 0; i < len(para); {
			r, n := utf8.DecodeRuneInString(para[i:])
			if r < 0x7f && r != ' ' {
				j := i
				for j < len(para) && para[j] < 0x7f && para[j] != ' ' {
					j++
				}
				tokens = append(tokens, para[i:j])
				i = j
				continue
			}
			tokens = append(tokens, para[i:i+n])
			i += n
		}
		line := ""
		for _, t := range tokens {
			if d.width(line+t) <= w || line == "" {
				if line == "" && t == " " {
					continue
				}
				if line == "" && d.width(t) > w {
					for _, r := range t {
						if line != "" && d.width(line+string(r)) > w {
							lines = append(lines, line)
							line = ""
						}
						line += string(r)
					}
					continue
				}
				line += t
				continue
			}
			lines = append(lines, strings.TrimRight(line, " "))
			line = strings.TrimLeft(t, " ")
		}
		lines = append(lines, strings.TrimRight(line, " "))
	}
	return lines
}

func (d *doc) lineHeight() float64 { return d.size * 0.3528 * 1.6 }

// need starts a new page when h more millimetres do not fit.
func (d *doc) need(h float64) {
	if d.y+h > 297-20 {
		d.p.AddPage()
		d.y = 20
	}
}

// para writes a wrapped paragraph, indented by indent.
func (d *doc) para(s string, size, indent float64) {
	d.size = size
	lh := d.lineHeight()
	for _, l := range d.wrap(s, width-indent) {
		d.need(lh)
		d.text(left+indent, d.y, lh, l)
		d.y += lh
	}
}

func (d *doc) gap(mm float64) { d.y += mm }

// heading writes a section heading.
func (d *doc) heading(s string) {
	d.gap(2)
	d.need(12)
	d.para(s, 12, 0)
	d.gap(1)
}

// Write writes the contract as a PDF. Only a formal contract is a
// contract: anything else is refused. loc is the billing time zone (dates);
// font the CJK TrueType font's path, "" for the embedded one (cjk_font).
func Write(w io.Writer, c *callbill.EContract, loc *time.Location, font string) error {
	if c.State != callbill.ContractFormal {
		return callbill.Errorf(callbill.EREFUSED, "contract %s is %s: only a formal contract downloads as a PDF (confirm the draft first)", c.ID, c.State)
	}
	ttf, err := loadFont(font)
	if err != nil {
		return err
	}
	p := fpdf.New("P", "mm", "A4", "")
	p.SetMargins(left, 20, left)
	p.SetAutoPageBreak(false, 20)
	p.SetTitle(c.Title()+" "+c.ID, true)
	p.SetCreator("callbill", true)
	p.SetCreationDate(c.Confirmed)
	p.SetModificationDate(c.Confirmed)
	p.AliasNbPages("")
	p.AddUTF8FontFromBytes(cjk, "", ttf)
	if err := p.Error(); err != nil {
		return callbill.Errorf(callbill.EINTERNAL, "the CJK font %s cannot be used: %v", font, err)
	}
	d := &doc{p: p, tr: p.UnicodeTranslatorFromDescriptor(""), size: 10}
	p.SetFooterFunc(func() {
		size := d.size
		d.size = 8
		d.text(left, 297-14, 5, fmt.Sprintf("合同编号 %s    页码 %d/{nb}", c.ID, p.PageNo()))
		d.size = size
	})
	p.AddPage()
	d.y = 20

	// Title block.
	d.size = 18
	title := c.Title()
	d.text(left+(width-d.width(title))/2, d.y, 10, title)
	d.y += 14
	d.para("合同编号："+c.ID, 10, 0)
	d.para("签订日期："+c.Confirmed.In(loc).Format("2006-01-02"), 10, 0)
	if c.Kind == callbill.ContractService {
		d.para(fmt.Sprintf("服务期间：%s 至 %s 账期", c.From, c.To), 10, 0)
	} else {
		d.para("订单（购买）编号："+c.Purchase, 10, 0)
	}

	party(d, "甲方（客户）", c.Customer)
	prov := c.Provider
	if !prov.Configured() {
		// A contract of an earlier version confirmed before the operator
		// set the provider: a neutral mark, never the operator's how-to.
		prov = callbill.ContractParty{Name: Unconfigured}
	}
	party(d, "乙方（服务提供方）", prov)

	d.heading("一、合同标的与金额")
	items(d, c)
	d.gap(2)
	d.para(fmt.Sprintf("合计：原价 %s 元，优惠 %s 元，应付金额 %s 元。", callbill.FormatMoney(c.Original), callbill.FormatMoney(c.Discount), callbill.FormatMoney(c.Payable)), 10, 0)
	d.para("应付金额（大写）：人民币"+AmountInWords(c.Payable), 10, 0)

	d.heading("二、付款方式")
	if c.Kind == callbill.ContractPurchase {
		d.para("本合同所列产品为预付费购买，甲方已在购买时以账户现金余额全额支付，乙方按购买内容提供服务。", 10, 0)
	} else {
		d.para(fmt.Sprintf("本合同所列费用为甲方在 %s 至 %s 账期内按量使用云呼叫中心服务产生的后付费费用，"+
			"按自然月出账，出账时从甲方账户现金余额扣除；余额不足的部分为欠费，甲方充值后优先结清欠费。", c.From, c.To), 10, 0)
	}
	d.heading("三、其他约定")
	d.para("1. 计费规则、价格与账单以乙方计费系统记录为准，金额单位为人民币元，精确到分。", 10, 0)
	d.para("2. 本合同为电子合同，经甲方在线确认后生效，与纸质合同具有同等法律效力。", 10, 0)
	d.para("3. 合同生效后如需作废或变更，甲方应向乙方提交工单，由乙方处理。", 10, 0)

	// Signatures.
	d.gap(8)
	d.need(30)
	d.size = 10
	lh := d.lineHeight()
	d.text(left, d.y, lh, "甲方（盖章）："+c.Customer.Name)
	d.text(left+width/2, d.y, lh, "乙方（盖章）："+prov.Name)
	d.y += lh * 2
	date := c.Confirmed.In(loc).Format("2006-01-02")
	d.text(left, d.y, lh, "日期："+date)
	d.text(left+width/2, d.y, lh, "日期："+date)

	return p.Output(w)
}

func party(d *doc, heading string, p callbill.ContractParty) {
	d.heading(heading)
	d.para("名称："+p.Name, 10, 4)
	for _, f := range []struct{ label, v string }{{"统一社会信用代码", p.TaxID}, {"地址", p.Address}, {"联系人", p.Contact},
		{"电话", p.Phone}, {"电子邮箱", p.Email}, {"开户银行", p.Bank}, {"银行账号", p.BankAccount}} {
		if f.v != "" {
			d.para(f.label+"："+f.v, 10, 4)
		}
	}
}

// items draws the contract's lines as a table.
func items(d *doc, c *callbill.EContract) {
	cols := []struct {
		head  string
		w     float64
		right bool
	}{{"序号", 10, false}, {"项目", 54, false}, {"账期", 16, false}, {"用量", 24, true}, {"原价（元）", 22, true}, {"优惠（元）", 22, true}, {"应付（元）", 22, true}}
	d.size = 9
	lh := d.lineHeight()
	row := func(cells []string, bold bool) {
		wrapped := make([][]string, len(cells))
		n := 1
		for i, s := range cells {
			wrapped[i] = d.wrap(s, cols[i].w-2)
			n = max(n, len(wrapped[i]))
		}
		h := float64(n)*lh + 1.5
		d.need(h)
		x := left
		for i, lines := range wrapped {
			if bold {
				d.p.SetFillColor(235, 235, 235)
				d.p.Rect(x, d.y, cols[i].w, h, "FD")
			} else {
				d.p.Rect(x, d.y, cols[i].w, h, "D")
			}
			for j, l := range lines {
				tx := x + 1
				if cols[i].right {
					tx = x + cols[i].w - 1.5 - d.width(l)
				}
				d.text(tx, d.y+0.75+float64(j)*lh, lh, l)
			}
			x += cols[i].w
		}
		d.y += h
	}
	var head []string
	for _, c := range cols {
		head = append(head, c.head)
	}
	row(head, true)
	for i, it := range c.Items {
		desc := it.Description
		if it.UnitPrice != "" {
			desc += fmt.Sprintf("（单价 %s %s）", it.UnitPrice, it.PriceUnit)
		}
		row([]string{fmt.Sprint(i + 1), desc, it.Cycle, it.Usage + " " + it.UsageUnit, it.Original, it.Discount, it.Payable}, false)
	}
	row([]string{"", "合计", "", "", callbill.FormatMoney(c.Original), callbill.FormatMoney(c.Discount), callbill.FormatMoney(c.Payable)}, false)
}

var (
	cnDigits = []string{"零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"}
	cnUnits  = []string{"", "拾", "佰", "仟"}
	cnGroups = []string{"", "万", "亿", "万亿"}
)

// AmountInWords writes an amount in yuan in Chinese capital numerals, as
// contracts and invoices state it (大写): 1234.56 → 壹仟贰佰叁拾肆元伍角陆分.
func AmountInWords(d decimal.Decimal) string {
	fen := callbill.Fen(d)
	if fen < 0 {
		return "负" + AmountInWords(d.Neg())
	}
	if fen == 0 {
		return "零元整"
	}
	yuan, jiao, f := fen/100, fen/10%10, fen%10
	var b strings.Builder
	if yuan > 0 {
		b.WriteString(intWords(yuan))
		b.WriteString("元")
	}
	switch {
	case jiao == 0 && f == 0:
		b.WriteString("整")
		return b.String()
	case jiao > 0:
		b.WriteString(cnDigits[jiao] + "角")
	case yuan > 0:
		b.WriteString("零")
	}
	if f > 0 {
		b.WriteString(cnDigits[f] + "分")
	} else {
		b.WriteString("整")
	}
	return b.String()
}

// intWords writes a positive integer in capital numerals.
func intWords(n int64) string {
	var groups []int64
	for ; n > 0; n /= 10000 {
		groups = append(groups, n%10000)
	}
	out := ""
	gapped := false
	for i := len(groups) - 1; i >= 0; i-- {
		g := groups[i]
		if g == 0 {
			gapped = out != ""
			continue
		}
		if out != "" && (gapped || g < 1000) {
			out += "零"
		}
		out += groupWords(g) + cnGroups[i]
		gapped = false
	}
	return out
}

// groupWords writes 1..9999 without leading zeros.
func groupWords(g int64) string {
	out := ""
	zero := false
	for pos := 3; pos >= 0; pos-- {
		div := int64(1)
		for range pos {
			div *= 10
		}
		dg := g / div % 10
		if dg == 0 {
			zero = out != ""
			continue
		}
		if zero {
			out += "零"
		}
		out += cnDigits[dg] + cnUnits[pos]
		zero = false
	}
	return out
}
