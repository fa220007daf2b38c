package cdr

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/callbill/callbill"
)

// jsonRejectHeader is the rejects-file header of every JSON form.
var jsonRejectHeader = []string{"record", "line", "reason"}

// ccc is the part of a CCC CallDetailRecord that rating reads. Each field is
// kept raw so that a wrong type rejects the record, naming the field, rather
// than failing the whole input.
type ccc struct {
	ContactId         json.RawMessage
	InstanceId        json.RawMessage
	ContactType       json.RawMessage
	CallingNumber     json.RawMessage
	CalledNumber      json.RawMessage
	StartTime         json.RawMessage
	ReleaseTime       json.RawMessage
	RecordingDuration json.RawMessage
}

// jsonRecords turns raw CCC records into Records.
type jsonRecords struct {
	ids  interner
	v    ccc
	last []byte // the text of the record last decoded, valid until the next
}

func (j *jsonRecords) AppendRaw(dst []byte, _ *callbill.CDR) []byte {
	if j.last == nil {
		return dst
	}
	return append(append(dst, rawJSON), j.last...)
}

// rawFields is a record's compact JSON or, when it is not JSON at all, its
// text trimmed.
func rawFields(text []byte) []string {
	var b bytes.Buffer
	if json.Compact(&b, text) != nil {
		b.Reset()
		b.Write(bytes.TrimSpace(text))
	}
	return []string{b.String()}
}

// decode normalizes one record; text is its JSON. A bad record is a
// *callbill.Reject whose Fields hold the record's compact JSON (or, when it is not
// JSON at all, its text).
func (j *jsonRecords) decode(text []byte, line int) (Record, error) {
	j.last = text
	rec, reason := j.parse(text)
	if reason == "" {
		rec.Line = line
		return rec, nil
	}
	return Record{}, &callbill.Reject{Pos: callbill.Pos{Line: line}, Reason: reason, Fields: rawFields(text)}
}

func (j *jsonRecords) parse(text []byte) (Record, string) {
	v := &j.v
	// Reuse the buffers, but a key absent from this record must read as absent.
	for _, f := range []*json.RawMessage{&v.ContactId, &v.InstanceId, &v.ContactType,
		&v.CallingNumber, &v.CalledNumber, &v.StartTime, &v.ReleaseTime, &v.RecordingDuration} {
		*f = (*f)[:0]
	}
	if err := json.Unmarshal(text, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Record{}, "record is not a JSON object"
		}
		return Record{}, "invalid JSON: " + err.Error()
	}
	var rec Record
	c := &rec.CDR
	var reason string
	if c.ContactID, reason = requiredString("ContactId", v.ContactId); reason != "" {
		return rec, reason
	}
	if c.InstanceID, reason = j.instance(v.InstanceId); reason != "" {
		return rec, reason
	}
	typ, kind := jsonString(v.ContactType)
	switch {
	case kind == jsonAbsent:
		return rec, "missing ContactType"
	case kind == jsonOther:
		return rec, "ContactType " + snippet(v.ContactType) + " is not a string"
	case kind != jsonText:
		return rec, kind.reason("ContactType")
	case strings.EqualFold(trim(typ), "Inbound"):
		c.Direction = callbill.Inbound
	case strings.EqualFold(trim(typ), "Outbound"):
		c.Direction = callbill.Outbound
	default:
		return rec, "unsupported ContactType " + quote(typ)
	}
	if c.Caller, reason = phone("CallingNumber", v.CallingNumber); reason != "" {
		return rec, reason
	}
	if c.Callee, reason = phone("CalledNumber", v.CalledNumber); reason != "" {
		return rec, reason
	}
	if c.Start, reason = epochMillis("StartTime", v.StartTime); reason != "" {
		return rec, reason
	}
	if c.End, reason = epochMillis("ReleaseTime", v.ReleaseTime); reason != "" {
		return rec, reason
	}
	n, present, ok := jsonInt(v.RecordingDuration)
	if present && !ok {
		if r := intTextReason("RecordingDuration", v.RecordingDuration); r != "" {
			return rec, r
		}
		return rec, "RecordingDuration " + snippet(v.RecordingDuration) + " is not a non-negative integer"
	}
	c.RecordingSeconds = n
	return rec, ""
}

// jsonLines decodes JSON Lines: one record per line, each line on its own,
// so that a broken line is rejected and the next line decodes as usual.
type jsonLines struct {
	jsonRecords
	br       *bufio.Reader
	limit    int // most bytes of a line
	line     int
	long     []byte // a line longer than the buffer
	err      error
	lineBase int
}

func (d *jsonLines) RejectHeader() []string { return append([]string(nil), jsonRejectHeader...) }

