package cdr

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/callbill/callbill"
)

// A bad field is a Reject for its row only: the next row decodes.
func TestFieldChecksCSV(t *testing.T) {
	const good = "c9,i1,inbound,1,2,10,20"
	long := strings.Repeat("x", MaxFieldBytes+1)
	max := strings.Repeat("x", MaxFieldBytes)
	digits129 := strings.Repeat("1", MaxFieldBytes+1)
	tests := []struct {
		name, row, reason string
	}{
		{"contact long", long + ",i1,inbound,1,2,10,20", "contact_id is 129 bytes; at most 128 allowed"},
		{"contact huge", strings.Repeat("c", 10<<10) + ",i1,inbound,1,2,10,20", "contact_id is 10240 bytes; at most 128 allowed"},
		{"instance long", "c1," + long + ",inbound,1,2,10,20", "instance_id is 129 bytes; at most 128 allowed"},
		{"caller long", "c1,i1,inbound," + digits129 + ",2,10,20", "caller is 129 bytes; at most 128 allowed"},
		{"callee long", "c1,i1,inbound,1,+86 " + digits129 + ",10,20", "callee is 133 bytes; at most 128 allowed"},
		{"contact NUL", "c\x001,i1,inbound,1,2,10,20", "contact_id contains a NUL byte"},
		{"contact bad UTF-8", "c\xff1,i1,inbound,1,2,10,20", "contact_id is not valid UTF-8"},
		{"contact NUL and bad UTF-8", "\xffc\x00,i1,inbound,1,2,10,20", "contact_id contains a NUL byte"},
		{"instance NUL", "c1,i\x00,inbound,1,2,10,20", "instance_id contains a NUL byte"},
		{"instance bad UTF-8", "c1,\xc3,inbound,1,2,10,20", "instance_id is not valid UTF-8"},
		{"caller NUL", "c1,i1,inbound,1\x002,2,10,20", "caller contains a NUL byte"},
		{"caller bad UTF-8", "c1,i1,inbound,\xed\xa0\x80,2,10,20", "caller is not valid UTF-8"}, // an encoded surrogate
		{"callee bad UTF-8", "c1,i1,inbound,1,2\xfe,10,20", "callee is not valid UTF-8"},
		{"direction NUL", "c1,i1,in\x00bound,1,2,10,20", "direction contains a NUL byte"},
		{"direction bad UTF-8", "c1,i1,\xffinbound,1,2,10,20", "direction is not valid UTF-8"},
		{"direction long", "c1,i1," + strings.Repeat("y", 100) + ",1,2,10,20", `direction "` + strings.Repeat("y", 64) + `"… (100 bytes) is not inbound or outbound`},
		{"start NUL", "c1,i1,inbound,1,2,1\x00,20", "start_time contains a NUL byte"},
		{"end bad UTF-8", "c1,i1,inbound,1,2,10,2023-11-14T22:13:20\x80Z", "end_time is not valid UTF-8"},
		{"start long", "c1,i1,inbound,1,2," + strings.Repeat("9", 70) + ",20", `start_time "` + strings.Repeat("9", 64) + `"… (70 bytes) is not epoch seconds, epoch milliseconds or RFC 3339`},
		{"long value cut between characters", "c1,i1," + strings.Repeat("y", 63) + "é" + ",1,2,10,20", `direction "` + strings.Repeat("y", 63) + `"… (65 bytes) is not inbound or outbound`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := decodeAll(t, header+tt.row+"\n"+good+"\n")
			if res.fatal != nil || len(res.rows) != 1 || len(res.recs) != 1 {
				t.Fatalf("got %+v", res)
			}
			if re := res.rows[0]; re.Line != 2 || re.Reason != tt.reason {
				t.Fatalf("got line %d %q, want line 2 %q", re.Line, re.Reason, tt.reason)
			}
			if !reflect.DeepEqual(res.rows[0].Fields, strings.Split(tt.row, ",")) {
				t.Fatalf("fields %q", res.rows[0].Fields)
			}
			if r := res.recs[0]; r.Line != 3 || r.ContactID != "c9" {
				t.Fatalf("next row: %+v", r)
			}
		})
	}

	// At the limit, trimmed, and non-ASCII UTF-8 are fine.
	ok := []struct {
		name, row string
		want      callbill.CDR
	}{
		{"128 bytes", max + "," + max + ",inbound," + strings.Repeat("1", 128) + "," + strings.Repeat("2", 128) + ",10,20",
			callbill.CDR{ContactID: max, InstanceID: max, Direction: callbill.Inbound, Caller: strings.Repeat("1", 128), Callee: strings.Repeat("2", 128), Start: 10, End: 20}},
		{"trimmed to 128", "  " + max + " ,i1,inbound,1,2,10,20",
			callbill.CDR{ContactID: max, InstanceID: "i1", Direction: callbill.Inbound, Caller: "1", Callee: "2", Start: 10, End: 20}},
		{"UTF-8", "呼叫-1,实例,inbound,１３９ 1,2,10,20",
			callbill.CDR{ContactID: "呼叫-1", InstanceID: "实例", Direction: callbill.Inbound, Caller: "1", Callee: "2", Start: 10, End: 20}},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			rec, re := one(t, header+tt.row+"\n")
			if re != nil || rec.CDR != tt.want {
				t.Fatalf("got %+v %v, want %+v", rec.CDR, re, tt.want)
			}
		})
	}
}

