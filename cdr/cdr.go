// Package cdr decodes call detail records (CSV and Alibaba CCC JSON) into callbill.CDR, streaming, with line-numbered errors.
//
// The formats are those of docs/rules.md, "CDR input"; every record comes out
// normalized as it says (direction lower-cased, caller and callee on digits only, start
// and end in whole epoch seconds, an empty recording field being 0), so two
// records of one identity can be compared with callbill.CDR.SameContent
// whatever format each came in.
//
// A bad row is a *callbill.Reject and decoding goes on after it; the importer
// writes it to FILE.rejects.csv with a RejectsWriter, as it writes the rows
// that later stages reject, kept as read with Decoder.AppendRaw. Any other error from
// Decoder.Next is fatal: a *callbill.Error (code EINVALID) when the input is
// not a CDR file at all (a missing CSV column, JSON broken beyond recovery),
// else the reader's own I/O error.
//
// Input is treated as hostile, with these limits:
//
//   - The contact id, instance id, caller and callee (CSV contact_id,
//     instance_id, caller, callee; JSON ContactId, InstanceId,
//     CallingNumber, CalledNumber) may have at most MaxFieldBytes (128)
//     bytes each, surrounding white space trimmed; a row with a longer one is
//     rejected as `contact_id is 300 bytes; at most 128 allowed`.
//   - Every text field the decoder reads (those four, the direction, the
//     times and the recording fields) must be valid UTF-8 without NUL
//     bytes, else the row is rejected as `contact_id contains a NUL
//     byte` or `caller is not valid UTF-8`. In JSON this is judged on the
//     bytes as given: encoding/json would silently turn invalid bytes and
//     lone surrogate escapes (\ud800) into U+FFFD, which could make two
//     different ids one.
//   - A CSV row, line ends included, may have at most MaxRecordBytes (1 MiB).
//     A longer one on a single line is rejected as `row is longer than
//     1048576 bytes` (with no fields) and decoding goes on at the next line;
//     one cut inside a quoted field that spans lines is fatal (EINVALID,
//     naming the line), since no one can tell where that row ends. A
//     header row over the limit is fatal too.
//   - A JSON Lines line (its newline excluded) may have at most
//     MaxRecordBytes; a longer one is rejected as `record is longer than
//     1048576 bytes` and decoding goes on at the next line. A record of a
//     JSON array or a ListCallDetailRecords response may have at most
//     MaxRecordBytes (counting the white space before it), else the error
//     is fatal, naming the record: the array cannot be resynchronized.
//   - Reasons repeat at most 64 bytes of a bad value.
//   - The RejectsWriter writes every field as valid UTF-8 (an invalid byte
//     becomes U+FFFD), a NUL byte as the four characters \x00, and a field
//     of more than MaxRejectFieldBytes (1 KiB) cut there with a marker, so
//     that the rejects file is always a CSV file any tool can open.
package cdr

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"strconv"

	"github.com/callbill/callbill"
)

// Record is one decoded CDR with where it came from.
type Record struct {
	callbill.CDR
	// Line is, for CSV, the file's line number where the row starts (the
	// header being line 1); for JSON Lines the line number; for a JSON array
	// or a ListCallDetailRecords response the 1-based record index.
	Line int
}

// Decoder reads CDRs one at a time.
type Decoder interface {
	// Next returns the next record; a *callbill.Reject for a bad row (its
	// Pos.File is 0; call Next again to go on); io.EOF at the end; any
	// other error is fatal (I/O, JSON structure broken beyond recovery) and
	// is returned again by every later call.
	Next() (Record, error)
	// RejectHeader returns the header of the rejects file: for CSV the
	// input's header fields followed by "line","reason"; for JSON
	// []string{"record","line","reason"}.
	RejectHeader() []string
	// AppendRaw appends what Next last returned, a good record or a bad
	// row alike, as read, to dst, and returns the extended slice; c is the
	// CDR of the record Next returned (nil for a bad row, or to keep every
	// byte). RawFields turns it into fields shaped as callbill.Reject.Fields
	// when the row is rejected later (a conflict, an unknown number). The
	// form costs at most a copy of the row's bytes: a CSV field that is, byte
	// for byte, the text of a field of c (a contact id, an epoch second)
	// refers to it instead. It appends nothing before the first record,
	// after a fatal error, and for a bad row that has no fields.
	AppendRaw(dst []byte, c *callbill.CDR) []byte
}