func (d *jsonLines) Next() (Record, error) {
	d.last = nil
	for d.err == nil {
		text, tooLong, err := d.readLine()
		if err != nil && (err != io.EOF || len(text) == 0 && !tooLong) {
			d.err = err
			break
		}
		d.line++
		if tooLong {
			return Record{}, &callbill.Reject{Pos: callbill.Pos{Line: d.line + d.lineBase}, Reason: "record is longer than " + strconv.Itoa(d.limit) + " bytes"}
		}
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		return d.decode(text, d.line+d.lineBase)
	}
	return Record{}, d.err
}

// readLine returns the next line without its newline; at the end of input a
// last line without a newline comes with io.EOF. A line of more than d.limit
// bytes is read to its end but not kept: tooLong.
func (d *jsonLines) readLine() (line []byte, tooLong bool, err error) {
	b, err := d.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		d.long = append(d.long[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = d.br.ReadSlice('\n')
			if !tooLong && len(d.long)+len(b) <= d.limit+1 { // +1: the newline
				d.long = append(d.long, b...)
			} else {
				tooLong = true
			}
		}
		b = d.long
	}
	if err == nil {
		b = b[:len(b)-1]
	}
	if tooLong || len(b) > d.limit {
		return nil, true, err
	}
	return b, false, err
}

// jsonStream decodes a JSON array of records or a ListCallDetailRecords
// response, streaming with encoding/json's tokenizer. Syntax errors there are
// fatal: the structure cannot be recovered.
type jsonStream struct {
	jsonRecords
	dec      *json.Decoder
	lim      *limiter
	limit    int   // most bytes of a record (or of any other value)
	skipped  int64 // bytes before the decoder's input (BOM, white space)
	response bool  // {"Data":{"List":[…]}} rather than […]
	state    int
	sawList  bool
	n        int // records so far
	raw      json.RawMessage
	err      error
}

const (
	inList = iota // inside the array of records
	inData        // inside the Data object, looking for List
	inTop         // inside the response, after Data
	atEnd         // after the top-level value
)

func newArrayDecoder(br *bufio.Reader, lim *limiter, limit int, skipped int64) (Decoder, error) {
	d := &jsonStream{jsonRecords: jsonRecords{ids: interner{}}, dec: json.NewDecoder(br), lim: lim, limit: limit, skipped: skipped}
	if _, err := d.token(); err != nil { // the '[' sniffed
		return nil, d.fatal(err)
	}
	return d, nil
}

// newObjectDecoder tells a ListCallDetailRecords response from JSON Lines by
// walking the first object: a top-level "Data" key makes it a response (and
// the walk goes on from there); otherwise the bytes read so far are replayed
// to a JSON Lines decoder. A first object that is not valid JSON is JSON
// Lines too: its line is rejected.
func newObjectDecoder(br *bufio.Reader, lim *limiter, limit int, skipped int64, lineBase int) (Decoder, error) {
	rec := &recorder{r: br}
	d := &jsonStream{jsonRecords: jsonRecords{ids: interner{}}, dec: json.NewDecoder(rec), lim: lim, limit: limit,
		skipped: skipped, response: true, state: inData}
	isResponse, err := d.findData()
	if rec.err != nil {
		return nil, rec.err // an I/O error, not a JSON one
	}
	if isResponse {
		if err != nil {
			return nil, d.fatal(err)
		}
		rec.buf, rec.off = nil, true
		return d, nil
	}
	// JSON Lines bound each line themselves. The limit kept what was
	// recorded (a first line that never ends) to about limit bytes.
	lim.unlimit()
	src := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(rec.buf), br), br.Size())
	return &jsonLines{jsonRecords: jsonRecords{ids: interner{}}, br: src, limit: limit, lineBase: lineBase}, nil
}

// bound lets the decoder read at most d.limit bytes past where it is: no
// value it then reads, a record or another, can be longer.
func (d *jsonStream) bound() {
	d.lim.max = d.skipped + d.dec.InputOffset() + int64(d.limit)
	d.lim.hit = false
}

// token reads a token, bounded.
func (d *jsonStream) token() (json.Token, error) {
	d.bound()
	return d.dec.Token()
}

// value reads a value into d.raw, bounded. (Nothing read so far reaches past
// the bound, the input buffer being no bigger than the limit, so a longer
// value is always cut; the check is for limits below the buffer's minimum.)
func (d *jsonStream) value() error {
	d.bound()
	if err := d.dec.Decode(&d.raw); err != nil {
		return err
	}
	if len(d.raw) > d.limit {
		return errTooLong
	}
	return nil
}

