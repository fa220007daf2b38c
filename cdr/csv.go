package cdr

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/callbill/callbill"
)

// CSV columns (DESIGN §4.2).
const (
	colContact = iota
	colInstance
	colDirection
	colCaller
	colCallee
	colStart
	colEnd
	colRecSeconds
	colRecBytes
	numCols
	numRequired = colRecSeconds
)

var colNames = [numCols]string{
	"contact_id", "instance_id", "direction", "caller", "callee",
	"start_time", "end_time", "recording_seconds", "recording_bytes",
}

type csvDecoder struct {
	r        *csv.Reader
	header   []string
	col      [numCols]int // index of each column in a row; -1 when absent
	width    int          // fields per row
	lineBase int          // newlines consumed before the csv.Reader started
	ids      interner
	buf      []byte   // scratch for a row's strings
	last     []string // the row Next last returned (the csv.Reader's)
	err      error    // sticky fatal error
}

func newCSVDecoder(br *bufio.Reader, lineBase int) (*csvDecoder, error) {
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1 // checked by hand: a wrong count is a RowError
	r.ReuseRecord = true
	d := &csvDecoder{r: r, lineBase: lineBase, ids: interner{}}
	header, err := r.Read()
	if err != nil {
		var pe *csv.ParseError
		switch {
		case err == io.EOF:
			return nil, callbill.Errorf(callbill.EINVALID, "empty input: expected a CSV header row or JSON")
		case errors.As(err, &pe):
			return nil, callbill.Errorf(callbill.EINVALID, "CSV header (line %d): %v", pe.StartLine+lineBase, pe.Err)
		}
		return nil, err
	}
	d.header = slices.Clone(header)
	d.width = len(header)
	for i := range d.col {
		d.col[i] = -1
	}
	for i, h := range header {
		h = trim(h)
		for c, name := range colNames {
			if strings.EqualFold(h, name) {
				if d.col[c] >= 0 {
					return nil, callbill.Errorf(callbill.EINVALID, "CSV header has column %s twice", name)
				}
				d.col[c] = i
			}
		}
	}
	var missing []string
	for c := range numRequired {
		if d.col[c] < 0 {
			missing = append(missing, colNames[c])
		}
	}
	if len(missing) == 1 {
		return nil, callbill.Errorf(callbill.EINVALID, "CSV header is missing required column %s", missing[0])
	} else if len(missing) > 1 {
		return nil, callbill.Errorf(callbill.EINVALID, "CSV header is missing required columns %s", strings.Join(missing, ", "))
	}
	return d, nil
}

func (d *csvDecoder) RejectHeader() []string {
	return append(slices.Clip(d.header), "line", "reason")
}

func (d *csvDecoder) Raw() []string { return slices.Clone(d.last) }

func (d *csvDecoder) Next() (Record, error) {
	if d.err != nil {
		return Record{}, d.err
	}
	d.last = nil
	for {
		row, err := d.r.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				// A stray quote: the reader resumes on the next line.
				return Record{}, &RowError{Line: pe.StartLine + d.lineBase, Reason: "malformed CSV: " + pe.Err.Error()}
			}
			d.err = err
			return Record{}, err
		}
		line, _ := d.r.FieldPos(0)
		line += d.lineBase
		if blankRow(row) {
			continue // e.g. the ",,,,,," rows spreadsheets leave at the end
		}
		d.last = row
		rec, reason := d.decodeRow(row)
		if reason != "" {
			return Record{}, &RowError{Line: line, Fields: slices.Clone(row), Reason: reason}
		}
		rec.Line = line
		return rec, nil
	}
}

func blankRow(row []string) bool {
	for _, f := range row {
		if trim(f) != "" {
			return false
		}
	}
	return true
}

// decodeRow normalizes one row; a non-empty reason rejects it.
func (d *csvDecoder) decodeRow(row []string) (Record, string) {
	if len(row) != d.width {
		return Record{}, fmt.Sprintf("wrong number of fields: %d, the header has %d", len(row), d.width)
	}
	var rec Record
	c := &rec.CDR
	contact := trim(row[d.col[colContact]])
	if contact == "" {
		return rec, "contact_id is empty"
	}
	inst := trim(row[d.col[colInstance]])
	if inst == "" {
		return rec, "instance_id is empty"
	}
	var ok bool
	f := row[d.col[colDirection]]
	if c.Direction, ok = parseDirection(f); !ok {
		return rec, "direction " + strconv.Quote(f) + " is not inbound or outbound"
	}
	if f = row[d.col[colStart]]; !setTime(&c.Start, f) {
		return rec, timeReason("start_time", f)
	}
	if f = row[d.col[colEnd]]; !setTime(&c.End, f) {
		return rec, timeReason("end_time", f)
	}
	if i := d.col[colRecSeconds]; i >= 0 {
		if c.RecordingSeconds, ok = parseCount(row[i]); !ok {
			return rec, countReason("recording_seconds", row[i])
		}
	}
	if i := d.col[colRecBytes]; i >= 0 {
		if c.RecordingBytes, ok = parseCount(row[i]); !ok {
			return rec, countReason("recording_bytes", row[i])
		}
	}
	c.InstanceID = d.ids.intern(inst)
	// One allocation holds the row's other strings, so that the record does
	// not pin the csv.Reader's copy of the whole row (unknown columns and all).
	b := append(d.buf[:0], contact...)
	nc := len(b)
	b = appendDigits(b, row[d.col[colCaller]])
	nr := len(b)
	b = appendDigits(b, row[d.col[colCallee]])
	d.buf = b
	s := string(b)
	c.ContactID, c.Caller, c.Callee = s[:nc], s[nc:nr], s[nr:]
	return rec, ""
}

func setTime(dst *int64, s string) bool {
	v, ok := parseTime(s)
	*dst = v
	return ok
}

func timeReason(col, v string) string {
	return col + " " + strconv.Quote(v) + " is not epoch seconds, epoch milliseconds or RFC 3339"
}

func countReason(col, v string) string {
	return col + " " + strconv.Quote(v) + " is not a non-negative integer"
}