func TestFieldChecksJSON(t *testing.T) {
	const tail = `"ContactType":"Inbound","StartTime":1000,"ReleaseTime":2000`
	long := strings.Repeat("x", MaxFieldBytes+1)
	tests := []struct {
		name, rec, reason string
	}{
		{"contact long", `{"ContactId":"` + long + `","InstanceId":"i",` + tail + `}`, "ContactId is 129 bytes; at most 128 allowed"},
		{"contact long escaped", `{"ContactId":"` + strings.Repeat(`\u0041`, 129) + `","InstanceId":"i",` + tail + `}`, "ContactId is 129 bytes; at most 128 allowed"},
		{"instance long", `{"ContactId":"j","InstanceId":"` + long + `",` + tail + `}`, "InstanceId is 129 bytes; at most 128 allowed"},
		{"calling long", `{"ContactId":"j","InstanceId":"i","CallingNumber":"` + strings.Repeat("1", 129) + `",` + tail + `}`, "CallingNumber is 129 bytes; at most 128 allowed"},
		{"called long number", `{"ContactId":"j","InstanceId":"i","CalledNumber":` + strings.Repeat("1", 129) + `,` + tail + `}`, "CalledNumber is 129 bytes; at most 128 allowed"},
		{"contact NUL", `{"ContactId":"a\u0000b","InstanceId":"i",` + tail + `}`, "ContactId contains a NUL byte"},
		{"contact only NUL", `{"ContactId":"\u0000","InstanceId":"i",` + tail + `}`, "ContactId contains a NUL byte"},
		{"contact bad UTF-8", "{\"ContactId\":\"j\xff\",\"InstanceId\":\"i\"," + tail + "}", "ContactId is not valid UTF-8"},
		{"contact bad UTF-8 with escape", "{\"ContactId\":\"\\u0041\xff\",\"InstanceId\":\"i\"," + tail + "}", "ContactId is not valid UTF-8"},
		{"contact lone high surrogate", `{"ContactId":"\ud800","InstanceId":"i",` + tail + `}`, "ContactId is not valid UTF-8"},
		{"contact high surrogate then letter", `{"ContactId":"\uD83Dx","InstanceId":"i",` + tail + `}`, "ContactId is not valid UTF-8"},
		{"contact two highs", `{"ContactId":"\ud83d\ud83d","InstanceId":"i",` + tail + `}`, "ContactId is not valid UTF-8"},
		{"instance lone low surrogate", `{"ContactId":"j","InstanceId":"x\udc00",` + tail + `}`, "InstanceId is not valid UTF-8"},
		{"instance NUL", `{"ContactId":"j","InstanceId":"\u0000",` + tail + `}`, "InstanceId contains a NUL byte"},
		{"calling NUL", `{"ContactId":"j","InstanceId":"i","CallingNumber":"1\u00002",` + tail + `}`, "CallingNumber contains a NUL byte"},
		{"called bad UTF-8", "{\"ContactId\":\"j\",\"InstanceId\":\"i\",\"CalledNumber\":\"1\xc0\"," + tail + "}", "CalledNumber is not valid UTF-8"},
		{"type NUL", `{"ContactId":"j","InstanceId":"i","ContactType":"In\u0000bound","StartTime":1000,"ReleaseTime":2000}`, "ContactType contains a NUL byte"},
		{"type bad UTF-8", "{\"ContactId\":\"j\",\"InstanceId\":\"i\",\"ContactType\":\"\xffInbound\",\"StartTime\":1000,\"ReleaseTime\":2000}", "ContactType is not valid UTF-8"},
		{"start NUL", `{"ContactId":"j","InstanceId":"i","ContactType":"Inbound","StartTime":"\u0000","ReleaseTime":2000}`, "StartTime contains a NUL byte"},
		{"release bad UTF-8", "{\"ContactId\":\"j\",\"InstanceId\":\"i\",\"ContactType\":\"Inbound\",\"StartTime\":1000,\"ReleaseTime\":\"2\xff\"}", "ReleaseTime is not valid UTF-8"},
		{"recording surrogate", `{"ContactId":"j","InstanceId":"i",` + tail + `,"RecordingDuration":"\udfff"}`, "RecordingDuration is not valid UTF-8"},
		{"huge number", `{"ContactId":"j","InstanceId":"i","ContactType":"Inbound","StartTime":` + strings.Repeat("9", 400) + `,"ReleaseTime":2000}`, `StartTime ` + strings.Repeat("9", 64) + `… (400 bytes) is not epoch milliseconds`},
		{"big object", "{\"ContactId\":\"j\",\"InstanceId\":[\"" + strings.Repeat("z", 61) + "\xff\xff\"]," + tail + "}", `InstanceId ["` + strings.Repeat("z", 61) + "\uFFFD… (67 bytes) is not a string"},
	}
	for _, tt := range tests {
		for _, form := range []string{"lines", "array"} {
			t.Run(tt.name+"/"+form, func(t *testing.T) {
				in := jIn + "\n" + tt.rec + "\n" + jOut + "\n"
				if form == "array" {
					in = "[" + jIn + ",\n" + tt.rec + ",\n" + jOut + "]"
				}
				res := decodeAll(t, in)
				if res.fatal != nil || len(res.rows) != 1 || len(res.recs) != 2 {
					t.Fatalf("got %+v", res)
				}
				if re := res.rows[0]; re.Line != 2 || re.Reason != tt.reason {
					t.Fatalf("got line %d %q, want line 2 %q", re.Line, re.Reason, tt.reason)
				}
				if res.recs[0].CDR != cIn || res.recs[1].CDR != cOut || res.recs[1].Line != 3 {
					t.Fatalf("records around it: %+v", res.recs)
				}
			})
		}
	}

	// Pairs, escapes and UTF-8 that are fine.
	rec, re := one(t, `{"ContactId":"\ud83d\ude00 \u547c","InstanceId":"实例 ","CallingNumber":"１３９\u0031",`+tail+`}`)
	if want := (callbill.CDR{ContactID: "😀 呼", InstanceID: "实例", Direction: callbill.Inbound, Caller: "1", Start: 1, End: 2}); re != nil || rec.CDR != want {
		t.Fatalf("got %+v %v, want %+v", rec.CDR, re, want)
	}
	// An escape spelling a known instance id is not that id.
	res := decodeAll(t, `{"ContactId":"a","InstanceId":"i\\u0041",`+tail+"}\n"+`{"ContactId":"b","InstanceId":"i\u0041",`+tail+"}\n")
	if len(res.recs) != 2 || res.recs[0].InstanceID != `i\u0041` || res.recs[1].InstanceID != "iA" {
		t.Fatalf("got %+v", res)
	}
}

