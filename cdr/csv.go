package cdr

import (
	"bufio"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/callbill/callbill"
)

// CSV columns (docs/rules.md, "CDR input").
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
	br       *bufio.Reader // what r reads; it reads lim
	lim      *limiter
	limit    int // most bytes of a row
	header   []string
	col      [numCols]int // index of each column in a row; -1 when absent
	refs     []byte       // the CDR field each column holds (AppendRaw); refNone for others
	width    int          // fields per row
	lineBase int          // lines the csv.Reader did not see (before it started, empty ones skipped)
	// The next row starts on the line after prev plus the line breaks in
	// prevField, the last field of the row before (quoted, it may span
	// lines). Only a row cut at the limit, which has no field positions,
	// needs that, so it is worked out then.
	prev      int
	prevField string
	ids       interner
	buf       []byte   // scratch for a row's strings
	last      []string // the row Next last returned (the csv.Reader's)
	err       error    // sticky fatal error
}

func newCSVDecoder(br *bufio.Reader, lim *limiter, limit, lineBase int) (*csvDecoder, error) {
	r := csv.NewReader(br) // br itself: csv.NewReader keeps a *bufio.Reader this big
	r.FieldsPerRecord = -1 // checked by hand: a wrong count rejects the row
	r.ReuseRecord = true
	d := &csvDecoder{r: r, br: br, lim: lim, limit: limit, lineBase: lineBase, prev: lineBase, ids: interner{}}
	header, line, err := d.read()
	if err != nil {
		var pe *csv.ParseError
		switch {
		case err == io.EOF:
			return nil, callbill.Errorf(callbill.EINVALID, "empty input: expected a CSV header row or JSON")
		case err == errTooLong:
			return nil, callbill.Errorf(callbill.EINVALID, "CSV header (line %d) is longer than %d bytes", line, limit)
		case errors.As(err, &pe):
			return nil, callbill.Errorf(callbill.EINVALID, "CSV header (line %d): %v", pe.StartLine+d.lineBase, pe.Err)
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
	d.refs = make([]byte, d.width)
	for c, i := range d.col {
		if i >= 0 {
			d.refs[i] = byte(refContact + c) // the columns are in the refs' order
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

func (d *csvDecoder) AppendRaw(dst []byte, c *callbill.CDR) []byte {
	if d.last == nil {
		return dst
	}
	dst = append(dst, rawCSV)
	refs := d.refs[:0]
	if c != nil && len(d.last) == len(d.refs) {
		refs = d.refs
	}
	for i, f := range d.last {
		if i < len(refs) && isRefText(c, refs[i], f) {
			dst = append(dst, refs[i])
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(len(f))+rawLiteral)
		dst = append(dst, f...)
	}
	return dst
}

func (d *csvDecoder) Next() (Record, error) {
	if d.err != nil {
		return Record{}, d.err
	}
	d.last = nil
	for {
		row, line, err := d.read()
		if err != nil {
			var pe *csv.ParseError
			switch {
			case err == errTooLong:
				return Record{}, &callbill.Reject{Pos: callbill.Pos{Line: line}, Reason: "row is longer than " + strconv.Itoa(d.limit) + " bytes"}
			case errors.As(err, &pe):
				// A stray quote: the reader resumes on the next line.
				return Record{}, &callbill.Reject{Pos: callbill.Pos{Line: pe.StartLine + d.lineBase}, Reason: "malformed CSV: " + pe.Err.Error()}
			}
			d.err = err
			return Record{}, err
		}
		if blankRow(row) {
			continue // e.g. the ",,,,,," rows spreadsheets leave at the end
		}
		d.last = row
		rec, reason := d.decodeRow(row)
		if reason != "" {
			return Record{}, &callbill.Reject{Pos: callbill.Pos{Line: line}, Reason: reason, Fields: slices.Clone(row)}
		}
		rec.Line = line
		return rec, nil
	}
}

// read reads the next row and the line it starts on. A row of more than
// d.limit bytes is errTooLong, the reader then being at the next line; when it
// cannot be (the limiter cut it inside a quoted field that spans lines, so its
// end is unknown) the error is fatal.
func (d *csvDecoder) read() ([]string, int, error) {
	d.lim.unlimit()
	if err := d.skipEmpty(); err != nil {
		return nil, 0, err
	}
	start := d.lim.n - int64(d.br.Buffered())
	d.lim.max = start + int64(d.limit) + 1 // one byte over, to tell "max" from "more"
	row, err := d.r.Read()
	if d.lim.hit {
		return d.cut(start, row, err)
	}
	if err != nil {
		var pe *csv.ParseError // here, not above: errors.As moves it to the heap
		if !errors.As(err, &pe) {
			return nil, 0, err
		}
		d.prev, d.prevField = pe.Line+d.lineBase, "" // the reader goes on after that line
		if d.lim.n-int64(d.br.Buffered())-start > int64(d.limit) {
			return nil, pe.StartLine + d.lineBase, errTooLong
		}
		return nil, 0, err
	}
	line, _ := d.r.FieldPos(0)
	line += d.lineBase
	last := len(row) - 1 // a row read has a field at least
	d.prev, _ = d.r.FieldPos(last)
	d.prev += d.lineBase
	d.prevField = row[last]
	if d.lim.n-int64(d.br.Buffered())-start > int64(d.limit) {
		return nil, line, errTooLong // read whole: the reader is past it already
	}
	return row, line, nil
}

// skipEmpty consumes the empty lines before a row, which the csv.Reader would
// skip itself but count into the row's bytes.
func (d *csvDecoder) skipEmpty() error {
	for {
		b, err := d.br.Peek(1)
		if len(b) == 0 {
			return err // io.EOF at the end
		}
		n := 1
		switch b[0] {
		case '\n':
		case '\r':
			if b, err = d.br.Peek(2); len(b) < 2 || b[1] != '\n' {
				if err != nil && err != io.EOF {
					return err
				}
				return nil
			}
			n = 2
		default:
			return nil
		}
		d.br.Discard(n)
		d.lineBase++
		d.prev++
	}
}

// cut handles a row the limiter stopped: all of it read so far was consumed
// by the csv.Reader (a bufio.Reader hands out what it has with the error).
// When the row is still on its first line and the cut is not inside quotes,
// the row ends with that line: skip the rest of it.
func (d *csvDecoder) cut(start int64, row []string, err error) ([]string, int, error) {
	line := d.prev + 1 + strings.Count(d.prevField, "\n")
	oneLine := d.lim.lastNL < start
	var pe *csv.ParseError
	if oneLine && (errors.As(err, &pe) || d.endsAtCut(row, d.lim.n-start)) {
		d.lim.unlimit()
		for {
			_, err := d.br.ReadSlice('\n')
			if err == nil || err == io.EOF {
				break
			}
			if err != bufio.ErrBufferFull {
				return nil, 0, err
			}
		}
		d.prev, d.prevField = line, "" // the csv.Reader counted the line once, as it should
		return nil, line, errTooLong
	}
	return nil, 0, callbill.Errorf(callbill.EINVALID, "CSV row at line %d is longer than %d bytes, cut inside a quoted field: there is no telling where it ends", line, d.limit)
}

// endsAtCut reports whether the last field the csv.Reader parsed of a row cut
// after n bytes on its first line runs to the cut, i.e. whether the cut is in
// an unquoted field. A quoted field it parsed ends before the cut (its quotes
// at least); one still open is not among the fields at all.
func (d *csvDecoder) endsAtCut(row []string, n int64) bool {
	if len(row) == 0 {
		return false
	}
	_, col := d.r.FieldPos(len(row) - 1)
	return int64(col-1+len(row[len(row)-1])) == n
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
	if len(contact) > MaxFieldBytes || !cleanASCII(contact) {
		if r := idReason("contact_id", contact); r != "" {
			return rec, r
		}
	}
	inst := trim(row[d.col[colInstance]])
	if inst == "" {
		return rec, "instance_id is empty"
	}
	// An interned id passed the checks already; most rows have one.
	id, known := d.ids[inst]
	if !known {
		if r := idReason("instance_id", inst); r != "" {
			return rec, r
		}
	}
	var ok bool
	f := row[d.col[colDirection]]
	if c.Direction, ok = parseDirection(f); !ok {
		// A direction that parses is ASCII; only a bad one needs looking at.
		if r := textReason("direction", f); r != "" {
			return rec, r
		}
		return rec, "direction " + quote(f) + " is not inbound or outbound"
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
	// One allocation holds the row's other strings, so that the record does
	// not pin the csv.Reader's copy of the whole row (unknown columns and all).
	b := append(d.buf[:0], contact...)
	nc := len(b)
	var reason string
	if b, reason = appendNumber(b, "caller", row[d.col[colCaller]]); reason != "" {
		return rec, reason
	}
	nr := len(b)
	if b, reason = appendNumber(b, "callee", row[d.col[colCallee]]); reason != "" {
		return rec, reason
	}
	d.buf = b
	if !known {
		id = d.ids.add(inst)
	}
	c.InstanceID = id
	s := string(b)
	c.ContactID, c.Caller, c.Callee = s[:nc], s[nc:nr], s[nr:]
	return rec, ""
}

// appendNumber appends the digits of a caller or callee field to dst, or
// says what is wrong with the field.
func appendNumber(dst []byte, name, f string) ([]byte, string) {
	if f = trim(f); len(f) > MaxFieldBytes {
		return dst, sizeReason(name, len(f))
	}
	plain := true
	for i := 0; i < len(f); i++ {
		if c := f[i]; c-'0' <= 9 {
			dst = append(dst, c)
		} else if c == 0 || c >= utf8.RuneSelf {
			plain = false
		}
	}
	if !plain {
		return dst, textReason(name, f)
	}
	return dst, ""
}

func setTime(dst *int64, s string) bool {
	v, ok := parseTime(s)
	*dst = v
	return ok
}

// timeReason and countReason explain a field that did not parse; one that
// does is ASCII, so only then do its bytes need looking at.
func timeReason(col, v string) string {
	if r := textReason(col, v); r != "" {
		return r
	}
	return col + " " + quote(v) + " is not epoch seconds, epoch milliseconds or RFC 3339"
}

func countReason(col, v string) string {
	if r := textReason(col, v); r != "" {
		return r
	}
	return col + " " + quote(v) + " is not a non-negative integer"
}
