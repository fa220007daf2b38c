package cdr

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
)

const header = "contact_id,instance_id,direction,caller,callee,start_time,end_time\n"

// result is everything a decoder said about an input.
type result struct {
	recs  []Record
	rows  []*callbill.Reject
	fatal error
	rh    []string
}

func decodeAll(t testing.TB, in string) result {
	t.Helper()
	d, err := NewDecoder(strings.NewReader(in))
	if err != nil {
		return result{fatal: err}
	}
	res := result{rh: d.RejectHeader()}
	for i := 0; ; i++ {
		if i > 1e6 {
			t.Fatal("decoder does not end")
		}
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
			if _, err2 := d.Next(); err2 != err {
				t.Errorf("fatal error not sticky: %v then %v", err, err2)
			}
			return res
		}
	}
}

// one decodes an input that must give exactly one record or one Reject.
func one(t *testing.T, in string) (Record, *callbill.Reject) {
	t.Helper()
	res := decodeAll(t, in)
	if res.fatal != nil {
		t.Fatalf("fatal error: %v", res.fatal)
	}
	if len(res.recs)+len(res.rows) != 1 {
		t.Fatalf("got %d records and %d row errors, want one in all: %+v %+v", len(res.recs), len(res.rows), res.recs, res.rows)
	}
	if len(res.rows) == 1 {
		return Record{}, res.rows[0]
	}
	return res.recs[0], nil
}

func TestTimes(t *testing.T) {
	const ref = 1700000000 // 2023-11-14T22:13:20Z
	tests := []struct {
		in   string
		want int64 // -1: a Reject
	}{
		{"1700000000", ref},
		{" 1700000000 ", ref},
		{"0", 0},
		{"42", 42},
		{"999999999999", 999999999999},    // 12 digits: still seconds
		{"1700000000000", ref},            // 13 digits: milliseconds
		{"1700000000999", ref},            // truncated, not rounded
		{"1700000001000", ref + 1},        //
		{"0000000001999", 1},              // 13 digits whatever the value
		{"0001700000000", 1700000},        // 13 digits: ms even with leading zeros
		{"17000000000000", -1},            // 14 digits
		{"2023-11-14T22:13:20Z", ref},     //
		{"2023-11-14T22:13:20.999Z", ref}, // fraction truncated
		{"2023-11-14T22:13:20.5+00:00", ref},
		{"2023-11-15T06:13:20+08:00", ref},
		{"2023-11-15T06:13:20.123456789+08:00", ref},
		{"2023-11-14T20:13:20-02:00", ref},
		{"2023-11-14t22:13:20z", ref},
		{"2023-11-14 22:13:20Z", ref},
		{"2024-02-29T00:00:00Z", 1709164800},
		{"1970-01-01T00:00:00Z", 0},
		{"2023-02-29T00:00:00Z", -1},
		{"2023-11-14T24:00:00Z", -1},
		{"2023-11-14T22:60:00Z", -1},
		{"2023-11-14T22:13:60Z", -1},
		{"2023-13-14T22:13:20Z", -1},
		{"2023-11-14T22:13:20", -1},   // no zone
		{"2023-11-14T22:13:20.Z", -1}, // empty fraction
		{"2023-11-14T22:13:20+0800", -1},
		{"2023-11-14T22:13:20+08:00 ", ref - 8*3600}, // trimmed
		{"2023-11-14", -1},
		{"", -1},
		{"abc", -1},
		{"-5", -1},
		{"+5", -1},
		{"1.7e9", -1},
		{"1700000000.5", -1},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			in := header + fmt.Sprintf("c1,i1,inbound,1,2,%q,%q\n", tt.in, tt.in)
			rec, re := one(t, in)
			if tt.want < 0 {
				if re == nil {
					t.Fatalf("got %+v, want a Reject", rec)
				}
				want := fmt.Sprintf("line 2: start_time %q is not epoch seconds, epoch milliseconds or RFC 3339", tt.in)
				if re.Error() != want {
					t.Fatalf("got %q, want %q", re.Error(), want)
				}
				return
			}
			if re != nil {
				t.Fatalf("unexpected %v", re)
			}
			if rec.Start != tt.want || rec.End != tt.want {
				t.Fatalf("got start %d end %d, want %d", rec.Start, rec.End, tt.want)
			}
			// RFC 3339 agrees with the time package.
			if s := strings.TrimSpace(tt.in); strings.Contains(s, "T") {
				if tm, err := time.Parse(time.RFC3339, s); err == nil && tm.Unix() != tt.want {
					t.Fatalf("time.Parse says %d", tm.Unix())
				}
			}
		})
	}
}