// decodeBoth decodes in with a record limit of max, from a plain reader and
// from one giving a byte at a time: buffering must not change the result.
func decodeBoth(t *testing.T, in string, max int) result {
	t.Helper()
	a := decodeWith(t, strings.NewReader(in), max)
	b := decodeWith(t, iotest.OneByteReader(strings.NewReader(in)), max)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("results differ with the reads:\n%+v\n%+v", a, b)
	}
	return a
}

func decodeWith(t *testing.T, r io.Reader, max int) result {
	t.Helper()
	d, err := newDecoder(r, max)
	if err != nil {
		return result{fatal: err}
	}
	res := result{rh: d.RejectHeader()}
	for {
		rec, err := d.Next()
		var re *callbill.Reject
		switch {
		case err == nil:
			res.recs = append(res.recs, rec)
		case errors.As(err, &re):
			res.rows = append(res.rows, re)
		case err == io.EOF:
			return res
		default:
			res.fatal = err
			return res
		}
	}
}

// testLimit is the record limit of the tests: the smallest for which the
// input buffer is no bigger than the limit, as with the real one.
const testLimit = 4096

func TestRecordLimitCSV(t *testing.T) {
	const max = testLimit
	row := func(n int) string { // a good row of n bytes, its newline included
		r := "c1,i1,inbound,1,2,10,20,"
		return r + strings.Repeat("n", n-len(r)-1) + "\n"
	}
	const h = "contact_id,instance_id,direction,caller,callee,start_time,end_time,note\n"
	const next = "c2,i1,inbound,1,2,10,20,ok\n"
	const tooLong = "row is longer than 4096 bytes"
	tests := []struct {
		name, in string
		fatal    string   // substring of a fatal error
		lines    []int    // of the records
		rows     []string // "line: reason" of the RowErrors
	}{
		{"at the limit", h + row(max) + next, "", []int{2, 3}, nil},
		{"at the limit without a newline", h + next + strings.TrimSuffix(row(max+1), "\n"), "", []int{2, 3}, nil},
		{"one over", h + row(max+1) + next, "", []int{3}, []string{"2: " + tooLong}},
		{"one over without a newline", h + next + strings.TrimSuffix(row(max+2), "\n"), "", []int{2}, []string{"3: " + tooLong}},
		{"far over", h + row(3*max) + next, "", []int{3}, []string{"2: " + tooLong}},
		{"far over, CRLF", h + strings.TrimSuffix(row(2*max), "\n") + "\r\n" + next, "", []int{3}, []string{"2: " + tooLong}},
		{"two in a row", h + row(5*max) + row(max+1) + next, "", []int{4}, []string{"2: " + tooLong, "3: " + tooLong}},
		{"after a quoted field over lines", h + "c0,i1,inbound,1,2,10,20,\"a\nb\nc\"\n" + row(2*max) + next, "", []int{2, 6}, []string{"5: " + tooLong}},
		{"after empty lines", h + "\n\r\n\n" + row(2*max) + "\n" + next, "", []int{7}, []string{"5: " + tooLong}},
		{"after a stray quote", h + "c0,i\"1\n" + row(2*max) + next, "", []int{4}, []string{"2: malformed CSV: bare \" in non-quoted-field", "3: " + tooLong}},
		{"stray quote in it", h + "c0,i\"1" + row(2*max) + next, "", []int{3}, []string{"2: " + tooLong}},
		{"empty lines do not count", h + strings.Repeat("\n", 2*max) + next, "", []int{2*max + 2}, nil},
		{"blank rows do not count", h + strings.Repeat(",,,,,,,\n", max) + next, "", []int{max + 2}, nil},
		{"quoted field over lines, read whole", h + "c1,i1,inbound,1,2,10,20,\"" + strings.Repeat("q\n", (max-26)/2) + "\"\n" + next, "", []int{(max-26)/2 + 3}, []string{"2: " + tooLong}},
		{"quoted field over lines, cut", h + "c1,i1,inbound,1,2,10,20,\"" + strings.Repeat("q\n", max) + "\"\n" + next, "CSV row at line 2 is longer than 4096 bytes, cut inside a quoted field", nil, nil},
		{"quote never closed", h + next + "c3,\"" + strings.Repeat("x", 2*max), "CSV row at line 3 is longer than 4096 bytes, cut inside a quoted field", []int{2}, nil},
		{"quote never closed on one line", h + "c3,i1,\"" + strings.Repeat("x", 2*max) + "\n" + next, "CSV row at line 2 is longer than 4096 bytes, cut inside a quoted field", nil, nil},
		{"quoted field, then a long one", h + "\"c1\"," + strings.Repeat("i", 2*max) + "\n" + next, "", []int{3}, []string{"2: " + tooLong}},
		{"header", "\n" + h[:len(h)-1] + strings.Repeat(",x", max) + "\n" + next, "CSV header (line 2) is longer than 4096 bytes", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLimitResult(t, decodeBoth(t, tt.in, max), tt.fatal, tt.lines, tt.rows)
		})
	}
}

