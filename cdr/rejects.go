package cdr

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/callbill/callbill"
)

// RejectsWriter writes FILE.rejects.csv rows: the original fields plus line
// and reason. The header (Decoder.RejectHeader) goes out with the first row,
// so a writer that is given no rejects writes nothing at all.
//
// The fields are hostile input, and the file goes to people and their
// spreadsheets, so each one (header, reason and all) is written as printable
// makes it: valid UTF-8, no NUL byte, at most about MaxRejectFieldBytes.
type RejectsWriter struct {
	w       *csv.Writer
	header  []string
	started bool
	row     []string
}

// NewRejectsWriter returns a writer of rejects under header, which is a
// Decoder's RejectHeader.
func NewRejectsWriter(w io.Writer, header []string) *RejectsWriter {
	return &RejectsWriter{w: csv.NewWriter(w), header: append([]string(nil), header...)}
}

// Write writes one reject: its Fields, line and reason. Fields shorter than
// the header's (a row with too few fields, a row too broken to split) are
// padded with empty fields so that line and reason stay in their columns; a
// row with too many fields is kept whole.
func (w *RejectsWriter) Write(e *callbill.Reject) error {
	if !w.started {
		w.started = true
		row := w.row[:0]
		for _, f := range w.header {
			row = append(row, printable(f))
		}
		w.row = row
		if err := w.w.Write(row); err != nil {
			return err
		}
	}
	row := w.row[:0]
	for _, f := range e.Fields {
		row = append(row, printable(f))
	}
	for len(row) < len(w.header)-2 {
		row = append(row, "")
	}
	row = append(row, strconv.Itoa(e.Line), printable(e.Reason))
	w.row = row
	return w.w.Write(row)
}

// nulEscape is what printable writes for a NUL byte.
const nulEscape = `\x00`

// printable returns s fit for the rejects file: each byte that is not UTF-8
// becomes U+FFFD, each NUL byte the four characters \x00, and a result
// longer than MaxRejectFieldBytes is cut there (between characters) with a
// marker saying how long s was. A string that is fine already comes back as
// it is, without allocating.
func printable(s string) string {
	if len(s) <= MaxRejectFieldBytes && (cleanASCII(s) || strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)) {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), MaxRejectFieldBytes) + 64)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		piece := s[i : i+n]
		switch {
		case r == 0:
			piece = nulEscape
		case r == utf8.RuneError && n == 1:
			piece = "\uFFFD"
		}
		if b.Len()+len(piece) > MaxRejectFieldBytes {
			b.WriteString("… (cut; " + strconv.Itoa(len(s)) + " bytes in all)")
			break
		}
		b.WriteString(piece)
		i += n
	}
	return b.String()
}

// Flush writes any buffered data and reports any error of the writes so far.
func (w *RejectsWriter) Flush() error {
	w.w.Flush()
	return w.w.Error()
}