func TestEndTimeError(t *testing.T) {
	_, re := one(t, header+"c1,i1,inbound,1,2,100,soon\n")
	if want := `line 2: end_time "soon" is not epoch seconds, epoch milliseconds or RFC 3339`; re == nil || re.Error() != want {
		t.Fatalf("got %v, want %s", re, want)
	}
	// start and end are truncated each on its own; a negative duration is the rater's.
	rec, re := one(t, header+"c1,i1,inbound,1,2,1700000000999,1700000000000\n")
	if re != nil || rec.Start != 1700000000 || rec.End != 1700000000 {
		t.Fatalf("got %+v %v", rec, re)
	}
	rec, re = one(t, header+"c1,i1,inbound,1,2,200,100\n")
	if re != nil || rec.Seconds() != -100 {
		t.Fatalf("negative duration must pass through: %+v %v", rec, re)
	}
}

func TestRowFields(t *testing.T) {
	tests := []struct {
		name, row string
		want      callbill.CDR
		reason    string
	}{
		{"lower", "c1,i1,inbound,1,2,10,20", callbill.CDR{ContactID: "c1", InstanceID: "i1", Direction: callbill.Inbound, Caller: "1", Callee: "2", Start: 10, End: 20}, ""},
		{"upper", "c1,i1,INBOUND,1,2,10,20", callbill.CDR{ContactID: "c1", InstanceID: "i1", Direction: callbill.Inbound, Caller: "1", Callee: "2", Start: 10, End: 20}, ""},
		{"mixed spaced", "c1,i1, OutBound ,1,2,10,20", callbill.CDR{ContactID: "c1", InstanceID: "i1", Direction: callbill.Outbound, Caller: "1", Callee: "2", Start: 10, End: 20}, ""},
		{"bad direction", "c1,i1,in,1,2,10,20", callbill.CDR{}, `direction "in" is not inbound or outbound`},
		{"empty direction", "c1,i1,,1,2,10,20", callbill.CDR{}, `direction "" is not inbound or outbound`},
		{"digits", "c1,i1,outbound,+86 571-8888 0001,(0571) 8888-0002,10,20", callbill.CDR{ContactID: "c1", InstanceID: "i1", Direction: callbill.Outbound, Caller: "8657188880001", Callee: "057188880002", Start: 10, End: 20}, ""},
		{"empty numbers", "c1,i1,outbound,,no number,10,20", callbill.CDR{ContactID: "c1", InstanceID: "i1", Direction: callbill.Outbound, Start: 10, End: 20}, ""},
		{"ids trimmed", " c1 , i1 ,inbound,1,2,10,20", callbill.CDR{ContactID: "c1", InstanceID: "i1", Direction: callbill.Inbound, Caller: "1", Callee: "2", Start: 10, End: 20}, ""},
		{"empty contact", " ,i1,inbound,1,2,10,20", callbill.CDR{}, "contact_id is empty"},
		{"empty instance", "c1,,inbound,1,2,10,20", callbill.CDR{}, "instance_id is empty"},
		{"too few", "c1,i1,inbound,1,2,10", callbill.CDR{}, "wrong number of fields: 6, the header has 7"},
		{"too many", "c1,i1,inbound,1,2,10,20,30", callbill.CDR{}, "wrong number of fields: 8, the header has 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, re := one(t, header+tt.row+"\n")
			if tt.reason != "" {
				if re == nil || re.Reason != tt.reason || re.Line != 2 {
					t.Fatalf("got %+v %v, want line 2: %s", rec, re, tt.reason)
				}
				if want := strings.Split(tt.row, ","); !reflect.DeepEqual(re.Fields, want) {
					t.Fatalf("fields %q, want %q", re.Fields, want)
				}
				return
			}
			if re != nil {
				t.Fatal(re)
			}
			if rec.CDR != tt.want {
				t.Fatalf("got %+v, want %+v", rec.CDR, tt.want)
			}
		})
	}
}