// findData reads the response's top level up to the value of its "Data" key
// and into that object.
func (d *jsonStream) findData() (bool, error) {
	if _, err := d.token(); err != nil { // the '{' sniffed
		return false, err
	}
	for d.bound(); d.dec.More(); d.bound() {
		key, err := d.token()
		if err != nil {
			return false, err
		}
		if k, _ := key.(string); strings.EqualFold(k, "Data") {
			t, err := d.token()
			if err != nil {
				return true, err
			}
			if t != json.Delim('{') {
				return true, callbill.Errorf(callbill.EINVALID, "JSON response: Data is %s, not an object with a List of call detail records", kind(t))
			}
			return true, nil
		}
		if err := d.value(); err != nil {
			return false, err
		}
	}
	return false, nil
}

// kind names the type of the JSON value a token starts.
func kind(t json.Token) string {
	switch t := t.(type) {
	case nil:
		return "null"
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}

func (d *jsonStream) RejectHeader() []string { return append([]string(nil), jsonRejectHeader...) }

func (d *jsonStream) Next() (Record, error) {
	d.last = nil
	if d.err != nil {
		return Record{}, d.err
	}
	rec, err := d.next()
	if err != nil {
		var re *callbill.Reject
		if !errors.As(err, &re) {
			if err != io.EOF {
				err = d.fatal(err)
			}
			d.err = err
		}
	}
	return rec, err
}

func (d *jsonStream) next() (Record, error) {
	for {
		d.bound()
		switch d.state {
		case inList:
			if d.dec.More() {
				if err := d.value(); err != nil {
					return Record{}, noEOF(err)
				}
				d.n++
				return d.decode(d.raw, d.n)
			}
			if err := d.closing(']'); err != nil {
				return Record{}, err
			}
			d.state = atEnd
			if d.response {
				d.state = inData
			}
		case inData, inTop:
			if !d.dec.More() {
				if err := d.closing('}'); err != nil {
					return Record{}, err
				}
				d.state++ // inData → inTop → atEnd
				continue
			}
			key, err := d.token()
			if err != nil {
				return Record{}, noEOF(err)
			}
			if k, _ := key.(string); d.state == inData && strings.EqualFold(k, "List") {
				t, err := d.token()
				if err != nil {
					return Record{}, noEOF(err)
				}
				switch t {
				case json.Delim('['):
					d.sawList = true
					d.state = inList
				case nil:
					d.sawList = true
				default:
					return Record{}, callbill.Errorf(callbill.EINVALID, "JSON response: Data.List is %s, not an array", kind(t))
				}
				continue
			}
			if err := d.value(); err != nil {
				return Record{}, noEOF(err)
			}
		case atEnd:
			if d.response && !d.sawList {
				return Record{}, callbill.Errorf(callbill.EINVALID, "JSON response has no Data.List")
			}
			if _, err := d.dec.Token(); err != io.EOF {
				if err != nil {
					return Record{}, err
				}
				return Record{}, callbill.Errorf(callbill.EINVALID, "JSON: unexpected data after the end at byte %d", d.dec.InputOffset()+d.skipped)
			}
			return Record{}, io.EOF
		}
	}
}

// noEOF is err, but the end of input before the end of the JSON value is
// unexpected.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// closing reads the delimiter that ends an array or object.
func (d *jsonStream) closing(delim json.Delim) error {
	t, err := d.dec.Token()
	switch {
	case err != nil:
		return noEOF(err)
	case t != delim:
		// More said no, so this cannot happen with a working tokenizer.
		return callbill.Errorf(callbill.EINVALID, "JSON: expected %v near byte %d", delim, d.dec.InputOffset()+d.skipped)
	}
	return nil
}

// fatal says where the JSON broke.
func (d *jsonStream) fatal(err error) error {
	var se *json.SyntaxError
	var ce *callbill.Error
	where := "at the start"
	if d.n > 0 {
		where = "after record " + strconv.Itoa(d.n)
	}
	switch {
	case errors.As(err, &ce):
		return err
	case err == errTooLong:
		if d.state == inList {
			return callbill.Errorf(callbill.EINVALID, "JSON record %d is longer than %d bytes", d.n+1, d.limit)
		}
		return callbill.Errorf(callbill.EINVALID, "JSON value near byte %d is longer than %d bytes", d.dec.InputOffset()+d.skipped, d.limit)
	case errors.As(err, &se):
		return callbill.Errorf(callbill.EINVALID, "JSON syntax error near byte %d (%s): %v", se.Offset+d.skipped, where, err)
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		return callbill.Errorf(callbill.EINVALID, "JSON ends unexpectedly (%s)", where)
	}
	return err
}

// recorder keeps what is read through it until told to stop.
type recorder struct {
	r   io.Reader
	buf []byte
	off bool
	err error
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if !r.off {
		r.buf = append(r.buf, p[:n]...)
		if err != nil && err != io.EOF && err != errTooLong {
			r.err = err
		}
	}
	return n, err
}
