package export

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/callbill/callbill"
	"github.com/xuri/excelize/v2"
)

// SheetName is the name of the XLSX file's sheet; a file with more rows than
// a sheet holds goes on in sheets named "用量明细 (2)", "用量明细 (3)", …,
// each with the header.
const SheetName = "用量明细"

// sheetRows is how many calls a sheet holds: Excel's 1,048,576 rows less
// the header. Tests lower it.
var sheetRows = excelize.TotalRows - 1

// xlsxWriter streams the workbook into the output as it goes: each sheet is
// one deflated zip entry whose rows are written the moment they come, as
// excelize's StreamWriter would write them (inline strings, numbers without
// a type, booleans t="b") but straight into the zip instead of through a
// 16 MiB buffer and a temporary file per sheet, which excelize keeps until
// the workbook is saved — memory grew by ~32 MB a sheet, and rows cost
// several allocations a cell. Once the rows are done, excelize writes the
// rest of the package (workbook, relationships, content types, styles,
// theme, properties) for the sheets written, through a zip writer that
// leaves out its own empty sheets. Numbers are number cells, text is
// inline-string cells (never a formula), neutralized as in CSV so that both
// files read the same.
type xlsxWriter struct {
	zw     *zip.Writer
	sheet  io.Writer // the current sheet's entry
	cols   []col
	refs   []string // column letters
	names  []string
	sheets []string // names of the sheets started
	rows   int      // calls on the current sheet
	line   []byte
	clock  clock
	cycles cycles
	esc    bytes.Buffer
}

func newXLSXWriter(out io.Writer, cols []col) *xlsxWriter {
	zw := zip.NewWriter(out)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	w := &xlsxWriter{zw: zw, cols: cols, line: make([]byte, 0, 2048)}
	for i := range cols {
		ref, _ := excelize.ColumnNumberToName(i + 1)
		w.refs = append(w.refs, ref)
	}
	return w
}

func (w *xlsxWriter) header(names []string) error {
	w.names = names
	return w.startSheet()
}

const (
	sheetHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ` +
		`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">`
	sheetTail = `</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`
)

// startSheet ends the current sheet, if any, and starts the next with the
// header row frozen above the calls.
func (w *xlsxWriter) startSheet() error {
	if err := w.endSheet(); err != nil {
		return err
	}
	n := len(w.sheets) + 1
	name := SheetName
	if n > 1 {
		name += " (" + strconv.Itoa(n) + ")"
	}
	w.sheets = append(w.sheets, name)
	s, err := w.zw.Create(sheetPath(n))
	if err != nil {
		return err
	}
	w.sheet, w.rows = s, 0
	b := append(w.line[:0], sheetHead...)
	b = append(b, `<sheetViews><sheetView `...)
	if n == 1 {
		b = append(b, `tabSelected="1" `...)
	}
	b = append(b, `workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>`+
		`<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>`+
		`<sheetFormatPr defaultRowHeight="15"/><cols>`...)
	for i, k := range w.cols {
		b = append(b, `<col min="`...)
		b = strconv.AppendInt(b, int64(i+1), 10)
		b = append(b, `" max="`...)
		b = strconv.AppendInt(b, int64(i+1), 10)
		b = append(b, `" width="`...)
		b = strconv.AppendInt(b, int64(width(k)), 10)
		b = append(b, `" customWidth="1"/>`...)
	}
	b = append(b, `</cols><sheetData><row r="1">`...)
	for i, name := range w.names {
		b = w.appendText(b, i, "1", name)
	}
	b = append(b, `</row>`...)
	w.line = b
	_, err = s.Write(b)
	return err
}

func (w *xlsxWriter) endSheet() error {
	if w.sheet == nil {
		return nil
	}
	_, err := io.WriteString(w.sheet, sheetTail)
	w.sheet = nil
	return err
}

// sheetPath is where excelize puts the n-th sheet it makes.
func sheetPath(n int) string { return "xl/worksheets/sheet" + strconv.Itoa(n) + ".xml" }

// width is a column's width in characters.
func width(k col) int {
	switch k {
	case colUID, colStart, colInstance, colCaller, colCallee, colContactID, colNumber:
		return 20
	case colStartEpoch, colEndEpoch, colItem:
		return 14
	}
	return 12
}

