package export

import (
	"bufio"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/callbill/callbill"
)

// csvWriter writes rows straight into a buffered writer, a byte slice per
// row and no allocation: numbers with strconv.AppendInt, text neutralized
// (callbill.NeutralizeCell) and quoted exactly when encoding/csv would
// quote it, lines ended by "\n" as encoding/csv does.
type csvWriter struct {
	w      *bufio.Writer
	cols   []col
	line   []byte
	clock  clock
	cycles cycles
}

func newCSVWriter(w *bufio.Writer, cols []col) *csvWriter {
	return &csvWriter{w: w, cols: cols, line: make([]byte, 0, 512)}
}

func (w *csvWriter) header(names []string) error {
	b := append(w.line[:0], "\ufeff"...)
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendText(b, n)
	}
	b = append(b, '\n')
	w.line = b
	_, err := w.w.Write(b)
	return err
}

func (w *csvWriter) row(loc *time.Location, c *callbill.Call) error {
	b := w.line[:0]
	for i, k := range w.cols {
		if i > 0 {
			b = append(b, ',')
		}
		v := cellOf(k, c, &w.cycles)
		switch v.kind {
		case kText:
			b = appendText(b, v.s)
		case kInt:
			b = strconv.AppendInt(b, v.n, 10)
		case kMicro:
			b = appendMicro(b, v.n)
		case kBool:
			b = strconv.AppendBool(b, v.n != 0)
		case kTime:
			b = w.clock.append(b, loc, v.n)
		}
	}
	b = append(b, '\n')
	w.line = b
	_, err := w.w.Write(b)
	return err
}

func (w *csvWriter) finish() error { return nil } // the caller flushes w

// appendText appends a text cell: neutralized, then quoted as encoding/csv
// quotes a field (doubling inner quotes), so the bytes are what
// csv.Writer writes for callbill.NeutralizeCell(s).
func appendText(b []byte, s string) []byte {
	if callbill.NeedsNeutralizing(s) {
		// The quote now leads, so only the content decides the quoting.
		if needsQuotes(s) {
			return appendQuoted(append(b, '"', '\''), s)
		}
		return append(append(b, '\''), s...)
	}
	if needsQuotes(s) || (s != "" && leadingSpace(s)) || s == `\.` {
		return appendQuoted(append(b, '"'), s)
	}
	return append(b, s...)
}

// needsQuotes reports whether s holds a comma, a quote or a line break.
func needsQuotes(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	return false
}

func leadingSpace(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r)
}

// appendQuoted appends s with its quotes doubled, then the closing quote
// (the opening one is the caller's).
func appendQuoted(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