// The forms AppendRaw appends: a tag byte, then for JSON the record's text
// as read, for CSV each field as a uvarint v and, when v >= rawLiteral, its
// v-rawLiteral bytes; a smaller v names the field of the row's CDR whose
// text the field is (refContact…).
const (
	rawCSV  = 'c'
	rawJSON = 'j'
)

// The fields of a CDR a CSV field may refer to, in the order of the CSV
// columns (colContact…), and the first literal.
const (
	refNone = iota
	refContact
	refInstance
	refDirection
	refCaller
	refCallee
	refStart
	refEnd
	refRecSeconds
	refRecBytes
	rawLiteral = 16
)

// refText is the text of field ref of c, as a CSV row may hold it; false
// for a reference it cannot give (no CDR, an unknown reference).
func refText(c *callbill.CDR, ref uint64) (string, bool) {
	if c == nil {
		return "", false
	}
	switch ref {
	case refContact:
		return c.ContactID, true
	case refInstance:
		return c.InstanceID, true
	case refDirection:
		return string(c.Direction), true
	case refCaller:
		return c.Caller, true
	case refCallee:
		return c.Callee, true
	case refStart:
		return strconv.FormatInt(c.Start, 10), true
	case refEnd:
		return strconv.FormatInt(c.End, 10), true
	case refRecSeconds:
		return strconv.FormatInt(c.RecordingSeconds, 10), true
	case refRecBytes:
		return strconv.FormatInt(c.RecordingBytes, 10), true
	}
	return "", false
}

// isRefText reports whether f is the text of field ref of c, without
// allocating.
func isRefText(c *callbill.CDR, ref byte, f string) bool {
	var n int64
	switch ref {
	case refContact:
		return f == c.ContactID
	case refInstance:
		return f == c.InstanceID
	case refDirection:
		return f == string(c.Direction)
	case refCaller:
		return f == c.Caller
	case refCallee:
		return f == c.Callee
	case refStart:
		n = c.Start
	case refEnd:
		n = c.End
	case refRecSeconds:
		n = c.RecordingSeconds
	case refRecBytes:
		n = c.RecordingBytes
	default:
		return false
	}
	// f is the decimal text of n: digits, no leading zero, the same value.
	if len(f) == 0 || len(f) > 18 || f[0] == '0' && len(f) > 1 {
		return false
	}
	var v int64
	for i := 0; i < len(f); i++ {
		d := f[i] - '0'
		if d > 9 {
			return false
		}
		v = v*10 + int64(d)
	}
	return v == n
}

// RawFields returns the fields of a row that a Decoder's AppendRaw
// appended, given the same c, shaped as callbill.Reject.Fields: a CSV
// row's fields, or a JSON record's compact JSON. It keeps nothing of raw
// and is safe to call from any goroutine. A raw row it cannot read (not
// AppendRaw's, or given another CDR) yields the fields read up to there:
// the reject still goes out with its line and reason, never a panic.
func RawFields(raw []byte, c *callbill.CDR) []string {
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case rawCSV:
		s := string(raw[1:]) // one string for all the literal fields
		var fields []string
		for i := 0; i < len(s); {
			v, k := binary.Uvarint(raw[1+i:])
			if k <= 0 {
				return fields
			}
			i += k
			if v < rawLiteral {
				f, ok := refText(c, v)
				if !ok {
					return fields
				}
				fields = append(fields, f)
				continue
			}
			n := v - rawLiteral
			if uint64(len(s)-i) < n {
				return fields
			}
			fields = append(fields, s[i:i+int(n)])
			i += int(n)
		}
		return fields
	case rawJSON:
		return rawFields(raw[1:])
	}
	return nil
}