func TestRecordingColumns(t *testing.T) {
	const h = "contact_id,instance_id,direction,caller,callee,start_time,end_time,recording_seconds,recording_bytes\n"
	tests := []struct {
		row          string
		secs, bytes_ int64
		reason       string
	}{
		{"c,i,inbound,1,2,10,20,,", 0, 0, ""},
		{"c,i,inbound,1,2,10,20, , ", 0, 0, ""},
		{"c,i,inbound,1,2,10,20,65,", 65, 0, ""},
		{"c,i,inbound,1,2,10,20,65,1040000", 65, 1040000, ""},
		{"c,i,inbound,1,2,10,20,0007,0", 7, 0, ""},
		{"c,i,inbound,1,2,10,20,-1,", 0, 0, `recording_seconds "-1" is not a non-negative integer`},
		{"c,i,inbound,1,2,10,20,1.5,", 0, 0, `recording_seconds "1.5" is not a non-negative integer`},
		{"c,i,inbound,1,2,10,20,,x", 0, 0, `recording_bytes "x" is not a non-negative integer`},
		{"c,i,inbound,1,2,10,20,,99999999999999999999", 0, 0, `recording_bytes "99999999999999999999" is not a non-negative integer`},
	}
	for _, tt := range tests {
		t.Run(tt.row, func(t *testing.T) {
			rec, re := one(t, h+tt.row+"\n")
			if tt.reason != "" {
				if re == nil || re.Reason != tt.reason {
					t.Fatalf("got %+v %v, want %s", rec, re, tt.reason)
				}
				return
			}
			if re != nil {
				t.Fatal(re)
			}
			if rec.RecordingSeconds != tt.secs || rec.RecordingBytes != tt.bytes_ {
				t.Fatalf("got %d s %d bytes", rec.RecordingSeconds, rec.RecordingBytes)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	tests := []struct {
		name, in string
		fatal    string // substring of the fatal error; "" for none
		want     callbill.CDR
		reject   []string
	}{
		{"column order free, unknown ignored, names in any case",
			" End_Time ,NOTE,Callee,CALLER,direction,start_time,instance_id,contact_id\n20,hello,2,1,inbound,10,i1,c1\n", "",
			callbill.CDR{ContactID: "c1", InstanceID: "i1", Direction: callbill.Inbound, Caller: "1", Callee: "2", Start: 10, End: 20},
			[]string{" End_Time ", "NOTE", "Callee", "CALLER", "direction", "start_time", "instance_id", "contact_id", "line", "reason"}},
		{"missing one", "contact_id,instance_id,direction,caller,start_time,end_time\n", "missing required column callee", callbill.CDR{}, nil},
		{"missing two", "contact_id,instance_id,direction,caller,start_time\n", "missing required columns callee, end_time", callbill.CDR{}, nil},
		{"data, no header", "c1,i1,inbound,1,2,10,20\n", "missing required columns contact_id, instance_id, direction, caller, callee, start_time, end_time", callbill.CDR{}, nil},
		{"twice", "contact_id,instance_id,direction,caller,callee,start_time,end_time,Caller\n", "column caller twice", callbill.CDR{}, nil},
		{"empty", "", "empty input", callbill.CDR{}, nil},
		{"blank", " \r\n\n\t", "empty input", callbill.CDR{}, nil},
		{"BOM only", "\xEF\xBB\xBF", "empty input", callbill.CDR{}, nil},
		{"BOM", "\xEF\xBB\xBF" + header + "c1,i1,inbound,1,2,10,20\n", "",
			callbill.CDR{ContactID: "c1", InstanceID: "i1", Direction: callbill.Inbound, Caller: "1", Callee: "2", Start: 10, End: 20},
			[]string{"contact_id", "instance_id", "direction", "caller", "callee", "start_time", "end_time", "line", "reason"}},
		{"CRLF", strings.ReplaceAll(header, "\n", "\r\n") + "c1,i1,inbound,1,2,10,20\r\n", "",
			callbill.CDR{ContactID: "c1", InstanceID: "i1", Direction: callbill.Inbound, Caller: "1", Callee: "2", Start: 10, End: 20}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := decodeAll(t, tt.in)
			if tt.fatal != "" {
				if res.fatal == nil || !strings.Contains(res.fatal.Error(), tt.fatal) {
					t.Fatalf("got %v, want fatal %q", res.fatal, tt.fatal)
				}
				if callbill.ErrorCode(res.fatal) != callbill.EINVALID {
					t.Fatalf("code %s", callbill.ErrorCode(res.fatal))
				}
				return
			}
			if res.fatal != nil || len(res.rows) > 0 || len(res.recs) != 1 {
				t.Fatalf("got %+v", res)
			}
			if res.recs[0].CDR != tt.want || res.recs[0].Line != 2 {
				t.Fatalf("got %+v, want %+v", res.recs[0], tt.want)
			}
			if tt.reject != nil && !reflect.DeepEqual(res.rh, tt.reject) {
				t.Fatalf("reject header %q, want %q", res.rh, tt.reject)
			}
		})
	}
}

// lineInput has a quoted field spanning two lines, a blank line and bad rows.
const lineInput = `contact_id,instance_id,direction,caller,callee,start_time,end_time,note
c1,i1,inbound,+86 571 8888 0001,057188880002,1700000000,1700000060,"two
lines"
c2,i1,sideways,1,2,100,200,x
c3,i1,inbound,1,2,100,200

c4,i1,inbound,1,2,abc,200,"say ""hi"", then, go"
c5,i2,OUTBOUND,057188880002,13900001111,1700000000000,2023-11-14T22:14:20.5+00:00,"
"
c6,i2,outbound,1,2,10,20,a"b
,,,,,,,
c7,i2,outbound,1,2,10,20,last
`

func TestLineNumbers(t *testing.T) {
	res := decodeAll(t, lineInput)
	if res.fatal != nil {
		t.Fatal(res.fatal)
	}
	type got struct {
		line   int
		id     string
		reason string
	}
	var all []got
	for _, r := range res.recs {
		all = append(all, got{r.Line, r.ContactID, ""})
	}
	for _, e := range res.rows {
		all = append(all, got{e.Line, "", e.Reason})
	}
	want := []got{
		{2, "c1", ""},
		{8, "c5", ""},
		{12, "c7", ""},
		{4, "", `direction "sideways" is not inbound or outbound`},
		{5, "", "wrong number of fields: 7, the header has 8"},
		{7, "", `start_time "abc" is not epoch seconds, epoch milliseconds or RFC 3339`},
		{10, "", `malformed CSV: bare " in non-quoted-field`},
	}
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("got\n%v\nwant\n%v", all, want)
	}
	c5 := res.recs[1].CDR
	if want := (callbill.CDR{ContactID: "c5", InstanceID: "i2", Direction: callbill.Outbound, Caller: "057188880002",
		Callee: "13900001111", Start: 1700000000, End: 1700000060}); c5 != want {
		t.Fatalf("got %+v, want %+v", c5, want)
	}
}

func TestRejectsFile(t *testing.T) {
	res := decodeAll(t, lineInput)
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
	want := `contact_id,instance_id,direction,caller,callee,start_time,end_time,note,line,reason
c2,i1,sideways,1,2,100,200,x,4,"direction ""sideways"" is not inbound or outbound"
c3,i1,inbound,1,2,100,200,,5,"wrong number of fields: 7, the header has 8"
c4,i1,inbound,1,2,abc,200,"say ""hi"", then, go",7,"start_time ""abc"" is not epoch seconds, epoch milliseconds or RFC 3339"
,,,,,,,,10,"malformed CSV: bare "" in non-quoted-field"
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}

	// JSON rejects: the record's compact JSON.
	res = decodeAll(t, "[ {\"ContactId\": \"j1\",\n \"ContactType\": \"Back2Back\"} ]")
	b.Reset()
	w = NewRejectsWriter(&b, res.rh)
	for _, e := range res.rows {
		w.Write(e)
	}
	w.Flush()
	want = `record,line,reason
"{""ContactId"":""j1"",""ContactType"":""Back2Back""}",1,missing InstanceId
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}

	// No rejects, no output.
	b.Reset()
	if err := NewRejectsWriter(&b, res.rh).Flush(); err != nil || b.Len() != 0 {
		t.Fatalf("got %q %v", b.String(), err)
	}
}

func TestRaw(t *testing.T) {
	tests := []struct {
		name, in string
		want     [][]string // Raw after each Next until io.EOF
	}{
		{"csv", lineInput, [][]string{
			{"c1", "i1", "inbound", "+86 571 8888 0001", "057188880002", "1700000000", "1700000060", "two\nlines"},
			{"c2", "i1", "sideways", "1", "2", "100", "200", "x"},
			{"c3", "i1", "inbound", "1", "2", "100", "200"},
			{"c4", "i1", "inbound", "1", "2", "abc", "200", `say "hi", then, go`},
			{"c5", "i2", "OUTBOUND", "057188880002", "13900001111", "1700000000000", "2023-11-14T22:14:20.5+00:00", "\n"},
			nil, // the stray quote
			{"c7", "i2", "outbound", "1", "2", "10", "20", "last"},
			nil, // io.EOF
		}},
		{"lines", jIn + "\n{oops\n" + jOut, [][]string{{jIn}, {"{oops"}, {jOut}, nil}},
		{"array", "[" + jIn + ",\n  " + strings.ReplaceAll(jOut, ",", ", ") + "]", [][]string{{jIn}, {jOut}, nil}},
		{"response", `{"Data":{"List":[` + jIn + `]}}`, [][]string{{jIn}, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDecoder(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if raw := rawOf(t, d, Record{}, io.EOF); raw != nil {
				t.Fatalf("Raw before Next: %q", raw)
			}
			var got [][]string
			for {
				rec, err := d.Next()
				raw := rawOf(t, d, rec, err)
				got = append(got, raw)
				var re *callbill.Reject
				if errors.As(err, &re) && !reflect.DeepEqual(re.Fields, raw) && re.Fields != nil {
					t.Fatalf("Reject fields %q, Raw %q", re.Fields, raw)
				}
				if err == io.EOF {
					break
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

const (
	jIn  = `{"ContactId":"job-1","InstanceId":"ccc-1","ContactType":"Inbound","CallingNumber":"13900001111","CalledNumber":"+86 571 8888 0001","StartTime":1700000000999,"ReleaseTime":1700000065123,"RecordingDuration":60}`
	jOut = `{"ContactId":"job-2","InstanceId":"ccc-1","ContactType":"OUTBOUND","CallingNumber":"057188880001","CalledNumber":"13900002222","StartTime":"1700000100000","ReleaseTime":"1700000100999","RecordingDuration":"0","AgentIds":"a1","Extra":{"x":[1,2]}}`
)

var (
	cIn  = callbill.CDR{ContactID: "job-1", InstanceID: "ccc-1", Direction: callbill.Inbound, Caller: "13900001111", Callee: "8657188880001", Start: 1700000000, End: 1700000065, RecordingSeconds: 60}
	cOut = callbill.CDR{ContactID: "job-2", InstanceID: "ccc-1", Direction: callbill.Outbound, Caller: "057188880001", Callee: "13900002222", Start: 1700000100, End: 1700000100}
)

func TestJSONForms(t *testing.T) {
	tests := []struct {
		name, in string
		lines    []int
	}{
		{"lines", jIn + "\n" + jOut + "\n", []int{1, 2}},
		{"lines CRLF, blank lines, no final newline", "\r\n" + jIn + "\r\n\r\n" + jOut, []int{2, 4}},
		{"lines BOM", "\xEF\xBB\xBF" + jIn + "\n" + jOut + "\n", []int{1, 2}},
		{"array", "[" + jIn + "," + jOut + "]", []int{1, 2}},
		{"array pretty", "\xEF\xBB\xBF\n  [\n  " + jIn + ",\n\n  " + jOut + "\n]\n", []int{1, 2}},
		{"response", `{"RequestId":"r1","Code":"OK","HttpStatusCode":200,"Data":{"PageNumber":1,"PageSize":100,"TotalCount":2,"List":[` + jIn + "," + jOut + `]},"Message":"","Params":["a"]}`, []int{1, 2}},
		{"response list first", `{"Data":{"List":[` + jIn + "," + jOut + `],"TotalCount":2},"RequestId":"r1"}`, []int{1, 2}},
		{"response pretty", "{\n  \"RequestId\": \"r1\",\n  \"Data\": {\n    \"TotalCount\": 2,\n    \"List\": [\n      " + jIn + ",\n      " + jOut + "\n    ]\n  }\n}\n", []int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := decodeAll(t, tt.in)
			if res.fatal != nil || len(res.rows) != 0 || len(res.recs) != 2 {
				t.Fatalf("got %+v", res)
			}
			if res.recs[0].CDR != cIn || res.recs[1].CDR != cOut {
				t.Fatalf("got\n%+v\n%+v", res.recs[0].CDR, res.recs[1].CDR)
			}
			if l := []int{res.recs[0].Line, res.recs[1].Line}; !reflect.DeepEqual(l, tt.lines) {
				t.Fatalf("lines %v, want %v", l, tt.lines)
			}
			if !reflect.DeepEqual(res.rh, []string{"record", "line", "reason"}) {
				t.Fatalf("reject header %q", res.rh)
			}
		})
	}
}

// The same call in CSV and JSON normalizes to the same content (docs/rules.md, "Duplicates and conflicts").
func TestSameContentAcrossFormats(t *testing.T) {
	csvIn := header[:len(header)-1] + ",recording_seconds\n" +
		"job-1,ccc-1,inbound,139 0000 1111,8657188880001,2023-11-14T22:13:20.999Z,1700000065123,60\n"
	a := decodeAll(t, csvIn)
	b := decodeAll(t, jIn)
	if len(a.recs) != 1 || len(b.recs) != 1 {
		t.Fatalf("got %+v %+v", a, b)
	}
	if !a.recs[0].SameContent(&b.recs[0].CDR) {
		t.Fatalf("%+v vs %+v", a.recs[0].CDR, b.recs[0].CDR)
	}
}

func TestJSONRowErrors(t *testing.T) {
	const base = `"ContactId":"j","InstanceId":"i","CallingNumber":"1","CalledNumber":"2","StartTime":1000,"ReleaseTime":2000`
	tests := []struct {
		name, rec, reason string
	}{
		{"Back2Back", `{` + base + `,"ContactType":"Back2Back"}`, `unsupported ContactType "Back2Back"`},
		{"no type", `{` + base + `}`, "missing ContactType"},
		{"null type", `{` + base + `,"ContactType":null}`, "missing ContactType"},
		{"type number", `{` + base + `,"ContactType":1}`, "ContactType 1 is not a string"},
		{"no contact", `{"InstanceId":"i","ContactType":"Inbound","StartTime":1000,"ReleaseTime":2000}`, "missing ContactId"},
		{"empty contact", `{"ContactId":" ","InstanceId":"i","ContactType":"Inbound","StartTime":1000,"ReleaseTime":2000}`, "ContactId is empty"},
		{"contact number", `{"ContactId":12,"InstanceId":"i","ContactType":"Inbound","StartTime":1000,"ReleaseTime":2000}`, "ContactId 12 is not a string"},
		{"no instance", `{"ContactId":"j","ContactType":"Inbound","StartTime":1000,"ReleaseTime":2000}`, "missing InstanceId"},
		{"instance object", `{"ContactId":"j","InstanceId":{},"ContactType":"Inbound","StartTime":1000,"ReleaseTime":2000}`, "InstanceId {} is not a string"},
		{"no start", `{"ContactId":"j","InstanceId":"i","ContactType":"Inbound","ReleaseTime":2000}`, "missing StartTime"},
		{"no release", `{"ContactId":"j","InstanceId":"i","ContactType":"Inbound","StartTime":1000}`, "missing ReleaseTime"},
		{"start text", `{"ContactId":"j","InstanceId":"i","ContactType":"Inbound","StartTime":"soon","ReleaseTime":2000}`, `StartTime "soon" is not epoch milliseconds`},
		{"start empty", `{"ContactId":"j","InstanceId":"i","ContactType":"Inbound","StartTime":"","ReleaseTime":2000}`, `StartTime "" is not epoch milliseconds`},
		{"start float", `{"ContactId":"j","InstanceId":"i","ContactType":"Inbound","StartTime":1.5e12,"ReleaseTime":2000}`, `StartTime 1.5e12 is not epoch milliseconds`},
		{"start bool", `{"ContactId":"j","InstanceId":"i","ContactType":"Inbound","StartTime":true,"ReleaseTime":2000}`, `StartTime true is not epoch milliseconds`},
		{"release negative", `{"ContactId":"j","InstanceId":"i","ContactType":"Inbound","StartTime":1000,"ReleaseTime":-2000}`, `ReleaseTime -2000 is not epoch milliseconds`},
		{"recording", `{` + base + `,"ContactType":"Inbound","RecordingDuration":"x"}`, `RecordingDuration "x" is not a non-negative integer`},
		{"calling array", `{"ContactId":"j","InstanceId":"i","ContactType":"Inbound","CallingNumber":[1],"StartTime":1000,"ReleaseTime":2000}`, "CallingNumber [1] is not a string"},
		{"not an object", `[1,2]`, "record is not a JSON object"},
	}
	for _, tt := range tests {
		for _, form := range []string{"lines", "array"} {
			t.Run(tt.name+"/"+form, func(t *testing.T) {
				in, line := "{}\n"+tt.rec+"\n", 2 // the {} makes a one-line array record JSON Lines too
				if form == "array" {
					in, line = "[{}, "+tt.rec+"]", 2
				}
				res := decodeAll(t, in)
				if res.fatal != nil || len(res.recs) != 0 || len(res.rows) != 2 {
					t.Fatalf("got %+v", res)
				}
				re := res.rows[1]
				if re.Reason != tt.reason || re.Line != line {
					t.Fatalf("got line %d %q, want line %d %q", re.Line, re.Reason, line, tt.reason)
				}
				if !reflect.DeepEqual(re.Fields, []string{tt.rec}) {
					t.Fatalf("fields %q", re.Fields)
				}
			})
		}
	}
}

func TestJSONLenient(t *testing.T) {
	tests := []struct {
		name, rec string
		want      callbill.CDR
	}{
		{"numbers as strings", `{"ContactId":"j","InstanceId":"i","ContactType":"inbound","CallingNumber":13900001111,"CalledNumber":"0571-8888","StartTime":" 1700000000999 ","ReleaseTime":"1700000001000","RecordingDuration":"7"}`,
			callbill.CDR{ContactID: "j", InstanceID: "i", Direction: callbill.Inbound, Caller: "13900001111", Callee: "05718888", Start: 1700000000, End: 1700000001, RecordingSeconds: 7}},
		{"absent optional fields", `{"ContactId":"j","InstanceId":"i","ContactType":"Outbound","StartTime":1000,"ReleaseTime":2000,"RecordingDuration":null}`,
			callbill.CDR{ContactID: "j", InstanceID: "i", Direction: callbill.Outbound, Start: 1, End: 2}},
		{"empty recording", `{"ContactId":"j","InstanceId":"i","ContactType":"Outbound","StartTime":1000,"ReleaseTime":2000,"RecordingDuration":""}`,
			callbill.CDR{ContactID: "j", InstanceID: "i", Direction: callbill.Outbound, Start: 1, End: 2}},
		{"escapes", `{"ContactId":"j\u002d1","InstanceId":" i ","ContactType":"Outbound","StartTime":1000,"ReleaseTime":2000}`,
			callbill.CDR{ContactID: "j-1", InstanceID: "i", Direction: callbill.Outbound, Start: 1, End: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, re := one(t, tt.rec)
			if re != nil {
				t.Fatal(re)
			}
			if rec.CDR != tt.want || rec.Line != 1 {
				t.Fatalf("got %+v, want %+v", rec, tt.want)
			}
		})
	}
}

func TestJSONLinesBadLine(t *testing.T) {
	in := jIn + "\n{\"ContactId\": oops}\n[1,\n" + jOut + "\n"
	res := decodeAll(t, in)
	if res.fatal != nil || len(res.recs) != 2 || len(res.rows) != 2 {
		t.Fatalf("got %+v", res)
	}
	if res.recs[0].Line != 1 || res.recs[1].Line != 4 {
		t.Fatalf("record lines %d %d", res.recs[0].Line, res.recs[1].Line)
	}
	if e := res.rows[0]; e.Line != 2 || !strings.HasPrefix(e.Reason, "invalid JSON: ") || !reflect.DeepEqual(e.Fields, []string{`{"ContactId": oops}`}) {
		t.Fatalf("got %+v", e)
	}
	if e := res.rows[1]; e.Line != 3 || !strings.HasPrefix(e.Reason, "invalid JSON: ") {
		t.Fatalf("got %+v", e)
	}
	// A broken first line is a row error too, not a fatal one.
	res = decodeAll(t, "{oops\n"+jIn+"\n")
	if res.fatal != nil || len(res.recs) != 1 || len(res.rows) != 1 || res.rows[0].Line != 1 || res.recs[0].Line != 2 {
		t.Fatalf("got %+v", res)
	}
}

func TestJSONFatal(t *testing.T) {
	tests := []struct {
		name, in, fatal string
		records         int
	}{
		{"array broken", "[" + jIn + ",\n" + jOut + ",{\"ContactId\" 1}]", "JSON syntax error near byte 468 (after record 2): invalid character '1' after object key", 2},
		{"array cut", "[" + jIn + ",", "JSON ends unexpectedly (after record 1)", 1},
		{"array trailing", "[" + jIn + "] []", "JSON: unexpected data after the end", 1},
		{"array trailing junk", "[" + jIn + "] x", "JSON syntax error near byte 209 (after record 1)", 1},
		{"array cut in record", "[" + jIn + "," + jOut[:40], "JSON ends unexpectedly (after record 1)", 1},
		{"response cut", `{"Data":{"List":[]`, "JSON ends unexpectedly (at the start)", 0},
		{"response cut late", `{"Data":{"List":[]},"X":1`, "JSON ends unexpectedly (at the start)", 0},
		{"offset counts the BOM", "\xEF\xBB\xBF[}", "JSON syntax error near byte 4 (at the start)", 0},
		{"response no list", `{"Data":{"TotalCount":0}}`, "JSON response has no Data.List", 0},
		{"response null data", `{"Code":"Forbidden","Data":null}`, "Data is null", 0},
		{"response list object", `{"Data":{"List":{}}}`, "Data.List is an object, not an array", 0},
		{"response broken", `{"Data":{"List":[` + jIn + `,}]}}`, "JSON syntax error", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := decodeAll(t, tt.in)
			if res.fatal == nil || !strings.Contains(res.fatal.Error(), tt.fatal) {
				t.Fatalf("got %v, want %q", res.fatal, tt.fatal)
			}
			if callbill.ErrorCode(res.fatal) != callbill.EINVALID {
				t.Fatalf("code %s", callbill.ErrorCode(res.fatal))
			}
			if len(res.recs) != tt.records {
				t.Fatalf("%d records before the error, want %d", len(res.recs), tt.records)
			}
		})
	}
	// An empty list is fine.
	if res := decodeAll(t, `{"Data":{"List":null}}`); res.fatal != nil || len(res.recs) != 0 {
		t.Fatalf("got %+v", res)
	}
	if res := decodeAll(t, ` [ ] `); res.fatal != nil || len(res.recs) != 0 {
		t.Fatalf("got %+v", res)
	}
}

type errReader struct{ data string }

func (r *errReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, errBoom
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

var errBoom = errors.New("boom")

func TestIOError(t *testing.T) {
	for _, in := range []string{header + "c1,i1,inbound,1,2,10,20\n", "[" + jIn + ",", jIn + "\n", `{"Data":{"List":[` + jIn} {
		d, err := NewDecoder(&errReader{in})
		if err != nil {
			if !errors.Is(err, errBoom) {
				t.Fatalf("%.20s: got %v", in, err)
			}
			continue
		}
		for {
			_, err = d.Next()
			if err == nil {
				continue
			}
			if !errors.Is(err, errBoom) {
				t.Fatalf("%.20s: got %v", in, err)
			}
			break
		}
	}
}

// Leading white space longer than the reader's buffer is skipped and counted.
func TestLongLeadingSpace(t *testing.T) {
	pad := strings.Repeat("\n", bufSize+10)
	res := decodeAll(t, pad+header+"c1,i1,inbound,1,2,10,20\n")
	if res.fatal != nil || len(res.recs) != 1 || res.recs[0].Line != bufSize+12 {
		t.Fatalf("got %+v", res)
	}
	res = decodeAll(t, pad+jIn+"\n")
	if res.fatal != nil || len(res.recs) != 1 || res.recs[0].Line != bufSize+11 {
		t.Fatalf("got %+v", res)
	}
	// A JSON Lines line longer than the buffer.
	long := `{"Pad":"` + strings.Repeat("x", 3*bufSize) + `",` + jIn[1:]
	res = decodeAll(t, jIn+"\n"+long+"\n"+jOut)
	if res.fatal != nil || len(res.recs) != 3 || res.recs[1].CDR != cIn || res.recs[2].Line != 3 {
		t.Fatalf("got %v %d records", res.fatal, len(res.recs))
	}
}

func TestDigits(t *testing.T) {
	for in, want := range map[string]string{"": "", "123": "123", "+86 571-8888 0001": "8657188880001", "abc": "", "０１": ""} {
		if got := digits(in); got != want {
			t.Errorf("digits(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { digits("8657188880001") }); n != 0 {
		t.Errorf("digits allocates %v times on digits", n)
	}
}

// Decoding a CSV row costs the csv.Reader's one string and one of ours.
func TestCSVAllocs(t *testing.T) {
	in := genCSV(1000)
	d, err := NewDecoder(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	d.Next() // warm up the interner and buffers
	n := testing.AllocsPerRun(500, func() {
		if _, err := d.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if n > 2 {
		t.Fatalf("%v allocations per row", n)
	}
}

// genCSV makes n rows in a realistic mix of time formats and number styles.
func genCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("contact_id,instance_id,direction,caller,callee,start_time,end_time,recording_seconds,recording_bytes\n")
	for i := range n {
		start := int64(1700000000 + i*7)
		end := start + int64(i%600)
		var st, et string
		switch i % 3 {
		case 0:
			st, et = fmt.Sprint(start), fmt.Sprint(end)
		case 1:
			st, et = fmt.Sprint(start*1000+123), fmt.Sprint(end*1000+456)
		case 2:
			st = time.Unix(start, 0).UTC().Format(time.RFC3339)
			et = time.Unix(end, 500e6).In(time.FixedZone("", 8*3600)).Format(time.RFC3339Nano)
		}
		dir, caller, callee := "inbound", fmt.Sprintf("139%08d", i), "057188880001"
		if i%2 == 1 {
			dir, caller, callee = "Outbound", "+86 571-8888 0001", fmt.Sprintf("139%08d", i)
		}
		rec := ""
		if i%4 == 0 {
			rec = fmt.Sprint(i % 300)
		}
		fmt.Fprintf(&b, "job-%08d,ccc-instance-%d,%s,%s,%s,%s,%s,%s,\n", i, i%5, dir, caller, callee, st, et, rec)
	}
	return b.Bytes()
}

func BenchmarkDecodeCSV(b *testing.B) {
	const rows = 100_000
	in := genCSV(rows)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d, err := NewDecoder(bytes.NewReader(in))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != rows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(b.N)*rows/b.Elapsed().Seconds(), "rows/s")
}

// genJSON makes n CCC records as JSON Lines.
func genJSON(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		start := int64(1700000000000 + i*7000)
		typ, caller, callee := "Inbound", fmt.Sprintf("139%08d", i), "+86 571 8888 0001"
		if i%2 == 1 {
			typ, caller, callee = "Outbound", "057188880001", fmt.Sprintf("139%08d", i)
		}
		fmt.Fprintf(&b, `{"ContactId":"job-%08d","InstanceId":"ccc-instance-%d","ContactType":"%s","CallingNumber":"%s","CalledNumber":"%s","StartTime":%d,"ReleaseTime":%d,"RecordingDuration":%d,"AgentIds":"a%d"}`+"\n",
			i, i%5, typ, caller, callee, start, start+int64(i%600)*1000+123, i%300, i%40)
	}
	return b.Bytes()
}

func BenchmarkDecodeJSON(b *testing.B) {
	const rows = 20_000
	in := genJSON(rows)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d, err := NewDecoder(bytes.NewReader(in))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != rows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(b.N)*rows/b.Elapsed().Seconds(), "rows/s")
}

// rawOf is what Decoder.AppendRaw kept of the row Next last returned (rec,
// err), as RawFields gives it back; appended after other rows, as batches
// keep them. Kept with the record's CDR (the form refers to it) or without
// (every byte), it is the same.
func rawOf(t testing.TB, d Decoder, rec Record, err error) []string {
	var c *callbill.CDR
	if err == nil {
		c = &rec.CDR
	}
	before := []byte("earlier rows")
	b := d.AppendRaw(before, c)
	if string(b[:len(before)]) != "earlier rows" {
		t.Fatalf("AppendRaw changed what was there")
	}
	raw := RawFields(b[len(before):], c)
	plain := d.AppendRaw(nil, nil)
	if whole := RawFields(plain, nil); !reflect.DeepEqual(raw, whole) {
		t.Fatalf("raw row kept with its CDR %q, without %q", raw, whole)
	}
	if c != nil && len(b)-len(before) > len(plain) {
		t.Fatalf("raw row kept with its CDR is longer (%d bytes) than without (%d)", len(b)-len(before), len(plain))
	}
	return raw
}

// A raw row RawFields cannot read — cut short, changed, or given without
// the CDR its references need — gives the fields read up to there, never a
// panic: the reject still goes out with its line and reason.
func TestRawFieldsOfMalformedRowsDoNotPanic(t *testing.T) {
	d, err := NewDecoder(strings.NewReader(header + "c1,inst-1,outbound,0571001,138,1791424800,1791424890\n"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	raw := d.AppendRaw(nil, &rec.CDR)
	if got := RawFields(raw, &rec.CDR); len(got) != 7 || got[0] != "c1" {
		t.Fatalf("well-formed: %q", got)
	}
	if got := RawFields(raw, nil); len(got) >= 7 {
		t.Errorf("references without their CDR: %q, want only the fields before the first", got)
	}
	for n := 0; n <= len(raw); n++ {
		RawFields(raw[:n], &rec.CDR)
		RawFields(raw[:n], nil)
	}
	for i := range raw {
		for _, b := range []byte{0, 0x7f, 0x80, 0xff} {
			bad := bytes.Clone(raw)
			bad[i] = b
			RawFields(bad, &rec.CDR)
			RawFields(bad, nil)
		}
	}
}
