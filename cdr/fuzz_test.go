package cdr

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/callbill/callbill"
)

// The fuzzers decode any bytes (the sniffing decides the format, so each
// reaches the other's decoder too) and check what must hold of all input.
// More seeds are in testdata/fuzz.

func FuzzCSV(f *testing.F) {
	f.Add([]byte(lineInput))
	f.Add([]byte(header + "c1,i1,inbound,1,2,1700000000000,2023-11-14T22:13:20.5+08:00\n"))
	f.Add([]byte("\xEF\xBB\xBF" + header + "\"c\n1\",i1,OUTBOUND,+86 1,2,1,2\n"))
	f.Add(genCSV(20))
	f.Fuzz(fuzzDecode)
}

func FuzzJSON(f *testing.F) {
	f.Add([]byte(jIn + "\n" + jOut))
	f.Add([]byte("[" + jIn + "]"))
	f.Add([]byte(`{"Data":{"List":[` + jOut + `]}}`))
	f.Add(genJSON(5))
	f.Fuzz(fuzzDecode)
}

// fuzzDecode decodes data from a plain reader and from one giving a byte at
// a time, which must agree, and once more with a small record limit, which
// makes the limits' paths common.
func fuzzDecode(t *testing.T, data []byte) {
	a := fuzzRun(t, bytes.NewReader(data), MaxRecordBytes)
	b := fuzzRun(t, iotest.OneByteReader(bytes.NewReader(data)), MaxRecordBytes)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("the reads change the result:\n%+v\n%+v", a, b)
	}
	// Read a byte at a time, nothing is read ahead, so the limit is exact
	// even below the buffer's size.
	fuzzRun(t, iotest.OneByteReader(bytes.NewReader(data)), 32+len(data)%224)
}

// fuzzResult is all a decoder said about an input.
type fuzzResult struct {
	NewErr  string
	Header  []string
	Recs    []Record
	Rows    []callbill.Reject
	Raws    [][]string
	Fatal   string
	Rejects string
}

func fuzzRun(t *testing.T, r io.Reader, limit int) fuzzResult {
	var res fuzzResult
	d, err := newDecoder(r, limit)
	if err != nil {
		checkFatal(t, err)
		res.NewErr = err.Error()
		return res
	}
	res.Header = d.RejectHeader()
	var out bytes.Buffer
	w := NewRejectsWriter(&out, res.Header)
	var rows []*callbill.Reject
	prev := 0
	for i := 0; ; i++ {
		if i == 100_000 {
			t.Fatal("decoder does not end")
		}
		rec, err := d.Next()
		raw := rawOf(t, d, rec, err)
		if h := d.RejectHeader(); !reflect.DeepEqual(h, res.Header) {
			t.Fatalf("reject header changed: %q, was %q", h, res.Header)
		}
		var re *callbill.Reject
		switch {
		case err == nil:
			checkRecord(t, rec)
			if rec.Line <= prev {
				t.Fatalf("record on line %d after line %d", rec.Line, prev)
			}
			prev = rec.Line
			if raw == nil {
				t.Fatalf("no Raw for a record: %+v", rec)
			}
			res.Recs = append(res.Recs, rec)
		case errors.As(err, &re):
			if re.Line <= 0 || re.Line <= prev {
				t.Fatalf("row error on line %d after line %d: %v", re.Line, prev, re)
			}
			prev = re.Line
			if re.Reason == "" || !utf8.ValidString(re.Reason) {
				t.Fatalf("bad reason %q", re.Reason)
			}
			if re.Fields != nil && !reflect.DeepEqual(re.Fields, raw) {
				t.Fatalf("Reject fields %q, Raw %q", re.Fields, raw)
			}
			if err := w.Write(re); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, re)
			res.Rows = append(res.Rows, *re)
		case err == io.EOF:
			if _, err := d.Next(); err != io.EOF {
				t.Fatalf("after io.EOF: %v", err)
			}
		default:
			checkFatal(t, err)
			if _, err2 := d.Next(); err2 != err {
				t.Fatalf("fatal error not sticky: %v then %v", err, err2)
			}
			if raw != nil {
				t.Fatalf("Raw after a fatal error: %q", raw)
			}
			res.Fatal = err.Error()
		}
		res.Raws = append(res.Raws, raw)
		if err != nil && re == nil {
			break
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	checkRejects(t, out.Bytes(), len(res.Header), rows)
	res.Rejects = out.String()
	return res
}

// checkFatal checks a fatal error: from a bytes.Reader it can only be that
// the input is no CDR file, said in text fit to show.
func checkFatal(t *testing.T, err error) {
	t.Helper()
	var ce *callbill.Error
	if !errors.As(err, &ce) || callbill.ErrorCode(err) != callbill.EINVALID || !utf8.ValidString(err.Error()) {
		t.Fatalf("fatal error %T %q, want a UTF-8 *callbill.Error with code EINVALID", err, err)
	}
}

func checkRecord(t *testing.T, rec Record) {
	t.Helper()
	ok := rec.Line > 0 &&
		(rec.Direction == callbill.Inbound || rec.Direction == callbill.Outbound) &&
		rec.ContactID != "" && rec.InstanceID != "" &&
		allDigits(rec.Caller) && allDigits(rec.Callee) &&
		rec.RecordingSeconds >= 0 && rec.RecordingBytes >= 0
	for _, s := range []string{rec.ContactID, rec.InstanceID, rec.Caller, rec.Callee} {
		ok = ok && len(s) <= MaxFieldBytes && utf8.ValidString(s) && !strings.Contains(s, "\x00") && trim(s) == s
	}
	if !ok {
		t.Fatalf("bad record: %+v", rec)
	}
}