func TestRecordLimitJSON(t *testing.T) {
	pad := func(n int) string { // jIn padded to n bytes
		return `{"Pad":"` + strings.Repeat("p", n-len(jIn)-9) + `",` + jIn[1:]
	}
	max := testLimit
	tooLong := "record is longer than " + strconv.Itoa(max) + " bytes"
	tests := []struct {
		name, in string
		fatal    string
		lines    []int
		rows     []string
	}{
		{"lines at the limit", jIn + "\n" + pad(max) + "\n" + jOut, "", []int{1, 2, 3}, nil},
		{"lines at the limit, CRLF", pad(max-1) + "\r\n" + jOut, "", []int{1, 2}, nil},
		{"lines one over", jIn + "\n" + pad(max+1) + "\n" + jOut, "", []int{1, 3}, []string{"2: " + tooLong}},
		{"lines far over, last", jIn + "\n" + pad(50000), "", []int{1}, []string{"2: " + tooLong}},
		{"first line far over", pad(50000) + "\n" + jOut, "", []int{2}, []string{"1: " + tooLong}},
		{"first line never ends", `{"a":"` + strings.Repeat("a", 50000), "", nil, []string{"1: " + tooLong}},
		{"array at the limit", "[" + pad(max) + "," + jOut + "]", "", []int{1, 2}, nil},
		{"array one over", "[" + jIn + "," + pad(max+1) + "," + jOut + "]", "JSON record 2 is longer than " + strconv.Itoa(max) + " bytes", []int{1}, nil},
		{"array far over", "[" + jIn + "," + pad(50000) + "]", "JSON record 2 is longer than", []int{1}, nil},
		{"array never ends", "[" + jIn + `,{"a":"` + strings.Repeat("a", 50000), "JSON record 2 is longer than", []int{1}, nil},
		{"response", `{"Data":{"List":[` + jIn + "," + pad(50000) + "]}}", "JSON record 2 is longer than", []int{1}, nil},
		{"response, long value after Data", `{"Data":{"List":[` + jIn + `]},"Params":"` + strings.Repeat("x", 50000) + `"}`, "JSON value near byte", []int{1}, nil},
		{"response, long value in Data", `{"Data":{"X":"` + strings.Repeat("x", 50000) + `","List":[]}}`, "JSON value near byte 13 is longer than 4096 bytes", nil, nil},
		{"array, white space over the limit", "[" + jIn + "," + strings.Repeat(" ", 2*max) + jOut + "]", "JSON record 2 is longer than", []int{1}, nil},
		{"array, long data after the end", "[" + jIn + `] "` + strings.Repeat("x", 2*max) + `"`, "JSON value near byte", []int{1}, nil},
		// Not a response then: its first line is too long.
		{"long value before Data", `{"X":"` + strings.Repeat("x", 50000) + `","Data":{"List":[]}}`, "", nil, []string{"1: " + tooLong}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLimitResult(t, decodeBoth(t, tt.in, max), tt.fatal, tt.lines, tt.rows)
		})
	}
}