func (w *xlsxWriter) row(loc *time.Location, c *callbill.Call) error {
	if w.rows == sheetRows {
		if err := w.startSheet(); err != nil {
			return err
		}
	}
	w.rows++
	var num [20]byte
	r := strconv.AppendInt(num[:0], int64(w.rows+1), 10)
	b := append(w.line[:0], `<row r="`...)
	b = append(b, r...)
	b = append(b, `">`...)
	for i, k := range w.cols {
		v := cellOf(k, c, &w.cycles)
		switch v.kind {
		case kText:
			b = w.appendText(b, i, string(r), v.s)
			continue
		case kTime:
			b = w.appendCellStart(b, i, r, ` t="inlineStr"><is><t>`)
			b = w.clock.append(b, loc, v.n)
			b = append(b, `</t></is></c>`...)
			continue
		case kInt:
			b = w.appendCellStart(b, i, r, `><v>`)
			b = strconv.AppendInt(b, v.n, 10)
		case kMicro:
			b = w.appendCellStart(b, i, r, `><v>`)
			b = appendMicro(b, v.n) // the exact decimal, read as a number
		case kBool:
			b = w.appendCellStart(b, i, r, ` t="b"><v>`)
			b = append(b, '0'+byte(v.n&1))
		}
		b = append(b, `</v></c>`...)
	}
	b = append(b, `</row>`...)
	w.line = b
	_, err := w.sheet.Write(b)
	return err
}

// appendCellStart appends `<c r="REF"` and then rest.
func (w *xlsxWriter) appendCellStart(b []byte, i int, row []byte, rest string) []byte {
	b = append(b, `<c r="`...)
	b = append(b, w.refs[i]...)
	b = append(b, row...)
	b = append(b, '"')
	return append(b, rest...)
}

// appendText appends an inline-string cell holding s, neutralized, escaped
// for XML (characters XML cannot hold become U+FFFD, as encoding/xml
// does) and for OOXML's _xHHHH_ escapes, cut to Excel's 32,767 characters.
// An empty text is no cell at all.
func (w *xlsxWriter) appendText(b []byte, i int, row string, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, `<c r="`...)
	b = append(b, w.refs[i]...)
	b = append(b, row...)
	b = append(b, `" t="inlineStr"><is><t`...)
	neutralize := callbill.NeedsNeutralizing(s)
	if space(s[len(s)-1]) || (!neutralize && space(s[0])) {
		b = append(b, ` xml:space="preserve"`...)
	}
	b = append(b, '>')
	if neutralize {
		b = append(b, '\'')
	}
	if plain(s) {
		b = append(b, s...)
	} else {
		b = w.escape(b, s)
	}
	return append(b, `</t></is></c>`...)
}

func space(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// plain reports whether s can go into XML text as it is: valid UTF-8
// without control characters, markup, U+FFFE/U+FFFF or an _x escape, and
// short enough.
func plain(s string) bool {
	if len(s) > excelize.TotalCellChars { // UTF-16 units ≤ UTF-8 bytes
		return false
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '&', c == '<', c == '>', c == '"', c == '\'':
			return false
		case c == '_' && i+1 < len(s) && s[i+1] == 'x':
			return false
		case c >= 0x80:
			ascii = false
		}
	}
	return ascii || (utf8.ValidString(s) && !strings.ContainsAny(s, "\ufffe\uffff"))
}

// escape appends s escaped (the slow path).
func (w *xlsxWriter) escape(b []byte, s string) []byte {
	n := 0
	for j, r := range s {
		if n += utf16.RuneLen(r); n > excelize.TotalCellChars {
			s = s[:j]
			break
		}
	}
	w.esc.Reset()
	xml.EscapeText(&w.esc, []byte(s))
	e := w.esc.Bytes()
	// OOXML reads _xHHHH_ as the character HHHH: a literal one gets its
	// underscore escaped as _x005F_.
	for {
		j := bytes.Index(e, []byte("_x"))
		if j < 0 {
			break
		}
		if j+7 <= len(e) && isHex4(e[j+2:j+6]) && e[j+6] == '_' {
			b = append(b, e[:j]...)
			b = append(b, "_x005F_"...)
			e = e[j+1:]
			continue
		}
		b = append(b, e[:j+1]...)
		e = e[j+1:]
	}
	return append(b, e...)
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func (w *xlsxWriter) finish() error {
	if err := w.endSheet(); err != nil {
		return err
	}
	// The rest of the package, from excelize, for the sheets written.
	f := excelize.NewFile()
	defer f.Close()
	for i, name := range w.sheets {
		var err error
		if i == 0 {
			err = f.SetSheetName("Sheet1", name)
		} else {
			_, err = f.NewSheet(name)
		}
		if err != nil {
			return err
		}
	}
	if n := f.SheetCount; n != len(w.sheets) {
		return callbill.Errorf(callbill.EINTERNAL, "excelize made %d sheets, want %d", n, len(w.sheets))
	}
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return packageWriter{w.zw, len(w.sheets)} })
	return f.Write(io.Discard)
}

// packageWriter is excelize's zip writer: the sheets are written already.
type packageWriter struct {
	*zip.Writer
	sheets int
}

func (p packageWriter) Create(name string) (io.Writer, error) {
	for n := 1; n <= p.sheets; n++ {
		if name == sheetPath(n) {
			return io.Discard, nil
		}
	}
	return p.Writer.Create(name)
}