const bufSize = 64 << 10

// NewDecoder sniffs the format from the first non-whitespace byte (after an
// optional UTF-8 BOM): '{' or '[' → JSON, anything else → CSV.
//
// For CSV it reads the header row, so a missing required column (or an
// empty input) is reported here; rows whose fields are all blank (the
// ",,,,,," rows spreadsheets leave) are skipped, not rejected. A '{' input is a ListCallDetailRecords
// response when its first object has a top-level "Data" key, else JSON Lines.
func NewDecoder(r io.Reader) (Decoder, error) { return newDecoder(r, MaxRecordBytes) }

// newDecoder is NewDecoder with a record limit of limit bytes (tests use
// small ones).
func newDecoder(r io.Reader, limit int) (Decoder, error) {
	lim := newLimiter(r)
	// A buffer no bigger than the limit keeps the limit exact whatever the
	// reads return: a longer record is never in it whole, so it is always
	// cut. csv.NewReader needs 4096 bytes to read br itself.
	br := bufio.NewReaderSize(lim, min(max(limit, 4096), bufSize))
	var skipped int64 // bytes consumed before the decoder proper starts
	if b, err := br.Peek(3); err == nil && string(b) == "\xEF\xBB\xBF" {
		br.Discard(3)
		skipped = 3
	}
	c, n, lines, err := sniff(br)
	if err != nil {
		return nil, err
	}
	skipped += n
	switch c {
	case '[':
		return newArrayDecoder(br, lim, limit, skipped)
	case '{':
		return newObjectDecoder(br, lim, limit, skipped, lines)
	case 0:
		return nil, callbill.Errorf(callbill.EINVALID, "empty input: expected a CSV header row or JSON")
	}
	return newCSVDecoder(br, lim, limit, lines)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// sniff returns the first non-whitespace byte without consuming it (0 at
// EOF). Only when white space fills the whole buffer is it consumed; n and
// lines say how many bytes and newlines that was.
func sniff(br *bufio.Reader) (c byte, n int64, lines int, err error) {
	for want, from := 1, 0; ; {
		b, err := br.Peek(want)
		for _, c := range b[from:] {
			if !isSpace(c) {
				return c, n, lines, nil
			}
		}
		from = len(b)
		switch {
		case err == io.EOF:
			return 0, n, lines, nil
		case err != nil && err != bufio.ErrBufferFull:
			return 0, n, lines, err
		case len(b) == br.Size():
			for _, c := range b {
				if c == '\n' {
					lines++
				}
			}
			br.Discard(len(b))
			n += int64(len(b))
			want, from = 1, 0
		default:
			want = min(br.Buffered()+1, br.Size())
		}
	}
}

// Source adapts a decoder to callbill.RawSource; file is the input's index
// among the files of one import. Bad rows come out as *callbill.Reject.
func Source(dec Decoder, file int) callbill.RawSource { return &source{dec, file} }

type source struct {
	dec  Decoder
	file int
}

func (s *source) Next() (callbill.CDR, callbill.Pos, error) {
	rec, err := s.dec.Next()
	if err != nil {
		var re *callbill.Reject
		if errors.As(err, &re) {
			re.File = s.file
			return callbill.CDR{}, re.Pos, re
		}
		return callbill.CDR{}, callbill.Pos{}, err
	}
	return rec.CDR, callbill.Pos{File: s.file, Line: rec.Line}, nil
}

func (s *source) AppendRaw(dst []byte, c *callbill.CDR) []byte {
	return s.dec.AppendRaw(dst, c)
}
func (s *source) RawFields(raw []byte, c *callbill.CDR) []string { return RawFields(raw, c) }