func checkLimitResult(t *testing.T, res result, fatal string, lines []int, rows []string) {
	t.Helper()
	if fatal == "" && res.fatal != nil || fatal != "" && (res.fatal == nil || !strings.Contains(res.fatal.Error(), fatal)) {
		t.Fatalf("fatal error %v, want %q", res.fatal, fatal)
	}
	if res.fatal != nil && callbill.ErrorCode(res.fatal) != callbill.EINVALID {
		t.Fatalf("code %s", callbill.ErrorCode(res.fatal))
	}
	var gotLines []int
	for _, r := range res.recs {
		gotLines = append(gotLines, r.Line)
	}
	var gotRows []string
	for _, e := range res.rows {
		gotRows = append(gotRows, strconv.Itoa(e.Line)+": "+e.Reason)
		if strings.Contains(e.Reason, "longer") && e.Fields != nil {
			t.Errorf("a row too long has fields: %.40q", e.Fields)
		}
	}
	if !reflect.DeepEqual(gotLines, lines) || !reflect.DeepEqual(gotRows, rows) {
		t.Fatalf("records on lines %v, rows %q; want %v, %q", gotLines, gotRows, lines, rows)
	}
}

// repeatReader is n bytes of c.
type repeatReader struct {
	c byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	p = p[:min(len(p), r.n)]
	for i := range p {
		p[i] = r.c
	}
	r.n -= len(p)
	return len(p), nil
}

