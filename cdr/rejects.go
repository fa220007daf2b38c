package cdr

import (
	"encoding/csv"
	"io"
	"strconv"
)

// RejectsWriter writes FILE.rejects.csv rows: the original fields plus line
// and reason. The header (Decoder.RejectHeader) goes out with the first row,
// so a writer that is given no rejects writes nothing at all.
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

// Write writes one reject. Fields shorter than the header's (a row with too
// few fields, a row too broken to split) are padded with empty fields so that
// line and reason stay in their columns; a row with too many fields is kept
// whole.
func (w *RejectsWriter) Write(e *RowError) error {
	if !w.started {
		w.started = true
		if err := w.w.Write(w.header); err != nil {
			return err
		}
	}
	row := append(w.row[:0], e.Fields...)
	for len(row) < len(w.header)-2 {
		row = append(row, "")
	}
	row = append(row, strconv.Itoa(e.Line), e.Reason)
	w.row = row
	return w.w.Write(row)
}

// Flush writes any buffered data and reports any error of the writes so far.
func (w *RejectsWriter) Flush() error {
	w.w.Flush()
	return w.w.Error()
}