// With the real limit, a line of 64 MiB costs about the limit in memory, not
// the line.
func TestGiantRecordMemory(t *testing.T) {
	const giant = 64 << 20
	tests := []struct {
		name           string
		before, after  string
		recs, rowsWant int
		fatal          string
	}{
		{"csv", header + "c1,i1,inbound,1,2,10,20\nc2,", ",i1\nc3,i1,inbound,1,2,10,20\n", 2, 1, ""},
		{"csv quote never closed", header + "c1,i1,inbound,1,2,10,20\nc2,\"", "", 1, 0, "CSV row at line 3 is longer than 1048576 bytes"},
		{"json lines", jIn + "\n" + `{"ContactId":"`, "\"}\n" + jOut + "\n", 2, 1, ""},
		{"json array", "[" + jIn + `,{"ContactId":"`, `"}]`, 1, 0, "JSON record 2 is longer than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			r := io.MultiReader(strings.NewReader(tt.before), &repeatReader{'x', giant}, strings.NewReader(tt.after))
			res := decodeWith(t, r, MaxRecordBytes)
			runtime.ReadMemStats(&m1)
			if len(res.recs) != tt.recs || len(res.rows) != tt.rowsWant ||
				(tt.fatal == "") != (res.fatal == nil) || res.fatal != nil && !strings.Contains(res.fatal.Error(), tt.fatal) {
				t.Fatalf("got %d records, rows %v, fatal %v", len(res.recs), res.rows, res.fatal)
			}
			for _, e := range res.rows {
				if e.Line != 3 && e.Line != 2 || !strings.HasSuffix(e.Reason, "is longer than 1048576 bytes") {
					t.Fatalf("got %v", e)
				}
			}
			if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 16<<20 {
				t.Fatalf("%d MiB allocated for a %d MiB line", alloc>>20, giant>>20)
			}
		})
	}
}

func TestPrintable(t *testing.T) {
	long := strings.Repeat("é", 600) // 1200 bytes
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain, with \"quotes\"\n", "plain, with \"quotes\"\n"},
		{"呼叫", "呼叫"},
		{"a\x00b", `a\x00b`},
		{"\x00\x00", `\x00\x00`},
		{"a\xffb\xc3", "a\uFFFDb\uFFFD"},
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // an encoded surrogate
		{strings.Repeat("x", MaxRejectFieldBytes), strings.Repeat("x", MaxRejectFieldBytes)},
		{strings.Repeat("x", MaxRejectFieldBytes+1), strings.Repeat("x", MaxRejectFieldBytes) + "… (cut; 1025 bytes in all)"},
		{long, strings.Repeat("é", 512) + "… (cut; 1200 bytes in all)"},
		{"x" + long, "x" + strings.Repeat("é", 511) + "… (cut; 1201 bytes in all)"}, // cut between characters
		{strings.Repeat("\x00", 2000), strings.Repeat(`\x00`, 256) + "… (cut; 2000 bytes in all)"},
	}
	for _, tt := range tests {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%.30q) = %.60q, want %.60q", tt.in, got, tt.want)
		}
	}
	for _, s := range []string{"job-00000001", "呼叫 1"} {
		if n := testing.AllocsPerRun(100, func() { printable(s) }); n != 0 {
			t.Errorf("printable(%q) allocates %v times", s, n)
		}
	}
}

// The rejects file stays a UTF-8 CSV file without NUL whatever the rows hold,
// and decoding goes on past every bad row.
func TestRejectsSafe(t *testing.T) {
	big := strings.Repeat("z", 5000)
	in := "contact_id,instance_id,direction,caller,callee,start_time,end_time,n\xffo\x00te\n" +
		"c\x001,i1,inbound,1,2,10,20,x\n" +
		"c2,i\xff,inbound,1,2,10,20,x\n" +
		"c3,i1,sideways,1,2,10,20," + big + "\n" +
		"c4,i1,inbound,1,2,10,20,ok\n"
	res := decodeAll(t, in)
	if res.fatal != nil || len(res.rows) != 3 || len(res.recs) != 1 || res.recs[0].Line != 5 {
		t.Fatalf("got %+v", res)
	}
	var b bytes.Buffer
	w := NewRejectsWriter(&b, res.rh)
	for _, e := range res.rows {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "contact_id,instance_id,direction,caller,callee,start_time,end_time,n\uFFFDo\\x00te,line,reason\n" +
		"c\\x001,i1,inbound,1,2,10,20,x,2,contact_id contains a NUL byte\n" +
		"c2,i\uFFFD,inbound,1,2,10,20,x,3,instance_id is not valid UTF-8\n" +
		"c3,i1,sideways,1,2,10,20," + big[:MaxRejectFieldBytes] + "… (cut; 5000 bytes in all),4,\"direction \"\"sideways\"\" is not inbound or outbound\"\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	checkRejects(t, b.Bytes(), len(res.rh), res.rows)

	// JSON: the record's text, made safe the same way.
	res = decodeAll(t, "{\"ContactId\":\"\xff\"}\n{\"ContactId\":\"\\u0000\",\"x\":\"\x00\"}\n"+jIn+"\n")
	if res.fatal != nil || len(res.rows) != 2 || len(res.recs) != 1 || res.recs[0].Line != 3 {
		t.Fatalf("got %+v", res)
	}
	b.Reset()
	w = NewRejectsWriter(&b, res.rh)
	for _, e := range res.rows {
		w.Write(e)
	}
	w.Flush()
	want = "record,line,reason\n" +
		"\"{\"\"ContactId\"\":\"\"\uFFFD\"\"}\",1,ContactId is not valid UTF-8\n" +
		"\"{\"\"ContactId\"\":\"\"\\u0000\"\",\"\"x\"\":\"\"\\x00\"\"}\",2,invalid JSON: invalid character '\\x00' in string literal\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	checkRejects(t, b.Bytes(), 3, res.rows)
}

// checkRejects checks a rejects file is UTF-8 without NUL, reads as CSV, and
// has each Reject's line and reason in its last two columns.
func checkRejects(t testing.TB, out []byte, width int, rows []*callbill.Reject) {
	t.Helper()
	if !utf8.Valid(out) || bytes.IndexByte(out, 0) >= 0 {
		t.Fatalf("rejects file not UTF-8 without NUL: %.200q", out)
	}
	if len(rows) == 0 {
		if len(out) != 0 {
			t.Fatalf("rejects file without rejects: %.200q", out)
		}
		return
	}
	r := csv.NewReader(bytes.NewReader(out))
	r.FieldsPerRecord = -1
	all, err := r.ReadAll()
	if err != nil {
		t.Fatalf("rejects file is not CSV: %v\n%.200q", err, out)
	}
	if len(all) != len(rows)+1 || len(all[0]) != width {
		t.Fatalf("rejects file has %d rows, header of %d fields; want %d, %d", len(all), len(all[0]), len(rows)+1, width)
	}
	for i, e := range rows {
		f := all[i+1]
		// Reading CSV back turns a quoted field's CRLF into LF.
		reason := strings.ReplaceAll(printable(e.Reason), "\r\n", "\n")
		if len(f) < width || f[len(f)-2] != strconv.Itoa(e.Line) || f[len(f)-1] != reason {
			t.Fatalf("rejects row %d: %.200q, want line %d reason %q", i+1, f, e.Line, e.Reason)
		}
	}
}
